"""Tool-call arguments into `tool_use.input`, repairing the JSON models get wrong.

Models behind OpenAI-format APIs sometimes send arguments that are not valid JSON: single quotes, trailing
commas, Python literals, a code fence, raw newlines inside strings, or a call cut off by max_tokens. Each is
repaired where the intent is clear. What cannot be repaired becomes `{"_invalid_json": raw}`: Claude Code
then rejects the input against the tool's schema and tells the model, which retries; nothing crashes.

    parse_tool_arguments('{"a": 1,}')          -> ({"a": 1}, "repaired")
    parse_tool_arguments("")                   -> ({}, "ok")
    parse_tool_arguments("not json")           -> ({"_invalid_json": "not json"}, "invalid")
"""

from __future__ import annotations

import re
from typing import Any, Literal

import orjson

Outcome = Literal["ok", "repaired", "invalid"]
INVALID_KEY = "_invalid_json"

_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_LITERALS = {"True": "true", "False": "false", "None": "null"}
_CLOSER = {"{": "}", "[": "]"}
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def parse_tool_arguments(raw: object) -> tuple[dict[str, Any], Outcome]:
    """Arguments (a JSON string, or an object some servers send directly) as a tool_use input."""
    if isinstance(raw, dict):
        return raw, "ok"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, "ok"
    if not isinstance(raw, str):
        return {INVALID_KEY: orjson.dumps(raw).decode()}, "invalid"
    value = _loads(raw)
    if isinstance(value, str):  # double-encoded: "{\"a\": 1}"
        inner = _loads(value)
        if isinstance(inner, dict):
            return inner, "repaired"
    if isinstance(value, dict):
        return value, "ok"
    repaired = repair_json(raw)
    if isinstance(repaired, dict) and (repaired or not any(c.isalnum() for c in raw)):
        return repaired, "repaired"  # (an empty result from a text with content would be data lost)
    return {INVALID_KEY: raw}, "invalid"


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def repair_json(text: str) -> Any:
    """Best-effort parse of almost-JSON; None when no reading of it parses."""
    fence = _FENCE.match(text)
    if fence:
        text = fence.group(1)
    start = text.find("{")
    if start < 0:
        return None
    out, stack, cuts = _rewrite(text[start:])
    body = "".join(out).rstrip()
    candidates = [_close(body, stack)]
    # Truncated in the middle of a member: drop members from the end until what is left parses.
    for cut, cut_stack in reversed(cuts[-8:]):
        candidates.append(_close("".join(out[:cut]), cut_stack))
    for candidate in candidates:
        value = _loads(candidate)
        if value is not None:
            return value
    return None


def _close(body: str, stack: list[str]) -> str:
    body = body.rstrip().rstrip(",").rstrip()
    if body.endswith(":"):  # a key with no value: drop the key too
        body = body[:-1].rstrip()
        if body.endswith('"'):
            quote = _string_start(body)
            if quote >= 0:
                body = body[:quote].rstrip().rstrip(",")
    return body + "".join(_CLOSER[c] for c in reversed(stack))


def _string_start(body: str) -> int:
    """Index of the opening quote of the string that ends `body`."""
    i = len(body) - 2
    while i >= 0:
        if body[i] == '"':
            backslashes = 0
            j = i - 1
            while j >= 0 and body[j] == "\\":
                backslashes += 1
                j -= 1
            if backslashes % 2 == 0:
                return i
        i -= 1
    return -1


def _rewrite(text: str) -> tuple[list[str], list[str], list[tuple[int, list[str]]]]:
    """One pass: strings to double quotes, raw control characters escaped, trailing commas and stray
    closers dropped, Python literals to JSON. Returns the output pieces, the brackets still open, and the
    places where a member ended (for cutting a truncated tail)."""
    out: list[str] = []
    stack: list[str] = []
    cuts: list[tuple[int, list[str]]] = []
    quote: str | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote is not None:
            if c == "\\":
                if i + 1 < n:
                    nxt = text[i + 1]
                    out.append("'" if quote == "'" and nxt == "'" else c + nxt)
                i += 2
                continue
            if c == quote:
                out.append('"')
                quote = None
            elif c == '"':
                out.append('\\"')
            else:
                out.append(_ESCAPES.get(c, c))
            i += 1
            continue
        if c in "\"'":
            quote = c
            out.append('"')
        elif c in "{[":
            stack.append(c)
            out.append(c)
            cuts.append((len(out), list(stack)))
        elif c in "}]":
            while out and out[-1] in (",", " ", "\n", "\t", "\r"):
                out.pop()
            if stack:
                out.append(_CLOSER[stack.pop()])
        elif c == ",":
            cuts.append((len(out), list(stack)))
            out.append(c)
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            out.append(_LITERALS.get(word, word))
            i = j
            continue
        else:
            out.append(c)
        i += 1
        if not stack and out and out[-1] in "}]":
            break  # the top-level value is complete; ignore trailing chatter
    if quote is not None:
        out.append('"')
    return out, stack, cuts
