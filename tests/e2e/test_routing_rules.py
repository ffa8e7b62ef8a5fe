"""Every routing rule end to end: the x-ccm-* headers and what the chosen upstream receives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
TAG = "<CCM-SUBAGENT-MODEL>sub</CCM-SUBAGENT-MODEL>"


@pytest.fixture
def routed(upstreams: Up, proxy: Px) -> tuple[InProcessProxy, FakeUpstream]:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    names = ["default-m", "think-m", "bg-m", "web-m", "long-m", "sub"]
    cfg = make_config(
        [anthropic_provider("up", up.url), anthropic_provider("other", up.url)],
        {name: [("up", f"actual-{name}")] for name in names},
        router={
            "think": "think-m",
            "background": "bg-m",
            "websearch": "web-m",
            "long_context": "long-m",
            "long_context_threshold": 2000,
        },
    )
    return proxy(cfg), up


def msg(**extra: Any) -> dict[str, Any]:
    return {"model": "claude-opus-5-5", "max_tokens": 10, "messages": [{"role": "user", "content": "q"}], **extra}


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("default via auto-map", msg(), "default", "default-m"),
    ("configured name", msg(model="think-m"), "default", "think-m"),
    ("think", msg(thinking={"type": "enabled", "budget_tokens": 4000}), "think", "think-m"),
    ("adaptive is not think", msg(thinking={"type": "adaptive"}), "default", "default-m"),
    ("background on original", msg(model="claude-haiku-5-5"), "background", "bg-m"),
    ("websearch", msg(tools=[{"type": "web_search_20250305", "name": "web_search"}]), "websearch", "web-m"),
    ("subagent string", msg(system=f"You help. {TAG}"), "subagent", "sub"),
    ("subagent blocks", msg(system=[{"type": "text", "text": "a"}, {"type": "text", "text": TAG}]), "subagent", "sub"),
    ("long context", msg(messages=[{"role": "user", "content": "word " * 3000}]), "long_context", "long-m"),
    ("explicit", msg(model="other,raw-model"), "explicit", "other,raw-model"),
    (
        "websearch beats subagent",
        msg(system=TAG, tools=[{"type": "web_search_20250305", "name": "web_search"}]),
        "websearch",
        "web-m",
    ),
    (
        "think beats background",
        msg(model="claude-haiku-4-5", thinking={"type": "enabled", "budget_tokens": 1}),
        "think",
        "think-m",
    ),
]


@pytest.mark.parametrize(("name", "body", "rule", "model"), CASES, ids=[c[0] for c in CASES])
def test_rule(
    routed: tuple[InProcessProxy, FakeUpstream], name: str, body: dict[str, Any], rule: str, model: str
) -> None:
    p, up = routed
    response = httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False)
    assert response.status_code == 200, response.text
    assert response.headers["x-ccm-route"] == rule
    assert response.headers["x-ccm-model"] == model
    sent = up.received[-1].json
    expected_actual = model.split(",", 1)[1] if "," in model else f"actual-{model}"
    assert sent["model"] == expected_actual
    assert "CCM-SUBAGENT-MODEL" not in str(sent.get("system", ""))
    rest = {k: v for k, v in sent.items() if k not in ("model", "system")}
    assert rest == {k: v for k, v in body.items() if k not in ("model", "system")}


def test_explicit_keeps_tag_removal(routed: tuple[InProcessProxy, FakeUpstream]) -> None:
    p, up = routed
    httpx.post(f"{p.url}/v1/messages", json=msg(model="other,x", system=f"hi {TAG} there {TAG}"), trust_env=False)
    assert up.received[-1].json["system"] == "hi  there "
