"""The watcher reads a config only once it is whole: an editor writing the file in place (a valid prefix
first, the rest a moment later) is never applied half-way; a new file renamed over the old one applies
at once; a refused file shows in GET /api/status with the first error and since when."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
ROUTER_KEY = "router-key-0123456789"


def config_with(url: str, models: int, **server: object) -> str:
    names = {f"m{i}": [("up", f"actual-{i}")] for i in range(1, models + 1)}
    return make_config([anthropic_provider("up", url)], names, server=dict(server))  # type: ignore[arg-type]


def models_served(p: InProcessProxy, key: str | None = None) -> int:
    headers = {"x-api-key": key} if key else {}
    view = httpx.get(f"{p.url}/api/config/json", headers=headers, trust_env=False, timeout=5).json()
    return len(view["models"])


def write_in_place(path: Path, text: str) -> None:
    """Like an editor that rewrites the file it opened: same inode, truncated, then written."""
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def append_in_place(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def test_a_file_written_in_place_is_applied_only_once_whole(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    p = proxy(config_with(up.url, 3))
    full = config_with(up.url, 14)
    cut = full.index('[[models]]\nname = "m8"')
    half = full[:cut]  # valid TOML with 7 of the 14 models: it would load
    seen: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            seen.append(models_served(p))
            time.sleep(0.03)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        ino = p.config_path.stat().st_ino
        write_in_place(p.config_path, half)
        time.sleep(0.4)  # the editor is still writing (well under the second the file must stay still)
        append_in_place(p.config_path, full[cut:])
        assert p.config_path.stat().st_ino == ino
        end = time.monotonic() + 5
        while models_served(p) != 14:
            assert time.monotonic() < end, "the whole file was never applied"
            time.sleep(0.03)
        took = time.monotonic() - (end - 5)
    finally:
        done.set()
        sampler.join()
    assert 7 not in seen, "the half-written file was served"
    assert set(seen) <= {3, 14}
    assert p.generation() == 2
    assert took < 3.5  # stable for one second, then applied within the poll


def test_an_atomic_rename_applies_at_once(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    p = proxy(config_with(up.url, 2))
    started = time.monotonic()
    p.write_config(config_with(up.url, 5))
    while models_served(p) != 5:
        assert time.monotonic() - started < 2, "a renamed file waited"
        time.sleep(0.02)
    assert time.monotonic() - started < 0.9  # no one-second wait for a file that arrived whole


def test_a_refused_file_shows_in_api_status_until_a_good_one_arrives(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    good = config_with(up.url, 2, api_key=ROUTER_KEY).replace("port = 13456", "port = 13456\nprot = 1")
    p = proxy(good)
    auth = {"x-api-key": ROUTER_KEY}
    status = httpx.get(f"{p.url}/api/status", headers=auth, trust_env=False).json()
    assert status["path"] == str(p.config_path)
    assert status["refused"] is None and status["loaded_at"] <= time.time()
    assert any("prot" in w and "port" in w for w in status["warnings"])  # an unknown key, its nearest name
    assert httpx.get(f"{p.url}/api/status", trust_env=False).status_code == 401
    before = time.time()
    p.write_config(good.replace('name = "m2"', 'name = "m2"\nbogus_list = [') + "\n")
    end = time.monotonic() + 3
    while (refused := httpx.get(f"{p.url}/api/status", headers=auth, trust_env=False).json()["refused"]) is None:
        assert time.monotonic() < end, "the refusal never showed"
        time.sleep(0.02)
    assert refused["path"] == str(p.config_path) and refused["since"] >= before - 1
    assert str(p.config_path) in refused["error"] and ROUTER_KEY not in str(refused)
    assert p.generation() == 1 and models_served(p, ROUTER_KEY) == 2
    p.write_config(config_with(up.url, 4, api_key=ROUTER_KEY))
    end = time.monotonic() + 3
    while httpx.get(f"{p.url}/api/status", headers=auth, trust_env=False).json()["refused"] is not None:
        assert time.monotonic() < end
        time.sleep(0.02)
    assert models_served(p, ROUTER_KEY) == 4
