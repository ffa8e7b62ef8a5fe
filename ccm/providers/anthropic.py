"""The Anthropic Messages wire format: anthropic, anthropic-compatible, z.ai, MiniMax, Kimi, ZenMux and the
vendors' own Anthropic endpoints (DeepSeek, Moonshot, OpenRouter, Fireworks, Ollama).

Bodies go upstream faithfully to Anthropic itself (the dispatcher only changed model, system tag and
max_tokens); a third-party host gets what it refuses adapted first (ccm.providers.anthropic_compat). This
module removes thinking blocks that ccm itself signed for another provider, sets auth, and passes SSE events
through as they arrive, checking each is JSON, noting usage, and naming the answer's `model` as the client
asked (as every wire format does: `x-ccm-actual-model` says what served it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ccm.providers import anthropic_compat as compat
from ccm.providers import anthropic_thinking as thinking
from ccm.providers.base import (
    Frame,
    InvalidUpstream,
    RequestContext,
    UpstreamError,
    UpstreamRequest,
    Usage,
    error_type_for,
)
from ccm.providers.translated import is_sse, is_sse_type
from ccm.sse import SSEEvent, SSEParser, encode
from ccm.translate.anthropic_events import events_from_message, message_from_events
from config.catalog import FORWARD_QUERY_TYPES

_DEFAULT_VERSION = "2023-06-01"
WIRE = "anthropic"


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
        provider = ctx.candidate.provider
        messages = body.get("messages")
        own, lost_last = thinking.own_thinking(
            messages, thinking.key_of(provider), thinking.is_anthropic_host(provider)
        )
        if own is not messages:
            body = {**body, "messages": own}
            if lost_last and thinking.in_open_tool_loop(own) and "thinking" in body:
                # Anthropic wants the open tool loop's last assistant turn to start with thinking: without
                # the block (another host made it), the request must not ask for thinking at all.
                body = {k: v for k, v in body.items() if k != "thinking"}
        url = provider.url("/v1/messages")
        if ctx.query and provider.provider_type in FORWARD_QUERY_TYPES:
            url = f"{url}?{ctx.query}"
        headers = {
            "content-type": "application/json",
            "accept": "text/event-stream" if ctx.stream else "application/json",
            "anthropic-version": ctx.client_headers.get("anthropic-version") or _DEFAULT_VERSION,
        }
        beta = ctx.client_headers.get("anthropic-beta")
        if beta:
            headers["anthropic-beta"] = beta
        agent = ctx.client_headers.get("user-agent")
        if agent:  # coding-plan endpoints admit coding agents by their user-agent
            headers["user-agent"] = agent
        fix = compat.adaptations(provider, ctx.candidate.actual_model)
        if fix is not None:  # a third-party host: what it refuses is adapted; what it sent is kept for learn()
            if fix:
                body = compat.adapt(body, headers, fix)
            ctx.state[WIRE] = compat.Sent.of(body, headers)
        headers.update(dict(provider.headers))
        credential = ctx.credential
        if credential.kind == "passthrough":
            headers.update(credential.forward)  # Claude Code's own login and identity, as they came
        else:
            headers.update(auth_headers(provider.spec.auth, credential.secret))
        return UpstreamRequest(url, headers, orjson.dumps(body))

    def learn(self, status: int, content: bytes, ctx: RequestContext) -> bool:
        """A third-party host's 400 that names what it refused: adapted from now on (then one retry)."""
        sent = ctx.state.get(WIRE)
        return compat.learn_from(
            status,
            content,
            sent if isinstance(sent, compat.Sent) else None,
            ctx.candidate.provider,
            ctx.candidate.actual_model,
        )

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
        if is_sse(content, content_type):
            return _message_from_stream(content, _wrap_for(ctx), ctx.requested_model)  # streamed unasked
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise InvalidUpstream("answered with a body that is not valid JSON") from None
        if not isinstance(data, dict) or data.get("type") != "message":
            raise InvalidUpstream("answered with JSON that is not an Anthropic message")
        if not isinstance(data.get("usage", {}), dict) or not isinstance(data.get("content", []), list):
            raise InvalidUpstream("answered with a message whose usage or content is malformed")
        if ctx.requested_model:
            data["model"] = ctx.requested_model
        key = _wrap_for(ctx)
        if key is not None:
            data["content"] = [_wrap_block(b, key) for b in data.get("content", [])]
        return data

    def stream(self, ctx: RequestContext, content_type: str) -> AnthropicStream:
        if "json" in content_type.lower():  # one whole message: replayed
            return AnthropicStream(json_body=True, wrap_for=_wrap_for(ctx), model=ctx.requested_model)
        if not is_sse_type(content_type):
            raise InvalidUpstream(f"answered a streaming request with {content_type or 'no content type'}")
        return AnthropicStream(wrap_for=_wrap_for(ctx), model=ctx.requested_model)


def _wrap_for(ctx: RequestContext) -> str | None:
    """The provider whose thinking signatures must be wrapped (None for api.anthropic.com's own)."""
    provider = ctx.candidate.provider
    return None if thinking.is_anthropic_host(provider) else thinking.key_of(provider)


def _wrap_block(block: Any, key: str) -> Any:
    if isinstance(block, dict) and block.get("type") == "thinking" and isinstance(block.get("signature"), str):
        return {**block, "signature": thinking.wrap(key, block["signature"])}
    return block


def _message_from_stream(content: bytes, wrap_for: str | None = None, model: str = "") -> dict[str, Any]:
    stream = AnthropicStream(wrap_for=wrap_for, model=model)
    frames = stream.feed(content) + stream.finish()
    if not stream.complete:
        raise InvalidUpstream("the upstream's streamed answer ended before message_stop")
    try:
        return message_from_events(f.data for f in frames if f.data is not None)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise InvalidUpstream(f"the upstream's streamed answer is unusable: {exc}") from exc


class AnthropicStream:
    """Pass-through of an Anthropic event stream: every event is checked to be JSON, usage is noted.

    The answer is complete only at `message_stop`; an event that does not parse raises InvalidUpstream
    (before the failover window closes the dispatcher fails over, after it the stream ends with an error
    event): a delta silently dropped would be a wrong answer that looks right.
    """

    def __init__(self, *, json_body: bool = False, wrap_for: str | None = None, model: str = "") -> None:
        self._wrap_for = wrap_for
        """A provider whose signatures are wrapped for Claude Code (another host than api.anthropic.com)."""
        self._model = model
        """The model the client asked for, named in message_start ("" leaves the upstream's)."""
        self._parser = SSEParser()
        self._json: bytearray | None = bytearray() if json_body else None
        self._started = False
        self.complete = False
        self.usage = Usage()

    def feed(self, chunk: bytes) -> list[Frame]:
        if self._json is not None:
            self._json += chunk
            return []
        frames: list[Frame] = []
        for event in self._parser.feed(chunk):
            frame = self._frame(event)
            if frame is not None:
                frames.append(frame)
        return frames

    def finish(self) -> list[Frame]:
        if self._json is not None:
            return self._replay(bytes(self._json))
        return [f for f in (self._frame(e) for e in self._parser.flush()) if f is not None]

    def _frame(self, event: SSEEvent) -> Frame | None:
        if self.complete:
            return None  # nothing follows message_stop (some gateways add OpenAI's `data: [DONE]`)
        try:
            data = orjson.loads(event.data)
        except orjson.JSONDecodeError:
            raise InvalidUpstream(f"sent a {event.event} event that is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidUpstream(f"sent a {event.event} event that is not a JSON object")
        name = event.event
        if name == "message":  # some gateways omit `event:`; the type is in the data
            name = str(data.get("type") or "message")
        if not self._started:
            if name == "ping":
                return None
            if name not in ("message_start", "error"):
                raise InvalidUpstream(f"stream began with {name!r} instead of message_start")
            self._started = name == "message_start"
        if name == "message_start":
            message = data.get("message")
            self._note_usage((message or {}).get("usage"))
            if self._model and isinstance(message, dict) and message.get("model") != self._model:
                data = {**data, "message": {**message, "model": self._model}}
                return Frame(name, encode(name, data), data)
        elif name == "message_delta":
            self._note_usage(data.get("usage"))
        elif name == "message_stop":
            self.complete = True
        if self._wrap_for is not None and name in ("content_block_start", "content_block_delta"):
            rewrapped = self._wrapped(data)
            if rewrapped is not None:
                return Frame(name, encode(name, rewrapped), rewrapped)
        raw = event.raw if event.event == name else b"event: " + name.encode() + b"\n" + event.raw
        return Frame(name, raw, data)

    def _wrapped(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The event with its host's signature wrapped, or None when it carries none."""
        assert self._wrap_for is not None
        delta = data.get("delta")
        if isinstance(delta, dict) and delta.get("type") == "signature_delta" and delta.get("signature"):
            return {**data, "delta": {**delta, "signature": thinking.wrap(self._wrap_for, str(delta["signature"]))}}
        block = data.get("content_block")
        if isinstance(block, dict) and block.get("type") == "thinking" and block.get("signature"):
            return {**data, "content_block": _wrap_block(block, self._wrap_for)}
        return None

    def _note_usage(self, usage: Any) -> None:
        """Anthropic reports input and cache counts at message_start and cumulative counts at the end."""
        if not isinstance(usage, dict):
            return
        u = self.usage
        u.input_tokens = _count(usage, "input_tokens", u.input_tokens)
        u.output_tokens = _count(usage, "output_tokens", u.output_tokens)
        u.cache_read_input_tokens = _count(usage, "cache_read_input_tokens", u.cache_read_input_tokens)
        u.cache_creation_input_tokens = _count(usage, "cache_creation_input_tokens", u.cache_creation_input_tokens)

    def _replay(self, content: bytes) -> list[Frame]:
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise InvalidUpstream("answered a streaming request with a body that is not valid JSON") from None
        if not isinstance(data, dict) or data.get("type") != "message":
            raise InvalidUpstream("answered a streaming request with JSON that is not an Anthropic message")
        self._json = None
        if self._model:
            data["model"] = self._model
        if self._wrap_for is not None:
            data["content"] = [_wrap_block(b, self._wrap_for) for b in data.get("content") or []]
        frames = [Frame(e["type"], encode(e["type"], e), e) for e in events_from_message(data)]
        self._started = self.complete = True
        self._note_usage(data.get("usage"))
        return frames


def _count(usage: dict[str, Any], name: str, current: int) -> int:
    value = usage.get(name)
    if value is None:
        return current
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidUpstream(f"sent a usage.{name} that is not a count: {value!r}")
    return value


ADAPTER = AnthropicAdapter()
