"""[[clients]] limits, per ccm instance and in memory: `rpm`, `tpm`, `daily_tokens`, `monthly_usd`.

A request is admitted on what its client spent before it (`admit`, before dispatch); what an answer
spent is charged after it, from its request record (`observe`, a request log sink), so the request that
crosses a limit is served and the next one is refused. Requests count when admitted; tokens are all of an
answer's (input, cached and output); days and months are UTC. count_tokens and GET /v1/models never
come here. Nothing is shared between instances: N instances behind a load balancer allow N times the
limits (said in the README). At start the counters are rebuilt from requests.jsonl, best effort
(`rebuild`).

A limit reached is a 429 `rate_limit_error` with `retry-after`; a daily or monthly budget whose reset is
further away than `failover.max_retry_after_ms` is a 403 `permission_error` naming the budget and when it
resets (a client such as Claude Code would otherwise wait hours on a 429).

    limits = ClientLimits()
    refusal = limits.admit(client, max_wait_ms)      # None: admitted (and counted for rpm)
    limits.observe(record)                           # after the answer: tokens and cost charged
"""

from __future__ import annotations

import datetime
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccm.api.guard import Refusal
from ccm.observe.journal import JOURNALED
from ccm.observe.requestlog import RequestRecord
from config.schema import ClientConfig

MINUTE = 60.0
_DAY = 86400


@dataclass(slots=True)
class _Spent:
    """One client's counters: admissions and tokens over the last minute, tokens today, USD this month."""

    admitted: deque[float] = field(default_factory=deque)
    minute: deque[tuple[float, int]] = field(default_factory=deque)
    minute_tokens: int = 0
    day: int = -1
    day_tokens: int = 0
    month: tuple[int, int] = (0, 0)
    month_usd: float = 0.0

    def forget_before(self, now: float) -> None:
        while self.admitted and self.admitted[0] <= now - MINUTE:
            self.admitted.popleft()
        while self.minute and self.minute[0][0] <= now - MINUTE:
            self.minute_tokens -= self.minute.popleft()[1]


def _month(at: float) -> tuple[int, int]:
    day = datetime.datetime.fromtimestamp(at, datetime.UTC)
    return day.year, day.month


def _month_end(month: tuple[int, int]) -> float:
    year, number = month
    first = datetime.datetime(year + number // 12, number % 12 + 1, 1, tzinfo=datetime.UTC)
    return first.timestamp()


def _iso(at: float) -> str:
    return datetime.datetime.fromtimestamp(at, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def record_tokens(record: Mapping[str, Any]) -> int:
    """Every token an answer used (input, cache reads and writes, output), from a requests.jsonl line."""
    return sum(int(record.get(name) or 0) for name in _TOKEN_FIELDS)


class ClientLimits:
    """See the module docstring. Called on the event loop only (admit, observe) and once from the start-up
    thread before serving (rebuild)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._spent: dict[str, _Spent] = {}

    def _of(self, name: str, now: float) -> _Spent:
        spent = self._spent.get(name)
        if spent is None:
            spent = self._spent[name] = _Spent()
        spent.forget_before(now)
        day, month = int(now // _DAY), _month(now)
        if spent.day != day:
            spent.day, spent.day_tokens = day, 0
        if spent.month != month:
            spent.month, spent.month_usd = month, 0.0
        return spent

    def admit(self, client: ClientConfig, max_wait_ms: int) -> Refusal | None:
        """None, and the request counted for rpm; or the refusal naming the limit it reached."""
        if not client.limited:
            return None
        now = self._clock()
        spent = self._of(client.name.lower(), now)
        refusal = self._refusal(client, spent, now, max_wait_ms)
        if refusal is None and client.rpm is not None:
            spent.admitted.append(now)
        return refusal

    def _refusal(self, client: ClientConfig, spent: _Spent, now: float, max_wait_ms: int) -> Refusal | None:
        who = f"client '{client.name}'"
        if client.rpm is not None and len(spent.admitted) >= client.rpm:
            wait = spent.admitted[-client.rpm] + MINUTE - now
            return _later(f"{who} reached its limit of {client.rpm} requests per minute (rpm)", wait)
        if client.tpm is not None and spent.minute_tokens >= client.tpm:
            wait = self._tokens_wait(spent, client.tpm, now)
            used = f"{spent.minute_tokens:,} tokens in the last minute"
            return _later(f"{who} reached its limit of {client.tpm:,} tokens per minute (tpm): {used}", wait)
        if client.daily_tokens is not None and spent.day_tokens >= client.daily_tokens:
            reset: float = (spent.day + 1) * _DAY
            budget = f"{who} used its daily budget of {client.daily_tokens:,} tokens (daily_tokens)"
            return _budget(budget, reset, now, max_wait_ms)
        if client.monthly_usd is not None and spent.month_usd >= client.monthly_usd:
            reset = _month_end(spent.month)
            budget = f"{who} spent its monthly budget of ${client.monthly_usd:g} (monthly_usd: ${spent.month_usd:.2f})"
            return _budget(budget, reset, now, max_wait_ms)
        return None

    @staticmethod
    def _tokens_wait(spent: _Spent, tpm: int, now: float) -> float:
        """Seconds until enough of the last minute's tokens have aged out to be under `tpm` again."""
        left = spent.minute_tokens
        for at, tokens in spent.minute:
            left -= tokens
            if left < tpm:
                return at + MINUTE - now
        return MINUTE

    def charge(self, client: str, tokens: int, usd: float, at: float | None = None) -> None:
        """An answer's spending, charged when it is over (`at`: when, for the rebuild)."""
        now = self._clock() if at is None else at
        spent = self._of(client.lower(), now)
        if tokens:
            spent.minute.append((now, tokens))
            spent.minute_tokens += tokens
            spent.day_tokens += tokens
        spent.month_usd += usd

    def observe(self, record: RequestRecord) -> None:
        """The request log's sink: every finished request of a client charges what it spent."""
        if record.client != "-":
            tokens = record.input_tokens + record.output_tokens + record.cache_read_tokens + record.cache_write_tokens
            self.charge(record.client, tokens, record.cost_usd or 0.0)

    def rebuild(self, records: Iterable[Mapping[str, Any]], clients: Iterable[ClientConfig]) -> int:
        """Charge what the request log says each limited client spent this month (best effort: a record
        that does not read is skipped). Returns the records charged."""
        limited = {c.name.lower() for c in clients if c.limited}
        now = self._clock()
        month_start = datetime.datetime(*_month(now), 1, tzinfo=datetime.UTC).timestamp()
        charged = 0
        for record in records:
            try:
                name = str(record.get("client") or "-").lower()
                at = float(record.get("time") or 0)
                if (
                    name not in limited
                    or not month_start <= at <= now
                    or record.get("kind", "messages") not in JOURNALED
                ):
                    continue
                spent = self._of(name, at)
                if at > now - MINUTE:
                    spent.admitted.append(at)
                self.charge(name, record_tokens(record), float(record.get("cost_usd") or 0.0), at)
                charged += 1
            except (TypeError, ValueError):
                continue
        for spent in self._spent.values():
            spent.forget_before(now)
        return charged


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


def _later(message: str, wait: float) -> Refusal:
    seconds = _seconds(wait)
    return Refusal(429, "rate_limit_error", f"{message}; retry in {seconds} s", {"retry-after": str(seconds)})


def _budget(message: str, reset: float, now: float, max_wait_ms: int) -> Refusal:
    """A spent budget: a 429 to wait for when it resets soon enough, else a 403 naming the reset."""
    if (reset - now) * 1000 <= max_wait_ms:
        return _later(f"{message}; it resets at {_iso(reset)}", reset - now)
    return Refusal(403, "permission_error", f"{message}; it resets at {_iso(reset)}")
