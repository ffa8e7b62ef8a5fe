"""A [[clients]] key on the OpenAI clients' endpoints: the same globs, limits and attribution as on
/v1/messages, refusals in OpenAI's shape (the `openai` SDK's own error classes), and no provider named."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import openai
import pytest

from tests.e2e.gateway import ROUTER, gateway_config
from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream, sse

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]

KEY = "client-key-OOOOOOOOOOOOOOOOOO"
OTHER = """
[[models]]
name = "other"
[[models.mappings]]
provider = "up"
actual_model = "real"
"""
CLIENT = f"""
[[clients]]
name = "codex-team"
api_key = "{KEY}"
models = ["m"]
rpm = 2
"""


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)


def test_a_client_key_on_chat_and_responses_has_its_globs_limits_and_name(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok")), Reply(200, json=anthropic_message("ok")))
    px = proxy(gateway_config(up.url, CLIENT, models=OTHER))
    client = sdk(px.url)
    chat = client.chat.completions.with_raw_response.create(
        model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert chat.parse().choices[0].message.content == "ok"
    assert "x-ccm-provider" not in chat.headers and "x-ccm-actual-model" not in chat.headers
    assert client.responses.create(model="m", max_output_tokens=16, input="hi").output_text == "ok"
    with pytest.raises(openai.RateLimitError) as limited:  # the third request of the minute
        client.chat.completions.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    assert int(limited.value.response.headers["retry-after"]) >= 1
    assert "rpm" in limited.value.response.json()["error"]["message"]
    with pytest.raises(openai.PermissionDeniedError) as outside:
        client.responses.create(model="other", input="hi")
    assert "other" in outside.value.response.json()["error"]["message"]
    assert len(up.received) == 2
    records = httpx.get(f"{px.url}/api/requests", headers={"x-api-key": ROUTER}).json()
    assert {r["client"] for r in records} == {"codex-team"}
    assert json.dumps(records).count("codex-team") >= 4


def stream_as_client(px: InProcessProxy, wire: str) -> httpx.Response:
    """A streamed "hi" to model m on `wire` ("chat" or "responses") with the client's key: its 200."""
    path, body = (
        ("/v1/chat/completions", {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        if wire == "chat"
        else ("/v1/responses", {"model": "m", "stream": True, "input": "hi"})
    )
    streamed = httpx.post(f"{px.url}{path}", json=body, headers={"authorization": f"Bearer {KEY}"}, timeout=30)
    assert streamed.status_code == 200
    return streamed


@pytest.mark.parametrize("wire", ["chat", "responses"])
def test_a_mid_stream_error_names_only_the_model_for_a_client(upstreams: Up, proxy: Px, wire: str) -> None:
    """An upstream error event after the first text reaches an OpenAI client as its wire's error (a Chat
    `error` line, a Responses `response.failed`) that names the model, never the provider or its words."""
    events = anthropic_stream("hello there", model="hidden-model")
    error = sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "up-internal melted"}})
    up = upstreams().script(Reply.stream([*events[:4], error]))
    streamed = stream_as_client(proxy(gateway_config(up.url, CLIENT.replace("rpm = 2", ""))), wire)
    last = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")][-1]
    error = last["response"]["error"] if wire == "responses" else last["error"]
    assert (last["type"] == "response.failed") if wire == "responses" else set(last) == {"error"}
    assert "could not finish its answer" in error["message"] and "'m'" in error["message"]
    for word in ("up-internal", "melted", "hidden-model"):
        assert word not in streamed.text


CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "hidden-model"}
CHAT_START = sse(None, {**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "hi"}}]})
RESPONSE = {"id": "resp_up", "object": "response", "model": "hidden-model", "status": "in_progress", "output": []}
RESPONSES_START = sse(
    "response.created", {"type": "response.created", "sequence_number": 0, "response": RESPONSE}
) + sse(
    "response.output_text.delta",
    {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "m1", "output_index": 0, "delta": "hi"},
)
LEAKS = ("up-internal", "melted", "hidden-model", "acme")
#: An upstream on the client's own wire (its events passed through) ending in an error, in each form the
#: wire allows: ccm must recognise every one of them, not only the one it writes itself.
SAME_WIRE_ERRORS = {
    "chat-compact": ("chat", b'data:{"error":{"message":"up-internal melted","type":"acme_error"}}\n\n'),
    "chat-in-chunk": ("chat", sse(None, {**CHUNK, "choices": [], "error": {"message": "melted", "type": "acme"}})),
    "chat-labelled": ("chat", sse("error", {"error": {"message": "up-internal melted", "type": "acme_error"}})),
    "responses-data-only": (
        "responses",
        sse(
            None,
            {
                "type": "response.failed",
                "sequence_number": 1,
                "response": {
                    **RESPONSE,
                    "status": "failed",
                    "error": {"code": "acme_quota", "message": "up-internal melted"},
                },
            },
        ),
    ),
    "responses-error-event": (
        "responses",
        sse("error", {"type": "error", "code": "acme_quota", "message": "melted", "sequence_number": 1}),
    ),
}


@pytest.mark.parametrize("case", SAME_WIRE_ERRORS)
def test_a_passed_through_error_in_any_form_names_only_the_model(upstreams: Up, proxy: Px, case: str) -> None:
    """A mapping on the client's own wire sends its events through: its error, in any form the wire allows,
    still reaches a client as the wire's own error event naming only the model, with a kind from a short
    list and, for Responses, one `response.created` and a `response.failed` that ends the stream."""
    wire, error = SAME_WIRE_ERRORS[case]
    start = CHAT_START if wire == "chat" else RESPONSES_START
    up = upstreams().script(Reply.stream([start, error]))
    provider_type = "openai-compatible" if wire == "chat" else "openai-responses"
    streamed = stream_as_client(
        proxy(gateway_config(up.url, CLIENT.replace("rpm = 2", ""), provider_type=provider_type)), wire
    )
    for word in LEAKS:
        assert word not in streamed.text, streamed.text
    data = [json.loads(line[6:]) for line in streamed.text.splitlines() if line.startswith("data: {")]
    if wire == "chat":
        assert data[-1]["error"]["type"] in ("server_error", "rate_limit_error", "overloaded_error", "timeout_error")
        assert "could not finish its answer" in data[-1]["error"]["message"]
    else:
        assert [d["type"] for d in data].count("response.created") == 1
        assert data[-1]["type"] == "response.failed" and data[-1]["response"]["model"] == "m"
        assert "could not finish its answer" in data[-1]["response"]["error"]["message"]
