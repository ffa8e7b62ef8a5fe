"""The OpenAI Responses wire: ChatGPT Plus/Pro through its backend (type `openai`, `auth_type = "oauth"`)
and models served only on `/v1/responses` (type `openai-responses`, an API key).

The translation is pure (ccm.translate.responses_*); this module adds the HTTP side: `{base}/responses`,
the bearer (plus `chatgpt-account-id`, `originator` and the session for the backend), errors with the plan's
usage-limit reset, and the byte-level stream. The backend always streams, so a non-streaming client's
answer is the accumulated stream; a public-API JSON body serves a streaming client just as well.
Nothing from the client's headers is forwarded but its session id.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from ccm import __version__
from ccm.providers.base import Frame, InvalidUpstream, RequestContext, UpstreamError, UpstreamRequest, Usage
from ccm.providers.translated import as_frames, is_sse
from ccm.routing import estimate_tokens
from ccm.sse import SSEParser
from ccm.translate.anthropic_events import events_from_message, message_from_events
from ccm.translate.responses.errors import parse_error
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.responses.request import to_responses_request
from ccm.translate.responses.response import NotAResponse, to_anthropic_message, upstream_error
from ccm.translate.responses.stream import ResponsesStream

WIRE = "responses"
#: What the Codex CLI sends (research/subscriptions-2026.md §3.2); the backend admits first-party
#: originators, and `responses=experimental` is harmless where it is not needed.
ORIGINATOR = "codex_cli_rs"
BACKEND_HEADERS = {"originator": ORIGINATOR, "openai-beta": "responses=experimental"}
SESSION_HEADER = "x-claude-code-session-id"
#: Tool calls are sent whole when done; while a long one streams in, the client hears a ping this often.
BUSY_PING_S = 5.0
_PING = {"type": "ping"}


def _state(ctx: RequestContext) -> dict[str, Any]:
    state: dict[str, Any] = ctx.state.setdefault(WIRE, {})
    return state


def is_backend(ctx: RequestContext) -> bool:
    """The ChatGPT backend (an OAuth login) rather than the public API (an API key)."""
    return ctx.attempt.provider.auth_type == "oauth"


def origin_of(ctx: RequestContext) -> ReasoningOrigin:
    return ReasoningOrigin(ctx.attempt.provider.name, ctx.attempt.actual_model)


class ResponsesAdapter:
    wire = WIRE

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        attempt = ctx.attempt
        provider = attempt.provider
        backend = is_backend(ctx)
        session = ctx.client_headers.get(SESSION_HEADER)
        translated = to_responses_request(
            body,
            model=attempt.actual_model,
            backend=backend,
            stream=ctx.stream,
            origin=origin_of(ctx),
            session=session,
            max_output_tokens=attempt.max_output_tokens,
        )
        payload = orjson.dumps(translated.body)
        _state(ctx).update(tool_names=translated.tool_names, input_estimate=estimate_tokens(len(payload)))
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if translated.stream else "application/json",
            "user-agent": f"ccm/{__version__}",
        }
        if ctx.api_key:
            headers["authorization"] = f"Bearer {ctx.api_key}"
        if backend:
            headers.update(BACKEND_HEADERS)
            headers["session_id"] = translated.body["prompt_cache_key"]
            if ctx.credential.account_id:
                headers["chatgpt-account-id"] = ctx.credential.account_id
        headers.update(dict(provider.headers))
        return UpstreamRequest(provider.url("/responses"), headers, payload)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        error_type, message, retry_after = parse_error(status, headers, content)
        return UpstreamError(status, error_type, message, retry_after)

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if is_sse(content, content_type):
            translator = self.stream(ctx, "text/event-stream")
            frames = translator.feed(content) + translator.finish()
            events = [f.data for f in frames if f.data is not None]
            errors = [e for e in events if e.get("type") == "error"]
            if errors:
                error = errors[0]["error"]
                raise InvalidUpstream(f"the upstream failed: {error['type']}: {error['message']}")
            if not translator.complete:
                raise InvalidUpstream("the upstream's stream ended before response.completed")
            return message_from_events(events)
        state = _state(ctx)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise InvalidUpstream("the upstream answered with invalid JSON") from exc
        try:
            return to_anthropic_message(
                data,
                model=ctx.requested_model or ctx.attempt.actual_model,
                origin=origin_of(ctx),
                tool_names=state.get("tool_names"),
                input_estimate=state.get("input_estimate", 0),
            )
        except NotAResponse as exc:
            raise InvalidUpstream(str(exc)) from exc

    def stream(self, ctx: RequestContext, content_type: str) -> ResponsesStreamTranslator:
        return ResponsesStreamTranslator(ctx, content_type)


class ResponsesStreamTranslator:
    """Bytes of a Responses stream in (split anywhere), Anthropic Frames out."""

    def __init__(self, ctx: RequestContext, content_type: str) -> None:
        state = _state(ctx)
        self._ctx = ctx
        self._state = ResponsesStream(
            model=ctx.requested_model or ctx.attempt.actual_model,
            origin=origin_of(ctx),
            tool_names=state.get("tool_names"),
            input_estimate=state.get("input_estimate", 0),
        )
        self._parser = SSEParser()
        # A JSON body to a streaming request (a gateway that ignored `stream`) is buffered whole.
        self._json: bytearray | None = bytearray() if "json" in content_type.lower() else None
        self.usage = Usage(input_tokens=self._state.input_estimate)
        self.complete = False
        self._last_frame = time.monotonic()

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._json is not None:
            self._json += chunk
            return self._whole_json(final=False)
        events: list[dict[str, Any]] = []
        for sse in self._parser.feed(chunk):
            events += self._event(sse.data)
        now = time.monotonic()
        if events:
            self._last_frame = now
        elif self._state.started and not self._state.finished and now - self._last_frame >= BUSY_PING_S:
            self._last_frame = now
            events = [_PING]
        return self._frames(events)

    def finish(self) -> list[Frame]:
        if self._json is not None:
            return self._whole_json(final=True)
        events: list[dict[str, Any]] = []
        for sse in self._parser.flush():
            try:
                events += self._event(sse.data)
            except InvalidUpstream:
                pass  # the unterminated tail of a cut stream: the answer is incomplete either way
        return self._frames(events + self._state.close())

    def _event(self, data: str) -> list[dict[str, Any]]:
        if self._state.finished:
            return []
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise InvalidUpstream(f"the upstream sent an event that is not JSON: {data[:200]!r}") from None
        try:
            return self._state.event(parsed)
        except NotAResponse as exc:
            raise InvalidUpstream(str(exc)) from exc

    def _whole_json(self, *, final: bool) -> list[Frame]:
        assert self._json is not None
        if self._state.finished:
            return []
        text = bytes(self._json).strip()
        if text.startswith((b"data:", b"event:")):  # mislabelled SSE: parse it as such from here on
            self._json = None
            return self.feed(text + b"\n\n") + (self.finish() if final else [])
        if not final and not text.endswith(b"}"):
            return []
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            if final:
                raise InvalidUpstream("the upstream answered with invalid JSON") from None
            return []
        if isinstance(data, dict) and data.get("error") and not data.get("output"):
            self._state.finished = True
            return self._frames([{"type": "error", "error": upstream_error(data["error"])}])
        try:
            message = to_anthropic_message(
                data,
                model=self._state.model,
                origin=self._state.origin,
                message_id=self._state.message_id,
                tool_names=self._state.tool_names,
                input_estimate=self._state.input_estimate,
            )
        except NotAResponse as exc:
            raise InvalidUpstream(str(exc)) from exc
        self._state.started = self._state.finished = True
        return self._frames(events_from_message(message))

    def _frames(self, events: list[dict[str, Any]]) -> list[Frame]:
        frames, ended, usage = as_frames(events)
        self.complete = self.complete or ended
        if usage is not None:
            self.usage = usage
        return frames


ADAPTER = ResponsesAdapter()
