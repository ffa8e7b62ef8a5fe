"""Helpers for the inbound translators' tests: an answer drawn once, as every upstream wire streams it, run
through that wire's real adapter and ccm's inverse translation, and read back by the official `openai` SDK's
own stream accumulators (what a Chat or Responses client builds from the bytes ccm sends).

    answer = Answer(text="hi", reasoning="hmm", calls=[("call_1", "Bash", {"command": "ls"})])
    raw, end = upstream_bytes("openai", answer)          # the upstream's bytes; where its terminal event starts
    out = inbound("chat", "openai", pieces)              # what a Chat client receives for these reads
    final = read_chat(out)                               # the SDK's accumulated completion, or an error
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from openai import omit
from openai._models import construct_type
from openai.lib.streaming.chat._completions import ChatCompletionStreamState
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from ccm.api.inbound import ChatWire, ResponsesWire
from ccm.providers.base import InvalidUpstream, RequestContext
from ccm.providers.registry import adapter_for
from ccm.sse import SSEParser
from ccm.translate.openai.inbound_request import from_chat
from ccm.translate.responses.inbound_request import from_responses
from tests.fakes.anthropic_sse import split
from tests.fakes.responses import responses_stream
from tests.fakes.upstream import anthropic_message, openai_stream, sse
from tests.translate import gemini_helpers
from tests.translate.helpers import make_ctx
from tests.translate.responses_helpers import make_ctx as responses_ctx

Call = tuple[str, str, dict[str, Any]]


@dataclass
class Answer:
    text: str = ""
    reasoning: str = ""
    calls: list[Call] = field(default_factory=list)
    pieces: int = 3


def _anthropic(answer: Answer) -> list[bytes]:
    start = {"type": "message_start", "message": {**anthropic_message("", "up"), "content": [], "stop_reason": None}}
    out = [sse("message_start", start)]
    index = 0

    def block(first: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        nonlocal index
        out.append(sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": first}))
        for d in deltas:
            out.append(sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d}))
        out.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1

    if answer.reasoning:
        deltas = [{"type": "thinking_delta", "thinking": p} for p in split(answer.reasoning, answer.pieces)]
        block(
            {"type": "thinking", "thinking": "", "signature": ""},
            [*deltas, {"type": "signature_delta", "signature": "s"}],
        )
    if answer.text:
        block(
            {"type": "text", "text": ""}, [{"type": "text_delta", "text": p} for p in split(answer.text, answer.pieces)]
        )
    for call_id, name, args in answer.calls:
        pieces = split(json.dumps(args), answer.pieces)
        block(
            {"type": "tool_use", "id": call_id, "name": name, "input": {}},
            [{"type": "input_json_delta", "partial_json": p} for p in pieces],
        )
    delta = {"stop_reason": "tool_use" if answer.calls else "end_turn", "stop_sequence": None}
    out.append(sse("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 7}}))
    out.append(sse("message_stop", {"type": "message_stop"}))
    return out


def _gemini(answer: Answer) -> list[bytes]:
    chunks = [
        gemini_helpers.response({"text": p, "thought": True}, finish=None)
        for p in split(answer.reasoning, answer.pieces)
        if p
    ]
    chunks += [gemini_helpers.response({"text": p}, finish=None) for p in split(answer.text, answer.pieces) if p]
    calls = [{"functionCall": {"name": name, "args": args}} for _, name, args in answer.calls]
    chunks.append(gemini_helpers.response(*calls, finish="STOP", usage=gemini_helpers.usage()))
    return [gemini_helpers.sse(c) for c in chunks]


def upstream_bytes(wire: str, answer: Answer) -> tuple[bytes, int]:
    """The answer as `wire` streams it, and the offset where its terminal event starts (a cut before it is a
    cut answer; at or after it the answer may be complete)."""
    if wire == "anthropic":
        frames = _anthropic(answer)
        return b"".join(frames), len(b"".join(frames[:-1]))
    if wire == "openai":
        calls = [{"id": i, "name": n, "arguments": json.dumps(a)} for i, n, a in answer.calls]
        frames = openai_stream(answer.text, reasoning=answer.reasoning or None, tool_calls=calls, pieces=answer.pieces)
        return b"".join(frames), len(b"".join(frames[:-3]))  # the finish_reason chunk, usage, [DONE]
    if wire == "responses":
        summary = [answer.reasoning] if answer.reasoning else []
        frames = responses_stream(
            answer.text or None,
            answer.calls,
            summary=summary,
            encrypted="gAAAAenc" if summary else None,
            pieces=answer.pieces,
        )
        return b"".join(frames), len(b"".join(frames[:-1]))
    frames = _gemini(answer)
    return b"".join(frames), len(b"".join(frames[:-1]))


def upstream_ctx(wire: str) -> RequestContext:
    if wire == "anthropic":
        return make_ctx("anthropic-compatible", "up", requested_model="m")
    if wire == "openai":
        return make_ctx("openai", "gpt-4o", requested_model="m")
    if wire == "responses":
        return responses_ctx(backend=False)
    return gemini_helpers.gemini_ctx(requested_model="m")


def inbound(client: str, wire: str, pieces: Iterable[bytes]) -> bytes:
    """What a `client` ("chat" or "responses") receives for an upstream `wire` answer read in `pieces`, as the
    relay sends it (ccm.dispatch.relay): frames encoded as they come, then the end or the in-band error."""
    ctx = upstream_ctx(wire)
    adapter = adapter_for(ctx.candidate.provider.wire)
    assert adapter is not None
    ctx.state.clear()
    translator = adapter.stream(ctx, "text/event-stream")
    if client == "chat":
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        body["stream_options"] = {"include_usage": True}
        encoder = ChatWire(body, from_chat(body)).encoder(adapter)
    else:
        body = {"model": "m", "input": "hi", "stream": True}
        encoder = ResponsesWire(body, from_responses(body), lambda *_: None).encoder(adapter)
    out = b""
    try:
        for piece in pieces:
            out += encoder.frames(translator.feed(piece))
        if not translator.complete:
            out += encoder.frames(translator.finish())
    except InvalidUpstream:  # an event cut in two: the relay ends the stream with the error
        return out + encoder.error("api_error", "the upstream sent an invalid event")
    if not translator.complete:
        out += encoder.error("api_error", "the upstream stream ended before the answer was complete")
    return out


def same_wire(client: str, pieces: Iterable[bytes]) -> bytes:
    """What a client receives for an answer on its own wire (a Chat Completions answer for a Chat client, a
    Responses answer for a Responses client), read in `pieces`, as the relay sends it."""
    body: dict[str, Any]
    if client == "chat":
        ctx = make_ctx("openai", "gpt-4o", requested_model="m")
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        body["stream_options"] = {"include_usage": True}
        wire: ChatWire | ResponsesWire = ChatWire(body, from_chat(body))
        adapter = wire.adapter("openai")
    else:
        ctx = responses_ctx(backend=False)
        ctx.requested_model = "m"
        body = {"model": "m", "input": "hi", "stream": True}
        wire = ResponsesWire(body, from_responses(body), lambda *_: None)
        adapter = wire.adapter("responses")
    assert adapter is not None
    adapter.build(dict(body), ctx)
    translator = adapter.stream(ctx, "text/event-stream")
    encoder = wire.encoder(adapter)
    out = b""
    for piece in pieces:
        out += encoder.frames(translator.feed(piece))
    if not translator.complete:
        out += encoder.frames(translator.finish())
    if not translator.complete:
        out += encoder.error("api_error", "the upstream stream ended before the answer was complete")
    return out


@dataclass
class Read:
    """What the SDK made of a stream: the final answer (None when the stream did not finish) and whether it
    ended with an in-band error."""

    final: dict[str, Any] | None
    error: bool
    clean_end: bool


def _events(raw: bytes) -> list[tuple[str, str]]:
    parser = SSEParser()
    return [(e.event, e.data) for e in parser.feed(raw) + parser.flush()]


def read_chat(raw: bytes) -> Read:
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    events = _events(raw)
    error = clean = False
    for i, (_, data) in enumerate(events):
        if data == "[DONE]":
            clean = i == len(events) - 1
            continue
        parsed = orjson.loads(data)
        if "error" in parsed:
            error = i == len(events) - 1
            continue
        state.handle_chunk(construct_type(type_=ChatCompletionChunk, value=parsed))  # type: ignore[arg-type]
    if not clean:
        return Read(None, error, False)
    completion = state.get_final_completion()
    message = completion.choices[0].message
    calls = [(c.id, c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or []]  # type: ignore[union-attr]
    extra = message.model_extra or {}
    final = {
        "text": message.content or "",
        "reasoning": extra.get("reasoning_content") or "",
        "calls": calls,
        "finish": completion.choices[0].finish_reason,
    }
    return Read(final, error, clean)


def read_responses(raw: bytes) -> Read:
    state: ResponseStreamState[Any] = ResponseStreamState(input_tools=[], text_format=omit)
    events = _events(raw)
    final: dict[str, Any] | None = None
    error = False
    for i, (name, data) in enumerate(events):
        if name == "message" and not data.strip():
            continue
        parsed = orjson.loads(data)
        assert parsed["type"] == name
        event = construct_type(type_=ResponseStreamEvent, value=parsed)  # type: ignore[arg-type]
        for out in state.handle_event(event):  # type: ignore[arg-type]
            if out.type == "response.completed":
                final = _response_answer(out.response)
        if name == "response.failed":
            error = i == len(events) - 1
    clean = final is not None and events[-1][0] == "response.completed"
    return Read(final if clean else None, error, clean)


def _response_answer(response: Any) -> dict[str, Any]:
    text, reasoning, calls = "", "", []
    for item in response.output:
        if item.type == "message":
            text += "".join(part.text for part in item.content)
        elif item.type == "reasoning":
            reasoning += "".join(part.text for part in item.summary)
        elif item.type == "function_call":
            calls.append((item.call_id, item.name, json.loads(item.arguments)))
    return {"text": text, "reasoning": reasoning, "calls": calls, "finish": response.status}
