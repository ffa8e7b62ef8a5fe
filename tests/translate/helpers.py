"""Helpers for the translation tests: request contexts, OpenAI stream builders, and a validator that holds
every upstream body to the `openai` SDK's own request types.

Nothing here mocks ccm: the adapter under test is the real one, fed real bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from openai.types.chat import completion_create_params as ccp
from pydantic import TypeAdapter

from ccm.auth import credentials
from ccm.providers.base import Frame, RequestContext
from ccm.providers.openai import ADAPTER
from ccm.routing import Candidate
from config.schema import ProviderConfig, spec_for
from tests.conftest import FIXTURES
from tests.conftest import fixture_names as conftest_fixture_names

_STREAMING = TypeAdapter(ccp.CompletionCreateParamsStreaming)
_NON_STREAMING = TypeAdapter(ccp.CompletionCreateParamsNonStreaming)
#: Keys the SDK does not type but providers document: top_k (vLLM, OpenRouter, Together...), OpenRouter's
#: reasoning/plugins, and the reasoning round-trip fields on assistant messages (DeepSeek, Kimi).
EXTRA_TOP = {"top_k", "reasoning", "plugins"}
EXTRA_MESSAGE = {"reasoning_content", "reasoning", "reasoning_details"}


def make_ctx(
    provider_type: str = "openai",
    model: str = "gpt-4o",
    *,
    stream: bool = True,
    base_url: str | None = None,
    max_output_tokens: int | None = None,
    api_key: str | None = "sk-test",
    requested_model: str = "claude-opus-5-5",
) -> RequestContext:
    provider = ProviderConfig("p", provider_type, spec_for(provider_type), base_url=base_url)
    candidate = Candidate(provider, model, max_output_tokens)
    return RequestContext(candidate, credentials.api_key(api_key), {}, requested_model=requested_model, stream=stream)


def chunk(
    delta: dict[str, Any] | None = None,
    finish: str | None = None,
    usage: dict[str, Any] | None = None,
    *,
    choices: bool = True,
) -> dict[str, Any]:
    """One chat.completion.chunk."""
    data: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    data["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish}] if choices else []
    if usage is not None:
        data["usage"] = usage
    return data


def sse_bytes(chunks: Iterable[Any], *, done: bool = True) -> bytes:
    out = b"".join(b"data: " + (c.encode() if isinstance(c, str) else orjson.dumps(c)) + b"\n\n" for c in chunks)
    return out + (b"data: [DONE]\n\n" if done else b"")


def run_stream(ctx: RequestContext, pieces: Iterable[bytes], content_type: str = "text/event-stream") -> list[Frame]:
    translator = ADAPTER.stream(ctx, content_type)
    frames: list[Frame] = []
    for piece in pieces:
        frames += translator.feed(piece)
    return frames + translator.finish()


def events(frames: Iterable[Frame]) -> list[dict[str, Any]]:
    return [f.data for f in frames if f.data is not None]


def _materialize(value: Any) -> Any:
    """pydantic validates Iterable fields lazily: walk everything so every error surfaces."""
    if isinstance(value, dict):
        return {k: _materialize(v) for k, v in value.items()}
    if isinstance(value, list | tuple | Iterator) or type(value).__name__ == "ValidatorIterator":
        return [_materialize(v) for v in value]
    return value


def validate_openai_request(body: dict[str, Any]) -> None:
    """The body is a valid Chat Completions request by the openai SDK's types, with no unknown keys
    beyond the documented provider extensions."""
    adapter = _STREAMING if body.get("stream") else _NON_STREAMING
    _materialize(adapter.validate_python(body))
    allowed = set(ccp.CompletionCreateParamsBase.__annotations__) | {"stream"} | EXTRA_TOP
    assert set(body) <= allowed, set(body) - allowed
    message_keys = {"role", "content", "name", "tool_calls", "tool_call_id", "refusal", "audio", "function_call"}
    for message in body["messages"]:
        assert set(message) <= message_keys | EXTRA_MESSAGE, message.keys()
        content = message.get("content")
        if isinstance(content, str):
            assert content, f"empty content in {message}"
        if message["role"] == "assistant" and not message.get("tool_calls"):
            assert content, "an assistant message with neither text nor tool calls"
    assert_tool_pairing(body["messages"])
    json.dumps(body)  # plain JSON all the way down


def assert_tool_pairing(messages: list[dict[str, Any]]) -> None:
    """Every assistant tool_calls message is immediately followed by one tool message per call."""
    for i, message in enumerate(messages):
        if message["role"] == "tool":
            previous = messages[i - 1]
            assert previous["role"] in ("assistant", "tool"), f"tool message {i} follows {previous['role']}"
        if message["role"] == "assistant" and message.get("tool_calls"):
            ids = [c["id"] for c in message["tool_calls"]]
            following = [m["tool_call_id"] for m in messages[i + 1 : i + 1 + len(ids)] if m["role"] == "tool"]
            assert following == ids, (ids, following)


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def fixture_names() -> list[str]:
    return conftest_fixture_names(count_tokens=False)
