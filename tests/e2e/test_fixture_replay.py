"""Real Claude Code requests (tests/fixtures/claude-code) replayed through the proxy: they must
arrive at an Anthropic-format upstream intact, but for the routed model and a removed subagent tag."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES, fixture_names
from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream

_SKIP_HEADERS = {"content-length", "host", "connection", "accept-encoding"}


def fixtures() -> list[str]:
    return fixture_names()


def load(name: str) -> tuple[dict, dict[str, str], str]:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    meta = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    headers = {k: v for k, v in meta["headers"] if k.lower() not in _SKIP_HEADERS}
    return body, headers, meta["path"]


@pytest.fixture
def replay(
    upstreams: Callable[[], FakeUpstream], proxy: Callable[[str], InProcessProxy]
) -> tuple[InProcessProxy, FakeUpstream]:
    up = upstreams()

    def answer(rec: object) -> Reply:
        body = json.loads(rec.body)  # type: ignore[attr-defined]
        if rec.path.startswith("/v1/messages/count_tokens"):  # type: ignore[attr-defined]
            return Reply(200, json={"input_tokens": 7})
        return Reply.stream(anthropic_stream()) if body.get("stream") else Reply(200, json=anthropic_message())

    up.script(Reply(handler=answer))
    cfg = make_config(
        [anthropic_provider("up", up.url, ptype="anthropic")],
        {"main": [("up", "routed-main")], "bg": [("up", "routed-bg")], "glm-4.6": [("up", "routed-main")]},
        router={"background": "bg"},
    )
    return proxy(cfg), up


@pytest.mark.parametrize("name", fixtures())
def test_fixture_arrives_intact(replay: tuple[InProcessProxy, FakeUpstream], name: str) -> None:
    p, up = replay
    body, headers, path = load(name)
    raw = json.dumps(body).encode()
    response = httpx.post(f"{p.url}{path}", content=raw, headers=headers, trust_env=False, timeout=30)
    assert response.status_code == 200, response.text
    got = up.received[-1]
    assert got.path == path  # ?beta=true forwarded to an `anthropic` provider
    sent = got.json
    expected_model = "routed-bg" if "haiku" in body["model"] else "routed-main"
    assert sent["model"] == expected_model
    assert {k: v for k, v in sent.items() if k != "model"} == {k: v for k, v in body.items() if k != "model"}
    assert got.headers["anthropic-beta"] == headers.get("anthropic-beta", headers.get("Anthropic-Beta"))
    assert "test-key" not in json.dumps(got.headers)


@pytest.mark.parametrize("name", ["subagent-request", "main-request-with-tools"])
def test_fixture_with_subagent_tag(replay: tuple[InProcessProxy, FakeUpstream], name: str, fixtures_dir: Path) -> None:
    p, up = replay
    body, headers, path = load(name)
    tagged = json.loads(json.dumps(body))
    tagged["system"][2]["text"] += "<CCM-SUBAGENT-MODEL>bg</CCM-SUBAGENT-MODEL>"
    response = httpx.post(f"{p.url}{path}", json=tagged, headers=headers, trust_env=False)
    assert response.headers["x-ccm-route"] == "subagent"
    sent = up.received[-1].json
    assert sent["model"] == "routed-bg"
    assert sent["system"] == body["system"]  # the tag (and only it) removed
    assert sent["messages"] == body["messages"]


def test_fixtures_present() -> None:
    assert len(fixtures()) >= 20
