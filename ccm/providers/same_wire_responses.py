"""A Responses client's request (the Codex CLI's) to a Responses mapping: through with only `model` changed.

    adapter = ResponsesSameWire(original_body, on_completed=remember)
    adapter.build(body, ctx)   # the client's own body, model = the mapping's

Everything the client sent goes on: unknown fields, tool call ids, reasoning items with their encrypted
content, custom/freeform and local_shell tools, `previous_response_id` (the endpoint sends that only to
the mapping that made the response). What ccm changes besides `model`:
- reasoning items ccm made itself from another provider's thinking (ccm.translate.inbound_parts) are left
  out (they mean nothing to OpenAI), and so are the ids of items ccm named;
- `max_output_tokens` is clamped to the mapping's `max_output_tokens`;
- for the ChatGPT backend (an OAuth login), the rules it enforces (as ccm.translate.responses.request): `store: false`,
  `stream: true` (a non-streaming client gets the stream added up), `instructions` present, no fields it
  refuses, `developer` for `system` items, and a `prompt_cache_key`.
URL, auth, headers and errors are the Responses adapter's (ccm.providers.responses). `on_completed` hears
the id of every response that completed (so a later `previous_response_id` finds its mapping).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from ccm.providers import responses as responses_wire
from ccm.providers.base import Frame, InvalidUpstream, RequestContext, UpstreamError, UpstreamRequest
from ccm.providers.same_wire import CONTENT, END, HELD, SameWireStream, error_frame, obj, parse, usage_of
from ccm.providers.translated import is_sse
from ccm.routing import Candidate, estimate_tokens
from ccm.sse import SSEEvent, SSEParser
from ccm.translate.inbound_parts import REASONING_PREFIX
from ccm.translate.responses.request import cache_key
from ccm.translate.responses.response import anthropic_usage, upstream_error

WIRE = "responses"
#: What the ChatGPT backend refuses (ccm.translate.responses.request leaves them out too).
BACKEND_REFUSES = ("max_output_tokens", "temperature", "top_p", "user", "metadata", "truncation")
#: Item ids ccm gives the items it makes (ccm.translate.responses.inbound_stream) carry this mark.
CCM_ITEM = "_ccm"
_HELD = frozenset({"response.created", "response.in_progress", "response.queued", "response.output_item.added"})
_TERMINAL = frozenset({"response.completed", "response.incomplete"})
Completed = Callable[[str, Candidate], None]


class ResponsesSameWire:
    wire = WIRE

    def __init__(self, original: Mapping[str, Any], on_completed: Completed | None = None) -> None:
        self.original = original
        self.on_completed = on_completed

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        attempt = ctx.candidate
        payload = dict(self.original)
        payload["model"] = attempt.actual_model
        if isinstance(payload.get("input"), list):
            payload["input"] = [_sendable(item) for item in payload["input"] if not _ccm_reasoning(item)]
        limit = attempt.max_output_tokens
        if limit and isinstance(payload.get("max_output_tokens"), int) and payload["max_output_tokens"] > limit:
            payload["max_output_tokens"] = limit
        session = None
        if responses_wire.is_backend(ctx):
            session = _backend(payload, ctx)
        stream = payload.get("stream") is True
        raw = orjson.dumps(payload)
        ctx.state[WIRE] = {"input_estimate": estimate_tokens(len(raw))}
        headers = responses_wire.request_headers(ctx, stream=stream, session=session)
        return UpstreamRequest(attempt.provider.url("/responses"), headers, raw)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        return responses_wire.ADAPTER.parse_error(status, headers, content)

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if is_sse(content, content_type):
            data = accumulate(content)
        else:
            try:
                data = orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                raise InvalidUpstream("the upstream answered with invalid JSON") from exc
            if not isinstance(data, dict) or not isinstance(data.get("output"), list):
                error = data.get("error") if isinstance(data, dict) else None
                raise InvalidUpstream(upstream_error(error)["message"] if error else "the answer is not a response")
        if ctx.requested_model:
            data["model"] = ctx.requested_model
        self._completed(data, ctx.candidate)
        return data

    def stream(self, ctx: RequestContext, content_type: str) -> SameWireStream:
        state = ctx.state.get(WIRE) or {}
        relay = _ResponsesRelay(ctx.requested_model, lambda data: self._completed(data, ctx.candidate))
        stream = SameWireStream(relay.event, relay.close, relay.replay, content_type, state.get("input_estimate", 0))
        relay.owner = stream
        return stream

    def _completed(self, response: Mapping[str, Any], attempt: Candidate) -> None:
        if self.on_completed is not None and isinstance(response.get("id"), str):
            self.on_completed(response["id"], attempt)


def _ccm_reasoning(item: Any) -> bool:
    encrypted = item.get("encrypted_content") if isinstance(item, dict) else None
    return isinstance(item, dict) and item.get("type") == "reasoning" and str(encrypted).startswith(REASONING_PREFIX)


def _sendable(item: Any) -> Any:
    if isinstance(item, dict) and CCM_ITEM in str(item.get("id") or ""):
        return {k: v for k, v in item.items() if k != "id"}
    return item


def _backend(payload: dict[str, Any], ctx: RequestContext) -> str:
    """The ChatGPT backend's rules, applied to the client's body; the session (prompt cache key)."""
    for key in BACKEND_REFUSES:
        payload.pop(key, None)
    payload.update(store=False, stream=True)
    payload.setdefault("instructions", "")
    if isinstance(payload.get("input"), str):
        payload["input"] = [{"type": "message", "role": "user", "content": payload["input"]}]
    items = payload.get("input")
    if isinstance(items, list):
        payload["input"] = [
            {**item, "role": "developer"} if isinstance(item, dict) and item.get("role") == "system" else item
            for item in items
        ]
    if not isinstance(payload.get("prompt_cache_key"), str) or not payload["prompt_cache_key"]:
        payload["prompt_cache_key"] = cache_key(ctx.client_headers.get(responses_wire.SESSION_HEADER), items)
    return str(payload["prompt_cache_key"])


class _ResponsesRelay:
    """The events of one streamed answer, labelled for dispatch (ccm.providers.same_wire)."""

    def __init__(self, model: str, completed: Callable[[Mapping[str, Any]], None]) -> None:
        self.model = model
        self.completed = completed
        self.owner: SameWireStream | None = None

    def event(self, event: SSEEvent) -> list[Frame]:
        assert self.owner is not None
        if event.data.strip() == "[DONE]":
            return []
        data = parse(event)
        kind = data.get("type") if isinstance(data.get("type"), str) else event.event
        if not isinstance(kind, str) or not kind:
            raise InvalidUpstream(f"the upstream sent an event that is not a Responses event: {event.data[:200]!r}")
        raw = event.raw
        response = data.get("response")
        if isinstance(response, dict) and self.model and response.get("model") != self.model:
            data["response"] = response = {**response, "model": self.model}  # the model the client asked for
            raw = b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
        if kind == "error" or kind == "response.failed":
            error = obj(response).get("error") or obj(data.get("error")) or data
            return [error_frame(raw, upstream_error(error))]
        if isinstance(response, dict) and kind in _TERMINAL:
            self.owner.usage = usage_of(anthropic_usage(response.get("usage")))
            self.owner.complete = True
            self.completed(response)
            return [Frame(END, raw, None)]
        held = kind in _HELD or kind.startswith("codex.")
        return [Frame(HELD if held else CONTENT, raw, None)]

    def close(self) -> list[Frame]:
        return []  # the upstream closed before response.completed: a cut

    def replay(self, data: Any) -> list[Frame]:
        """A whole response to a streaming request, as the events a stream would have carried."""
        assert self.owner is not None
        if not isinstance(data, dict) or not isinstance(data.get("output"), list):
            error = data.get("error") if isinstance(data, dict) else None
            raise InvalidUpstream(upstream_error(error)["message"] if error else "the answer is not a response")
        response = {**data, "model": self.model or data.get("model")}
        frames = [_frame(HELD, "response.created", {"response": {**response, "status": "in_progress", "output": []}})]
        for index, item in enumerate(response["output"]):
            frames.append(_frame(CONTENT, "response.output_item.added", {"output_index": index, "item": item}))
            frames.append(_frame(CONTENT, "response.output_item.done", {"output_index": index, "item": item}))
        terminal = "response.incomplete" if response.get("status") == "incomplete" else "response.completed"
        frames.append(_frame(END, terminal, {"response": response}))
        self.owner.usage = usage_of(anthropic_usage(response.get("usage")))
        self.owner.complete = True
        self.completed(response)
        return frames


def _frame(label: str, kind: str, data: dict[str, Any]) -> Frame:
    return Frame(label, b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **data}) + b"\n\n")


def accumulate(content: bytes) -> dict[str, Any]:
    """A streamed answer to a non-streaming request (the backend always streams), as the response object it
    ends with; its items from the stream when the final object lists none."""
    parser = SSEParser()
    items: list[Any] = []
    for event in parser.feed(content) + parser.flush():
        if event.data.strip() == "[DONE]":
            continue
        data = parse(event)
        kind = data.get("type")
        if kind in ("error", "response.failed"):
            error = obj(data.get("response")).get("error") or data.get("error") or data
            raise InvalidUpstream(upstream_error(error)["message"])
        if kind == "response.output_item.done":
            items.append(data.get("item"))
        if kind in _TERMINAL and isinstance(data.get("response"), dict):
            response = dict(data["response"])
            if not response.get("output"):
                response["output"] = [item for item in items if item is not None]
            return response
    raise InvalidUpstream("the upstream's streamed answer was cut: it ended before response.completed")
