"""`max_tokens: 0`: Anthropic's prompt-cache pre-warm, answered by ccm where no upstream can use it.

Anthropic reads a `max_tokens: 0` request into its prompt cache and answers an empty message; no other
host has that cache, and most refuse the value. So only `anthropic` and passthrough providers receive it;
for every other mapping ccm answers at once, without an upstream call: an empty message with
`stop_reason: "max_tokens"` and the estimated input (as message_start, message_delta, message_stop when
streamed), recorded with cost 0 and outcome `prewarm`.

    if answers_locally(call.body, candidate):
        return prewarm_result(call, headers, done)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import orjson

from ccm.dispatch.attempt import Call, Result
from ccm.dispatch.relay import Done, record_soon
from ccm.providers.base import Usage
from ccm.routing import Candidate
from ccm.sse import encode
from ccm.tokens import estimate_input_tokens

__all__ = ["answers_locally", "prewarm_result"]

FLAG = "prewarm"


def answers_locally(body: dict[str, Any], candidate: Candidate) -> bool:
    """A pre-warm this mapping cannot use: ccm answers it."""
    provider = candidate.provider
    prewarm = body.get("max_tokens") == 0 and not isinstance(body.get("max_tokens"), bool)
    return prewarm and provider.provider_type != "anthropic" and provider.auth_type != "passthrough"


def prewarm_result(call: Call, headers: dict[str, str], done: Done) -> Result:
    """The empty answer, whole or streamed; `done` is recorded once it is out."""
    usage = Usage(input_tokens=estimate_input_tokens(call.body))
    done.usage, done.flag = usage, FLAG
    message: dict[str, Any] = {
        "id": "msg_" + os.urandom(12).hex(),
        "type": "message",
        "role": "assistant",
        "model": str(call.body.get("model") or ""),
        "content": [],
        "stop_reason": "max_tokens",
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": 0,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }
    record_soon(call.on_done, done)
    if not call.stream:
        return Result(200, {**headers, "content-type": "application/json"}, orjson.dumps(message))
    started = {**message, "stop_reason": None}
    events = [
        encode("message_start", {"type": "message_start", "message": started}),
        encode(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
                "usage": {"output_tokens": 0},
            },
        ),
        encode("message_stop", {"type": "message_stop"}),
    ]
    return Result(
        200, {**headers, "content-type": "text/event-stream", "cache-control": "no-cache"}, stream=_once(events)
    )


async def _once(events: list[bytes]) -> AsyncIterator[bytes]:
    yield b"".join(events)
