"""The proxy's request log as the TUI keeps it, and the loop that follows it live.

A snapshot from `GET /api/requests`, then one item per finished request from `/api/requests/stream`
(SSE). When the proxy stops, restarts or dies, the loop waits for it (the app sets `proxy_up` from its
pid-file poll) and reconnects with back-off; items already seen are skipped, so a reconnect that fetches
the snapshot again does not repeat rows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tui.client import AdminClient, AdminError, ProxyUnreachable

RequestItem = dict[str, Any]


class RequestLog:
    """The last `size` requests, oldest first, each once (keyed by the proxy's id and time: ids restart
    with the proxy)."""

    def __init__(self, size: int = 1000) -> None:
        self._items: deque[RequestItem] = deque(maxlen=size)
        self._seen: set[tuple[Any, Any]] = set()

    def add(self, items: Iterable[RequestItem]) -> list[RequestItem]:
        """Append what is new; returns it."""
        new = []
        for item in items:
            key = (item.get("id"), item.get("time"))
            if key in self._seen:
                continue
            if len(self._items) == self._items.maxlen:
                old = self._items[0]
                self._seen.discard((old.get("id"), old.get("time")))
            self._seen.add(key)
            self._items.append(item)
            new.append(item)
        return new

    def __iter__(self) -> Iterator[RequestItem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


async def follow(
    client: AdminClient, proxy_up: asyncio.Event, add: Callable[[list[RequestItem]], None], limit: int = 200
) -> None:
    """Feed `add` with the proxy's requests forever (run it as a worker; cancel it to stop)."""
    delay = 0.5
    while True:
        await proxy_up.wait()
        try:
            recent = await client.requests(limit=limit)
            add(list(reversed(recent)))
            delay = 0.5
            async for item in client.follow_requests():
                add([item])
        except (ProxyUnreachable, AdminError):
            pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)
