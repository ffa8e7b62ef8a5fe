"""A Chat Completions client's request to a Chat Completions mapping: through with only `model` changed.

    adapter = ChatSameWire(original_body, include_usage=False)
    adapter.build(body, ctx)     # the client's own body (not ccm's internal form), model = the mapping's

Everything the client sent goes on: unknown fields, tool call ids, audio, `n`, logprobs. ccm changes only
`model`, clamps `max_tokens`/`max_completion_tokens` to the mapping's `max_output_tokens`, and, when the
client streams without asking for usage, asks for it (the request log counts tokens) and keeps the usage
chunk from the client. Answers come back as sent, their `model` the name the client asked for; an answer in
the other form (one JSON body to a stream, SSE to a non-streaming request) is turned into the form asked.
URL, auth, headers and errors are the Chat Completions adapter's (ccm.providers.openai).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ccm.providers import openai as chat_wire
from ccm.providers.base import Frame, InvalidUpstream, RequestContext, UpstreamError, UpstreamRequest
from ccm.providers.same_wire import CONTENT, END, HELD, SameWireStream, error_frame, parse, usage_of
from ccm.providers.translated import is_sse
from ccm.routing import estimate_tokens
from ccm.sse import SSEEvent, SSEParser
from ccm.translate.openai.response import anthropic_usage
from ccm.translate.openai.stream import upstream_error
from ccm.translate.profile import profile_for

WIRE = "openai"
DONE = b"data: [DONE]\n\n"
_CONTENT_KEYS = ("content", "reasoning_content", "reasoning", "tool_calls", "refusal", "function_call", "audio")


class ChatSameWire:
    wire = WIRE

    def __init__(self, original: Mapping[str, Any], *, include_usage: bool) -> None:
        self.original = original
        self.include_usage = include_usage

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest:
        attempt = ctx.candidate
        profile = profile_for(attempt.provider.spec.type, attempt.actual_model, attempt.max_output_tokens)
        payload = dict(self.original)
        payload["model"] = attempt.actual_model
        for key in ("max_tokens", "max_completion_tokens"):
            value = payload.get(key)
            if attempt.max_output_tokens and isinstance(value, int) and value > attempt.max_output_tokens:
                payload[key] = attempt.max_output_tokens
        hide = False
        if ctx.stream and not self.include_usage and not profile.has("no-stream-usage"):
            payload["stream_options"] = {**(payload.get("stream_options") or {}), "include_usage": True}
            hide = True
        raw = orjson.dumps(payload)
        ctx.state[WIRE] = {"hide_usage": hide, "input_estimate": estimate_tokens(len(raw))}
        return UpstreamRequest(attempt.provider.url("/chat/completions"), chat_wire.request_headers(ctx, profile), raw)

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError:
        return chat_wire.ADAPTER.parse_error(status, headers, content)

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        if is_sse(content, content_type):
            return accumulate(content, ctx.requested_model)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise InvalidUpstream("the upstream answered with invalid JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            error = data.get("error") if isinstance(data, dict) else None
            raise InvalidUpstream(upstream_error(error)["message"] if error else "the answer is not a chat completion")
        if ctx.requested_model:
            data["model"] = ctx.requested_model
        return data

    def stream(self, ctx: RequestContext, content_type: str) -> SameWireStream:
        state = ctx.state.get(WIRE) or {}
        relay = _ChatRelay(ctx.requested_model, hide_usage=bool(state.get("hide_usage")))
        stream = SameWireStream(relay.event, relay.close, relay.replay, content_type, state.get("input_estimate", 0))
        relay.owner = stream
        return stream


class _ChatRelay:
    """The events of one streamed answer, labelled for dispatch (ccm.providers.same_wire)."""

    def __init__(self, model: str, *, hide_usage: bool) -> None:
        self.model = model
        self.hide_usage = hide_usage
        self.owner: SameWireStream | None = None
        self.finished = False
        self.arguments: dict[int, list[str]] = {}

    def event(self, event: SSEEvent) -> list[Frame]:
        assert self.owner is not None
        if event.data.strip() == "[DONE]":
            return self._end(DONE)
        data = parse(event)
        if data.get("error") and not data.get("choices"):
            return [error_frame(event.raw, upstream_error(data["error"]))]
        choices = data.get("choices")
        if not isinstance(choices, list):
            raise InvalidUpstream(f"the upstream sent an event that is not a chunk: {event.data[:200]!r}")
        changed = False
        if isinstance(data.get("usage"), dict):
            self.owner.usage = usage_of(anthropic_usage(data["usage"]))
            if self.hide_usage:
                if not choices:
                    return []
                del data["usage"]
                changed = True
        content = False
        for choice in choices:
            if isinstance(choice, dict):
                content = self._choice(choice) or content
        if self.model and data.get("model") != self.model:
            data["model"], changed = self.model, True
        raw = b"data: " + orjson.dumps(data) + b"\n\n" if changed else event.raw
        return [Frame(CONTENT if content or self.finished else HELD, raw, None)]

    def _choice(self, choice: dict[str, Any]) -> bool:
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                index = call["index"] if isinstance(call.get("index"), int) else 0
                self.arguments.setdefault(index, []).append(str(call["function"].get("arguments") or ""))
        if choice.get("finish_reason"):
            self.finished = True
            return True
        return any(delta.get(key) for key in _CONTENT_KEYS)

    def _end(self, raw: bytes) -> list[Frame]:
        """[DONE] (or the close after a finish_reason): complete, unless a tool call's arguments were cut."""
        assert self.owner is not None
        if not self.finished and any(_cut(pieces) for pieces in self.arguments.values()):
            return []  # the close that follows is the cut: the relay ends the stream with an error
        self.owner.complete = True
        return [Frame(END, raw, None)]

    def close(self) -> list[Frame]:
        return self._end(DONE) if self.finished else []

    def replay(self, data: Any) -> list[Frame]:
        """A whole completion to a streaming request, as the chunks a stream would have carried."""
        assert self.owner is not None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise InvalidUpstream("answered a streaming request with JSON that is not a chat completion")
        if isinstance(data.get("usage"), dict):
            self.owner.usage = usage_of(anthropic_usage(data["usage"]))
        head = {k: data.get(k) for k in ("id", "created")} | {"object": "chat.completion.chunk", "model": self.model}
        frames = []
        for choice in data["choices"]:
            delta = dict(choice.get("message") or {}) if isinstance(choice, dict) else {}
            chunk = {**head, "choices": [{"index": choice.get("index", 0), "delta": delta, "finish_reason": None}]}
            frames.append(Frame(CONTENT, b"data: " + orjson.dumps(chunk) + b"\n\n", None))
            reason = choice.get("finish_reason") or "stop"
            end = {**head, "choices": [{"index": choice.get("index", 0), "delta": {}, "finish_reason": reason}]}
            frames.append(Frame(CONTENT, b"data: " + orjson.dumps(end) + b"\n\n", None))
        if not self.hide_usage and isinstance(data.get("usage"), dict):
            usage = {**head, "choices": [], "usage": data["usage"]}
            frames.append(Frame(CONTENT, b"data: " + orjson.dumps(usage) + b"\n\n", None))
        self.owner.complete = True
        return [*frames, Frame(END, DONE, None)]


def _cut(pieces: list[str]) -> bool:
    text = "".join(pieces).strip()
    if not text:
        return False
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return True
    return False


def accumulate(content: bytes, model: str) -> dict[str, Any]:
    """A streamed answer to a non-streaming request, as the one `chat.completion` it adds up to."""
    parser = SSEParser()
    events = parser.feed(content) + parser.flush()
    out: dict[str, Any] = {"object": "chat.completion", "choices": []}
    choices: dict[int, dict[str, Any]] = {}
    ended = False
    for event in events:
        if event.data.strip() == "[DONE]":
            ended = True
            continue
        data = parse(event)
        if data.get("error") and not data.get("choices"):
            raise InvalidUpstream(upstream_error(data["error"])["message"])
        out.setdefault("model", data.get("model"))
        for key in ("id", "created", "system_fingerprint", "usage"):
            if data.get(key) is not None:
                out[key] = data[key]
        for choice in data.get("choices") or []:
            ended = _merge(choices.setdefault(choice.get("index", 0), {}), choice) or ended
    if not ended:
        raise InvalidUpstream("the upstream's streamed answer was cut: it ended before a finish_reason")
    if model:
        out["model"] = model
    out["choices"] = [choices[i] | {"index": i} for i in sorted(choices)]
    return out


def _merge(target: dict[str, Any], choice: Mapping[str, Any]) -> bool:
    message: dict[str, Any] = target.setdefault("message", {"role": "assistant", "content": None})
    delta = choice.get("delta") or {}
    for key in ("content", "reasoning_content", "refusal"):
        if isinstance(delta.get(key), str):
            message[key] = (message.get(key) or "") + delta[key]
    for call in delta.get("tool_calls") or []:
        calls: list[dict[str, Any]] = message.setdefault("tool_calls", [])
        index = call.get("index", len(calls))
        while len(calls) <= index:
            calls.append({"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
        entry = calls[index]
        entry["id"] = call.get("id") or entry["id"]
        function = call.get("function") or {}
        entry["function"]["name"] += function.get("name") or ""
        entry["function"]["arguments"] += function.get("arguments") or ""
    if choice.get("finish_reason"):
        target["finish_reason"] = choice["finish_reason"]
        return True
    return False
