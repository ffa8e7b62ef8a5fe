"""What every translated wire (OpenAI, Responses, Gemini) does with the Anthropic events it made.

frames, ended, usage = as_frames(events)   # encoded SSE frames; message_stop seen; message_delta usage
is_sse(content, content_type)              # a whole body that is SSE (also when mislabelled)
"""

from __future__ import annotations

from typing import Any

from ccm.sse import encode
from ccm.translate.anthropic import Frame, Usage


def as_frames(events: list[dict[str, Any]]) -> tuple[list[Frame], bool, Usage | None]:
    frames = [Frame(e["type"], encode(e["type"], e), e) for e in events]
    ended = False
    usage: Usage | None = None
    for event in events:
        if event["type"] == "message_stop":
            ended = True
        elif event["type"] == "message_delta":
            counts = event.get("usage") or {}
            usage = Usage(
                input_tokens=counts.get("input_tokens", 0),
                output_tokens=counts.get("output_tokens", 0),
                cache_read_input_tokens=counts.get("cache_read_input_tokens", 0),
                cache_creation_input_tokens=counts.get("cache_creation_input_tokens", 0),
            )
    return frames, ended, usage


def looks_like_sse(text: bytes) -> bool:
    return text.startswith((b"data:", b"event:", b": "))


def is_sse(content: bytes, content_type: str) -> bool:
    """Whether a whole body is SSE, by content type or (for a mislabelled one) its first bytes."""
    return "event-stream" in content_type.lower() or looks_like_sse(content.lstrip())
