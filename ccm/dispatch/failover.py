"""Dispatch and failover: try a model's mappings until one answers.

One try of one mapping lives in ccm.dispatch.attempt, and what a failure leads to in the failure policy
(ccm.dispatch.policy); this module carries it out: a retry of the same mapping (with backoff
and full jitter, or the upstream's Retry-After when it is short enough), a corrective retry (one forced
OAuth refresh after a 401; one retry once the adapter learned what the upstream refused, e.g. Vertex's
beta flags), the next mapping, or the summary error. Around that: the deadline over the whole search for
a first byte, the circuit breakers (ccm.dispatch.breaker) and load balancing (ccm.dispatch.balance).

Quart-free: the app turns a Result into a Response.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import httpx
import orjson

from ccm.auth.credentials import CredentialError, Resolver
from ccm.auth.redact import redact
from ccm.dispatch import window
from ccm.dispatch.attempt import (
    Answer,
    Call,
    Failure,
    Result,
    error_result,
    prepare_body,
    retry_after_seconds,
    try_mapping,
)
from ccm.dispatch.balance import Balancer
from ccm.dispatch.breaker import Breakers
from ccm.dispatch.policy import REFUSALS, Action, Corrective, Kind
from ccm.dispatch.prewarm import FLAG, answers_locally, prewarm_result
from ccm.dispatch.relay import CLIENT_LEFT, Done, guarded, record_soon, relay_stream
from ccm.dispatch.verdict import attempts, credential_hint, summary, verdict
from ccm.limits import window_of
from ccm.observe.requestlog import AttemptRecord
from ccm.providers.base import Usage, error_type_for
from ccm.routing import Candidate, outside_allow
from config.schema import FailoverConfig

__all__ = ["Call", "Dispatcher", "Result", "error_result", "prepare_body"]

log = logging.getLogger("ccm.dispatch.failover")


class Dispatcher:
    """Runs attempts over the process's one upstream client (httpx's API on aiohttp's transport, ccm.upstream.client)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        credentials: Resolver | None = None,
        breakers: Breakers | None = None,
        balancer: Balancer | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.credentials = credentials or Resolver()
        self.breakers = breakers or Breakers()
        self.balancer = balancer or Balancer()
        self._rng = rng or random.Random()

    def plan(self, call: Call) -> tuple[list[Candidate], list[str]]:
        """The attempts in the order they will be tried, and the providers skipped for an open circuit."""
        config = call.snapshot.config
        ordered = self.balancer.order(call.candidates, config.load_balancing.strategy, call.session)
        plan: list[Candidate] = []
        skipped: list[str] = []
        for candidate in ordered:
            if self.breakers.available(candidate.provider.name):
                plan.append(candidate)
            else:
                skipped.append(candidate.provider.name)
        if not plan:  # the breaker never refuses a request by itself: try the one that opened first
            plan = [min(ordered, key=lambda a: self.breakers.opened_at(a.provider.name))]
            skipped = [name for name in skipped if name != plan[0].provider.name]
        if not config.failover.enabled:
            plan = plan[:1]
        return plan, skipped

    async def run(self, call: Call) -> Result:
        """Try the plan; the first good answer, an error passed on as it is, or the summary error."""
        settings = call.snapshot.config.failover
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.deadline_ms / 1000
        base_headers = {"x-ccm-route": call.decision.rule, "x-ccm-model": call.decision.model}
        plan, skipped = self.plan(call)
        failures: list[Failure] = []
        tries: list[AttemptRecord] = []
        retries = 0
        timed_out = False
        for index, candidate in enumerate(plan):
            if answers_locally(call.body, candidate):  # max_tokens 0: a cache pre-warm only Anthropic can use
                done = Done(200, len(tries), "local", FLAG, retries=retries, tried=tries)
                return prewarm_result(call, x_ccm(base_headers, len(tries), retries), done)
            provider = candidate.provider
            retried = 0
            corrected: set[Corrective] = set()
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    timed_out = True
                    break
                number = len(tries) + 1
                reply = await self._try(call, candidate, remaining, number)
                if isinstance(reply, Answer):
                    self.breakers.success(provider.name)
                    self.balancer.answered(call.session, candidate, reply.ttfb_ms)
                    tries.append(AttemptRecord(provider.name, candidate.actual_model, "ok", 200, int(reply.ttfb_ms)))
                    headers = {**base_headers, "x-ccm-attempts": str(number), "x-ccm-retries": str(retries)}
                    done = Done(200, number, provider.name, candidate.actual_model, retries=retries, tried=tries)
                    done.rate_limit, done.flag = _claim_and_flag(failures, "ok")
                    return self._answer(call, reply, headers, done)
                if isinstance(reply, Result):  # passed on as it is (a refusal on the Anthropic wire, a 401)
                    self.breakers.release(provider.name)
                    tries.append(
                        AttemptRecord(provider.name, candidate.actual_model, "passed_through", reply.status, 0)
                    )
                    reply.headers.update(x_ccm(base_headers, number, retries))
                    call.on_done(
                        Done(reply.status, number, provider.name, candidate.actual_model, retries=retries, tried=tries)
                    )
                    return reply
                failures.append(reply)
                self.breakers.settle(provider.name, reply.rule, settings, self._open_for(reply, settings))
                self.balancer.failed(call.session, candidate)
                wait = self._retry_wait(reply, settings, retried, corrected)
                last = index == len(plan) - 1
                kind = "ccm_error" if reply.kind is Kind.CCM_ERROR else "retried" if wait is not None else "failed_over"
                tries.append(AttemptRecord(provider.name, candidate.actual_model, kind, reply.status, reply.ms))
                log.warning(
                    "attempt %d %s/%s failed after %d ms: %s%s",
                    number,
                    provider.name,
                    candidate.actual_model,
                    reply.ms,
                    reply.reason,
                    "; retrying" if wait is not None else "" if last else "; failing over",
                )
                if wait is None:
                    break
                if wait >= deadline - loop.time():
                    timed_out = True
                    break
                corrective = reply.rule.corrective
                if corrective is not None and corrective not in corrected:
                    corrected.add(corrective)
                    if corrective is Corrective.REFRESH:
                        await self._refresh(candidate)
                else:
                    retried += 1
                    await asyncio.sleep(wait)
                retries += 1
            if timed_out:
                break
        return self._all_failed(call, failures, tries, skipped, retries, timed_out, settings, base_headers)

    async def _try(self, call: Call, candidate: Candidate, remaining: float, number: int) -> Answer | Result | Failure:
        """One attempt, and the one door its failure text comes through: an upstream's error message, a
        token endpoint's, a library's exception. It is redacted here (ccm.auth.redact), before anything
        logs it, records it or hands it to the client."""
        reply = await self._attempt(call, candidate, remaining, number)
        if not isinstance(reply, Failure):
            return reply
        reply.reason, reply.detail = redact(reply.reason), redact(reply.detail)
        if reply.rule.ccm_credential:
            reply.hint = redact(reply.hint) if reply.hint else credential_hint(candidate.provider, reply.status)
        if reply.status in REFUSALS:
            _as_too_long(reply, call, candidate)
        if reply.rule.action is Action.PASS_THROUGH:
            return error_result(
                reply.status,
                reply.error_type,
                reply.detail,
                {"x-ccm-provider": candidate.provider.name, "x-ccm-actual-model": candidate.actual_model},
            )
        return reply

    async def _attempt(
        self, call: Call, candidate: Candidate, remaining: float, number: int
    ) -> Answer | Result | Failure:
        provider = candidate.provider
        try:
            credential = await self.credentials.resolve(
                provider, call.snapshot.keys, call.client_headers, call.snapshot.router_key
            )
        except CredentialError as exc:
            status = 502 if exc.transient else exc.status
            kind = (
                Kind.TOKEN_FETCH_FAILED
                if exc.transient
                else Kind.NO_CLIENT_LOGIN
                if provider.auth_type == "passthrough"
                else Kind.NO_KEY
            )
            return Failure(
                provider.name,
                candidate.actual_model,
                exc.message,
                status,
                error_type_for(status),
                kind,
                hint=exc.message,
            )
        try:
            return await try_mapping(self.client, call, candidate, credential, remaining)
        except asyncio.CancelledError:
            call.on_done(Done(499, number, provider.name, candidate.actual_model, error=CLIENT_LEFT))
            raise

    async def _refresh(self, candidate: Candidate) -> None:
        try:
            await self.credentials.refresh(candidate.provider)
        except CredentialError as exc:
            log.warning(
                "provider '%s': the forced token refresh failed: %s", candidate.provider.name, redact(exc.message)
            )

    @staticmethod
    def _open_for(failure: Failure, settings: FailoverConfig) -> float | None:
        """A 429 whose reset is longer than max_retry_after_ms opens the circuit for that long."""
        seconds = retry_after_seconds(failure.retry_after)
        if failure.status == 429 and seconds is not None and seconds * 1000 > settings.max_retry_after_ms:
            return seconds
        return None

    def _retry_wait(
        self, failure: Failure, settings: FailoverConfig, retried: int, corrected: set[Corrective]
    ) -> float | None:
        """Seconds to wait before trying this mapping again, or None to move on."""
        rule = failure.rule
        if rule.corrective is not None and rule.corrective not in corrected:
            return 0.0  # corrective: once each, even with max_retries = 0
        if not settings.enabled or rule.action is not Action.RETRY or retried >= settings.max_retries:
            return None
        seconds = retry_after_seconds(failure.retry_after)
        if seconds is not None:
            return seconds if seconds * 1000 <= settings.max_retry_after_ms else None
        cap = min(settings.max_backoff_ms, settings.backoff_ms * 2**retried) / 1000
        return self._rng.uniform(0, cap)

    def _answer(self, call: Call, answer: Answer, headers: dict[str, str], done: Done) -> Result:
        answered = {"x-ccm-provider": done.provider or "", "x-ccm-actual-model": done.actual_model or ""}
        done.ttft_ms = round((time.perf_counter() - call.started) * 1000)
        if answer.message is not None:
            if call.inbound is not None:  # an OpenAI client: its own wire, its usage read from it
                body, done.usage = call.inbound.whole(answer.adapter, answer.message)
            else:
                body, done.usage = orjson.dumps(answer.message), _usage(answer.message)
            record_soon(call.on_done, done)
            return Result(200, {**headers, **answered, "content-type": "application/json"}, body)
        assert answer.first is not None and answer.chunks is not None
        encoder = call.inbound.encoder(answer.adapter) if call.inbound is not None else None
        relay = relay_stream(
            answer.first, answer.chunks, answer.translator, answer.response, done, call.on_done, answer.rest, encoder
        )
        return Result(
            200,
            {**headers, **answered, "content-type": "text/event-stream", "cache-control": "no-cache"},
            stream=guarded(relay, answer.response, done, call.on_done),
        )

    def _all_failed(
        self,
        call: Call,
        failures: list[Failure],
        tries: list[AttemptRecord],
        skipped: list[str],
        retries: int,
        timed_out: bool,
        settings: FailoverConfig,
        base_headers: dict[str, str],
    ) -> Result:
        status, error_type, lead = verdict(failures) if failures else (502, "api_error", "")
        parts = [f"{i}. {line}" for i, line in enumerate(summary(failures, lead), start=1)]
        if skipped:
            parts.append(f"skipped (circuit open): {', '.join(skipped)}")
        if call.too_small:
            parts.append(f"skipped (context window): {', '.join(call.too_small)}")
        parts += [f"skipped ({why})" for why in outside_allow(call.snapshot.config, call.decision)]
        listed = "; ".join(parts) or "nothing was tried"
        headers = x_ccm(base_headers, len(tries), retries)
        if timed_out:
            message = f"no answer within the deadline ({settings.deadline_ms} ms): {listed}"
            status, error_type = 504, "timeout_error"
        else:
            message = f"all mappings failed ({attempts(len(failures))}): {listed}"
            if lead:
                message = f"{lead}. {message}"
            too_long = next((f for f in reversed(failures) if f.too_long), None)
            if status == 400 and too_long is not None:
                # Anthropic's words, alone: Claude Code reads them to compact (ccm.dispatch.window)
                log.warning("request too long for every mapping: %s", listed)
                message = too_long.detail
            later = next((f.retry_after for f in reversed(failures) if f.retry_after), None)
            seconds = retry_after_seconds(later)
            if seconds is not None and seconds * 1000 <= settings.max_retry_after_ms:
                headers["retry-after"] = str(later)
            elif seconds is not None:  # not worth waiting for here: said, not passed on
                message += f" (the limit resets in {int(seconds)} s)"
        claim, flag = _claim_and_flag(failures, "failed")
        call.on_done(
            Done(
                status,
                len(tries),
                error=message,
                retries=retries,
                tried=tries,
                rate_limit=claim,
                flag=flag,
            )
        )
        return error_result(status, error_type, message, headers)


def _as_too_long(failure: Failure, call: Call, candidate: Candidate) -> None:
    """A refusal that says the context is too long, in any host's words, becomes Anthropic's."""
    found = window.context_overflow(failure.detail)
    if found is None:
        return
    one_m = window.wants_1m(call.client_headers.get("anthropic-beta"))
    failure.detail = window.overflow_text(found, call.decision.estimated_tokens, window_of(candidate, one_m=one_m))
    failure.too_long = True
    failure.reason = f"{failure.reason} (context window)"


def _claim_and_flag(failures: list[Failure], otherwise: str) -> tuple[str | None, str]:
    """The rate limit a 429 named (the latest), and "ccm_error" when a bug of ours showed in any attempt."""
    claim = next((f.claim for f in reversed(failures) if f.claim), None)
    return claim, "ccm_error" if any(f.kind is Kind.CCM_ERROR for f in failures) else otherwise


def x_ccm(base: dict[str, str], attempts: int, retries: int) -> dict[str, str]:
    return {**base, "x-ccm-attempts": str(attempts), "x-ccm-retries": str(retries)}


def _usage(message: dict[str, Any]) -> Usage:
    raw = message.get("usage")
    usage: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return Usage(
        _int(usage.get("input_tokens")),
        _int(usage.get("output_tokens")),
        _int(usage.get("cache_read_input_tokens")),
        _int(usage.get("cache_creation_input_tokens")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
