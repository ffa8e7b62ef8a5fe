"""The local token estimate for count_tokens: cheap, from the size of what the model would read.

Claude Code's /context fires ~27 count_tokens calls at once, so this must cost microseconds: it measures
the serialized size of system, messages and tools and divides by the calibrated bytes-per-token ratio.
"""

from __future__ import annotations

from typing import Any

import orjson

from ccm.media import media_tokens
from ccm.routing import BYTES_PER_TOKEN


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if value is None:
        return 0
    return len(orjson.dumps(value))


def estimate_input_tokens(body: dict[str, Any]) -> int:
    """Images and documents count by their own rules (ccm.media), not by their base64 size."""
    data_bytes, media = media_tokens(body.get("messages"))
    size = _text_size(body.get("system")) + _text_size(body.get("messages")) + _text_size(body.get("tools") or None)
    return max(1, round(max(0, size - data_bytes) / BYTES_PER_TOKEN) + media)
