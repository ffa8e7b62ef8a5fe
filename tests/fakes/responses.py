"""A fake Responses API (the ChatGPT backend, or the public /v1/responses), and its answers.

    fake = FakeResponses(backend=True).start()
    fake.script(Reply.stream(responses_stream(text="hello")))
    ... point a provider's base_url at fake.url ...
    fake.rejected          -> [] when every request obeyed the rules

A request that breaks a rule the backend was seen to enforce in 2026 (no max_output_tokens, instructions
required, no system role, stream and store fixed) or a rule of the Responses API
itself (a tool output without its call, an orphan reasoning id, foreign encrypted reasoning, ids and names
over 64 characters), or that the `openai` SDK's request types refuse, gets the 400 the real service sends
(`{"detail": ...}` on the backend) instead of its scripted reply.

Streams follow what the API sends: `response.created`, then per output item `output_item.added`, its
deltas and `output_item.done` (a reasoning item's final `encrypted_content` only there), then the
terminal `response.completed` / `response.incomplete` with the whole response.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

from openai.types.responses import (
    EasyInputMessageParam,
    FunctionToolParam,
    ResponseFunctionToolCallParam,
    ResponseReasoningItemParam,
    WebSearchToolParam,
)
from openai.types.responses import response_create_params as rcp
from openai.types.responses.response_input_item_param import FunctionCallOutput
from pydantic import TypeAdapter, ValidationError

from tests.fakes.anthropic_sse import split
from tests.fakes.upstream import FakeUpstream, Received, Reply, sse

ToolCall = tuple[str, str, dict[str, Any]]
"""(call_id, function name, arguments)."""

#: Encrypted reasoning as OpenAI makes it: Fernet-like, `gAAAA` first. Anything else is foreign.
ENCRYPTED_PREFIX = "gAAAA"
BACKEND_FORBIDDEN = ("max_output_tokens", "temperature", "top_p", "user", "metadata", "truncation")
BACKEND_FORBIDDEN += ("previous_response_id", "max_tokens")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ITEMS = {
    "function_call": TypeAdapter(ResponseFunctionToolCallParam),
    "function_call_output": TypeAdapter(FunctionCallOutput),
    "reasoning": TypeAdapter(ResponseReasoningItemParam),
}
_MESSAGE = TypeAdapter(EasyInputMessageParam)
_TOOLS = {"function": TypeAdapter(FunctionToolParam), "web_search": TypeAdapter(WebSearchToolParam)}
_TOP = {True: TypeAdapter(rcp.ResponseCreateParamsStreaming), False: TypeAdapter(rcp.ResponseCreateParamsNonStreaming)}
_TOP_KEYS = set(rcp.ResponseCreateParamsBase.__annotations__) | {"stream"}


# -- the rules -----------------------------------------------------------------------------------------


def violations(body: Any, headers: dict[str, str] | None = None, *, backend: bool) -> list[str]:
    """What the service would refuse in this request, as its error messages (empty: accepted)."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    found = _sdk_errors(body)
    if body.get("store") is not False:
        found.append("store must be false (ccm keeps no server-side state)")
    items = body.get("input")
    if not isinstance(items, list) or not items:
        return [*found, "input must be a non-empty list of items"]
    calls: set[str] = set()
    answered: set[str] = set()
    for item in items:
        kind = item.get("type")
        if item.get("role") == "system":
            found.append("System messages are not allowed")
        elif kind == "reasoning":
            content = item.get("encrypted_content")
            if item.get("id") and not content:
                found.append(
                    f"Item with id '{item['id']}' not found. Items are not persisted when `store` is set to false."
                )
            elif not isinstance(content, str) or not content.startswith(ENCRYPTED_PREFIX):
                found.append("invalid_encrypted_content: the encrypted content could not be verified")
            if item.get("id"):
                found.append("reasoning items must not carry an id when store is false")
        elif kind == "function_call":
            if len(item["call_id"]) > 64:
                found.append(f"Invalid 'input.call_id': string too long ({len(item['call_id'])} > 64)")
            if not _NAME.match(item["name"]):
                found.append(f"Invalid function name {item['name']!r}")
            calls.add(item["call_id"])
        elif kind == "function_call_output":
            if item["call_id"] not in calls:
                found.append(f"No tool call found for function call output with call_id {item['call_id']}.")
            answered.add(item["call_id"])
    found += [f"No tool output found for function call {c}." for c in sorted(calls - answered)]
    for tool in body.get("tools") or []:
        if tool.get("type") == "function" and not _NAME.match(tool.get("name", "")):
            found.append(f"Invalid 'tools.name': {tool.get('name')!r}")
    if "reasoning" in body and "reasoning.encrypted_content" not in (body.get("include") or []):
        found.append("reasoning without include reasoning.encrypted_content cannot round-trip with store false")
    if backend:
        found += _backend_violations(body, headers or {})
    return found


def _backend_violations(body: dict[str, Any], headers: dict[str, str]) -> list[str]:
    found = [f"Unsupported parameter: {key}" for key in BACKEND_FORBIDDEN if key in body]
    if body.get("stream") is not True:
        found.append("Stream must be set to true")
    if not isinstance(body.get("instructions"), str):
        found.append("Instructions are required")
    if not body.get("prompt_cache_key"):
        found.append("a session's requests must share a prompt_cache_key")
    if not headers.get("authorization", "").startswith("Bearer ") or not headers.get("chatgpt-account-id"):
        found.append("401: missing bearer or chatgpt-account-id")
    if headers.get("originator") != "codex_cli_rs":
        found.append("unknown originator")
    return found


def _sdk_errors(body: dict[str, Any]) -> list[str]:
    """What the openai SDK's request types refuse (items one by one, where the SDK has a type that fits:
    the SDK makes reasoning `id` required, which store:false forbids, so a stand-in id is validated)."""
    found = [f"unknown parameter {key}" for key in sorted(set(body) - _TOP_KEYS)]
    top = {**body, "input": [], "tools": []}
    for kind, item in (
        [("top", top)] + [("item", i) for i in body.get("input") or []] + [("tool", t) for t in body.get("tools") or []]
    ):
        try:
            if kind == "top":
                _TOP[bool(body.get("stream"))].validate_python(top)
            elif kind == "tool":
                _TOOLS[item["type"]].validate_python(item)
            elif item.get("type") == "message" and item.get("role") == "assistant":
                parts = item["content"]
                assert all(p["type"] == "output_text" and isinstance(p["text"], str) for p in parts), parts
            elif item.get("type") == "message":
                _MESSAGE.validate_python(item)
            elif item.get("type") == "reasoning":
                _ITEMS["reasoning"].validate_python({"id": "rs_standin", **item})
            else:
                _ITEMS[item["type"]].validate_python(item)
        except (ValidationError, KeyError, AssertionError, TypeError) as exc:
            found.append(f"invalid {kind}: {str(exc)[:300]}")
    return found


class FakeResponses(FakeUpstream):
    """A FakeUpstream whose every reply is given only to a request that obeys the rules."""

    def __init__(self, *, backend: bool) -> None:
        super().__init__()
        self.backend = backend
        self.rejected: list[list[str]] = []

    def script(self, *replies: Reply) -> FakeResponses:
        super().script(*(Reply(handler=self._checked(r)) for r in replies))
        return self

    def _checked(self, reply: Reply) -> Any:
        def handle(rec: Received) -> Reply:
            problems = violations(rec.json, rec.headers, backend=self.backend)
            if problems:
                self.rejected.append(problems)
                return Reply(400, json={"detail": "; ".join(problems)})
            return reply.handler(rec) if reply.handler is not None else reply

        return handle


# -- answers -------------------------------------------------------------------------------------------


def event(kind: str, **data: Any) -> bytes:
    return sse(kind, {"type": kind, **data})


def usage(input_tokens: int = 20, output_tokens: int = 8, cached: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def response(output: list[dict[str, Any]], status: str = "completed", **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": "resp_fake", "object": "response", "status": status, "model": "gpt-fake"}
    return {**data, "output": output, "usage": usage(), **extra}


def reasoning_item(summary: Sequence[str], encrypted: str | None, n: int = 0) -> dict[str, Any]:
    parts = [{"type": "summary_text", "text": s} for s in summary]
    return {"id": f"rs_{n}", "type": "reasoning", "summary": parts, "encrypted_content": encrypted}


def message_item(text: str, n: int = 0) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"id": f"msg_{n}", "type": "message", "role": "assistant", "status": "completed", "content": content}


def call_item(call: ToolCall, n: int = 0, status: str = "completed") -> dict[str, Any]:
    call_id, name, arguments = call
    item = {"id": f"fc_{n}", "type": "function_call", "call_id": call_id, "name": name, "status": status}
    return {**item, "arguments": json.dumps(arguments)}


def output_items(
    text: str | None = None,
    calls: Sequence[ToolCall] = (),
    *,
    summary: Sequence[str] = (),
    encrypted: str | None = None,
) -> list[dict[str, Any]]:
    items = [reasoning_item(summary, encrypted)] if summary or encrypted else []
    items += [message_item(text)] if text else []
    return items + [call_item(c, n) for n, c in enumerate(calls)]


def responses_stream(
    text: str | None = None,
    calls: Sequence[ToolCall] = (),
    *,
    summary: Sequence[str] = (),
    encrypted: str | None = None,
    pieces: int = 3,
    interleave: bool = False,
    terminal: str = "response.completed",
    usage_: dict[str, Any] | None = None,
    lead: Sequence[bytes] = (),
    incomplete_reason: str | None = None,
) -> list[bytes]:
    """A streamed answer: optional reasoning (summary parts, final encrypted content), text, function calls
    (their argument deltas interleaved when asked), then the terminal event."""
    items = output_items(text, calls, summary=summary, encrypted=encrypted)
    frames = [*lead, event("response.created", response=response([], "in_progress"))]
    for n, item in enumerate(items):
        if item["type"] == "function_call":
            continue
        snapshot = {**item, "summary": [], "encrypted_content": None} if item["type"] == "reasoning" else item
        if item["type"] == "message":
            snapshot = {**item, "content": [], "status": "in_progress"}
        frames.append(event("response.output_item.added", output_index=n, item=snapshot))
        if item["type"] == "reasoning":
            for i, part in enumerate(summary):
                where = {"item_id": item["id"], "output_index": n, "summary_index": i}
                empty = {"type": "summary_text", "text": ""}
                frames.append(event("response.reasoning_summary_part.added", **where, part=empty))
                frames += [
                    event("response.reasoning_summary_text.delta", **where, delta=p) for p in split(part, pieces)
                ]
        else:
            where = {"item_id": item["id"], "output_index": n, "content_index": 0}
            empty = {"type": "output_text", "text": "", "annotations": []}
            frames.append(event("response.content_part.added", **where, part=empty))
            frames += [event("response.output_text.delta", **where, delta=p) for p in split(text or "", pieces)]
            frames.append(event("response.output_text.done", **where, text=text))
        frames.append(event("response.output_item.done", output_index=n, item=item))
    call_items = [i for i in items if i["type"] == "function_call"]
    index = {item["id"]: n for n, item in enumerate(items)}  # real streams number every item (output_index)
    for item in call_items:
        added = {**item, "arguments": "", "status": "in_progress"}
        frames.append(event("response.output_item.added", output_index=index[item["id"]], item=added))
    deltas = [
        [
            event("response.function_call_arguments.delta", item_id=i["id"], output_index=index[i["id"]], delta=p)
            for p in split(i["arguments"], pieces)
        ]
        for i in call_items
    ]
    if interleave:
        frames += [f for group in itertools.zip_longest(*deltas) for f in group if f is not None]
    else:
        frames += [f for group in deltas for f in group]
    for item in call_items:
        where = {"item_id": item["id"], "output_index": index[item["id"]]}
        frames.append(event("response.function_call_arguments.done", **where, arguments=item["arguments"]))
        frames.append(event("response.output_item.done", output_index=index[item["id"]], item=item))
    status = "incomplete" if terminal == "response.incomplete" else "completed"
    extra: dict[str, Any] = {"usage": usage_ or usage()}
    if incomplete_reason:
        extra["incomplete_details"] = {"reason": incomplete_reason}
    frames.append(event(terminal, response=response(items, status, **extra)))
    return frames


def failed(code: str, message: str) -> bytes:
    return event("response.failed", response=response([], "failed", error={"code": code, "message": message}))


def usage_limit(resets_in_seconds: int | None = 3600, resets_at: int | None = None) -> Reply:
    """The ChatGPT plan's 429 when its 5-hour or weekly limit is spent."""
    error: dict[str, Any] = {"type": "usage_limit_reached", "message": "The usage limit has been reached"}
    error["plan_type"] = "plus"
    if resets_in_seconds is not None:
        error["resets_in_seconds"] = resets_in_seconds
    if resets_at is not None:
        error["resets_at"] = resets_at
    return Reply(429, json={"error": error})
