"""`/v1/chat/completions` and `/v1/responses` end to end with the official `openai` SDK, on every upstream wire
(Anthropic, Chat Completions, Responses, Gemini fakes on 127.0.0.1): a tool result goes up in the upstream's
shape, text and a tool call come back in the client's, streamed or whole; the same wire in and out passes
the client's request with only `model` changed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.e2e.harness import make_config
from tests.e2e.inbound import (
    ARGS,
    CHAT_TOOL,
    RESPONSES_TOOL,
    TEXT,
    WIRES,
    Px,
    Up,
    answer,
    provider,
    sdk,
    serve,
    tool_result_in,
)

CHAT_HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "what is here?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_prev", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "pwd"}'}}
        ],
    },
    {"role": "tool", "tool_call_id": "call_prev", "content": "/home/me"},
]
RESPONSES_HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "what is here?"},
    {"type": "function_call", "call_id": "call_prev", "name": "Bash", "arguments": '{"command": "pwd"}'},
    {"type": "function_call_output", "call_id": "call_prev", "output": "/home/me"},
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("wire", WIRES)
def test_chat_client_on_every_wire(upstreams: Up, proxy: Px, wire: str, stream: bool) -> None:
    up = upstreams().script(answer(wire, stream=stream))
    p = serve(proxy, [(wire, "up", up.url)])
    client = sdk(p)
    kw: dict[str, Any] = {"model": "m", "messages": CHAT_HISTORY, "tools": [CHAT_TOOL]}
    if stream:
        with client.chat.completions.stream(**kw) as events:
            completion = events.get_final_completion()
    else:
        raw = client.chat.completions.with_raw_response.create(**kw)
        assert raw.headers["x-ccm-provider"] == "up" and raw.headers["x-ccm-route"] == "default"
        completion = raw.parse()
    assert completion.model == "m"
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    if wire != "anthropic" or not stream:  # the streamed Anthropic fake calls the tool without text
        assert choice.message.content == TEXT
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [("Bash", ARGS)]  # type: ignore[union-attr]
    if wire != "gemini":
        assert calls[0].id == "call_up1"
    body = up.received[0].json
    assert tool_result_in(wire, body) in (
        "/home/me",
        json.dumps({"result": "/home/me"}),
        json.dumps({"output": "/home/me"}),
    )
    if wire == "openai":  # the same wire: the client's request, only the model changed
        sent = {k: v for k, v in body.items() if k not in ("model", "stream_options")}
        assert sent == {
            k: v for k, v in {**kw, "stream": True if stream else None}.items() if v is not None and k != "model"
        }
        assert body["model"] == "actual-up"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("wire", WIRES)
def test_responses_client_on_every_wire(upstreams: Up, proxy: Px, wire: str, stream: bool) -> None:
    up = upstreams().script(answer(wire, stream=stream))
    p = serve(proxy, [(wire, "up", up.url)])
    client = sdk(p)
    kw: dict[str, Any] = {"model": "m", "input": RESPONSES_HISTORY, "tools": [RESPONSES_TOOL], "instructions": "terse"}
    if stream:
        with client.responses.stream(**kw) as events:
            kinds = [e.type for e in events]
            result = events.get_final_response()
        assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    else:
        result = client.responses.create(**kw)
    assert result.model == "m" and result.status == "completed"
    calls = [item for item in result.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("Bash", ARGS)]  # type: ignore[union-attr]
    if wire != "anthropic" or not stream:
        assert result.output_text == TEXT
    if wire != "gemini":
        assert calls[0].call_id == "call_up1"  # type: ignore[union-attr]
    body = up.received[0].json
    assert tool_result_in(wire, body) in (
        "/home/me",
        json.dumps({"result": "/home/me"}),
        json.dumps({"output": "/home/me"}),
    )
    if wire == "responses":
        assert {k: v for k, v in body.items() if k != "model"} == {
            **{k: v for k, v in kw.items() if k != "model"},
            **({"stream": True} if stream else {}),
        }


def test_same_wire_keeps_unknown_fields_ids_and_reasoning(upstreams: Up, proxy: Px) -> None:
    """Nothing the client sends is lost on its own wire: unknown fields, tool call ids, encrypted reasoning,
    custom tools the translation could not carry."""
    chat_up, resp_up = upstreams(), upstreams()
    chat_up.script(answer("openai", stream=False))
    resp_up.script(answer("responses", stream=False))
    p = serve(proxy, [("openai", "oa", chat_up.url)])
    chat_body = {"model": "m", "messages": CHAT_HISTORY, "tools": [CHAT_TOOL], "vendor_knob": {"x": 1}, "n": 2}
    assert httpx.post(f"{p.url}/v1/chat/completions", json=chat_body, timeout=30).status_code == 200
    assert chat_up.received[0].json == {**chat_body, "model": "actual-oa"}
    q = serve(proxy, [("responses", "rs", resp_up.url)])
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAopaque"}
    custom = {
        "type": "custom",
        "name": "apply_patch",
        "format": {"type": "grammar", "syntax": "lark", "definition": "x"},
    }
    resp_body = {
        "model": "m",
        "input": [*RESPONSES_HISTORY[:2], reasoning, RESPONSES_HISTORY[2]],
        "tools": [custom],
        "store": True,
    }
    assert httpx.post(f"{q.url}/v1/responses", json=resp_body, timeout=30).status_code == 200
    assert resp_up.received[0].json == {**resp_body, "model": "actual-rs"}


def test_think_and_websearch_route_from_openai_fields(upstreams: Up, proxy: Px) -> None:
    """think = a reasoning effort other than none/minimal; websearch = a web search tool (ccm.api.openai_chat)."""
    up = upstreams().script(answer("anthropic", stream=False))
    models = {"m": [("up", "actual-m")], "deep": [("up", "actual-deep")], "web": [("up", "actual-web")]}
    p = proxy(make_config([provider("anthropic", "up", up.url)], models, router={"think": "deep", "websearch": "web"}))
    client = sdk(p)
    hello = [{"role": "user", "content": "x"}]
    raw = client.chat.completions.with_raw_response.create(model="m", messages=hello, reasoning_effort="high")
    assert raw.headers["x-ccm-route"] == "think" and up.received[-1].json["model"] == "actual-deep"
    sent = up.received[-1].json  # no max_tokens from the client: ccm's default, the budget fitted under it
    assert sent["max_tokens"] == 8192 and sent["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    raw = client.chat.completions.with_raw_response.create(model="m", messages=hello, reasoning_effort="minimal")
    assert raw.headers["x-ccm-route"] == "default" and up.received[-1].json["model"] == "actual-m"
    raw2 = client.responses.with_raw_response.create(model="m", input="x", tools=[{"type": "web_search"}])
    assert raw2.headers["x-ccm-route"] == "websearch" and up.received[-1].json["model"] == "actual-web"
    raw2 = client.responses.with_raw_response.create(model="m", input="x", reasoning={"effort": "low"})
    assert raw2.headers["x-ccm-route"] == "think"


def test_same_wire_streams_are_counted_and_the_usage_ccm_asked_for_is_not_shown(upstreams: Up, proxy: Px) -> None:
    """ccm asks a same-wire stream for its usage (the request log counts tokens) but the client that did not
    ask for it never sees it."""
    chat_up, resp_up = upstreams(), upstreams()
    chat_up.script(answer("openai", stream=True))
    resp_up.script(answer("responses", stream=True))
    p = serve(proxy, [("openai", "oa", chat_up.url)])
    chunks = list(sdk(p).chat.completions.create(model="m", messages=CHAT_HISTORY, stream=True))
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "tool_calls"
    assert chat_up.received[0].json["stream_options"] == {"include_usage": True}
    q = serve(proxy, [("responses", "rs", resp_up.url)])
    list(sdk(q).responses.create(model="m", input="hi", stream=True))
    for proxy_, kind in ((p, "chat_completions"), (q, "responses")):
        records = httpx.get(f"{proxy_.url}/api/requests?limit=1", timeout=10).json()
        record = (records.get("requests", records) if isinstance(records, dict) else records)[0]
        assert record["kind"] == kind and record["status"] == 200
        assert (record["input_tokens"], record["output_tokens"]) == ((10, 5) if kind == "chat_completions" else (20, 8))
