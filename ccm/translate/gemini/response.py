"""Gemini's answer details in Anthropic terms: usage, finish reasons and error bodies.

    anthropic_usage(usage_metadata)        -> {"input_tokens", "output_tokens", "cache_read_input_tokens", ...}
    stop_reason("MAX_TOKENS", has_tool_use=False)  -> "max_tokens"   (InvalidUpstream for unusable answers)
    google_error(content, status)          -> (message, retry_after seconds or None)

Usage: `candidatesTokenCount` excludes thoughts, so output is candidates + thoughts; cached prompt tokens
are cache reads and are not counted again in input_tokens.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ccm.translate.anthropic import InvalidUpstream
from ccm.translate.usage import counts

#: Finish reasons that are a refusal: the partial text stays, the stop reason says why it ended.
REFUSALS = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "LANGUAGE",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
        "IMAGE_OTHER",
    }
)
#: Finish reasons of an answer that cannot be used: another provider should try (gemini-cli retries them).
UNUSABLE = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"})
_DECLARATION = re.compile(r"function_declarations\[(\d+)\]")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_metadata(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """usageMetadata wherever a server puts it (camelCase or snake_case)."""
    for key in ("usageMetadata", "usage_metadata"):
        value = data.get(key)
        if isinstance(value, Mapping):
            return value
    return None


def anthropic_usage(usage: Mapping[str, Any] | None, *, input_estimate: int = 0) -> dict[str, int]:
    def get(name: str) -> int:
        if usage is None:
            return 0
        snake = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)
        return _int(usage.get(name)) or _int(usage.get(snake))

    prompt = get("promptTokenCount") + get("toolUsePromptTokenCount")
    cached = min(get("cachedContentTokenCount"), prompt) if prompt else get("cachedContentTokenCount")
    output = get("candidatesTokenCount") + get("thoughtsTokenCount")
    input_tokens = (prompt - cached) if usage is not None and prompt else input_estimate
    return counts(input_tokens, output, cache_read=cached)


def stop_reason(finish_reason: str | None, *, has_tool_use: bool, has_output: bool) -> str:
    """The Anthropic stop_reason; InvalidUpstream for an answer another provider should give instead."""
    reason = (finish_reason or "STOP").upper()
    if reason in UNUSABLE:
        raise InvalidUpstream(f"Gemini ended its answer with {reason}")
    if reason in REFUSALS:
        return "refusal"
    if not has_output:
        raise InvalidUpstream(f"Gemini ended with {reason} and no answer (only thoughts, or nothing)")
    if has_tool_use:
        return "tool_use"
    if reason == "MAX_TOKENS":
        return "max_tokens"
    return "end_turn"


def _error_object(data: Any) -> Mapping[str, Any] | None:
    if isinstance(data, list) and data:
        data = data[0]
    if isinstance(data, Mapping):
        err = data.get("error")
        if isinstance(err, Mapping):
            return err
    return None


def google_error(content: bytes, status: int) -> tuple[str, str | None]:
    """The message of a Google API error body (`{"error": {code, message, status, details}}`, possibly
    inside a one-element list) and its retry delay in whole seconds (RetryInfo.retryDelay, else the
    quota's reset delay), as a Retry-After value."""
    try:
        data = orjson.loads(content) if content.strip() else None
    except orjson.JSONDecodeError:
        data = None
    err = _error_object(data)
    if err is None:
        text = content.decode("utf-8", "replace").strip()[:2000]
        return text or f"HTTP {status} with an empty body", None
    message = str(err.get("message") or err.get("status") or f"HTTP {status}")
    state = err.get("status")
    if isinstance(state, str) and state and state not in message:
        message = f"{state}: {message}"
    delay: float | None = None
    details = err.get("details")
    for item in details if isinstance(details, Sequence) and not isinstance(details, str) else ():
        if not isinstance(item, Mapping):
            continue
        kind = str(item.get("@type") or "")
        if kind.endswith("RetryInfo"):
            delay = _seconds(item.get("retryDelay")) or delay
        elif kind.endswith("ErrorInfo") and delay is None:
            metadata = item.get("metadata")
            if isinstance(metadata, Mapping):
                delay = _seconds(metadata.get("quotaResetDelay"))
    retry = str(max(1, math.ceil(delay))) if delay is not None else None
    return message[:2000], retry


def _seconds(value: Any) -> float | None:
    """A protobuf Duration in JSON ("3s", "0.5s", or {"seconds": 3})."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1))
        # quotaResetDelay is sometimes "1m2s" / "250ms"
        total = 0.0
        found = False
        for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value):
            found = True
            total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
        return total if found else None
    if isinstance(value, Mapping):
        seconds = value.get("seconds")
        try:
            return float(seconds or 0) + float(value.get("nanos") or 0) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def name_declaration(message: str, declarations: Sequence[str]) -> str:
    """A schema error names `function_declarations[i]`; say which tool that is (Claude Code's name)."""
    match = _DECLARATION.search(message)
    if match is None:
        return message
    index = int(match.group(1))
    if index >= len(declarations):
        return message
    return f"tool {declarations[index]!r}: {message}"
