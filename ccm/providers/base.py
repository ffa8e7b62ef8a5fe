"""The interface between the dispatcher and the provider modules (one module per wire format).

The dispatcher owns HTTP, timeouts and failover; an adapter only knows its format:

    adapter = adapter_for(provider.wire)            # ccm.providers.adapter_for
    req = adapter.build(body, ctx)                  # UpstreamRequest: url, headers, body bytes
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
from typing import Any, Protocol, TypedDict

from ccm import __version__
from ccm.auth.credentials import Credential
from ccm.routing import Candidate
from ccm.translate.anthropic import (  # re-exported: adapters import them from here
    CCM_SIGNATURE_PREFIX,
    ERROR_TYPES,
    Frame,
    InvalidUpstream,
    UpstreamError,
    Usage,
    error_body,
    error_type_for,
    is_ccm_signature,
)

__all__ = [
    "CCM_SIGNATURE_PREFIX",
    "ERROR_TYPES",
    "Adapter",
    "Frame",
    "InvalidUpstream",
    "RequestContext",
    "StreamTranslator",
    "UpstreamError",
    "UpstreamRequest",
    "Usage",
    "error_body",
    "error_type_for",
    "is_ccm_signature",
]


@dataclass(slots=True)
class RequestContext:
    candidate: Candidate
    credential: Credential
    """Resolved by ccm.auth.credentials before the adapter builds anything."""
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

    @property
    def api_key(self) -> str | None:
        """The key or bearer token the adapter sends (None for a keyless server or passthrough)."""
        return self.credential.secret

    def answer_names(self, wire: str) -> AnswerNames:
        """What every translating adapter tells its translator, from what it noted in build() under `wire`:
        the model name the client asked for (answers carry it back), the tool names shortened on the way
        out (restored on the way back), and the input estimate (the usage when the upstream gives none)."""
        noted = self.state.get(wire) or {}
        return {
            "model": self.requested_model or self.candidate.actual_model,
            "tool_names": noted.get("tool_names"),
            "input_estimate": noted.get("input_estimate", 0),
        }


class AnswerNames(TypedDict):
    model: str
    tool_names: Mapping[str, str] | None
    input_estimate: int


def bearer_json_headers(ctx: RequestContext, *, stream: bool) -> dict[str, str]:
    """A JSON request to an OpenAI-style API as ccm sends it: its own user-agent (a client's is Anthropic's
    to read, not these hosts'), the answer form asked for, and the key as a bearer token when there is one."""
    headers = {
        "content-type": "application/json",
        "accept": "text/event-stream" if stream else "application/json",
        "user-agent": f"ccm/{__version__}",
    }
    if ctx.api_key:
        headers["authorization"] = f"Bearer {ctx.api_key}"
    return headers


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    headers: dict[str, str]
    body: bytes


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
