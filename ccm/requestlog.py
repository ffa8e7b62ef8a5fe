"""The recent-request log: a ring buffer for /api/requests and a fan-out for /api/requests/stream."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("ccm.requests")


@dataclass(slots=True)
class RequestRecord:
    id: int
    time: float
    model: str
    route: str
    routed_model: str
    provider: str | None
    actual_model: str | None
    status: int
    attempts: int
    latency_ms: int
    input_tokens: int = 0
    output_tokens: int = 0
    stream: bool = False
    error: str | None = None
    kind: str = "messages"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    def __init__(self, size: int = 1000) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=size)
        self._subscribers: set[asyncio.Queue[RequestRecord | None]] = set()
        self._ids = itertools.count(1)
        self._closed = False

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, record: RequestRecord) -> None:
        self._records.append(record)
        log.info(
            "%s %s -> %s via %s/%s: %d in %d ms (%d attempt%s)%s",
            record.kind,
            record.model,
            record.routed_model,
            record.provider or "-",
            record.actual_model or "-",
            record.status,
            record.latency_ms,
            record.attempts,
            "" if record.attempts == 1 else "s",
            f" error: {record.error}" if record.error else "",
        )
        for queue in list(self._subscribers):
            if queue.qsize() < 1000:
                queue.put_nowait(record)

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        items = list(self._records)[-limit:] if limit > 0 else []
        return [r.as_dict() for r in reversed(items)]

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
