"""The Anthropic Messages wire format: anthropic, anthropic-compatible, z.ai, MiniMax, Kimi, ZenMux.

Bodies go upstream faithfully (the dispatcher only changed model, system tag and max_tokens); this module
removes thinking blocks that ccm itself signed for another provider, sets auth, and passes SSE events
through as they arrive, looking only at event names (and parsing the few that carry usage).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ccm.providers.base import (
    Frame,
    InvalidUpstream,
    RequestContext,
    UpstreamError,
    UpstreamRequest,
    Usage,
    error_type_for,
    is_ccm_signature,
)
from ccm.sse import SSEParser

_FORWARD_QUERY_TYPES = frozenset({"anthropic", "anthropic-compatible"})
_DEFAULT_VERSION = "2023-06-01"


def _strip_ccm_thinking(messages: Any) -> Any:
    """Drop thinking blocks whose signature ccm made: a real Anthropic API would reject them."""
    if not isinstance(messages, list):
        return messages
    out = []
    changed = False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and message.get("role") == "assistant":
            kept = [
                b
                for b in content
                if not (isinstance(b, dict) and b.get("type") == "thinking" and is_ccm_signature(b.get("signature")))
            ]
            if len(kept) != len(content):
                changed = True
                message = {**message, "content": kept or [{"type": "text", "text": "(thinking)"}]}
        out.append(message)
    return out if changed else messages


def auth_headers(style: str, key: str | None) -> dict[str, str]:
    if not key:
        return {}
    if style == "x-api-key":
        return {"x-api-key": key}
    if style == "bearer":
        return {"authorization": f"Bearer {key}"}
    return {"x-api-key": key, "authorization": f"Bearer {key}"}


class AnthropicAdapter:
    wire = "anthropic"

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        provider = ctx.attempt.provider
        messages = body.get("messages")
        stripped = _strip_ccm_thinking(messages)
        if stripped is not messages:
            body = {**body, "messages": stripped}
        url = provider.url("/v1/messages")
        if ctx.query and provider.provider_type in _FORWARD_QUERY_TYPES:
            url = f"{url}?{ctx.query}"
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if ctx.stream else "application/json",
            "anthropic-version": ctx.client_headers.get("anthropic-version") or _DEFAULT_VERSION,
        }
        beta = ctx.client_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
        headers.update(dict(provider.headers))
        headers.update(auth_headers(provider.spec.auth, ctx.api_key))
        return UpstreamRequest(url, headers, orjson.dumps(body), ctx.stream)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        message = ""
        error_type = error_type_for(status)
        try:
            data = orjson.loads(content)
            err = data.get("error") if isinstance(data, dict) else None
            if isinstance(err, dict):
                message = str(err.get("message") or "")
                error_type = str(err.get("type") or error_type)
            elif isinstance(err, str):
                message = err
            elif isinstance(data, dict) and data.get("message"):
                message = str(data["message"])
        except orjson.JSONDecodeError:
            message = content[:300].decode("utf-8", "replace").strip()
        return UpstreamError(status, error_type, message or f"HTTP {status}", headers.get("retry-after"))

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if "event-stream" in content_type:
            raise InvalidUpstream("answered a non-streaming request with an event stream")
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise InvalidUpstream("answered with a body that is not valid JSON") from None
        if not isinstance(data, dict) or data.get("type") != "message":
            raise InvalidUpstream("answered with JSON that is not an Anthropic message")
        return data

    def stream(self, ctx: RequestContext, content_type: str) -> AnthropicStream:
        if "event-stream" not in content_type:
            raise InvalidUpstream(f"answered a streaming request with {content_type or 'no content type'}")
        return AnthropicStream()


class AnthropicStream:
    """Pass-through of an Anthropic event stream, checking its first event and noting usage."""

    def __init__(self) -> None:
        self._parser = SSEParser()
        self._started = False
        self.complete = False
        self.usage = Usage()

    def feed(self, chunk: bytes) -> list[Frame]:
        frames: list[Frame] = []
        for event in self._parser.feed(chunk):
            if self.complete:
                continue  # nothing follows message_stop (some gateways add OpenAI's `data: [DONE]`)
            name = event.event
            if name == "message" and event.data:
                # Some gateways omit `event:`; the type is in the data.
                try:
                    name = str(orjson.loads(event.data).get("type") or "message")
                except (orjson.JSONDecodeError, AttributeError):
                    raise InvalidUpstream("sent an event that is not JSON") from None
            data: dict[str, Any] | None = None
            if name in ("message_start", "message_delta", "error"):
                try:
                    data = orjson.loads(event.data)
                except orjson.JSONDecodeError:
                    raise InvalidUpstream(f"sent a {name} event that is not JSON") from None
            if not self._started:
                if name == "ping":
                    continue
                if name not in ("message_start", "error"):
                    raise InvalidUpstream(f"stream began with {name!r} instead of message_start")
                self._started = name == "message_start"
            if name == "message_start" and data:
                usage = (data.get("message") or {}).get("usage") or {}
                self.usage.input_tokens = int(usage.get("input_tokens") or 0)
                self.usage.cache_read_input_tokens = int(usage.get("cache_read_input_tokens") or 0)
            elif name == "message_delta" and data:
                usage = data.get("usage") or {}
                self.usage.output_tokens = int(usage.get("output_tokens") or self.usage.output_tokens)
            elif name == "message_stop":
                self.complete = True
            raw = event.raw if event.event == name else b"event: " + name.encode() + b"\n" + event.raw
            frames.append(Frame(name, raw, data))
        return frames

    def finish(self) -> list[Frame]:
        frames = self.feed(b"\n\n") if self._parser.pending.strip() else []
        return frames


ADAPTER = AnthropicAdapter()
