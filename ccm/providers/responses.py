"""The OpenAI Responses wire: ChatGPT Plus/Pro through its backend (type `openai`, `auth_type = "oauth"`)
and models served only on `/v1/responses` (type `openai-responses`, an API key).

The translation is pure (ccm.translate.responses); this module adds the HTTP side: `{base}/responses`, the
bearer (plus `chatgpt-account-id`, `originator` and the session for the backend) and errors with the plan's
usage-limit reset; the answer's bytes go through the shared wrapper (ccm.providers.translated). The backend always streams, so a non-streaming client's
answer is the accumulated stream; a public-API JSON body serves a streaming client just as well.
Nothing from the client's headers is forwarded but its session id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ccm.providers.base import InvalidUpstream, RequestContext, UpstreamError, UpstreamRequest, bearer_json_headers
from ccm.providers.translated import TranslatedStream, is_sse, whole_message
from ccm.routing import estimate_tokens
from ccm.translate.responses.errors import parse_error
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.responses.request import to_responses_request
from ccm.translate.responses.response import to_anthropic_message
from ccm.translate.responses.stream import ResponsesStream

WIRE = "responses"
#: What the Codex CLI sends; the backend admits first-party originators, and `responses=experimental` is
#: harmless where it is not needed.
ORIGINATOR = "codex_cli_rs"
BACKEND_HEADERS = {"originator": ORIGINATOR, "openai-beta": "responses=experimental"}
SESSION_HEADER = "x-claude-code-session-id"
#: Tool calls are sent whole when done; while a long one streams in, the client hears a ping this often.
BUSY_PING_S = 5.0


def _state(ctx: RequestContext) -> dict[str, Any]:
    state: dict[str, Any] = ctx.state.setdefault(WIRE, {})
    return state


def is_backend(ctx: RequestContext) -> bool:
    """The ChatGPT backend (an OAuth login) rather than the public API (an API key)."""
    return ctx.candidate.provider.auth_type == "oauth"


def origin_of(ctx: RequestContext) -> ReasoningOrigin:
    return ReasoningOrigin(ctx.candidate.provider.name, ctx.candidate.actual_model)


def request_headers(ctx: RequestContext, *, stream: bool, session: str | None) -> dict[str, str]:
    """What every Responses request carries: the bearer, ccm's user-agent, and for the ChatGPT backend its
    originator, the account and the session (the prompt cache key); then the provider's own headers."""
    headers = bearer_json_headers(ctx, stream=stream)
    if is_backend(ctx):
        headers.update(BACKEND_HEADERS)
        if session:
            headers["session_id"] = session
        if ctx.credential.account_id:
            headers["chatgpt-account-id"] = ctx.credential.account_id
    headers.update(dict(ctx.candidate.provider.headers))
    return headers


class ResponsesAdapter:
    wire = WIRE

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        candidate = ctx.candidate
        provider = candidate.provider
        backend = is_backend(ctx)
        session = ctx.client_headers.get(SESSION_HEADER)
        translated = to_responses_request(
            body,
            model=candidate.actual_model,
            backend=backend,
            stream=ctx.stream,
            origin=origin_of(ctx),
            session=session,
            max_output_tokens=candidate.max_output_tokens,
        )
        payload = orjson.dumps(translated.body)
        _state(ctx).update(tool_names=translated.tool_names, input_estimate=estimate_tokens(len(payload)))
        headers = request_headers(ctx, stream=translated.stream, session=translated.body["prompt_cache_key"])
        return UpstreamRequest(provider.url("/responses"), headers, payload)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        error_type, message, retry_after = parse_error(status, headers, content)
        return UpstreamError(status, error_type, message, retry_after)

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if is_sse(content, content_type):
            return whole_message(self.stream(ctx, "text/event-stream"), content)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise InvalidUpstream("the upstream answered with invalid JSON") from exc
        return to_anthropic_message(data, origin=origin_of(ctx), **ctx.answer_names(WIRE))

    def stream(self, ctx: RequestContext, content_type: str) -> TranslatedStream:
        wire = ResponsesStream(origin=origin_of(ctx), **ctx.answer_names(WIRE))
        return TranslatedStream(wire, content_type, busy_ping_s=BUSY_PING_S)


ADAPTER = ResponsesAdapter()
