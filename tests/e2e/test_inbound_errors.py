"""What goes wrong on `/v1/chat/completions` and `/v1/responses`, as the official `openai` SDK sees it: every
error OpenAI-shaped with the status that picks the SDK's class, failover across wires, a cut stream that
ends in the wire's error, `previous_response_id` kept to the mapping that made it, Codex's non-function
tools refused where they cannot go, and the request log."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.e2e.harness import make_config
from tests.e2e.inbound import RESPONSES_TOOL, Px, Up, answer, provider, sdk, serve
from tests.fakes.anthropic_sse import tool_use_stream
from tests.fakes.responses import event, message_item, response, responses_stream
from tests.fakes.upstream import Reply, anthropic_stream, openai_error

HELLO = [{"role": "user", "content": "hello"}]


def error_of(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return dict(body["error"])


@pytest.mark.parametrize(
    ("status", "cls"),
    [(429, openai.RateLimitError), (503, openai.InternalServerError), (403, openai.PermissionDeniedError)],
)
def test_when_every_mapping_fails_the_sdk_raises_the_statuss_class(
    upstreams: Up, proxy: Px, status: int, cls: type[openai.APIStatusError]
) -> None:
    a, b = upstreams(), upstreams()
    a.script(Reply.error(status, "nope", "rate_limit_error" if status == 429 else "api_error"))
    b.script(openai_error(status, "no"))
    p = serve(proxy, [("anthropic", "a", a.url), ("openai", "b", b.url)])
    for call in (
        lambda c: c.chat.completions.create(model="m", messages=HELLO),
        lambda c: c.responses.create(model="m", input="hello", stream=True),
    ):
        with pytest.raises(cls) as caught:
            call(sdk(p))
        error = error_of(caught.value)
        assert "a/actual-a" in error["message"] and "b/actual-b" in error["message"]
        assert caught.value.response.headers["x-ccm-attempts"] == "2"
    assert error["code"] == ("rate_limit_exceeded" if status == 429 else None)


def test_unknown_model_wrong_key_and_bad_field(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    providers = [provider("anthropic", "a", up.url)]
    p = proxy(make_config(providers, {"m": [("a", "x")]}, server={"api_key": "router-key-0123456789"}))
    with pytest.raises(openai.AuthenticationError) as unauthorized:
        sdk(p, "wrong-key").chat.completions.create(model="m", messages=HELLO)
    assert error_of(unauthorized.value)["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        sdk(p, "wrong-key").responses.create(model="m", input="hello")
    client = sdk(p, "router-key-0123456789")
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="nope", messages=HELLO)
    assert error_of(missing.value)["code"] == "model_not_found"
    with pytest.raises(openai.NotFoundError):
        client.responses.create(model="nope", input="hello")
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="m", messages=[{"role": "robot", "content": "x"}])
    assert error_of(bad.value)["param"] == "messages.0.role"
    with pytest.raises(openai.BadRequestError) as bad:
        client.responses.create(model="m", input="x", max_output_tokens=0)
    assert error_of(bad.value)["param"] == "max_output_tokens"
    assert up.received == []


def test_a_browser_page_gets_an_openai_shaped_403(upstreams: Up, proxy: Px) -> None:
    p = serve(proxy, [("anthropic", "a", upstreams().url)])
    for path in ("/v1/chat/completions", "/v1/responses"):
        got = httpx.post(f"{p.url}{path}", json={}, headers={"origin": "https://evil.example"}, timeout=10)
        assert got.status_code == 403 and set(got.json()["error"]) == {"message", "type", "param", "code"}
        got = httpx.get(f"{p.url}{path}", timeout=10)
        assert got.status_code == 405 and got.json()["error"]["message"].startswith("method GET not allowed")


def test_failover_from_one_wire_to_another(upstreams: Up, proxy: Px) -> None:
    a, b = upstreams(), upstreams()
    a.script(openai_error(500, "boom"))
    b.script(Reply.stream(anthropic_stream("from the second mapping", pieces=3)))
    p = serve(proxy, [("openai", "a", a.url), ("anthropic", "b", b.url)])
    raw = sdk(p).chat.completions.with_raw_response.create(model="m", messages=HELLO)
    assert raw.headers["x-ccm-attempts"] == "2" and raw.headers["x-ccm-provider"] == "b"
    b.script(Reply.stream(anthropic_stream("from the second mapping", pieces=3)))
    with sdk(p).responses.stream(model="m", input="hello") as events:
        assert events.get_final_response().output_text == "from the second mapping"


@pytest.mark.parametrize(("wire", "ends"), [("anthropic", 1), ("openai", 3)])  # message_stop; finish, usage, [DONE]
def test_a_cut_stream_raises_in_the_chat_sdk_and_fails_the_response(
    upstreams: Up, proxy: Px, wire: str, ends: int
) -> None:
    """Cut before the upstream said the answer ended: the Chat client's SDK raises, the Responses stream ends
    with response.failed; neither ever sees a clean finish."""
    up = upstreams()
    p = serve(proxy, [(wire, "up", up.url)])
    whole = answer(wire, stream=True).chunks
    up.script(Reply.stream(whole, cut_after=len(whole) - ends))
    seen: list[str] = []
    with pytest.raises(openai.APIError):
        for chunk in sdk(p).chat.completions.create(model="m", messages=HELLO, stream=True):
            seen.append(chunk.choices[0].finish_reason or "" if chunk.choices else "")
    assert "tool_calls" not in seen and "stop" not in seen
    up.script(Reply.stream(whole, cut_after=len(whole) - ends))
    kinds = [event.type for event in sdk(p).responses.create(model="m", input="hello", stream=True)]
    assert kinds[-1] == "response.failed" and "response.completed" not in kinds


def test_a_cut_passed_through_response_fails_the_response_it_started(upstreams: Up, proxy: Px) -> None:
    """A Responses mapping's events go through as they came; cut before response.completed, the stream
    ends with a response.failed for that same response: one response.created, the upstream's id."""
    up = upstreams()
    p = serve(proxy, [("responses", "up", up.url)])
    whole = answer("responses", stream=True).chunks
    up.script(Reply.stream(whole, cut_after=len(whole) - 1))
    events = list(sdk(p).responses.create(model="m", input="hello", stream=True))
    kinds = [event.type for event in events]
    assert kinds.count("response.created") == 1 and kinds[-1] == "response.failed"
    assert events[-1].response.id == events[0].response.id  # type: ignore[union-attr]


def test_a_passed_through_response_failed_names_the_model_asked_for(upstreams: Up, proxy: Px) -> None:
    """The upstream's own response.failed goes through with the model the client asked for, like every
    other event of the stream, never the mapping's actual model."""
    up = upstreams()
    p = serve(proxy, [("responses", "up", up.url)])
    failed = {**response([], "failed"), "error": {"code": "server_error", "message": "down"}}
    up.script(Reply.stream([*responses_stream("hello")[:5], event("response.failed", response=failed)]))
    events = list(sdk(p).responses.create(model="m", input="hello", stream=True))
    assert events[-1].type == "response.failed" and events[-1].response.model == "m"  # type: ignore[union-attr]


def test_previous_response_id_sticks_to_the_mapping_that_made_it(upstreams: Up, proxy: Px) -> None:
    a, b = upstreams(), upstreams()
    a.script(openai_error(500, "down"))
    b.script(Reply(200, json=response([message_item("first")], id="resp_from_b")))
    p = serve(proxy, [("responses", "a", a.url), ("responses", "b", b.url)])
    client = sdk(p)
    assert client.responses.create(model="m", input="hi").id == "resp_from_b"
    a.script(Reply(200, json=response([message_item("wrong")])))
    b.script(Reply(200, json=response([message_item("second")], id="resp_2")))
    follow = client.responses.create(model="m", input="more", previous_response_id="resp_from_b")
    assert follow.output_text == "second" and len(a.received) == 1  # a, first in order, was not asked again
    assert b.received[-1].json["previous_response_id"] == "resp_from_b"


def test_previous_response_id_without_a_responses_mapping_is_a_400(upstreams: Up, proxy: Px) -> None:
    p = serve(proxy, [("anthropic", "a", upstreams().url)])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(p).responses.create(model="m", input="more", previous_response_id="resp_x")
    error = error_of(caught.value)
    assert error["param"] == "previous_response_id" and "whole conversation" in error["message"]


def test_codex_custom_tools_are_refused_where_the_wire_has_none_and_carried_where_it_has(
    upstreams: Up, proxy: Px
) -> None:
    claude, gpt = upstreams(), upstreams()
    custom = {"type": "custom", "name": "apply_patch", "description": "patch", "format": {"type": "text"}}
    body: dict[str, Any] = {"model": "m", "input": "edit it", "tools": [RESPONSES_TOOL, custom]}
    p = serve(proxy, [("anthropic", "claude", claude.url)])
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(p).responses.create(**body)
    assert 'tools.1: a "custom" tool cannot be translated for this mapping' in error_of(caught.value)["message"]
    assert claude.received == []
    gpt.script(answer("responses", stream=False))
    q = serve(proxy, [("anthropic", "claude", claude.url), ("responses", "gpt", gpt.url)])
    raw = sdk(q).responses.with_raw_response.create(**body)
    assert raw.headers["x-ccm-provider"] == "gpt" and raw.headers["x-ccm-attempts"] == "2"
    assert gpt.received[0].json["tools"][1] == custom


def test_requests_are_recorded_with_their_kind_and_usage(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    up.script(Reply.stream(tool_use_stream("Bash", {"command": "ls"})))
    p = serve(proxy, [("anthropic", "up", up.url)])
    client = sdk(p)
    list(client.chat.completions.create(model="m", messages=HELLO, stream=True))
    client.responses.create(model="m", input="hello")
    records = httpx.get(f"{p.url}/api/requests?limit=5", timeout=10).json()
    records = records.get("requests", records) if isinstance(records, dict) else records
    kinds = {r["kind"]: r for r in records}
    assert set(kinds) == {"chat_completions", "responses"}
    assert kinds["chat_completions"]["output_tokens"] == 12 and kinds["chat_completions"]["status"] == 200
    assert kinds["responses"]["provider"] == "up" and kinds["responses"]["input_tokens"] == 10
    metrics = httpx.get(f"{p.url}/api/metrics", timeout=10).json()
    assert metrics["requests"]["total"] == 2, json.dumps(metrics)[:300]
