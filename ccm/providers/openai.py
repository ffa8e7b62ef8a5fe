"""The OpenAI Chat Completions wire format: OpenAI, OpenRouter, Groq, DeepSeek, Moonshot, ... and any
`/chat/completions` server (Ollama, LM Studio, vLLM, llama.cpp).

The translation itself is pure (ccm.translate); this module adds the HTTP side: URL, auth and headers,
errors, and the byte-level stream. Nothing from the client's headers is forwarded (no anthropic-beta, no
x-api-key). Both answer shapes serve both clients: an endpoint that streams when asked not to, or sends one
JSON body when asked to stream, is detected from the content type (and the body's first bytes).

Error policy for the failover window: an upstream `error` object before any chunk becomes an `error`
Frame as the *first* frame (carrying the upstream's type and message); a first event that is not a chunk
at all raises InvalidUpstream. After content started, an error is an `error` Frame and the stream ends.
A request this provider cannot serve at all (web search without a search-capable model) raises
InvalidUpstream from build(), so the dispatcher fails over with that message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from ccm import __version__
from ccm.providers.base import (
    Frame,
    InvalidUpstream,
    RequestContext,
    UpstreamError,
    UpstreamRequest,
    Usage,
)
from ccm.providers.translated import as_frames, is_sse, looks_like_sse
from ccm.routing import estimate_tokens
from ccm.sse import SSEParser
from ccm.translate.anthropic_events import events_from_message, message_from_events
from ccm.translate.openai.errors import classify as classify_error
from ccm.translate.openai.errors import error_message, retry_after
from ccm.translate.openai.request import UnsupportedRequest, to_openai_request
from ccm.translate.openai.response import NotACompletion, new_message_id, to_anthropic_message
from ccm.translate.openai.stream import OpenAIStream, upstream_error
from ccm.translate.profile import profile_for

WIRE = "openai"
#: Tool-call arguments are held until the call is complete (so they can be repaired); while a long call
#: streams in, the client would hear nothing although the upstream is busy, so a ping goes out this often.
BUSY_PING_S = 5.0
_PING = {"type": "ping"}
#: OpenRouter's app attribution (https://openrouter.ai/docs/api-reference/overview#headers). No
#: HTTP-Referer: ccm has no site of its own to claim, and pointing at someone else's would misattribute;
#: a user can add one with `headers = { "HTTP-Referer" = "..." }`.
OPENROUTER_HEADERS = {"X-Title": "Claude Code Mux (ccm)"}


def _state(ctx: RequestContext) -> dict[str, Any]:
    state: dict[str, Any] = ctx.state.setdefault(WIRE, {})
    return state


class OpenAIAdapter:
    wire = WIRE

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        attempt = ctx.attempt
        provider = attempt.provider
        profile = profile_for(provider.spec.type, attempt.actual_model, attempt.max_output_tokens)
        try:
            translated = to_openai_request(body, profile, stream=ctx.stream)
        except UnsupportedRequest as exc:
            raise InvalidUpstream(str(exc)) from exc
        payload = orjson.dumps(translated.body)
        state = _state(ctx)
        state.update(tool_names=translated.tool_names, input_estimate=estimate_tokens(len(payload)))
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if ctx.stream else "application/json",
            "user-agent": f"ccm/{__version__}",
        }
        if ctx.api_key:
            headers["authorization"] = f"Bearer {ctx.api_key}"
        if profile.has("openrouter"):
            headers.update(OPENROUTER_HEADERS)
        headers.update(dict(provider.headers))
        return UpstreamRequest(provider.url("/chat/completions"), headers, payload)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        error_type, message = classify_error(status, error_message(content, status))
        return UpstreamError(status, error_type, message, retry_after(headers, status))

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        state = _state(ctx)
        if is_sse(content, content_type):
            translator = self.stream(ctx, "text/event-stream")
            frames = translator.feed(content) + translator.finish()
            try:
                message = message_from_events(f.data for f in frames if f.data is not None)
            except ValueError as exc:
                raise InvalidUpstream(f"the upstream's streamed answer is unusable: {exc}") from exc
            if not translator.complete:
                raise InvalidUpstream("the upstream's streamed answer was cut before any content")
            return message
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise InvalidUpstream("the upstream answered with invalid JSON") from exc
        if isinstance(data, dict) and data.get("error") and not data.get("choices"):
            raise InvalidUpstream(upstream_error(data["error"])["message"])
        try:
            return to_anthropic_message(
                data,
                model=ctx.requested_model or ctx.attempt.actual_model,
                tool_names=state.get("tool_names"),
                input_estimate=state.get("input_estimate", 0),
            )
        except NotACompletion as exc:
            raise InvalidUpstream(str(exc)) from exc

    def stream(self, ctx: RequestContext, content_type: str) -> OpenAIStreamTranslator:
        return OpenAIStreamTranslator(ctx, content_type)


class OpenAIStreamTranslator:
    """Bytes of a Chat Completions stream in (split anywhere), Anthropic Frames out."""

    def __init__(self, ctx: RequestContext, content_type: str) -> None:
        state = _state(ctx)
        self._model = ctx.requested_model or ctx.attempt.actual_model
        self._state = OpenAIStream(
            model=self._model,
            message_id=new_message_id(),
            tool_names=state.get("tool_names"),
            input_estimate=state.get("input_estimate", 0),
        )
        self._parser = SSEParser()
        # A JSON body to a streaming request is buffered and replayed as events; anything else is SSE.
        self._json: bytearray | None = bytearray() if "json" in content_type.lower() else None
        self.usage = Usage(input_tokens=self._state.input_estimate)
        self.complete = False
        self._last_frame = time.monotonic()

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._json is not None:
            return self._feed_json(chunk)
        events: list[dict[str, Any]] = []
        for sse in self._parser.feed(chunk):
            events += self._event(sse.event, sse.data)
        now = time.monotonic()
        if events:
            self._last_frame = now
        elif self._state.started and not self._state.finished and now - self._last_frame >= BUSY_PING_S:
            self._last_frame = now
            events = [_PING]
        return self._frames(events)

    def finish(self) -> list[Frame]:
        if self._json is not None:
            frames = self._feed_json(b"", final=True)
            return frames
        events: list[dict[str, Any]] = []
        for sse in self._parser.flush():
            events += self._event(sse.event, sse.data)
        events += self._state.close()
        return self._frames(events)

    def _event(self, name: str, data: str) -> list[dict[str, Any]]:
        if self._state.finished:
            return []
        if data.strip() == "[DONE]":
            if not self._state.started:
                raise InvalidUpstream("the upstream's stream ended before any answer ([DONE] first)")
            return self._state.done()
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            if not self._state.started:
                raise InvalidUpstream(f"the upstream's first event is not JSON: {data[:200]!r}") from None
            return self._state.error("the upstream sent an invalid JSON event mid-stream")
        if name == "error" and isinstance(parsed, dict) and "error" not in parsed:
            parsed = {"error": parsed}
        try:
            return self._state.chunk(parsed)
        except NotACompletion as exc:
            raise InvalidUpstream(str(exc)) from exc

    def _feed_json(self, chunk: bytes, *, final: bool = False) -> list[Frame]:
        """A whole JSON answer to a streaming request: replayed as events once it parses."""
        assert self._json is not None
        if self._state.finished:
            return []
        self._json += chunk
        text = bytes(self._json).strip()
        if looks_like_sse(text):  # mislabelled SSE: parse it as such from here on
            raw = bytes(self._json).lstrip()
            self._json = None
            return self.feed(raw) + (self.finish() if final else [])
        if not text or (not final and not text.endswith(b"}")):
            return []
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            if final:
                raise InvalidUpstream("the upstream answered with invalid JSON") from None
            return []
        if isinstance(data, dict) and data.get("error") and not data.get("choices"):
            self._state.finished = True
            return self._frames([{"type": "error", "error": upstream_error(data["error"])}])
        try:
            message = to_anthropic_message(
                data,
                model=self._model,
                message_id=self._state.message_id,
                tool_names=self._state.tool_names,
                input_estimate=self._state.input_estimate,
            )
        except NotACompletion as exc:
            raise InvalidUpstream(str(exc)) from exc
        self._state.started = self._state.finished = True
        self._state.usage = message["usage"]
        return self._frames(events_from_message(message))

    def _frames(self, events: list[dict[str, Any]]) -> list[Frame]:
        frames, ended, usage = as_frames(events)
        self.complete = self.complete or ended
        if usage is not None:
            self.usage = usage
        return frames


ADAPTER = OpenAIAdapter()
