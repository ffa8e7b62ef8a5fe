"""What every wire format shares: Anthropic frames, usage, error shapes and ccm's thinking signature.

Neutral on purpose: the pure translators (ccm.translate) and the provider modules (ccm.providers) both
build on it, and it imports nothing of ccm's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class InvalidUpstream(Exception):
    """The upstream answered 2xx with something that is not what was asked for: fail over (in the window)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One Anthropic SSE event for the client."""

    event: str
    raw: bytes
    data: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class UpstreamError:
    status: int
    error_type: str
    message: str
    retry_after: str | None = None


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


#: Status -> Anthropic error type (https://docs.anthropic.com/en/api/errors), for the statuses ccm answers with.
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "api_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for(status: int) -> str:
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


#: Thinking blocks that ccm produced from a non-Anthropic answer carry a signature with this prefix, so
#: Claude Code keeps them (it drops unsigned thinking) and ccm can recognise them later: it restores their
#: text as reasoning_content for providers that need it, and removes them before a request goes to a real
#: Anthropic-format provider (which would reject a signature it did not make).
CCM_SIGNATURE_PREFIX = "ccm1:"


def is_ccm_signature(signature: object) -> bool:
    return isinstance(signature, str) and signature.startswith(CCM_SIGNATURE_PREFIX)
