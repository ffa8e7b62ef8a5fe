"""Upstream error answers from OpenAI-format APIs as Anthropic error types, the upstream message kept.

Servers disagree on the body (`{"error": {"message"}}`, `{"error": "..."}`, FastAPI's `{"detail"}`, a list,
plain text); the status decides the type (ccm.translate.anthropic.ERROR_TYPES). A context-length error is worded as Anthropic
words it ("prompt is too long: N tokens > M maximum"), the phrase Claude Code knows for a full context,
with the provider's own message kept after it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from ccm.translate.anthropic import error_type_for

_CONTEXT = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long|input is too long"
    r"|reduce the length|tokens? exceed",
    re.I,
)
_LIMIT = re.compile(
    r"(?:maximum context length is|context (?:length|window) (?:is|of)|limit of|maximum of)\D{0,12}([\d,]+)", re.I
)
_ACTUAL = re.compile(
    r"(?:resulted in|requested(?: about)?|prompt (?:contains|has|is)|input (?:contains|has|is)|got)\D{0,12}([\d,]+)",
    re.I,
)
MAX_MESSAGE = 2000


def error_message(content: bytes, status: int) -> str:
    text = content.decode("utf-8", "replace").strip()
    try:
        data = orjson.loads(content) if text else None
    except orjson.JSONDecodeError:
        data = None
    message = _find_message(data) if data is not None else None
    if not message:
        message = text or f"HTTP {status} with an empty body"
    return message[:MAX_MESSAGE]


def _find_message(data: Any) -> str | None:
    if isinstance(data, list):
        return next((m for m in (_find_message(d) for d in data) if m), None)
    if isinstance(data, str):
        return data
    if not isinstance(data, Mapping):
        return None
    for key in ("error", "message", "detail", "msg", "error_msg"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, Mapping | list):
            found = _find_message(value)
            if found:
                return found
    return None


def classify(status: int, message: str) -> tuple[str, str]:
    """(Anthropic error type, message) for an upstream status and its message."""
    if status in (400, 413, 422) and _CONTEXT.search(message):
        if not message.lower().startswith("prompt is too long"):
            limit, actual = _LIMIT.search(message), _ACTUAL.search(message)
            if limit and actual:  # Anthropic's own wording: "prompt is too long: 210118 tokens > 200000 maximum"
                numbers = f"{actual.group(1).replace(',', '')} tokens > {limit.group(1).replace(',', '')} maximum"
                message = f"prompt is too long: {numbers} ({message})"
            else:
                message = f"prompt is too long: {message}"
        return "invalid_request_error", message
    return error_type_for(status), message


def retry_after(headers: Mapping[str, str], status: int | None = None) -> str | None:
    """The upstream's Retry-After (or retry-after-ms rounded up to seconds) to pass on; for a 429 without
    one, OpenAI's `x-ratelimit-reset-requests`/`-tokens` ("6m0s", "1.5s", "20ms") mean the same."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value:
        return value.strip()
    millis = lowered.get("retry-after-ms")
    if millis:
        try:
            return str(max(1, math.ceil(float(millis) / 1000)))
        except ValueError:
            return None
    if status == 429:
        resets = [_duration(lowered.get(f"x-ratelimit-reset-{kind}")) for kind in ("requests", "tokens")]
        known = [r for r in resets if r is not None]
        if known:
            return str(max(1, math.ceil(max(known))))
    return None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration(text: str | None) -> float | None:
    """A Go-style duration as OpenAI writes its reset headers ("1m30s", "250ms"), in seconds."""
    if not text:
        return None
    parts = _DURATION.findall(text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)
    return None
