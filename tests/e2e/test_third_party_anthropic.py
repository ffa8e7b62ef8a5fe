"""Third-party Anthropic-format hosts, driven with real Claude Code requests through the proxy: what each
host is reported to refuse is adapted before the first try; anything else a 400 names is learnt with one
corrective retry and adapted up front from then on; Anthropic itself gets the body as Claude Code sent it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import FIXTURES
from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.strict_anthropic import StrictHost, block_types
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
KEY = "key-" + "x" * 12
_SKIP_HEADERS = {"content-length", "host", "connection", "accept-encoding"}


def load(name: str) -> tuple[dict[str, Any], dict[str, str]]:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    meta = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    return body, {k: v for k, v in meta["headers"] if k.lower() not in _SKIP_HEADERS}


def with_tool_reference(name: str = "tool-result-followup") -> tuple[dict[str, Any], dict[str, str]]:
    """A real follow-up whose tool result is what Claude Code's ToolSearch returns: a tool_reference block."""
    body, headers = load(name)
    body = copy.deepcopy(body)
    for message in body["messages"]:
        for block in message["content"] if isinstance(message["content"], list) else []:
            if block.get("type") == "tool_result":
                block["content"] = [{"type": "tool_reference", "tool_name": "WebSearch"}]
    return body, headers


def serve(
    proxy: Px, up: FakeUpstream, ptype: str, *, spare: FakeUpstream | None = None, **failover: Any
) -> InProcessProxy:
    """Model `claude-opus-5-5` (Claude Code's own name, so fixtures route to it) on one host of `ptype`."""
    providers: list[dict[str, Any]] = [{"name": "host", "provider_type": ptype, "base_url": up.url, "api_key": KEY}]
    maps = [("host", "host-model")]
    if spare is not None:
        providers.append(
            {"name": "spare", "provider_type": "anthropic-compatible", "base_url": spare.url, "api_key": KEY}
        )
        maps.append(("spare", "spare-model"))
    return proxy(make_config(providers, {"claude-opus-5-5": maps}, router={"auto_map_regex": "^$"}, failover=failover))


def send(p: InProcessProxy, body: dict[str, Any], headers: dict[str, str], stream: bool = False) -> httpx.Response:
    body = {**body, "model": "claude-opus-5-5", "stream": stream}
    return httpx.post(
        f"{p.url}/v1/messages?beta=true", content=orjson.dumps(body), headers=headers, trust_env=False, timeout=30
    )


def roles(body: dict[str, Any]) -> list[str]:
    return [m["role"] for m in body["messages"]]


def texts(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"])


@pytest.mark.parametrize(
    ("ptype", "refuses", "fixture"),
    [
        ("deepseek-anthropic", {"system-messages-deepseek"}, "tool-result-followup"),
        ("deepseek-anthropic", {"system-messages-deepseek"}, "subagent-tool-result-followup"),  # system LAST
        ("z.ai", {"system-messages-zai", "anthropic-version"}, "agent-result-followup"),
        ("minimax", {"system-messages"}, "main-request-with-tools"),
        ("ollama-anthropic", {"system-messages"}, "interactive-tool-result-followup"),
        ("kimi-coding", {"tool-reference-kimi"}, "tool-reference"),  # Kimi's 400 names nothing: listed
        ("moonshot-anthropic", {"tool-reference", "anthropic-version"}, "tool-reference"),
        ("openrouter-anthropic", {"context_management"}, "main-request-with-tools"),
    ],
)
def test_listed_refusals_are_adapted_before_the_first_try(
    ptype: str, refuses: set[str], fixture: str, upstreams: Up, proxy: Px
) -> None:
    host = StrictHost(refuses)
    up = upstreams().script(Reply(handler=host))
    p = serve(proxy, up, ptype)
    body, headers = with_tool_reference() if fixture == "tool-reference" else load(fixture)
    headers["anthropic-version"] = "2026-10-21"  # what the newest SDKs send: these hosts know 2023-06-01
    response = send(p, body, headers)
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "strict host answer"
    assert (response.headers["x-ccm-attempts"], response.headers["x-ccm-retries"]) == ("1", "0")
    assert host.refused == [] and len(up.received) == 1
    sent = host.bodies[0]
    if "system" in roles(body) and any(r.startswith("system-messages") for r in refuses):
        assert "system" not in roles(sent) and len(sent["messages"]) < len(body["messages"])
        assert "<system-reminder>" in texts(sent)
        for message in body["messages"]:  # nothing lost: every system message's text is in a user turn
            if message["role"] == "system":
                text = message["content"] if isinstance(message["content"], str) else message["content"][0]["text"]
                assert json.dumps(text)[1:-1] in texts(sent)
    if fixture == "tool-reference":
        assert "tool_reference" not in set(block_types(sent["messages"]))
        assert "Tool loaded: WebSearch" in texts(sent)
    if "context_management" in refuses:
        assert "context_management" not in sent and "context_management" in body
    if "anthropic-version" in refuses:
        assert up.received[0].headers["anthropic-version"] == "2023-06-01"
    assert sent["tools"] == body["tools"] and sent["system"] == body["system"]  # never dropped


@pytest.mark.parametrize("stream", [False, True])
def test_an_unlisted_refusal_is_learnt_once_then_adapted_up_front(stream: bool, upstreams: Up, proxy: Px) -> None:
    """DeepSeek is reported to refuse system messages (listed); here it also refuses context_management: the
    first request pays one corrective retry (with max_retries = 0, not fed to a breaker that opens at 1
    failure), the second goes adapted at once."""
    host = StrictHost({"system-messages-deepseek", "context_management"})
    up = upstreams().script(Reply(handler=host))
    p = serve(proxy, up, "deepseek-anthropic", max_retries=0, circuit_failures=1)
    body, headers = load("main-request-with-tools")
    first = send(p, body, headers, stream)
    assert first.status_code == 200, first.text
    assert b"strict host answer"[:6] in first.content and b"event: error" not in first.content
    assert (first.headers["x-ccm-attempts"], first.headers["x-ccm-retries"]) == ("2", "1")
    assert host.refused == ["context_management"] and len(up.received) == 2
    assert "context_management" in host.bodies[0] and "context_management" not in host.bodies[1]
    second = send(p, body, headers, stream)
    assert second.status_code == 200 and second.headers["x-ccm-attempts"] == "1"
    assert len(up.received) == 3 and "context_management" not in host.bodies[2]
    assert host.refused == ["context_management"]
    records = httpx.get(f"{p.url}/api/requests", trust_env=False).json()
    assert [a["outcome"] for a in records[1]["attempts"]] == ["retried", "ok"]


def test_a_refusal_naming_several_things_is_one_retry_adapting_all(upstreams: Up, proxy: Px) -> None:
    host = StrictHost({"extra-fields"})
    up = upstreams().script(Reply(handler=host))
    p = serve(proxy, up, "anthropic-compatible")
    body, headers = load("main-request-with-tools")
    response = send(p, body, headers)
    assert response.status_code == 200 and response.headers["x-ccm-retries"] == "1"
    assert len(up.received) == 2 and host.refused == ["extra-fields"]
    assert not {"context_management", "output_config"} & set(host.bodies[1])
    assert {"thinking", "metadata", "tools", "system"} <= set(host.bodies[1])  # only what was named


@pytest.mark.parametrize(
    ("refuses", "check"),
    [
        ({"system-messages"}, lambda b: "system" not in roles(b)),
        ({"system-messages-zai"}, lambda b: "system" not in roles(b)),  # z.ai's 422
        ({"tool-reference"}, lambda b: "tool_reference" not in set(block_types(b["messages"]))),
        ({"beta:advanced-tool-use-2025-11-20"}, None),
    ],
)
def test_anthropic_compatible_gets_only_what_it_taught(
    refuses: set[str], check: Callable[[dict[str, Any]], bool] | None, upstreams: Up, proxy: Px
) -> None:
    """No listed adaptation on a gateway the user points at (often Anthropic itself behind it): the first
    body goes as Claude Code sent it; only what the host names is adapted, and remembered."""
    host = StrictHost(refuses)
    up = upstreams().script(Reply(handler=host))
    p = serve(proxy, up, "anthropic-compatible")
    body, headers = with_tool_reference("subagent-tool-result-followup")
    assert "advanced-tool-use-2025-11-20" in headers["anthropic-beta"]
    response = send(p, body, headers)
    assert response.status_code == 200, response.text
    assert len(up.received) == 2 and host.refused
    assert "system" in roles(host.bodies[0]) and "tool_reference" in set(block_types(host.bodies[0]["messages"]))
    if check is not None:
        assert check(host.bodies[1])
    betas = up.received[1].headers["anthropic-beta"].split(",")
    if "beta:advanced-tool-use-2025-11-20" in refuses:
        assert "advanced-tool-use-2025-11-20" not in betas and "claude-code-20250219" in betas
    else:
        assert "advanced-tool-use-2025-11-20" in betas
    again = send(p, body, headers)
    assert again.status_code == 200 and again.headers["x-ccm-attempts"] == "1" and len(up.received) == 3


def test_a_refusal_that_names_nothing_fails_over(upstreams: Up, proxy: Px) -> None:
    """Kimi's "Invalid request Error" names nothing to adapt on a host where it is not listed: the next
    mapping serves the request, and the host is not retried."""
    host = StrictHost({"tool-reference-kimi"})
    up = upstreams().script(Reply(handler=host))
    spare = upstreams().script(Reply(200, json=anthropic_message("from the spare")))
    p = serve(proxy, up, "anthropic-compatible", spare=spare)
    body, headers = with_tool_reference()
    response = send(p, body, headers)
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "from the spare"
    assert len(up.received) == 1 and response.headers["x-ccm-attempts"] == "2"


@pytest.mark.parametrize("fixture", ["main-request-with-tools", "subagent-tool-result-followup", "tool-reference"])
def test_anthropic_gets_the_body_byte_for_byte(fixture: str, upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = serve(proxy, up, "anthropic")
    body, headers = with_tool_reference() if fixture == "tool-reference" else load(fixture)
    headers["anthropic-version"] = "2026-10-21"
    sent = {**body, "model": "host-model", "stream": False}
    client_bytes = orjson.dumps({**body, "model": "claude-opus-5-5", "stream": False})
    response = httpx.post(f"{p.url}/v1/messages?beta=true", content=client_bytes, headers=headers, trust_env=False)
    assert response.status_code == 200, response.text
    got = up.received[0]
    assert got.body == orjson.dumps(sent)  # the client's bytes, but for the routed model name
    assert got.headers["anthropic-version"] == "2026-10-21"
    assert got.headers["anthropic-beta"] == headers["anthropic-beta"]
    assert got.path == "/v1/messages?beta=true"


def test_anthropic_refusals_pass_through_and_teach_nothing(upstreams: Up, proxy: Px) -> None:
    refusal = Reply.error(400, "context_management: Extra inputs are not permitted", "invalid_request_error")
    up = upstreams().script(refusal, Reply(200, json=anthropic_message()))
    p = serve(proxy, up, "anthropic")
    body, headers = load("main-request-with-tools")
    refused = send(p, body, headers)
    assert refused.status_code == 400 and refused.json()["error"]["message"] == refusal.json["error"]["message"]
    assert len(up.received) == 1
    assert send(p, body, headers).status_code == 200
    assert "context_management" in up.received[1].json
