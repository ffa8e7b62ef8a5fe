"""One try of one mapping: build, send, check the answer up to the end of the failover window.

Returns an `Answer` to relay or a `Failure` of one `Kind` (ccm.dispatch.policy); the dispatcher
(ccm.dispatch.failover) reads the kind's rule to decide what happens next: a retry, the next mapping, the
upstream's answer passed on as it is, or the summary error.

    reply = await try_mapping(client, call, candidate, credential, remaining_s)
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from ccm.auth.credentials import Credential
from ccm.dispatch.inbound import Inbound
from ccm.dispatch.policy import POLICY, Kind, Rule, kind_for_event, kind_for_status
from ccm.dispatch.relay import Done, close_quietly
from ccm.providers.base import Adapter, Frame, InvalidUpstream, RequestContext, UpstreamRequest, error_body
from ccm.providers.registry import adapter_for
from ccm.routing import Candidate, RoutingDecision
from ccm.serve.state import Snapshot
from ccm.upstream.answer import Answer as UpstreamAnswer
from ccm.upstream.answer import InvalidAnswer, Reads
from ccm.upstream.client import parsed_url, post
from config.schema import ClientConfig, Timeouts

log = logging.getLogger("ccm.dispatch.failover")

#: Events that close the failover window: the first content the client would see.
_CONTENT = frozenset({"content_block_delta", "message_delta", "message_stop"})
RATELIMIT_CLAIM = "anthropic-ratelimit-unified-representative-claim"


@dataclass(slots=True)
class Call:
    """One client request on its way: what every attempt shares, made once by the endpoint."""

    body: dict[str, Any]
    decision: RoutingDecision
    candidates: list[Candidate]
    snapshot: Snapshot
    client_headers: Mapping[str, str]
    query: str
    on_done: Callable[[Done], None]
    started: float = field(default_factory=time.perf_counter)
    too_small: list[str] = field(default_factory=list)
    """Mappings left out because the request does not fit their context window (ccm.dispatch.window)."""
    client: ClientConfig | None = None
    """The [[clients]] entry whose key sent the request (None: the router key, or no key)."""
    inbound: Inbound | None = None
    """A client that spoke OpenAI's Chat or Responses wire (ccm.dispatch.inbound); None for Anthropic's."""

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def session(self) -> str | None:
        return self.client_headers.get("x-claude-code-session-id") or None


@dataclass(slots=True)
class Result:
    """What to answer: a whole body, or a stream of SSE bytes."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


@dataclass(slots=True)
class Failure:
    provider: str
    model: str
    reason: str
    """What went wrong, in words: named in the log and in the summary error."""
    status: int
    error_type: str
    kind: Kind
    """What went wrong; POLICY[kind] says what follows (see `rule`)."""
    retry_after: str | None = None
    hint: str = ""
    """For a refused credential of ccm's own: the provider and what fixes it (see ccm.dispatch.verdict)."""
    claim: str | None = None
    """For a 429: which limit was hit, when the upstream says so."""
    detail: str = ""
    """The upstream's own error message, for an error passed on to the client as it is."""
    ms: int = 0
    too_long: bool = False
    """A context-length refusal: `detail` is Anthropic's "prompt is too long" text (ccm.dispatch.window)."""

    @property
    def rule(self) -> Rule:
        return POLICY[self.kind]


def error_result(status: int, error_type: str, message: str, headers: dict[str, str]) -> Result:
    return Result(
        status, {**headers, "content-type": "application/json"}, orjson.dumps(error_body(error_type, message))
    )


def prepare_body(body: dict[str, Any], decision: RoutingDecision, candidate: Candidate) -> dict[str, Any]:
    """The body this mapping receives: its actual model, the tag-free system, max_tokens clamped."""
    out = decision.apply(body)  # a copy without subagent tags (system and role:system messages)
    out["model"] = candidate.actual_model
    limit = candidate.max_output_tokens
    max_tokens = out.get("max_tokens")
    if limit and isinstance(max_tokens, int) and max_tokens > limit:
        out["max_tokens"] = limit
    return out


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(slots=True)
class Answer:
    """A good first answer: the response to relay and the frames already checked."""

    ctx: RequestContext
    adapter: Adapter
    response: UpstreamAnswer
    first: list[Frame] | None = None
    message: dict[str, Any] | None = None
    ttfb_ms: float = 0.0
    translator: Any = None
    chunks: Reads | None = None
    rest: bytes = b""
    """The part of the first content's read after that content, still to translate (see _window)."""


async def try_mapping(
    client: httpx.AsyncClient,
    call: Call,
    candidate: Candidate,
    credential: Credential,
    remaining_s: float,
) -> Answer | Failure:
    """Send one attempt; an Answer to relay, or a Failure."""
    attempt = _Try(candidate, remaining_s, call.snapshot.config.server.timeouts, call.stream)
    provider = candidate.provider
    adapter = adapter_for(provider.wire) if call.inbound is None else call.inbound.adapter(provider.wire)
    if adapter is None:
        reason = f"the {provider.wire} wire format is not supported yet"
        return attempt.failure(reason, 404, "not_found_error", Kind.WIRE_NOT_BUILT)
    ctx = RequestContext(
        candidate, credential, call.client_headers, call.query, str(call.body.get("model") or ""), call.stream
    )
    try:
        upstream = adapter.build(prepare_body(call.body, call.decision, candidate), ctx)
    except InvalidUpstream as exc:
        return attempt.failure(str(exc), 400, "invalid_request_error", Kind.UNTRANSLATABLE)
    try:
        got = await attempt.exchange(client, upstream, adapter, ctx)
    except asyncio.CancelledError:
        await close_quietly(attempt.response)  # the client left mid-window: never leak the upstream
        raise
    except Exception as exc:
        await close_quietly(attempt.response)
        return attempt.failed_by(exc)
    error = _error_before_content(got.first) if isinstance(got, Answer) and got.first is not None else None
    if error is not None:  # a failed attempt like an HTTP error (one after content is the relay's to pass)
        await close_quietly(attempt.response)
        return attempt.error_event(error)
    return got


class _Try:
    """One attempt on its way: its clock, its timeouts, the phase it is in and the response once there is one."""

    def __init__(self, candidate: Candidate, remaining_s: float, timeouts: Timeouts, stream: bool) -> None:
        self.candidate = candidate
        self.started = time.perf_counter()
        self.remaining_s = remaining_s
        self.connect_s, self.api_s = timeouts.connect_timeout_ms / 1000, timeouts.api_timeout_ms / 1000
        self.headers_s = timeouts.headers_timeout_ms / 1000 if stream else self.api_s
        self.phase = "headers"
        self.response: UpstreamAnswer | None = None

    def failure(self, reason: str, status: int, error_type: str, kind: Kind, **kw: Any) -> Failure:
        ms = int((time.perf_counter() - self.started) * 1000)
        name, model = self.candidate.provider.name, self.candidate.actual_model
        return Failure(name, model, reason, status, error_type, kind, ms=ms, **kw)

    def _bound(self) -> float:
        """The wait allowed for the current phase, within what is left of the request's deadline."""
        return min(self.remaining_s, self.connect_s + (self.headers_s if self.phase == "headers" else self.api_s))

    async def exchange(
        self, client: httpx.AsyncClient, upstream: UpstreamRequest, adapter: Adapter, ctx: RequestContext
    ) -> Answer | Failure:
        """Send, then read to the end of the failover window: the first content event of a stream, or the
        whole answer. An exception is the caller's to classify (`failed_by`)."""
        timeout = httpx.Timeout(connect=self.connect_s, read=self.api_s, write=60.0, pool=30.0)
        async with asyncio.timeout(self._bound()):
            try:
                self.response = response = await post(
                    client, parsed_url(upstream.url), upstream.headers, upstream.body, timeout
                )
            except UnicodeEncodeError:  # httpx's refusal of a non-ASCII header, on a transport of its own
                return self.failure(_bad_header(self.candidate.provider.name), 403, "permission_error", Kind.FORBIDDEN)
        status = response.status_code
        content_type = response.headers.get("content-type", "")
        self.phase = "first event"
        # A backstop: httpx's read timeout (api_s) already ends any silence between chunks.
        async with asyncio.timeout(self._bound()):
            if status >= 300:
                content = await response.aread()
                await response.aclose()
                return _http_failure(self.failure, adapter, ctx, response, content)
            if not ctx.stream:
                content = await response.aread()
                await response.aclose()
                message = adapter.translate_message(content, content_type, ctx)
                return Answer(ctx, adapter, response, message=message, ttfb_ms=self._ms())
            translator = adapter.stream(ctx, content_type)
            chunks = Reads(response, idle_s=self.api_s)
            first, rest = await _window(chunks, translator)
        return Answer(
            ctx, adapter, response, first=first, ttfb_ms=self._ms(), translator=translator, chunks=chunks, rest=rest
        )

    def _ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    def failed_by(self, exc: Exception) -> Failure:
        """The failure an exception during the exchange stands for (called while it is being handled)."""
        if isinstance(exc, InvalidUpstream | InvalidAnswer):
            return self.failure(f"invalid answer: {exc}", 502, "api_error", Kind.INVALID_ANSWER)
        if isinstance(exc, TimeoutError):
            reason = f"timed out after {self._bound():g} s waiting for the {self.phase}"
            return self.failure(reason, 504, "timeout_error", Kind.TIMEOUT)
        if isinstance(exc, httpx.TimeoutException):
            which = "connect" if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout) else "read"
            return self.failure(f"{which} timeout", 504, "timeout_error", Kind.TIMEOUT)
        if isinstance(exc, httpx.LocalProtocolError):
            # h11 quotes the offending header value (the API key) in its message: never pass it on.
            return self.failure(_bad_header(self.candidate.provider.name), 403, "permission_error", Kind.FORBIDDEN)
        if isinstance(exc, httpx.HTTPError):
            text = f"connection error: {exc or type(exc).__name__}"
            return self.failure(text, 502, "api_error", Kind.CONNECTION_ERROR)
        # A bug of ccm's own (or an answer that trips it): loud, counted, then fail over.
        name, model = self.candidate.provider.name, self.candidate.actual_model
        log.exception("attempt %s/%s: ccm failed on this answer", name, model)
        return self.failure(f"ccm error: {type(exc).__name__}", 502, "api_error", Kind.CCM_ERROR)

    def error_event(self, error: Frame) -> Failure:
        """An error event ahead of the first content: a failed attempt like the HTTP status its type means."""
        data: dict[str, Any] = error.data if isinstance(error.data, dict) else {}
        raw_detail = data.get("error")
        detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
        error_type = str(detail.get("type") or "api_error")
        status = status_for(error_type)
        reason = f"stream error {error_type}: {detail.get('message', '')}"
        return self.failure(reason, status, error_type, kind_for_event(status))


async def _window(chunks: AsyncIterator[bytes], translator: Any) -> tuple[list[Frame], bytes]:
    """Read until the first content event (or an error): everything before it is held back.

    Returns the held frames and the rest of the read that carried the first content, not yet translated.
    Why: a small answer often arrives in one read, and translating all of it before the first text leaves
    would hold that text back for the whole answer's translation. A read is fed one SSE event at a time
    until content shows (any split is fine for a translator: tests/translate's property tests), and what
    follows goes to the relay, which translates and sends it after the first text is on its way."""
    held: list[Frame] = []
    async for chunk in chunks:
        start, size = 0, len(chunk)
        while start < size:
            end = chunk.find(b"\n\n", start)
            end = size if end < 0 else end + 2
            frames = translator.feed(chunk[start:end] if start or end < size else chunk)
            held += frames
            start = end
            if any(f.event in _CONTENT or f.event == "error" for f in frames):
                return held, chunk[start:]
    held += translator.finish()
    if any(f.event in _CONTENT or f.event == "error" for f in held):
        return held, b""
    raise InvalidUpstream("stream ended before its first content")


def _error_before_content(frames: list[Frame]) -> Frame | None:
    """An error event ahead of the first content event: however the upstream's bytes were split into reads,
    only such an error fails over (after the window the client has content, so a failure can only end the
    stream with an error event)."""
    for frame in frames:
        if frame.event == "error":
            return frame
        if frame.event in _CONTENT:
            return None
    return None


def _http_failure(
    failure: Callable[..., Failure],
    adapter: Adapter,
    ctx: RequestContext,
    response: UpstreamAnswer,
    content: bytes,
) -> Failure:
    provider = ctx.candidate.provider
    status = response.status_code
    if status < 400:  # a redirect is not followed (it would carry the key): a bad gateway
        where = response.headers.get("location") or "nowhere"
        reason = f"HTTP {status} redirect to {where} (check base_url)"
        return failure(reason, 502, "api_error", Kind.INVALID_ANSWER)
    err = adapter.parse_error(status, response.headers, content)
    text = f"HTTP {status} {err.error_type}: {err.message}"
    kw: dict[str, Any] = {"retry_after": err.retry_after, "detail": err.message}
    learn = getattr(adapter, "learn", None)  # a refusal the adapter can correct (Vertex's beta flags, a schema,
    if learn is not None and learn(status, content, ctx):  # what a third-party Anthropic-format host named)
        return failure(f"{text} (corrected: trying again)", status, err.error_type, Kind.CORRECTIVE_LEARNED, **kw)
    if status == 429:
        kw["claim"] = response.headers.get(RATELIMIT_CLAIM)
    kind = kind_for_status(
        status, auth_type=provider.auth_type, provider_type=provider.provider_type, message=err.message
    )
    return failure(text, status, err.error_type, kind, **kw)


def _bad_header(provider: str) -> str:
    return (
        f"provider '{provider}': its API key or a header has a character HTTP cannot send "
        "(a stray space, newline or non-ASCII character?)"
    )


def status_for(error_type: str) -> int:
    return {
        "overloaded_error": 529,
        "rate_limit_error": 429,
        "authentication_error": 401,
        "permission_error": 403,
        "not_found_error": 404,
        "invalid_request_error": 400,
        "timeout_error": 504,
        "billing_error": 402,
    }.get(error_type, 502)
