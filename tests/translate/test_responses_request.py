"""Anthropic requests as Responses requests: both profiles, every real Claude Code fixture, and the rules
the ChatGPT backend enforces (tests.fakes.responses), checked by the fake's own rule set
(which includes the openai SDK's request types)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from ccm.providers.openai import ADAPTER as CHAT
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.signature import sign_thinking
from tests.fakes.responses import violations
from tests.translate.helpers import fixture_names, load_fixture
from tests.translate.helpers import make_ctx as chat_ctx
from tests.translate.responses_helpers import build, make_ctx, user

BASH = {"name": "Bash", "description": "Run", "input_schema": {"type": "object", "properties": {}}}
ENC = "gAAAAB-encrypted-reasoning"


def signed(text: str, provider: str = "chatgpt", model: str = "gpt-5.5", enc: str = ENC) -> dict[str, Any]:
    state = ReasoningOrigin(provider, model).state(enc)
    return {"type": "thinking", "thinking": text, "signature": sign_thinking(text, [state])}


@pytest.mark.parametrize("backend", [True, False])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("fixture", fixture_names())
def test_every_fixture_obeys_the_rules(fixture: str, backend: bool, stream: bool) -> None:
    body = load_fixture(fixture)
    original = orjson.dumps(body)
    ctx = make_ctx(backend=backend, stream=stream, headers={"x-claude-code-session-id": "sess-1"})
    request, sent = build(body, ctx)
    assert violations(sent, request.headers, backend=backend) == []
    assert orjson.dumps(body) == original, "the client's body was mutated"
    text = request.body.decode()
    assert "x-anthropic-billing-header" not in text and "cache_control" not in text and '"$schema"' not in text
    assert sent["store"] is False and sent["prompt_cache_key"] == "sess-1"
    assert sent.get("stream", False) is (True if backend else stream)
    names = [t.get("name") for t in sent.get("tools", [])]
    assert "DeferredToolPlaceholder" not in names
    if backend:
        assert not set(sent) & {"max_output_tokens", "temperature", "top_p", "user", "metadata", "truncation"}
        assert isinstance(sent["instructions"], str)
    else:
        assert sent["max_output_tokens"] == min(body["max_tokens"], 128_000)
    assert all(item.get("role") != "system" for item in sent["input"])


def test_backend_headers_and_url() -> None:
    ctx = make_ctx(headers={"x-claude-code-session-id": "sess-9", "authorization": "Bearer client", "x-api-key": "k"})
    request, sent = build({"model": "m", "max_tokens": 5, "messages": [user("hi")]}, ctx)
    assert request.url == "https://chatgpt.com/backend-api/codex/responses"
    assert request.headers["authorization"] == "Bearer tok-access"
    assert request.headers["chatgpt-account-id"] == "acc-123"
    assert request.headers["originator"] == "codex_cli_rs"
    assert request.headers["openai-beta"] == "responses=experimental"
    assert request.headers["session_id"] == "sess-9" == sent["prompt_cache_key"]
    assert request.headers["accept"] == "text/event-stream"
    assert request.headers["user-agent"].startswith("ccm/")
    assert "x-api-key" not in request.headers
    assert sent["stream"] is True  # a non-streaming client still gets a stream
    custom = make_ctx(base_url="http://127.0.0.1:9/backend-api/codex/")
    assert build({"model": "m", "max_tokens": 5, "messages": [user("hi")]}, custom)[0].url == (
        "http://127.0.0.1:9/backend-api/codex/responses"
    )


def test_api_key_profile_headers_and_limits() -> None:
    ctx = make_ctx(backend=False, model="gpt-4.1", stream=False)
    body = {"model": "m", "max_tokens": 100_000, "temperature": 0.2, "top_p": 0.9, "messages": [user("hi")]}
    request, sent = build(body, ctx)
    assert request.url == "https://api.openai.com/v1/responses"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert "chatgpt-account-id" not in request.headers and "originator" not in request.headers
    assert "stream" not in sent
    assert sent["max_output_tokens"] == 32_768  # gpt-4.1's limit
    assert (sent["temperature"], sent["top_p"]) == (0.2, 0.9)
    assert "reasoning" not in sent and "include" not in sent  # not a reasoning model
    _, reasoning = build(body, make_ctx(backend=False, model="gpt-5-pro", max_output_tokens=2000))
    assert reasoning["max_output_tokens"] == 2000 and "temperature" not in reasoning
    assert reasoning["include"] == ["reasoning.encrypted_content"]


def test_system_goes_to_instructions_and_mid_conversation_system_to_developer() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1; cch=abcde;"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be brief."},
        ],
        "messages": [user("hi"), {"role": "system", "content": "The user changed mode."}, user("go")],
    }
    _, sent = build(body, make_ctx())
    assert sent["instructions"] == "You are Claude Code.\n\nBe brief."
    assert sent["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "The user changed mode."}]},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
    ]
    _, empty = build({"model": "m", "max_tokens": 10, "messages": [user("hi")]}, make_ctx())
    assert empty["instructions"] == ""  # required by the backend even when there is no system prompt


def test_tool_loop_images_and_errors() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}
    body = {
        "model": "m",
        "max_tokens": 10,
        "tools": [BASH],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "look"}, image]},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Running both."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"command": "pwd"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "denied", "is_error": True},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "a"}, image],
                    },
                    {"type": "tool_result", "tool_use_id": "toolu_gone", "content": "stale"},
                ],
            },
        ],
    }
    _, sent = build(body, make_ctx())
    assert violations(sent, None, backend=False) == []
    items = sent["input"]
    assert items[0]["content"][1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64,iVBOR",
        "detail": "auto",
    }
    assert items[1] == {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Running both."}],
    }
    assert items[2] == {"type": "function_call", "call_id": "toolu_1", "name": "Bash", "arguments": '{"command":"ls"}'}
    assert items[4]["call_id"] == "toolu_1" and items[4]["output"][1]["type"] == "input_image"
    assert items[5] == {"type": "function_call_output", "call_id": "toolu_2", "output": "Error: denied"}
    assert items[6]["role"] == "user" and "toolu_gone" in items[6]["content"][0]["text"]  # an orphan result
    assert sent["tools"] == [
        {
            "type": "function",
            "name": "Bash",
            "parameters": {"type": "object", "properties": {}},
            "strict": False,
            "description": "Run",
        }
    ]
    assert sent["parallel_tool_calls"] is True


def test_unanswered_call_gets_a_stand_in_output_and_long_ids_and_names_are_shortened() -> None:
    long_id = "toolu_" + "x" * 80
    long_name = "mcp__a_server_with_a_long_name__and_a_tool_with_an_even_longer_name_here"
    body = {
        "model": "m",
        "max_tokens": 10,
        "tools": [{**BASH, "name": long_name}],
        "tool_choice": {"type": "tool", "name": long_name, "disable_parallel_tool_use": True},
        "messages": [
            user("x"),
            {"role": "assistant", "content": [{"type": "tool_use", "id": long_id, "name": long_name, "input": {}}]},
            user("never mind"),
        ],
    }
    request, sent = build(body, make_ctx())
    assert violations(sent, request.headers, backend=True) == []
    call, output = sent["input"][1], sent["input"][2]
    assert len(call["call_id"]) <= 64 and output["call_id"] == call["call_id"]
    assert output["output"].startswith("(no result")
    assert len(call["name"]) == 64 and sent["tools"][0]["name"] == call["name"]
    assert sent["tool_choice"] == {"type": "function", "name": call["name"]}
    assert sent["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("choice", "expected"), [({"type": "any"}, "required"), ({"type": "none"}, "none"), ({"type": "auto"}, "auto")]
)
def test_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    body = {"model": "m", "max_tokens": 5, "tools": [BASH], "tool_choice": choice, "messages": [user("x")]}
    assert build(body, make_ctx())[1]["tool_choice"] == expected


@pytest.mark.parametrize(
    ("thinking", "config", "effort"),
    [
        ({"type": "enabled", "budget_tokens": 2000}, None, "low"),
        ({"type": "enabled", "budget_tokens": 10000}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 31999}, None, "high"),
        ({"type": "adaptive"}, {"effort": "medium"}, "medium"),
        ({"type": "adaptive"}, {"effort": "max"}, "high"),
        ({"type": "adaptive"}, None, None),
        ({"type": "disabled"}, None, "none"),
        (None, None, None),
    ],
)
def test_reasoning_effort(thinking: Any, config: Any, effort: str | None) -> None:
    body: dict[str, Any] = {"model": "m", "max_tokens": 5, "messages": [user("x")]}
    if thinking:
        body["thinking"] = thinking
    if config:
        body["output_config"] = config
    _, sent = build(body, make_ctx(model="gpt-5.5"))
    assert sent["reasoning"].get("effort") == effort and sent["reasoning"]["summary"] == "auto"
    assert sent["include"] == ["reasoning.encrypted_content"]


def test_reasoning_goes_back_only_to_the_provider_and_model_that_made_it() -> None:
    other_host = {"type": "thinking", "thinking": "glm thought", "signature": "zai-signature"}
    body = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            user("x"),
            {
                "role": "assistant",
                "content": [
                    signed("mine"),
                    signed("other model", model="gpt-5.4"),
                    signed("other provider", provider="work"),
                    other_host,
                    {"type": "redacted_thinking", "data": "xyz"},
                    {"type": "text", "text": "answer"},
                ],
            },
            user("more"),
        ],
    }
    request, sent = build(body, make_ctx())
    assert violations(sent, request.headers, backend=True) == []
    assert sent["input"][1] == {"type": "reasoning", "summary": [], "encrypted_content": ENC}
    assert [i["type"] for i in sent["input"]] == ["message", "reasoning", "message", "message"]


def test_prompt_cache_key_is_stable_without_a_session_header() -> None:
    first = {"model": "m", "max_tokens": 5, "messages": [user("hello there")]}
    later = {**first, "messages": [user("hello there"), {"role": "assistant", "content": "hi"}, user("and?")]}
    other = {**first, "messages": [user("something else")]}
    key = build(first, make_ctx())[1]["prompt_cache_key"]
    assert key == build(later, make_ctx())[1]["prompt_cache_key"] != build(other, make_ctx())[1]["prompt_cache_key"]
    assert len(key) <= 64


def test_web_search_and_json_schema_output() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "tools": [{"type": "web_search_20260209", "name": "web_search"}, {"type": "bash_20250124", "name": "bash"}],
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "messages": [user("x")],
    }
    request, sent = build(body, make_ctx())
    assert sent["tools"] == [{"type": "web_search"}]
    assert sent["text"] == {
        "format": {"type": "json_schema", "name": "response", "schema": {"type": "object"}, "strict": False}
    }
    assert violations(sent, request.headers, backend=True) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"max_output_tokens": 10}, "Unsupported parameter: max_output_tokens"),
        ({"temperature": 1}, "Unsupported parameter: temperature"),
        ({"stream": False}, "Stream must be set to true"),
        ({"store": True}, "store must be false"),
        ({"instructions": None}, "Instructions are required"),
        ({"input": [{"type": "message", "role": "system", "content": "x"}]}, "System messages are not allowed"),
        ({"input": [{"type": "reasoning", "id": "rs_1", "summary": []}]}, "Items are not persisted"),
        ({"input": [{"type": "reasoning", "summary": [], "encrypted_content": "sig"}]}, "invalid_encrypted_content"),
        ({"input": [{"type": "function_call_output", "call_id": "c1", "output": "x"}]}, "No tool call found"),
        ({"input": [{"type": "function_call", "call_id": "c" * 65, "name": "f", "arguments": "{}"}]}, "too long"),
        ({"input": [{"type": "message", "role": "user", "content": [{"type": "input_image"}]}]}, "invalid item"),
    ],
)
def test_the_fake_refuses_what_the_backend_refuses(change: dict[str, Any], message: str) -> None:
    request, sent = build({"model": "m", "max_tokens": 5, "messages": [user("x")]}, make_ctx())
    assert violations(sent, request.headers, backend=True) == []
    problems = violations({**sent, **change}, request.headers, backend=True)
    assert any(message in p for p in problems), problems
    assert violations(sent, {**request.headers, "chatgpt-account-id": ""}, backend=True)


def test_responses_reasoning_never_reaches_a_chat_completions_provider() -> None:
    body = {
        "model": "m",
        "max_tokens": 5,
        "messages": [
            user("x"),
            {"role": "assistant", "content": [signed("t"), {"type": "text", "text": "a"}]},
            user("y"),
        ],
    }
    sent = orjson.loads(CHAT.build(body, chat_ctx("openrouter", "openai/gpt-5")).body)
    assert ENC not in orjson.dumps(sent).decode() and "reasoning_details" not in sent["messages"][1]
