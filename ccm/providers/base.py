"""The interface between the dispatcher and the provider modules (one module per wire format).

The dispatcher owns HTTP, timeouts and failover; an adapter only knows its format:

    adapter = adapter_for(provider.wire)            # ccm.providers.registry
    req = adapter.build(body, ctx)                  # UpstreamRequest: url, headers, body bytes, stream
    # non-2xx:   adapter.parse_error(status, headers, content) -> UpstreamError
    # 2xx, non-streaming client: adapter.translate_message(content, content_type, ctx) -> Anthropic message
    # 2xx, streaming client:     tr = adapter.stream(ctx, content_type); tr.feed(chunk) -> [Frame]; tr.finish()

`body` is the client's parsed Anthropic request after routing (model already the mapping's actual model,
subagent tag removed, max_tokens clamped); adapters must not mutate it. Frames are complete Anthropic SSE
events; an adapter emits `message_start` only once the upstream has proved healthy (its first valid
event), because nothing reaches the client before the first frame has been checked (the failover window).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ccm.routing import Attempt


class InvalidUpstream(Exception):
    """The upstream answered 2xx with something that is not what was asked for: fail over (in the window)."""


@dataclass(slots=True)
class RequestContext:
    attempt: Attempt
    api_key: str | None
    client_headers: Mapping[str, str]
    """The client's request headers, lower-cased names."""
    query: str = ""
    """The client's raw query string (e.g. "beta=true"), forwarded to anthropic types only."""
    requested_model: str = ""
    """The model name the client asked for; answers carry it back."""
    stream: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    """Per-attempt scratch space an adapter fills in build() and reads back when translating the answer
    (e.g. the OpenAI adapter's shortened tool names). Adapters key it by their wire name."""


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    body: bytes
    stream: bool
    """Whether the upstream was asked for SSE (may differ from the client's wish)."""


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


class StreamTranslator(Protocol):
    usage: Usage
    complete: bool
    """True once the answer ended properly (message_stop seen or produced)."""

    def feed(self, chunk: bytes) -> list[Frame]:
        """Frames made complete by this chunk (raise InvalidUpstream if the first event is not valid)."""
        ...

    def finish(self) -> list[Frame]:
        """The upstream closed: closing frames for a recoverable end, or [] when the stream was cut
        (the dispatcher then sends `event: error`)."""
        ...


class Adapter(Protocol):
    wire: str

    def build(self, body: dict[str, Any], ctx: RequestContext) -> UpstreamRequest: ...

    def parse_error(self, status: int, headers: Mapping[str, str], content: bytes) -> UpstreamError: ...

    def translate_message(self, content: bytes, content_type: str, ctx: RequestContext) -> dict[str, Any]:
        """A whole non-streaming answer as an Anthropic message; raise InvalidUpstream when it is not one."""
        ...

    def stream(self, ctx: RequestContext, content_type: str) -> StreamTranslator: ...


#: Status -> Anthropic error type (DESIGN.md, Dispatch and failover).
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
