"""Token usage in Anthropic's shape, which every translated wire maps its own counts onto.

    counts(input_tokens=90, output_tokens=12, cache_read=10)
    -> {"input_tokens": 90, "output_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10}

Anthropic counts cached prompt tokens apart from input tokens (a cache read is not input), so each wire
subtracts what its upstream reports as cached; when no usage comes at all, output is estimated from the
characters written.
"""

from __future__ import annotations

import math
from typing import Any


def counts(input_tokens: int, output_tokens: int, *, cache_read: int = 0, cache_creation: int = 0) -> dict[str, int]:
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
    }


def count(value: Any) -> int:
    """A token count as an upstream reports it; anything that is not a whole number counts 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def estimate_output_tokens(chars: int) -> int:
    """Output tokens from characters, when the upstream reports no usage (about 4 per token)."""
    return math.ceil(chars / 4)
