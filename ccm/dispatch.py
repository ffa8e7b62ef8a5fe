"""Dispatch and failover: try a model's mappings in priority order until one answers.

DESIGN.md, "Dispatch and failover", is the contract:
- fail over on connection errors, timeouts, 401/402/403/404/408/409/429/5xx/529, a mapping with no key
  or an unbuilt wire format, and an answer that is not what was asked for;
- pass 400/413/422 through at once (the request itself is wrong);
- nothing reaches the client before the chosen upstream's first event (or whole body) has been checked;
  after that, a failure ends the stream with `event: error`, never a clean message_stop;
- when every mapping fails: the last attempt's status and a message naming every attempt.

Quart-free: the app turns a Result into a Response.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from ccm.credentials import api_key
from ccm.providers import adapter_for
from ccm.providers.base import (
    InvalidUpstream,
    RequestContext,
    Usage,
    error_body,
    error_type_for,
)
from ccm.relay import CLIENT_LEFT, Done, close_quietly, first_frames, guarded, relay_stream
from ccm.routing import Attempt, RoutingDecision

log = logging.getLogger("ccm.dispatch")

PASS_THROUGH = frozenset({400, 413, 422})
#: The request log's status and error for an answer the client stopped reading (nginx's 499).


@dataclass(slots=True)
class Failure:
    provider: str
    model: str
    outcome: str
    status: int
    error_type: str
    retry_after: str | None = None

    def describe(self) -> str:
        return f"{self.provider}/{self.model}: {self.outcome}"


@dataclass(slots=True)
class Result:
    """What to answer: a whole body, or a stream of SSE bytes."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


def error_result(status: int, error_type: str, message: str, headers: dict[str, str]) -> Result:
    return Result(
        status, {**headers, "content-type": "application/json"}, orjson.dumps(error_body(error_type, message))
    )


def prepare_body(body: dict[str, Any], decision: RoutingDecision, attempt: Attempt) -> dict[str, Any]:
    """The body this mapping receives: its actual model, the tag-free system, max_tokens clamped."""
    out = decision.apply(body)  # a copy without subagent tags (system and role:system messages)
    out["model"] = attempt.actual_model
    limit = attempt.max_output_tokens
    max_tokens = out.get("max_tokens")
    if limit and isinstance(max_tokens, int) and max_tokens > limit:
        out["max_tokens"] = limit
    return out


@dataclass(frozen=True, slots=True)
class _Request:
    """What every attempt of one client request shares."""

    body: dict[str, Any]
    decision: RoutingDecision
    keys: Mapping[str, str | None]
    client_headers: Mapping[str, str]
    query: str
    timeouts: tuple[float, float]
    base_headers: dict[str, str]
    on_done: Callable[[Done], None]


class Dispatcher:
    """Runs attempts over a few shared httpx clients.

    httpx's pool scans every pooled connection on each request (and polls each idle socket), so its cost
    grows with the number of connections (encode/httpx#3215). A handful of clients used in turn keeps each
    pool small under concurrency while every connection is still reused.
    """

    def __init__(self, clients: list[httpx.AsyncClient]) -> None:
        self.clients = clients
        self._turn = itertools.cycle(range(len(clients)))

    @property
    def client(self) -> httpx.AsyncClient:
        return self.clients[next(self._turn)]

    async def run(
        self,
        body: dict[str, Any],
        decision: RoutingDecision,
        attempts: list[Attempt],
        keys: Mapping[str, str | None],
        client_headers: Mapping[str, str],
        query: str,
        timeouts: tuple[float, float],
        on_done: Callable[[Done], None],
    ) -> Result:
        """Try each attempt; return the first good answer, a pass-through error, or the summary error."""
        base_headers = {"x-ccm-route": decision.rule, "x-ccm-model": decision.model}
        request = _Request(body, decision, keys, client_headers, query, timeouts, base_headers, on_done)
        failures: list[Failure] = []
        for number, attempt in enumerate(attempts, start=1):
            started = time.perf_counter()
            outcome = await self._attempt(request, number, attempt)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if isinstance(outcome, Result):
                log.debug(
                    "attempt %d %s/%s answered in %d ms",
                    number,
                    attempt.provider.name,
                    attempt.actual_model,
                    elapsed_ms,
                )
                return outcome
            failures.append(outcome)
            log.warning(
                "attempt %d/%d %s/%s failed after %d ms: %s",
                number,
                len(attempts),
                outcome.provider,
                outcome.model,
                elapsed_ms,
                outcome.outcome,
            )
        return self._all_failed(failures, base_headers, len(attempts), on_done)

    async def _attempt(self, req: _Request, number: int, attempt: Attempt) -> Result | Failure:
        """One mapping: the Result to answer with (an answer or a pass-through error), or a Failure."""
        provider = attempt.provider

        def failure(outcome: str, status: int, error_type: str, retry_after: str | None = None) -> Failure:
            return Failure(provider.name, attempt.actual_model, outcome, status, error_type, retry_after)

        adapter = adapter_for(provider.wire)
        if adapter is None:
            return failure(f"the {provider.wire} wire format is not supported yet", 404, "not_found_error")
        key = req.keys.get(provider.name.lower())
        if not key and provider.spec.auth != "none" and not provider.spec.key_optional:
            if provider.auth_type == "oauth":
                why = f"provider '{provider.name}' uses OAuth, and OAuth login is not available yet"
            else:
                why = (
                    f"provider '{provider.name}' has no API key: run `ccm keys set {provider.name}` "
                    f"or set {provider.key_env}"
                )
            return failure(why, 403, "permission_error")
        stream = bool(req.body.get("stream"))
        ctx = RequestContext(
            attempt, api_key(key), req.client_headers, req.query, str(req.body.get("model") or ""), stream
        )
        try:
            upstream = adapter.build(prepare_body(req.body, req.decision, attempt), ctx)
        except InvalidUpstream as exc:
            return failure(str(exc), 400, "invalid_request_error")
        connect_s, api_s = req.timeouts
        client = self.client
        try:
            request = client.build_request(
                "POST",
                upstream.url,
                headers=upstream.headers,
                content=upstream.body,
                timeout=httpx.Timeout(connect=connect_s, read=api_s, write=60.0, pool=30.0),
            )
        except UnicodeEncodeError:
            return failure(_bad_header(provider.name), 403, "permission_error")
        headers = {**req.base_headers, "x-ccm-attempts": str(number)}
        answered = {"x-ccm-provider": provider.name, "x-ccm-actual-model": attempt.actual_model}
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout(connect_s + api_s):
                response = await client.send(request, stream=True)
                status = response.status_code
                content_type = response.headers.get("content-type", "")
                if status >= 300:
                    content = await response.aread()
                    await response.aclose()
                    if status < 400:  # a redirect is not followed (it would carry the key): a bad gateway
                        where = response.headers.get("location") or "nowhere"
                        return failure(f"HTTP {status} redirect to {where} (check base_url)", 502, "api_error")
                    err = adapter.parse_error(status, response.headers, content)
                    if status in PASS_THROUGH:
                        req.on_done(Done(status, number, provider.name, attempt.actual_model, error=err.message))
                        return error_result(status, err.error_type, err.message, headers | answered)
                    return failure(
                        f"HTTP {status} {err.error_type}: {err.message}", status, err.error_type, err.retry_after
                    )
                if not stream:
                    content = await response.aread()
                    await response.aclose()
                    message = adapter.translate_message(content, content_type, ctx)
                    usage = message.get("usage") or {}
                    tokens = Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
                    req.on_done(Done(200, number, provider.name, attempt.actual_model, tokens))
                    return Result(
                        200, {**headers, **answered, "content-type": "application/json"}, orjson.dumps(message)
                    )
                translator = adapter.stream(ctx, content_type)
                chunks = response.aiter_bytes()
                first = await first_frames(chunks, translator)
        except InvalidUpstream as exc:
            await close_quietly(response)
            return failure(f"invalid answer: {exc}", 502, "api_error")
        except TimeoutError:
            await close_quietly(response)
            return failure(f"timed out after {api_s:g} s waiting for the first event", 504, "timeout_error")
        except httpx.TimeoutException as exc:
            await close_quietly(response)
            kind = "connect" if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout) else "read"
            return failure(f"{kind} timeout", 504, "timeout_error")
        except httpx.LocalProtocolError:
            # h11 quotes the offending header value (the API key) in its message: never pass it on.
            await close_quietly(response)
            return failure(_bad_header(provider.name), 403, "permission_error")
        except httpx.HTTPError as exc:
            await close_quietly(response)
            return failure(f"connection error: {type(exc).__name__}: {exc}".rstrip(": "), 502, "api_error")
        except Exception as exc:  # an answer odd enough to trip the translator: still a failed attempt
            await close_quietly(response)
            log.exception("attempt %d %s/%s: unexpected answer", number, provider.name, attempt.actual_model)
            return failure(f"invalid answer: {type(exc).__name__}: {exc}", 502, "api_error")
        except BaseException as exc:
            await close_quietly(response)  # the client left (CancelledError) mid-window: never leak the upstream
            if isinstance(exc, asyncio.CancelledError):
                req.on_done(Done(499, number, provider.name, attempt.actual_model, error=CLIENT_LEFT))
            raise
        if first and first[0].event == "error":
            await close_quietly(response)
            data: dict[str, Any] = first[0].data if isinstance(first[0].data, dict) else {}
            raw_detail = data.get("error")
            detail: dict[str, Any] = raw_detail if isinstance(raw_detail, dict) else {}
            error_type = str(detail.get("type") or "api_error")
            return failure(
                f"stream error {error_type}: {detail.get('message', '')}", _status_for(error_type), error_type
            )
        done = Done(200, number, provider.name, attempt.actual_model, translator.usage)
        relay = relay_stream(first, chunks, translator, response, done, req.on_done)
        return Result(
            200,
            {**headers, **answered, "content-type": "text/event-stream", "cache-control": "no-cache"},
            stream=guarded(relay, response, done, req.on_done),
        )

    def _all_failed(
        self, failures: list[Failure], headers: dict[str, str], count: int, on_done: Callable[[Done], None]
    ) -> Result:
        last = failures[-1]
        summary = "; ".join(f"{i}. {f.describe()}" for i, f in enumerate(failures, start=1))
        message = f"all mappings failed ({count} tried): {summary}"
        out = {**headers, "x-ccm-attempts": str(count)}
        retry_after = next((f.retry_after for f in reversed(failures) if f.retry_after), None)
        if retry_after:
            out["retry-after"] = retry_after
        on_done(Done(last.status, count, error=message))
        return error_result(last.status, last.error_type or error_type_for(last.status), message, out)


def _bad_header(provider: str) -> str:
    return (
        f"provider '{provider}': its API key or a header has a character HTTP cannot send "
        "(a stray space, newline or non-ASCII character?)"
    )


def _status_for(error_type: str) -> int:
    return {
        "overloaded_error": 529,
        "rate_limit_error": 429,
        "authentication_error": 401,
        "permission_error": 403,
        "not_found_error": 404,
        "invalid_request_error": 400,
        "timeout_error": 504,
    }.get(error_type, 502)
