"""A full disk under CCM_HOME: the real proxy keeps answering, requests.jsonl holds only whole records,
and the records it could not take are counted (`ccm_request_log_dropped_total`, /api/metrics); once
there is room again, records are appended whole. A real 64 KiB tmpfs (root only); the same behaviour
without root is pinned by tests/ccm/observe/test_journal.py, which wraps os.write."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ROOT, anthropic_provider, free_port, make_config, server_env, terminate, wait_healthy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.geteuid() != 0, reason="mounting a small tmpfs needs root on Linux"
)


@pytest.fixture
def small_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(home)], check=True)
    yield home
    subprocess.run(["umount", "-l", str(home)], check=True)


def fill(folder: Path) -> Path:
    """Take every free byte of the filesystem."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 256)
    finally:
        os.close(fd)
    return filler


def whole_lines(path: Path) -> list[dict[str, object]]:
    raw = path.read_bytes() if path.exists() else b""
    assert raw == b"" or raw.endswith(b"\n"), "a half record at the end of requests.jsonl"
    return [json.loads(x) for x in raw.splitlines()]


def poll(predicate: object, deadline_s: float = 20.0) -> None:
    import time

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_full_disk_drops_whole_records_counts_them_and_the_proxy_keeps_serving(
    small_home: Path, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    with FakeUpstream() as up:
        up.script(Reply(200, json=anthropic_message("fine")))
        config.write_text(make_config([anthropic_provider("up", up.url)], {"m": [("up", "a1")]}, server={"port": port}))
        out = open(tmp_path / "server.out", "wb")  # noqa: SIM115  # closed below; not on the full disk
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccm", "serve", "--config", str(config)],
            env=server_env(small_home),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc=proc)
            body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
            with httpx.Client(trust_env=False, timeout=30) as client:
                assert client.post(f"{url}/v1/messages", json=body).status_code == 200
                poll(lambda: len(whole_lines(small_home / "requests.jsonl")) == 1)
                filler = fill(small_home)
                for _ in range(30):
                    assert client.post(f"{url}/v1/messages", json=body).status_code == 200

                def dropped() -> int:
                    return int(client.get(f"{url}/api/metrics").json()["request_log"]["dropped"])

                # every record is accounted for: written whole, or dropped and counted
                poll(lambda: dropped() + len(whole_lines(small_home / "requests.jsonl")) == 31)
                kept = whole_lines(small_home / "requests.jsonl")
                assert dropped() > 0
                text = client.get(f"{url}/metrics").text
                assert f"ccm_request_log_dropped_total {float(dropped())}" in text
                filler.unlink()
                for _ in range(3):
                    assert client.post(f"{url}/v1/messages", json=body).status_code == 200
                poll(lambda: len(whole_lines(small_home / "requests.jsonl")) >= len(kept) + 3)
                assert dropped() + len(whole_lines(small_home / "requests.jsonl")) == 34
        finally:
            assert terminate(proc) == 0
            out.close()
