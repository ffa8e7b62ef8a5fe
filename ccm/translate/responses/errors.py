"""Error answers of the Responses wire: OpenAI's shapes, plus the ChatGPT plan's usage limit and its reset.

The ChatGPT backend answers a spent plan with 429 `{"error": {"type": "usage_limit_reached", "plan_type",
"resets_at" (epoch s) | "resets_in_seconds"}}` (as the Codex CLI reads it). The reset becomes the
Retry-After (seconds) and is named in the message, so the dispatcher can wait or fail over and the user
reads when the plan comes back:

    error_type, message, retry_after = parse_error(429, headers, body)
    -> ("rate_limit_error", "ChatGPT usage limit reached (plus plan), resets in 1h 0m: ...", "3600")

Every other body is read as the OpenAI adapter reads it (ccm.translate.openai.errors).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson

from ccm.translate.openai.errors import classify, error_message, retry_after

_TRY_AGAIN = re.compile(r"try again in\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?)\b", re.I)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def reset_seconds(error: Mapping[str, Any], now: float | None = None) -> int | None:
    """Seconds until a usage limit resets (`resets_in_seconds`, `resets_at`, or "try again in 1.5s")."""
    seconds = _number(error.get("resets_in_seconds"))
    if seconds is None:
        at = _number(error.get("resets_at"))
        if at is not None:
            if at > 1e12:  # milliseconds
                at /= 1000
            seconds = at - (time.time() if now is None else now)
    if seconds is None:
        found = _TRY_AGAIN.search(str(error.get("message") or ""))
        if found:
            seconds = float(found.group(1)) / (1000 if found.group(2).lower() == "ms" else 1)
    if seconds is None:
        return None
    return max(1, math.ceil(seconds))


def usage_reset(error: Mapping[str, Any], now: float | None = None) -> str:
    """'resets in 1h 5m' (or 'resets in 3 min') when the error says when the limit resets, else ''."""
    seconds = reset_seconds(error, now)
    if seconds is None:
        return ""
    hours, rest = divmod(seconds, 3600)
    if hours:
        return f"resets in {hours}h {rest // 60}m"
    return f"resets in {max(1, math.ceil(rest / 60))} min" if rest >= 60 else f"resets in {rest} s"


def _error_object(content: bytes) -> Mapping[str, Any]:
    try:
        data = orjson.loads(content) if content.strip() else None
    except orjson.JSONDecodeError:
        return {}
    if isinstance(data, Mapping) and isinstance(data.get("error"), Mapping):
        inner: Mapping[str, Any] = data["error"]
        return inner
    return data if isinstance(data, Mapping) else {}


def parse_error(status: int, headers: Mapping[str, str], content: bytes) -> tuple[str, str, str | None]:
    """(Anthropic error type, message, Retry-After seconds or None) for an upstream error answer."""
    error = _error_object(content)
    error_type, message = classify(status, error_message(content, status))
    reset = reset_seconds(error)
    code = str(error.get("type") or error.get("code") or "")
    if code == "usage_limit_reached":
        plan = error.get("plan_type")
        head = f"ChatGPT usage limit reached ({plan} plan)" if plan else "ChatGPT usage limit reached"
        when = usage_reset(error)
        message = f"{head}, {when}: {message}" if when else f"{head}: {message}"
        error_type = "rate_limit_error"
    header = retry_after(headers)
    if reset is not None and (header is None or code == "usage_limit_reached"):
        return error_type, message, str(reset)
    return error_type, message, header
