"""The recent-request log: a ring buffer for /api/requests and a fan-out for /api/requests/stream.

One RequestRecord per finished /v1/messages request: what was
asked, what answered, each attempt's outcome, time and tokens. Never any request or answer content.
count_tokens calls are not recorded here (only counted in ccm.observe.metrics).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ccm.auth.redact import redact

log = logging.getLogger("ccm.requests")


#: An attempt's outcome: answered (ok), tried again on the same mapping (retried), left for the next
#: mapping (failed_over), an upstream refusal handed to the client (passed_through), a bug in ccm (ccm_error).
ATTEMPT_OUTCOMES = ("ok", "retried", "failed_over", "passed_through", "ccm_error")


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One try of one mapping, as the dispatcher saw it end."""

    provider: str
    model: str
    """The mapping's actual model."""
    outcome: str
    """One of ATTEMPT_OUTCOMES."""
    status: int | None = None
    """The upstream's HTTP status, or the status ccm gave the failure (502 connection, 504 timeout); None
    when unknown."""
    ms: int = 0
    """From sending the attempt to its outcome (the first checked event for a stream); 0 when unknown."""


@dataclass(slots=True)
class RequestRecord:
    id: int
    time: float
    model: str
    """The model name the client asked for."""
    route: str
    routed_model: str
    """The configured model the router chose (or `provider,model` for an explicit request)."""
    provider: str | None
    actual_model: str | None
    status: int
    attempts: list[AttemptRecord] = field(default_factory=list)
    latency_ms: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    """From the answering mapping's prices; None when it has none."""
    ttft_ms: int | None = None
    """Time to the first content event (the end of the failover window); the whole answer when not streamed."""
    retries: int = 0
    outcome: str = "ok"
    """ok | passed_through | failed (every mapping) | cut (failed after the first byte) | client_left |
    not_served (no such model, nothing to try) | ccm_error | prewarm (a `max_tokens: 0` cache pre-warm that
    ccm answered itself: no upstream call, cost 0)."""
    rate_limit: str | None = None
    """For a 429: which limit was hit, when the upstream says (anthropic-ratelimit-unified-representative-claim)."""
    stream: bool = False
    error: str | None = None
    kind: str = "messages"
    client: str = "-"
    """The [[clients]] name whose key sent the request; "-" for the router key or no key."""
    session: str | None = None
    """Claude Code's session id (`x-claude-code-session-id`), for `ccm statusline`."""
    pricing: str | None = None
    """Where cost_usd comes from: "config" (the mapping's prices), "table" (the maintained price table),
    "plan" (a subscription: passthrough or OAuth, cost 0), or None (no price)."""
    price_key: tuple[str, str] | None = None
    """(provider type, actual model) while the record waits for a table price (ccm.observe.prices); not shown."""

    def as_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies recursively (42 us a record, measured; this is ~3 us).
        out = {name: getattr(self, name) for name in _RECORD_FIELDS}
        out["attempts"] = [
            {"provider": a.provider, "model": a.model, "outcome": a.outcome, "status": a.status, "ms": a.ms}
            for a in self.attempts
        ]
        return out


_JSON_LINES = False
"""Whether log lines are JSON (`--log-format json`): then each request's line carries its record's fields."""


def log_records_whole(on: bool = True) -> None:
    """Give each request's log line its whole record (ccm.serve.logfile.JsonFormatter writes the fields)."""
    global _JSON_LINES
    _JSON_LINES = on


_RECORD_FIELDS = tuple(f.name for f in fields(RequestRecord) if f.name != "price_key")


class RequestLog:
    def __init__(self, size: int = 1000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=size)
        self._subscribers: set[asyncio.Queue[RequestRecord | None]] = set()
        self._ids = itertools.count(1)
        self._closed = False
        self.sinks: list[Callable[[RequestRecord], None]] = []
        """Also told of every record (metrics, the JSONL journal): one place feeds them all."""

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, record: RequestRecord) -> None:
        if record.error:  # every record passes here on its way to /api/requests, the feed, the journal, the log
            record.error = redact(record.error)
        self._records.append(record)
        for sink in self.sinks:
            try:
                sink(record)
            except Exception:  # a bug in metrics or the journal must not fail the request that just ended
                log.exception("recording request %d failed", record.id)
        log.info(
            "%s%s %s -> %s via %s/%s: %d in %d ms (%d attempt%s)%s",
            f"[{record.client}] " if record.client != "-" else "",
            record.kind,
            record.model,
            record.routed_model,
            record.provider or "-",
            record.actual_model or "-",
            record.status,
            record.latency_ms,
            len(record.attempts),
            "" if len(record.attempts) == 1 else "s",
            f" error: {record.error}" if record.error else "",
            extra={"ccm_request": record.as_dict()} if _JSON_LINES else None,
        )
        for queue in list(self._subscribers):
            if queue.qsize() < 1000:
                queue.put_nowait(record)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        items = list(self._records)[-limit:] if limit > 0 else []
        return [r.as_dict() for r in reversed(items)]

    def last_of(self, session: str) -> RequestRecord | None:
        """The newest request of a Claude Code session still in memory (for `ccm statusline`)."""
        return next((r for r in reversed(self._records) if session and r.session == session), None)

    def subscribe(self) -> asyncio.Queue[RequestRecord | None]:
        """A queue of finished requests; None in it means the server is stopping (end the feed)."""
        queue: asyncio.Queue[RequestRecord | None] = asyncio.Queue()
        if self._closed:
            queue.put_nowait(None)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[RequestRecord | None]) -> None:
        self._subscribers.discard(queue)

    def close_feeds(self) -> None:
        """End every live feed, so a follower never holds up a graceful shutdown."""
        self._closed = True
        for queue in list(self._subscribers):
            queue.put_nowait(None)
