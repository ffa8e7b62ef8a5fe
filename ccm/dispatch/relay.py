"""Relaying a checked stream to the client: after the failover window, until the answer is complete.

The dispatcher hands over the first frames it checked; from here on an upstream failure can no longer
fail over, so it ends the stream with `event: error` (never a clean message_stop), pings keep a silent
upstream's client alive, an upstream that completes no event for `api_timeout_ms` has stalled (an
`event: error` too, however many bytes of an unfinished event it trickles), and every way out (end, error, the client leaving, a stream never started)
closes the upstream and records the request once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx

from ccm.auth.redact import redact, redact_bytes
from ccm.dispatch.inbound import Encoder
from ccm.observe.requestlog import AttemptRecord
from ccm.providers.base import Frame, InvalidUpstream, StreamTranslator, Usage, error_body
from ccm.sse import encode
from ccm.upstream.answer import Answer, InvalidAnswer, Reads

log = logging.getLogger("ccm.dispatch.relay")

PING_INTERVAL = 10.0
_PING = encode("ping", {"type": "ping"})
CLIENT_LEFT = "the client disconnected before the answer was complete"


@dataclass(slots=True)
class Done:
    """What the request log and metrics need once the answer is over (the app turns it into a RequestRecord)."""

    status: int
    attempts: int
    provider: str | None = None
    actual_model: str | None = None
    usage: Usage = field(default_factory=Usage)
    error: str | None = None
    flag: str = "ok"
    """"ccm_error" when a bug of ccm's own showed in this request (logged with its traceback), "prewarm" when
    ccm answered a cache pre-warm itself; the request record's outcome is read from it (ccm.observe.records)."""
    recorded: bool = False
    """Set once on_done has seen it: the relay's end and the abandoned-stream guard never both record."""
    tried: list[AttemptRecord] = field(default_factory=list)
    """Every attempt in order with its outcome, filled by the dispatcher. Empty: the app infers one
    record from provider/status (the dispatcher before per-attempt records)."""
    retries: int = 0
    ttft_ms: int | None = None
    """Milliseconds from the request's arrival to the first checked content event (the failover window's end)."""
    rate_limit: str | None = None
    """For a 429: the limit the upstream named (see ccm.observe.metrics.rate_limit_claim)."""
    at: float = field(default_factory=time.perf_counter)
    """When it was made: for an answer, just after its first content event was checked (a stream) or its
    whole body read, so the time to first token when the dispatcher does not set ttft_ms."""


def record_soon(on_done: Callable[[Done], None], done: Done) -> None:
    """Record an answer once it is out: on the loop's next turn, after Hypercorn has written the end of the
    response. The request log, metrics and journal
    line were a twentieth of a small request's time, all of it between the upstream's answer and the
    client's; a failing sink is logged by the loop and never breaks the answer."""
    try:
        asyncio.get_running_loop().call_soon(on_done, done)
    except RuntimeError:  # no running loop (a synchronous caller): record now
        on_done(done)


def error_frame(error_type: str, message: str) -> bytes:
    return encode("error", error_body(error_type, message))


async def close_quietly(response: Answer | None) -> None:
    if response is not None:
        with contextlib.suppress(Exception):
            await response.aclose()


class _Stalled(Exception):
    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds or 0.0


class _StallClock:
    """Whether the upstream has stalled: no complete event for `reads.idle_s`. Bytes of an event that never
    completes are no progress, and ccm's own pings to the client are not the upstream's."""

    def __init__(self, reads: Reads) -> None:
        self._reads, self._loop = reads, asyncio.get_running_loop()
        self._events = reads.events
        self._deadline = None if reads.idle_s is None else self._loop.time() + reads.idle_s

    def wait_s(self) -> float:
        """How long the next read may wait: until a ping is due, or the upstream has stalled."""
        if self._deadline is None:
            return PING_INTERVAL
        return max(0.0, min(PING_INTERVAL, self._deadline - self._loop.time()))

    def check(self) -> None:
        """After a read or a silent wait: a completed event starts the clock over; past it, _Stalled."""
        if self._reads.events != self._events:
            self._events = self._reads.events
            self._deadline = None if self._reads.idle_s is None else self._loop.time() + self._reads.idle_s
        elif self._deadline is not None and self._loop.time() >= self._deadline:
            raise _Stalled(self._reads.idle_s)


async def relay_stream(
    first: list[Frame],
    chunks: Reads | AsyncIterator[bytes],
    translator: StreamTranslator,
    response: Answer,
    done: Done,
    on_done: Callable[[Done], None],
    rest: bytes = b"",
    encoder: Encoder | None = None,
) -> AsyncIterator[bytes]:
    """Send the checked first frames, then the rest as it comes, pinging while the upstream is silent.

    `rest`: upstream bytes already read but not yet translated (ccm.dispatch.attempt._window), fed before any read.
    `encoder`: the client's wire when it is not Anthropic's (ccm.dispatch.inbound)."""
    out = encoder or ANTHROPIC
    saw_error = any(frame.event == "error" for frame in first)
    try:
        yield out.frames(first)  # one write: each yield is a send through the edge
        reads = chunks if isinstance(chunks, Reads) else Reads(chunks)
        clock = _StallClock(reads)
        try:
            # message_stop ends the answer, whether or not the upstream closes; nothing follows an error
            while not translator.complete and not saw_error:
                if rest:
                    chunk, rest = rest, b""
                else:
                    try:
                        async with asyncio.timeout(clock.wait_s()):  # one timer per read, no task per chunk
                            chunk = await reads.next()
                    except TimeoutError:
                        clock.check()
                        yield out.ping()  # the read stays where it was (Reads is cancel-safe)
                        continue
                    clock.check()
                if not chunk:
                    break
                frames = translator.feed(chunk)
                if frames:  # the events of one upstream read go out as one write
                    saw_error = saw_error or any(frame.event == "error" for frame in frames)
                    yield out.frames(frames)
            if not saw_error and not translator.complete:
                frames = translator.finish()
                if frames:
                    saw_error = saw_error or any(frame.event == "error" for frame in frames)
                    yield out.frames(frames)
            if saw_error:
                done.status, done.error = 502, "the upstream sent an error event mid-stream"
            elif not translator.complete:
                done.status, done.error = 502, "upstream stream ended before message_stop"
                yield out.error("api_error", "the upstream stream ended before the answer was complete")
        except (InvalidUpstream, InvalidAnswer) as exc:
            done.status, done.error = 502, redact(str(exc))
            yield out.error("api_error", f"the upstream sent an invalid event: {done.error}")
        except _Stalled as stalled:
            done.status, done.error = 504, f"upstream stalled: no complete event in {stalled.seconds:g} s"
            yield out.error("timeout_error", f"the upstream sent no complete event for {stalled.seconds:g} s")
        except httpx.TimeoutException:
            done.status, done.error = 504, "upstream went silent"
            yield out.error("timeout_error", "the upstream went silent mid-stream")
        except httpx.HTTPError as exc:
            done.status, done.error = 502, f"{type(exc).__name__}"
            yield out.error("api_error", f"the upstream connection broke mid-stream ({type(exc).__name__})")
        except Exception as exc:  # never let an exception escape after the first byte: the client would hang up
            log.exception("relaying %s/%s failed: a bug in ccm", done.provider, done.actual_model)
            done.status, done.error, done.flag = 502, redact(f"{type(exc).__name__}: {exc}"), "ccm_error"
            yield out.error("api_error", f"ccm could not relay the upstream's answer ({type(exc).__name__})")
        finally:
            reads.cancel()
    except (asyncio.CancelledError, GeneratorExit):
        done.status, done.error = 499, CLIENT_LEFT
        raise
    finally:
        await close_quietly(response)
        done.usage = translator.usage
        done.recorded = True
        record_soon(on_done, done)


def _out(frames: list[Frame]) -> bytes:
    """Frames as one write; an upstream's error event (which may quote a key) is redacted on its way."""
    return b"".join(redact_bytes(frame.raw) if frame.event == "error" else frame.raw for frame in frames)


class _Anthropic:
    """Anthropic's wire, as the relay writes it for Claude Code (ccm.dispatch.inbound.Encoder)."""

    def frames(self, frames: list[Frame]) -> bytes:
        return _out(frames)

    def ping(self) -> bytes:
        return _PING

    def error(self, error_type: str, message: str) -> bytes:
        return error_frame(error_type, message)


ANTHROPIC = _Anthropic()


def guarded(
    relay: AsyncIterator[bytes], response: Answer, done: Done, on_done: Callable[[Done], None]
) -> AsyncIterator[bytes]:
    """Close the upstream even if the client leaves before the server starts sending the body.

    A generator that never started never runs its `finally`: if the client disconnects between the
    handler's return and the first chunk, nothing else would close the upstream response (its pooled
    connection would stay taken for good). The finalizer runs when the generator is dropped.
    """

    def abandoned() -> None:
        if done.recorded:
            return
        done.status, done.error, done.recorded = 499, CLIENT_LEFT, True
        on_done(done)
        try:
            asyncio.get_running_loop().create_task(close_quietly(response))
        except RuntimeError:  # no loop (interpreter shutdown): the process is going away anyway
            pass

    weakref.finalize(relay, abandoned)
    return relay
