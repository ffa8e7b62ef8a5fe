"""The OpenAI Chat Completions wire format: OpenAI, OpenRouter, Groq, DeepSeek, Moonshot, ... and any
`/chat/completions` server (Ollama, LM Studio, vLLM, llama.cpp).

The translation itself is pure (ccm.translate.openai); this module adds the HTTP side: URL, auth and
headers, and errors; the bytes of an answer go through the translated-stream wrapper every translated wire
shares (ccm.providers.translated). Nothing from the client's headers is forwarded (no anthropic-beta, no
x-api-key). Both answer shapes serve both clients: an endpoint that streams when asked not to, or sends one
JSON body when asked to stream, is detected from the content type (and the body's first bytes).

Error policy for the failover window: an upstream `error` object before any chunk becomes an `error`
Frame as the *first* frame (carrying the upstream's type and message); a first event that is not a chunk
at all raises InvalidUpstream. After content started, an error is an `error` Frame and the stream ends.
A request this provider cannot serve at all (web search without a search-capable model) raises
InvalidUpstream from build(), so the dispatcher fails over with that message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ccm.providers.base import InvalidUpstream, RequestContext, UpstreamError, UpstreamRequest, bearer_json_headers
from ccm.providers.translated import TranslatedStream, is_sse, whole_message
from ccm.routing import estimate_tokens
from ccm.translate.openai.errors import classify as classify_error
from ccm.translate.openai.errors import error_message, retry_after
from ccm.translate.openai.request import UnsupportedRequest, to_openai_request
from ccm.translate.openai.response import to_anthropic_message
from ccm.translate.openai.stream import OpenAIStream, upstream_error
from ccm.translate.profile import Profile, profile_for

WIRE = "openai"
#: Tool-call arguments are held until the call is complete (so they can be repaired); while a long call
#: streams in, the client would hear nothing although the upstream is busy, so a ping goes out this often.
BUSY_PING_S = 5.0
#: OpenRouter's app attribution (https://openrouter.ai/docs/api-reference/overview#headers). No
#: HTTP-Referer: ccm has no site of its own to claim, and pointing at someone else's would misattribute;
#: a user can add one with `headers = { "HTTP-Referer" = "..." }`.
OPENROUTER_HEADERS = {"X-Title": "Claude Code Mux (ccm)"}


def _state(ctx: RequestContext) -> dict[str, Any]:
    state: dict[str, Any] = ctx.state.setdefault(WIRE, {})
    return state


def request_headers(ctx: RequestContext, profile: Profile) -> dict[str, str]:
    """What every Chat Completions request carries: the bearer, ccm's user-agent, the provider's own headers."""
    headers = bearer_json_headers(ctx, stream=ctx.stream)
    if profile.has("openrouter"):
        headers.update(OPENROUTER_HEADERS)
    headers.update(dict(ctx.candidate.provider.headers))
    return headers


class OpenAIAdapter:
    wire = WIRE

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        candidate = ctx.candidate
        provider = candidate.provider
        profile = profile_for(provider.spec.type, candidate.actual_model, candidate.max_output_tokens)
        try:
            translated = to_openai_request(body, profile, stream=ctx.stream)
        except UnsupportedRequest as exc:
            raise InvalidUpstream(str(exc)) from exc
        payload = orjson.dumps(translated.body)
        state = _state(ctx)
        state.update(tool_names=translated.tool_names, input_estimate=estimate_tokens(len(payload)))
        return UpstreamRequest(provider.url("/chat/completions"), request_headers(ctx, profile), payload)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        error_type, message = classify_error(status, error_message(content, status))
        return UpstreamError(status, error_type, message, retry_after(headers, status))

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if is_sse(content, content_type):
            return whole_message(self.stream(ctx, "text/event-stream"), content)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise InvalidUpstream("the upstream answered with invalid JSON") from exc
        if isinstance(data, dict) and data.get("error") and not data.get("choices"):
            raise InvalidUpstream(upstream_error(data["error"])["message"])
        return to_anthropic_message(data, **ctx.answer_names(WIRE))

    def stream(self, ctx: RequestContext, content_type: str) -> TranslatedStream:
        return TranslatedStream(OpenAIStream(**ctx.answer_names(WIRE)), content_type, busy_ping_s=BUSY_PING_S)


ADAPTER = OpenAIAdapter()
