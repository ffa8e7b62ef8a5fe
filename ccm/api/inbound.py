"""The two OpenAI client wires as dispatch sees them (ccm.dispatch.inbound.Inbound): which adapter serves each
mapping, and how its answer goes out. The endpoints (ccm.api.openai_chat, ccm.api.openai_responses) build
one per request:

    wire = ChatWire(original_body, from_chat(original_body))
    call.inbound = wire          # dispatch then asks wire.adapter(provider.wire) for every attempt

A mapping on the client's own wire gets the client's body with only `model` changed (ccm.providers.
same_wire_chat / same_wire_responses) and its events go back as they came; any other mapping gets ccm's
internal form through its usual adapter, wrapped (`Translated`) so that what the translation cannot carry
is a refusal of that mapping, and its Anthropic answer is translated back (ccm.translate.openai.
inbound_stream, ccm.translate.responses.inbound_stream).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson

from ccm.api.clients import ClientEncoder
from ccm.auth.redact import redact, redact_bytes
from ccm.dispatch.inbound import Encoder
from ccm.limits import output_limit
from ccm.providers.base import Adapter, Frame, InvalidUpstream, RequestContext, UpstreamRequest, Usage
from ccm.providers.registry import adapter_for
from ccm.providers.same_wire import usage_of
from ccm.providers.same_wire_chat import ChatSameWire
from ccm.providers.same_wire_responses import Completed, ResponsesSameWire
from ccm.routing import Candidate
from ccm.translate import inbound_parts
from ccm.translate.anthropic_events import events_from_message
from ccm.translate.openai.inbound_request import WIRE as CHAT_WIRE
from ccm.translate.openai.inbound_request import ChatInbound
from ccm.translate.openai.inbound_stream import PING, ChatEncoder
from ccm.translate.openai.response import anthropic_usage as chat_usage
from ccm.translate.responses.inbound_request import WIRE as RESPONSES_WIRE
from ccm.translate.responses.inbound_request import ResponsesInbound
from ccm.translate.responses.inbound_stream import ResponsesEncoder
from ccm.translate.responses.response import anthropic_usage as responses_usage

#: max_tokens for an Anthropic-format mapping when the client set none (Anthropic requires one): the
#: mapping's output limit where ccm knows it, else this.
DEFAULT_MAX_TOKENS = 8192
#: Without streaming, Anthropic refuses answers that may take over 10 minutes; this stays well inside.
WHOLE_MAX_TOKENS = 16384
_NEEDS_MAX_TOKENS = frozenset({"anthropic", "vertex"})


class Translated:
    """A mapping on another wire than the client's: its own adapter, given ccm's internal form. A request
    holding what the translation cannot carry is refused here (`refusal`, a failed attempt with a 400), so
    the dispatcher tries the next mapping and the summary names it."""

    def __init__(self, inner: Adapter, refusal: str | None) -> None:
        self.inner = inner
        self.wire = inner.wire
        self.refusal = refusal
        learn = getattr(inner, "learn", None)
        if learn is not None:
            self.learn = learn

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        if self.refusal:
            raise InvalidUpstream(self.refusal)
        if "max_tokens" not in body and self.wire in _NEEDS_MAX_TOKENS:
            body = {**body, "max_tokens": default_max_tokens(ctx.candidate, stream=ctx.stream)}
            inbound_parts.fit_thinking(body)
        return self.inner.build(body, ctx)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> Any:
        return self.inner.parse_error(status, headers, content)

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        return self.inner.translate_message(content, content_type, ctx)

    def stream(self, ctx: RequestContext, content_type: str) -> Any:
        return self.inner.stream(ctx, content_type)


def default_max_tokens(attempt: Candidate, *, stream: bool) -> int:
    limit = output_limit(attempt) or DEFAULT_MAX_TOKENS
    return limit if stream else min(limit, WHOLE_MAX_TOKENS)


class _Passed:
    """A same-wire answer's bytes, as the upstream sent them (its error events redacted on their way)."""

    def __init__(self, error: Any) -> None:
        self._error = error

    def frames(self, frames: list[Frame]) -> bytes:
        return b"".join(redact_bytes(f.raw) if f.event == "error" else f.raw for f in frames)

    def ping(self) -> bytes:
        return PING

    def error(self, error_type: str, message: str) -> bytes:
        data: bytes = self._error(error_type, message)
        return data


class _PassedResponses(_Passed):
    """A same-wire Responses answer: once the upstream's `response.created` went out, an error continues
    that response (its id, no second `response.created`) with the `response.failed` that ends it."""

    def __init__(self, encoder: ResponsesEncoder) -> None:
        super().__init__(encoder.error)
        self._encoder = encoder

    def frames(self, frames: list[Frame]) -> bytes:
        if not self._encoder.started:
            created = next((f.raw for f in frames if f.raw.startswith(_CREATED) or _CREATED_DATA in f.raw), None)
            if created is not None:
                self._encoder.started = True
                _, _, data = created.partition(b"data:")
                with contextlib.suppress(orjson.JSONDecodeError, KeyError, TypeError):
                    self._encoder.response["id"] = str(orjson.loads(data)["response"]["id"])
        return super().frames(frames)


_CREATED = b"event: response.created"
_CREATED_DATA = b'"type":"response.created"'


class _Encoded:
    """A translated answer's Anthropic frames, encoded in the client's wire."""

    def __init__(self, encoder: ChatEncoder | ResponsesEncoder) -> None:
        self._encoder = encoder

    def frames(self, frames: list[Frame]) -> bytes:
        events = [_redacted(f.data) if f.event == "error" else f.data for f in frames if f.data is not None]
        return self._encoder.events(events)

    def ping(self) -> bytes:
        return PING

    def error(self, error_type: str, message: str) -> bytes:
        return self._encoder.error(error_type, message)


def _redacted(event: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = event["error"] if isinstance(event.get("error"), dict) else {}
    return {**event, "error": {**error, "message": redact(str(error.get("message") or ""))}}


class ChatWire:
    """A Chat Completions client (ccm.dispatch.inbound.Inbound)."""

    def __init__(self, original: Mapping[str, Any], inbound: ChatInbound, client_model: str | None = None) -> None:
        self.original = original
        self.inbound = inbound
        self.model = str(original["model"])
        self.client_model = client_model
        """For a [[clients]] key: the routed model, the only name its stream's errors may say."""

    def adapter(self, wire: str) -> Adapter | None:
        if wire == "openai":
            return ChatSameWire(self.original, include_usage=self.inbound.include_usage)
        inner = adapter_for(wire)
        return None if inner is None else Translated(inner, self.inbound.gaps.message(CHAT_WIRE))

    def whole(self, adapter: Adapter, message: dict[str, Any]) -> tuple[bytes, Usage]:
        if isinstance(adapter, ChatSameWire):
            return orjson.dumps(message), usage_of(chat_usage(message.get("usage")))
        encoder = self._encoder()
        encoder.events(events_from_message(message))
        return orjson.dumps(encoder.completion()), _anthropic_usage(message)

    def encoder(self, adapter: Adapter) -> Encoder:
        if isinstance(adapter, ChatSameWire):
            return _client_scrubbed(_Passed(ChatEncoder(model=self.model).error), self.client_model)
        return _client_scrubbed(_Encoded(self._encoder()), self.client_model)

    def _encoder(self) -> ChatEncoder:
        return ChatEncoder(model=self.model, include_usage=self.inbound.include_usage)


class ResponsesWire:
    """A Responses client (ccm.dispatch.inbound.Inbound); `on_completed` hears each same-wire response id."""

    def __init__(
        self,
        original: Mapping[str, Any],
        inbound: ResponsesInbound,
        on_completed: Completed,
        client_model: str | None = None,
    ) -> None:
        self.original = original
        self.inbound = inbound
        self.model = str(original["model"])
        self.on_completed = on_completed
        self.client_model = client_model
        """For a [[clients]] key: the routed model, the only name its stream's errors may say."""

    def adapter(self, wire: str) -> Adapter | None:
        if wire == "responses":
            return ResponsesSameWire(self.original, self.on_completed)
        inner = adapter_for(wire)
        return None if inner is None else Translated(inner, self.inbound.gaps.message(RESPONSES_WIRE))

    def whole(self, adapter: Adapter, message: dict[str, Any]) -> tuple[bytes, Usage]:
        if isinstance(adapter, ResponsesSameWire):
            return orjson.dumps(message), usage_of(responses_usage(message.get("usage")))
        encoder = self._encoder()
        encoder.events(events_from_message(message))
        return orjson.dumps(encoder.response), _anthropic_usage(message)

    def encoder(self, adapter: Adapter) -> Encoder:
        if isinstance(adapter, ResponsesSameWire):
            return _client_scrubbed(_PassedResponses(self._encoder()), self.client_model)
        return _client_scrubbed(_Encoded(self._encoder()), self.client_model)

    def _encoder(self) -> ResponsesEncoder:
        return ResponsesEncoder(model=self.model, namespaces=self.inbound.namespaces)


def _client_scrubbed(encoder: Encoder, client_model: str | None) -> Encoder:
    """`encoder`, or for a [[clients]] key the same with every error replaced (ccm.api.clients)."""
    return encoder if client_model is None else ClientEncoder(encoder, client_model)


def _anthropic_usage(message: Mapping[str, Any]) -> Usage:
    usage: dict[str, Any] = message["usage"] if isinstance(message.get("usage"), dict) else {}
    return usage_of({k: v for k, v in usage.items() if isinstance(v, int) and not isinstance(v, bool)})


class StickyResponses:
    """Which mapping made each recent response, so a `previous_response_id` goes back to it (the stored
    response lives there and nowhere else). Bounded: the oldest ids are forgotten first."""

    def __init__(self, size: int = 10_000) -> None:
        self._made: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._size = size

    def remember(self, response_id: str, attempt: Candidate) -> None:
        self._made[response_id] = (attempt.provider.name.lower(), attempt.actual_model)
        self._made.move_to_end(response_id)
        while len(self._made) > self._size:
            self._made.popitem(last=False)

    def maker(self, response_id: str) -> tuple[str, str] | None:
        return self._made.get(response_id)
