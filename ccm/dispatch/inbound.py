"""What dispatch needs from a client that did not speak Anthropic's wire (an OpenAI Chat or Responses
client, ccm.api.openai_chat and ccm.api.openai_responses): which adapter serves each mapping, and how an
answer goes out in the client's wire.

Dispatch itself stays as it is: attempts, the failover window, retries, the breaker and the relay all work
on Anthropic frames. An inbound wire only changes three edges:

    adapter = call.inbound.adapter(provider.wire)      # the mapping's own adapter, or a same-wire one
    body, usage = call.inbound.whole(adapter, message)   # a non-streamed answer in the client's wire
    encoder = call.inbound.encoder(adapter)              # the relay's bytes: frames, pings, the error

A same-wire adapter (Chat Completions to a Chat Completions mapping) hands the upstream's own events
through as frames whose `raw` bytes are what the client receives, so `encoder` only passes them on; any
other adapter yields Anthropic frames, which the encoder translates.
"""

from __future__ import annotations

from typing import Any, Protocol

from ccm.providers.base import Adapter, Frame, Usage


class Encoder(Protocol):
    """The bytes a streamed answer sends, in the client's wire."""

    def frames(self, frames: list[Frame]) -> bytes:
        """The frames of one upstream read as one write (an error among them redacted on its way)."""
        ...

    def ping(self) -> bytes:
        """What keeps a silent stream's client waiting (an SSE comment where the wire has no ping event)."""
        ...

    def error(self, error_type: str, message: str) -> bytes:
        """The wire's in-band error that ends a stream which cannot finish (a cut, a stall)."""
        ...


class Inbound(Protocol):
    """A client's wire other than Anthropic's, for one request."""

    def adapter(self, wire: str) -> Adapter | None:
        """The adapter that serves a mapping of this wire for this request (None: not built)."""
        ...

    def whole(self, adapter: Adapter, message: dict[str, Any]) -> tuple[bytes, Usage]:
        """A whole answer (what `adapter.translate_message` gave) as the client's body, and its usage."""
        ...

    def encoder(self, adapter: Adapter) -> Encoder:
        """How a stream that `adapter` translates goes out."""
        ...
