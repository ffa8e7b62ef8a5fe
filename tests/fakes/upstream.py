"""A scriptable fake upstream: a real threaded HTTP/1.1 server on 127.0.0.1.

Each request takes the next scripted Reply (the last one repeats); every request is recorded.

    with FakeUpstream() as up:
        up.script(Reply(200, json={...}), Reply(529, json=err), Reply.stream([...events...]))
        ... point a provider's base_url at up.url ...
        up.received[0].json["model"]

A Reply can stream chunks with pauses (`delay` before each chunk), cut the connection after some chunks
(`cut_after`), stall before its headers (`stall`), or refuse to answer at all (`drop`: close the socket).
"""

from __future__ import annotations

import json as jsonlib
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.ports import bind_apart


def sse(event: str | None, data: Any) -> bytes:
    """One SSE frame; `event=None` gives OpenAI's data-only style."""
    payload = data if isinstance(data, str) else jsonlib.dumps(data)
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | None = None
    chunks: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before each chunk."""
    pauses: dict[int, float] = field(default_factory=dict)
    """Extra seconds to wait before chunk i (a silence mid-stream)."""
    stall: float = 0.0
    """Seconds to wait before sending the status line."""
    cut_after: int | None = None
    """Close the connection abruptly after this many chunks."""
    drop: bool = False
    """Close the connection without answering."""
    handler: Callable[[Received], Reply] | None = None
    """Compute the reply from the request instead."""

    @classmethod
    def stream(cls, chunks: Iterable[bytes], **kw: Any) -> Reply:
        headers = {"content-type": "text/event-stream", **kw.pop("headers", {})}
        return cls(200, chunks=list(chunks), headers=headers, **kw)

    @classmethod
    def error(cls, status: int, message: str = "upstream error", error_type: str = "api_error", **kw: Any) -> Reply:
        return cls(status, json={"type": "error", "error": {"type": error_type, "message": message}}, **kw)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    wire_headers: list[tuple[str, str]] = field(default_factory=list)
    """The headers as sent: names in their case, in wire order (tests/tools/record_claude_code.py)."""

    @property
    def json(self) -> Any:
        return jsonlib.loads(self.body) if self.body else None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # socketserver's default listen backlog (5) resets bursts of connections


class FakeUpstream:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._script: list[Reply] = [Reply(200, json={"ok": True})]
        self._lock = threading.Lock()
        self.disconnects = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                pairs = list(self.headers.items())
                rec = Received(self.command, self.path, {k.lower(): v for k, v in pairs}, body, pairs)
                with fake._lock:
                    fake.received.append(rec)
                    reply = fake._script.pop(0) if len(fake._script) > 1 else fake._script[0]
                if reply.handler is not None:
                    reply = reply.handler(rec)
                fake._answer(self, reply)

            do_GET = do_POST = do_HEAD = _handle

        self._server = bind_apart(
            lambda: _Server(("127.0.0.1", 0), Handler), lambda server: server.server_address[1], _Server.server_close
        )
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _answer(self, h: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.stall:
            time.sleep(reply.stall)
        if reply.drop:
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            h.send_response(reply.status)
            headers = {k.lower(): v for k, v in reply.headers.items()}
            if reply.chunks:
                headers.setdefault("content-type", "text/event-stream")
                for k, v in headers.items():
                    h.send_header(k, v)
                h.send_header("transfer-encoding", "chunked")
                h.end_headers()
                for i, chunk in enumerate(reply.chunks):
                    if reply.cut_after is not None and i >= reply.cut_after:
                        h.wfile.flush()
                        h.close_connection = True
                        h.connection.shutdown(socket.SHUT_RDWR)
                        return
                    if reply.delay or i in reply.pauses:
                        time.sleep(reply.delay + reply.pauses.get(i, 0.0))
                    h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    h.wfile.flush()
                h.wfile.write(b"0\r\n\r\n")
                h.wfile.flush()
                return
            if reply.json is not None:
                payload = jsonlib.dumps(reply.json).encode()
                headers.setdefault("content-type", "application/json")
            else:
                payload = reply.body or b""
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("content-length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            with self._lock:
                self.disconnects += 1

    def script(self, *replies: Reply) -> FakeUpstream:
        """Replace the script: requests take these replies in order, the last one repeating."""
        with self._lock:
            self._script = list(replies)
        return self

    def start(self) -> FakeUpstream:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def anthropic_message(text: str = "hello", model: str = "fake-model", **usage: int) -> dict[str, Any]:
    """A non-streaming Anthropic answer."""
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": usage.get("input_tokens", 10), "output_tokens": usage.get("output_tokens", 5)},
    }


def anthropic_stream(text: str = "hello", model: str = "fake-model", pieces: int = 2) -> list[bytes]:
    """A well-formed Anthropic SSE answer, the text split into `pieces` deltas."""
    step = max(1, len(text) // pieces)
    parts = [text[i : i + step] for i in range(0, len(text), step)] or [""]
    start = {"type": "message_start", "message": {**anthropic_message("", model), "content": [], "stop_reason": None}}
    out = [
        sse("message_start", start),
        sse("ping", {"type": "ping"}),
        sse(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    out += [
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in parts
    ]
    out += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return out


# -- OpenAI Chat Completions answers (for the openai wire format) ---------------------------------------


def openai_completion(
    text: str | None = "hello",
    model: str = "fake-model",
    *,
    tool_calls: list[dict[str, Any]] | None = None,
    reasoning: str | None = None,
    finish_reason: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cached_tokens: int = 0,
) -> dict[str, Any]:
    """A non-streaming chat.completion. tool_calls: [{"id", "name", "arguments"}] (arguments a JSON string)."""
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    if tool_calls:
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
            for c in tool_calls
        ]
    finish = finish_reason or ("tool_calls" if tool_calls else "stop")
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens},
        },
    }


def openai_chunk(
    delta: dict[str, Any] | None = None, finish_reason: str | None = None, model: str = "fake-model"
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}],
    }


def openai_stream(
    text: str = "hello",
    model: str = "fake-model",
    *,
    pieces: int = 2,
    reasoning: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
    arg_pieces: int = 3,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    done: bool = True,
) -> list[bytes]:
    """A Chat Completions SSE answer as a real API streams it: a role chunk, reasoning and text deltas, each
    tool call's id/name in its first fragment and its arguments split in `arg_pieces`, the finish_reason,
    then usage in a final chunk with no choices, then `data: [DONE]`."""

    def split(s: str, n: int) -> list[str]:
        step = max(1, -(-len(s) // max(1, n)))
        return [s[i : i + step] for i in range(0, len(s), step)]

    out = [sse(None, openai_chunk({"role": "assistant", "content": ""}, model=model))]
    out += [sse(None, openai_chunk({"reasoning_content": p}, model=model)) for p in split(reasoning or "", pieces)]
    out += [sse(None, openai_chunk({"content": p}, model=model)) for p in split(text, pieces)]
    for index, c in enumerate(tool_calls or []):
        first = {"index": index, "id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": ""}}
        out.append(sse(None, openai_chunk({"tool_calls": [first]}, model=model)))
        for piece in split(c["arguments"], arg_pieces):
            fragment = {"index": index, "function": {"arguments": piece}}
            out.append(sse(None, openai_chunk({"tool_calls": [fragment]}, model=model)))
    out.append(sse(None, openai_chunk({}, "tool_calls" if tool_calls else "stop", model=model)))
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}
    out.append(sse(None, {**openai_chunk(model=model), "choices": [], "usage": usage}))
    if done:
        out.append(sse(None, "[DONE]"))
    return out


def openai_error(status: int, message: str = "upstream error", code: str | None = None, **kw: Any) -> Reply:
    """An OpenAI-style error answer."""
    return Reply(status, json={"error": {"message": message, "type": "api_error", "code": code}}, **kw)
