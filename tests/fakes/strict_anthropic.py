"""A strict third-party Anthropic-format host: it refuses what z.ai, Kimi, DeepSeek and others refuse.

Each refusal is a 400 worded as those hosts word it (see config.catalog.REJECTS for the reports), and the
host also insists on what every Anthropic-format server insists on: roles alternating from `user`, and a
user turn after `tool_use` starting with its `tool_result` blocks. What it accepts gets a normal answer.

    host = StrictHost(refuses={"system-messages", "context_management"})
    up.script(Reply(handler=host))                      # or guarding(another_reply, host)
    ... host.refused -> ["system-messages", ...] in order
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.upstream import Received, Reply, anthropic_message, anthropic_stream

#: How each refusal reads, per shape; the wording of the reports (z.ai answers a 422 in FastAPI's shape).
WORDING: dict[str, tuple[int, str]] = {
    "system-messages": (400, "messages[{i}].role: system is not supported"),
    "system-messages-deepseek": (
        400,
        "Failed to deserialize the JSON body into the target type: messages[{i}].role: unknown variant `system`, "
        "expected `user` or `assistant`",
    ),
    "tool-reference": (400, "Unknown content block type: tool_reference"),
    "tool-reference-kimi": (400, "Invalid request Error"),
    "context_management": (400, "context_management: Extra inputs are not permitted"),
    "output_config": (400, "output_config: Extra inputs are not permitted"),
    "anthropic-version": (400, "anthropic-version: unsupported version {version}"),
}


@dataclass
class StrictHost:
    refuses: set[str]
    """Keys of WORDING; also "beta:FLAG" (refused in Vertex's wording), "system-messages-zai" (a 422) and
    "extra-fields" (every unknown top-level field named in one 400)."""
    text: str = "strict host answer"
    refused: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, rec: Received) -> Reply:
        body = rec.json
        self.bodies.append(body)
        problem = self.problem(body, rec.headers)
        if problem is not None:
            return problem
        if body.get("stream"):
            return Reply.stream(anthropic_stream(self.text, str(body.get("model")), pieces=3))
        return Reply(200, json=anthropic_message(self.text, str(body.get("model"))))

    def problem(self, body: dict[str, Any], headers: dict[str, str]) -> Reply | None:
        version = headers.get("anthropic-version", "")
        if "anthropic-version" in self.refuses and version != "2023-06-01":
            return self._refuse("anthropic-version", version=version)
        for flag in (f.strip() for f in headers.get("anthropic-beta", "").split(",")):
            if f"beta:{flag}" in self.refuses:
                self.refused.append(f"beta:{flag}")
                message = f"Unexpected value(s) `{flag}` for the `anthropic-beta` header. Please consult our docs."
                return Reply.error(400, message, "invalid_request_error")
        extra = [key for key in ("context_management", "output_config") if key in body]
        if "extra-fields" in self.refuses and extra:  # a validator that lists every unknown field at once
            self.refused.append("extra-fields")
            lines = "; ".join(f"{key}: Extra inputs are not permitted" for key in extra)
            return Reply.error(400, f"{len(extra)} validation errors: {lines}", "invalid_request_error")
        for key in extra:
            if key in self.refuses:
                return self._refuse(key)
        messages = body["messages"]
        for i, message in enumerate(messages):
            if message.get("role") == "system":
                for kind in ("system-messages", "system-messages-deepseek"):
                    if kind in self.refuses:
                        return self._refuse(kind, i=i)
                if "system-messages-zai" in self.refuses:
                    self.refused.append("system-messages-zai")
                    detail = {
                        "type": "literal_error",
                        "loc": ["body", "messages", i, "role"],
                        "msg": "Input should be 'user' or 'assistant'",
                        "input": "system",
                        "ctx": {"expected": "'user' or 'assistant'"},
                    }
                    return Reply(422, json={"detail": [detail]})
        if "tool_reference" in set(block_types(messages)):
            for kind in ("tool-reference", "tool-reference-kimi"):
                if kind in self.refuses:
                    return self._refuse(kind)
        return _shape_problem(messages)

    def _refuse(self, kind: str, **fmt: Any) -> Reply:
        self.refused.append(kind)
        status, text = WORDING[kind]
        return Reply.error(status, text.format(**fmt), "invalid_request_error")


def _shape_problem(messages: list[dict[str, Any]]) -> Reply | None:
    """What any Anthropic-format server checks: alternating roles from `user`, tool results first."""
    roles = [m.get("role") for m in messages]
    if roles[0] != "user" or any(a == b for a, b in itertools.pairwise(roles)):
        return Reply.error(400, f"messages: roles must alternate between user and assistant: {roles}")
    for prev, message in itertools.pairwise(messages):
        used = [b for b in _list(prev.get("content")) if b.get("type") == "tool_use"]
        if not used:
            continue
        content = _list(message.get("content"))
        lead = [b.get("tool_use_id") for b in content[: len(used)] if b.get("type") == "tool_result"]
        if lead != [b.get("id") for b in used]:
            return Reply.error(400, "tool_use ids were found without tool_result blocks immediately after")
    return None


def _list(content: Any) -> list[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def block_types(value: Any) -> Iterable[str]:
    """Every block type in messages, tool results' content included."""
    if isinstance(value, list):
        for item in value:
            yield from block_types(item)
    elif isinstance(value, dict):
        if "role" not in value and isinstance(value.get("type"), str):
            yield value["type"]
        yield from block_types(value.get("content"))


def guarding(inner: Reply, host: StrictHost) -> Reply:
    """A reply that refuses as `host` does, and otherwise answers as `inner` (a handler Reply) would."""
    assert inner.handler is not None

    def answer(rec: Received) -> Reply:
        problem = host.problem(rec.json, rec.headers)
        return problem if problem is not None else inner.handler(rec)  # type: ignore[misc]

    return Reply(handler=answer)
