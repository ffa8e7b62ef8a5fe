"""Contexts and runners for the Responses wire tests: the real adapter, fed real bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from ccm.auth.credentials import Credential
from ccm.providers.base import Frame, RequestContext, UpstreamRequest
from ccm.providers.responses import ADAPTER
from ccm.routing import Candidate
from config.schema import ProviderConfig, spec_for


def make_ctx(
    *,
    backend: bool = True,
    model: str = "gpt-5.5",
    stream: bool = True,
    name: str = "chatgpt",
    headers: dict[str, str] | None = None,
    base_url: str | None = None,
    max_output_tokens: int | None = None,
) -> RequestContext:
    """The ChatGPT backend (type openai, oauth) or the public API (type openai-responses, an API key)."""
    if backend:
        provider = ProviderConfig(name, "openai", spec_for("openai"), auth_type="oauth", base_url=base_url)
        credential = Credential("oauth", "tok-access", account_id="acc-123")
    else:
        provider = ProviderConfig(name, "openai-responses", spec_for("openai-responses"), base_url=base_url)
        credential = Credential("apikey", "sk-test")
    candidate = Candidate(provider, model, max_output_tokens)
    return RequestContext(candidate, credential, headers or {}, requested_model="claude-opus-5-5", stream=stream)


def build(body: dict[str, Any], ctx: RequestContext) -> tuple[UpstreamRequest, dict[str, Any]]:
    request = ADAPTER.build(body, ctx)
    return request, orjson.loads(request.body)


def run_stream(ctx: RequestContext, pieces: Iterable[bytes], content_type: str = "text/event-stream") -> list[Frame]:
    translator = ADAPTER.stream(ctx, content_type)
    frames: list[Frame] = []
    for piece in pieces:
        frames += translator.feed(piece)
    return frames + translator.finish()


def events(frames: Iterable[Frame]) -> list[dict[str, Any]]:
    return [f.data for f in frames if f.data is not None]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assert_well_formed(evs: list[dict[str, Any]]) -> None:
    """One message_start first, blocks started before their deltas and stopped in order, each thinking
    block signed, message_delta then message_stop last."""
    kinds = [e["type"] for e in evs]
    assert kinds[0] == "message_start" and kinds.count("message_start") == 1, kinds
    assert kinds[-2:] == ["message_delta", "message_stop"], kinds
    open_index: int | None = None
    next_index = 0
    signed = True
    for e in evs[1:-2]:
        if e["type"] == "content_block_start":
            assert open_index is None and e["index"] == next_index, (open_index, e)
            open_index = e["index"]
            signed = e["content_block"]["type"] != "thinking"
        elif e["type"] == "content_block_delta":
            assert e["index"] == open_index, e
            signed = signed or e["delta"]["type"] == "signature_delta"
        elif e["type"] == "content_block_stop":
            assert e["index"] == open_index and signed, e
            open_index, next_index = None, next_index + 1
        else:
            assert e["type"] == "ping", e
    assert open_index is None


def sse_of(frames: Iterable[bytes]) -> bytes:
    return b"".join(frames)
