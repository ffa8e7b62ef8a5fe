"""Shared pieces of the inbound OpenAI endpoint tests: one fake upstream per wire, scripted to answer a tool
round like a model would, and the official `openai` SDK pointed at the proxy.

    up, provider = upstream(upstreams, "gemini")     # a started fake and its provider entry
    up.script(answer("gemini", stream=True))         # text, then a Bash call (whole or streamed)
    client = sdk(p)                                  # openai.OpenAI at <proxy>/v1
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai

from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.anthropic_sse import tool_use_stream
from tests.fakes.responses import call_item, message_item, response, responses_stream
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, openai_completion, openai_stream
from tests.translate import gemini_helpers

KEY = "sk-provider-key-123456"
WIRES = ("anthropic", "openai", "responses", "gemini")
TEXT = "I will list the files."
ARGS = {"command": "ls -la"}
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "Bash",
        "description": "Run a shell command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
}
RESPONSES_TOOL = {"type": "function", **CHAT_TOOL["function"]}  # type: ignore[dict-item]
Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]


def provider(wire: str, name: str, url: str) -> dict[str, Any]:
    kind = {"anthropic": "anthropic-compatible", "openai": "openai-compatible", "responses": "openai-responses"}
    base = {"anthropic": url, "gemini": f"{url}/v1beta"}.get(wire, f"{url}/v1")
    return {"name": name, "provider_type": kind.get(wire, "gemini"), "base_url": base, "api_key": KEY}


def serve(proxy: Px, mappings: list[tuple[str, str, str]], **config: Any) -> InProcessProxy:
    """mappings: (wire, provider name, fake url), tried in order for model "m"."""
    providers = [provider(wire, name, url) for wire, name, url in mappings]
    models = {"m": [(name, f"actual-{name}") for _, name, _ in mappings]}
    return proxy(make_config(providers, models, **config))


def sdk(p: InProcessProxy, key: str = "client-key") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{p.url}/v1", api_key=key, max_retries=0, timeout=60)


def answer(wire: str, *, stream: bool, call_id: str = "call_up1") -> Reply:
    """The upstream's answer on `wire`: some text, then one Bash call."""
    arguments = json.dumps(ARGS)
    if wire == "anthropic":
        if stream:
            return Reply.stream(tool_use_stream("Bash", ARGS, tool_id=call_id, thinking="Listing is safe."))
        message = anthropic_message(TEXT)
        message["content"].append({"type": "tool_use", "id": call_id, "name": "Bash", "input": ARGS})
        message["stop_reason"] = "tool_use"
        return Reply(200, json=message)
    if wire == "openai":
        calls = [{"id": call_id, "name": "Bash", "arguments": arguments}]
        if stream:
            return Reply.stream(openai_stream(TEXT, tool_calls=calls, pieces=3))
        return Reply(200, json=openai_completion(TEXT, tool_calls=calls))
    if wire == "responses":
        if stream:
            return Reply.stream(responses_stream(TEXT, [(call_id, "Bash", ARGS)]))
        return Reply(200, json=response([message_item(TEXT), call_item((call_id, "Bash", ARGS))]))
    parts = [{"text": TEXT}, {"functionCall": {"name": "Bash", "args": ARGS}}]
    whole = gemini_helpers.response(*parts, usage=gemini_helpers.usage())
    if stream:
        first = gemini_helpers.response(parts[0], finish=None)
        return Reply.stream(
            [
                gemini_helpers.sse(first),
                gemini_helpers.sse(gemini_helpers.response(parts[1], usage=gemini_helpers.usage())),
            ]
        )
    return Reply(200, json=whole)


def tool_result_in(wire: str, body: dict[str, Any]) -> str:
    """The text of the last tool result the upstream received, in its own wire's shape."""
    if wire == "anthropic":
        blocks = [b for m in body["messages"] for b in (m["content"] if isinstance(m["content"], list) else [])]
        result = [b for b in blocks if b.get("type") == "tool_result"][-1]["content"]
        return result if isinstance(result, str) else "".join(p.get("text", "") for p in result)
    if wire == "openai":
        return str([m for m in body["messages"] if m["role"] == "tool"][-1]["content"])
    if wire == "responses":
        return str([i for i in body["input"] if i.get("type") == "function_call_output"][-1]["output"])
    parts = [p for c in body["contents"] for p in c["parts"] if "functionResponse" in p]
    return json.dumps(parts[-1]["functionResponse"]["response"])
