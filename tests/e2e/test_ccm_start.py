"""The proxy as users run it: `ccm start` (a real detached subprocess, temporary CCM_HOME, keys from the
0600 file fallback), driven by the official anthropic SDK, streaming and not, against fake upstreams."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.e2e.harness import anthropic_provider, free_port, make_config, server_env
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream

CCM = Path(sys.executable).parent / "ccm"
pytestmark = pytest.mark.skipif(not CCM.exists(), reason="the ccm console script is not installed")


class Running:
    def __init__(self, home: Path, url: str, ups: list[FakeUpstream]) -> None:
        self.home, self.url, self.ups = home, url, ups
        self.sdk = anthropic.Anthropic(base_url=url, api_key="claude-code-key", max_retries=0)

    def generation(self) -> int:
        return int(httpx.get(f"{self.url}/health", trust_env=False).json()["generation"])


def ccm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CCM), *args], env=server_env(home), capture_output=True, text=True, timeout=60)


def config_text(ups: list[FakeUpstream], port: int, order: tuple[int, ...] = (0, 1, 2)) -> str:
    providers = [anthropic_provider(f"p{i + 1}", up.url) for i, up in enumerate(ups)]
    models: dict[str, list[Any]] = {"main": [(f"p{i + 1}", f"main-on-p{i + 1}") for i in order]}
    for slot in ("think", "bg", "web", "long", "sub"):
        models[slot] = [("p1", f"{slot}-model")]
    return make_config(
        providers,
        models,
        server={"port": port, "timeouts": {"api_timeout_ms": 1500}},
        router={
            "think": "think",
            "background": "bg",
            "websearch": "web",
            "long_context": "long",
            "long_context_threshold": 5000,
        },
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One `ccm start` for the module; each test scripts the three fake upstreams it needs."""
    home = tmp_path_factory.mktemp("ccm-start-home")
    ups = [FakeUpstream().start() for _ in range(3)]
    port = free_port()
    (home / "config.toml").write_text(config_text(ups, port))
    started = ccm(home, "start")
    assert started.returncode == 0, started.stderr
    assert f"running at http://127.0.0.1:{port}" in started.stdout and "ccm env" in started.stdout
    try:
        yield Running(home, f"http://127.0.0.1:{port}", ups)
    finally:
        stopped = ccm(home, "stop")
        for up in ups:
            up.stop()
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(autouse=True)
def fresh_upstreams(running: Running) -> None:
    for up in running.ups:
        up.received.clear()
        up.script(Reply(200, json=anthropic_message("default answer")))


def ask(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-opus-5-5", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}], **extra}


RULES = [
    ({}, "default", "main"),
    ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, "think", "think"),
    ({"model": "claude-haiku-4-5"}, "background", "bg"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "websearch", "web"),
    ({"system": "x <CCM-SUBAGENT-MODEL>sub</CCM-SUBAGENT-MODEL>"}, "subagent", "sub"),
    ({"messages": [{"role": "user", "content": "long " * 6000}]}, "long_context", "long"),
    ({"model": "p2,raw-model"}, "explicit", "p2,raw-model"),
]


@pytest.mark.parametrize(("extra", "rule", "model"), RULES, ids=[r[1] for r in RULES])
def test_every_rule_through_ccm_start(running: Running, extra: dict[str, Any], rule: str, model: str) -> None:
    raw = running.sdk.messages.with_raw_response.create(**ask(**extra))
    assert raw.headers["x-ccm-route"] == rule
    assert raw.headers["x-ccm-model"] == model
    received = [r for up in running.ups for r in up.received]
    assert len(received) == 1
    assert "claude-code-key" not in str(received[0].headers)
    assert "CCM-SUBAGENT" not in str(received[0].json.get("system", ""))


def test_failover_1_2_3_streaming_and_not(running: Running) -> None:
    a, b, c = running.ups
    a.script(Reply.error(529, "overloaded", "overloaded_error"))
    b.script(Reply(drop=True))
    c.script(Reply(200, json=anthropic_message("from the third")))
    raw = running.sdk.messages.with_raw_response.create(**ask())
    assert raw.parse().content[0].text == "from the third"  # type: ignore[union-attr]
    assert (raw.headers["x-ccm-attempts"], raw.headers["x-ccm-provider"]) == ("3", "p3")
    c.script(Reply.stream(anthropic_stream("streamed from the third", pieces=3)))
    with running.sdk.messages.stream(**ask()) as stream:
        assert "".join(stream.text_stream) == "streamed from the third"
    assert [len(up.received) for up in running.ups] == [2, 2, 2]


def test_a_400_from_a_third_party_host_fails_over_and_all_refused_is_a_400(running: Running) -> None:
    """Only Anthropic's own 400 passes straight through; these anthropic-compatible hosts each get a try."""
    for up in running.ups:
        up.script(Reply.error(400, "max_tokens: too large", "invalid_request_error"))
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: too large"):
        running.sdk.messages.create(**ask())
    assert [len(up.received) for up in running.ups] == [1, 1, 1]


def test_stream_failing_before_and_after_first_byte(running: Running) -> None:
    a, b, _ = running.ups
    a.script(Reply.stream(anthropic_stream(), cut_after=0))
    b.script(Reply.stream(anthropic_stream("rescued", pieces=1)))
    with running.sdk.messages.stream(**ask()) as stream:
        assert "".join(stream.text_stream) == "rescued"
    a.script(Reply.stream(anthropic_stream("half an answer", pieces=4), cut_after=4))
    with pytest.raises(anthropic.APIError), running.sdk.messages.stream(**ask()) as stream:
        stream.get_final_message()
    assert len(b.received) == 1  # past the failover window nothing is retried elsewhere


def test_hot_reload_with_a_request_in_flight(running: Running) -> None:
    a = running.ups[0]
    a.script(Reply.stream(anthropic_stream("old config", pieces=6), delay=0.2))
    got: dict[str, str] = {}

    def in_flight() -> None:
        with running.sdk.messages.stream(**ask()) as stream:
            got["text"] = "".join(stream.text_stream)

    thread = threading.Thread(target=in_flight)
    thread.start()
    while not a.received:
        time.sleep(0.01)
    before = running.generation()
    port = int(running.url.rsplit(":", 1)[1])
    path = running.home / "config.toml"
    try:
        tmp = path.with_suffix(".new")
        tmp.write_text(config_text(running.ups, port, order=(2, 0, 1)))
        tmp.replace(path)  # an atomic rename, as editors and ccm itself save
        deadline = time.monotonic() + 2.0
        while running.generation() == before:
            assert time.monotonic() < deadline, "the change was not applied within 2 s"
            time.sleep(0.02)
        raw = running.sdk.messages.with_raw_response.create(**ask())
        assert raw.headers["x-ccm-provider"] == "p3"
        thread.join(timeout=20)
        assert got["text"] == "old config"
    finally:
        path.write_text(config_text(running.ups, port))
        deadline = time.monotonic() + 2.0
        while running.generation() <= before + 1 and time.monotonic() < deadline:
            time.sleep(0.02)
