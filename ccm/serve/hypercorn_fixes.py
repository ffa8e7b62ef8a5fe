"""Every change ccm makes to Hypercorn's behaviour, read against Hypercorn 0.18.0 (`hypercorn/asyncio/run.py`,
`hypercorn/asyncio/tcp_server.py`, `hypercorn/protocol/h11.py`). Each is something a user would notice,
and tests/ccm/serve/test_hypercorn_fixes.py fails when a new Hypercorn moves what it relies on.

Hypercorn builds one `TCPServer` per accepted connection (`hypercorn.asyncio.run.worker_serve`);
`install()` makes that a `GuardedConnection`, which changes three things:

1. A client that hangs up is let go at once. `TCPServer.run` reads in `_read_data` inside a task group
   that also holds the keep-alive wait (`idle_task`, an `AsyncioSingleTask` sleeping
   `keep_alive_timeout`). When the client closes an idle connection, `_read_data` sees EOF and returns,
   but nothing ends the wait, so the socket stays in CLOSE-WAIT, its file descriptor held, for the whole
   keep-alive timeout (75 s in ccm): 300 short connections meant 300 more open descriptors. Here, once
   reading has ended the connection closes as soon as no answer is being written. An answer in flight is
   unaffected: Hypercorn already tells the app (`http.disconnect`), and the connection closes when the app
   is done.

2. A request head must be complete within HEAD_TIMEOUT (10 s). Hypercorn has no such limit: its
   `read_timeout` bounds every read, so it would also cut a healthy stream whose client sends nothing
   while it listens, and its keep-alive wait also runs while a head trickles in, so a client sending a
   header byte a second held a connection for the whole keep-alive timeout. Here one timer per
   connection (`_Deadline`, in place of the `idle_task`) gives a new connection HEAD_TIMEOUT to send its
   first head, an idle keep-alive connection `keep_alive_timeout` before its next request starts, and
   that request HEAD_TIMEOUT from its first byte; while a request is answered there is no timer at all.

3. Open connections are capped (`install(max_connections=...)`, from the open-files limit). At the cap a
   new connection displaces the one that has waited longest for a request head (trickling heads first,
   then idle keep-alive connections); when every connection is busy answering, the new one is closed.
   So slow clients cannot take the descriptors that new clients, upstream connections and the request
   log need.
"""

from __future__ import annotations

import asyncio
import weakref
from ssl import SSLError
from typing import Any

from hypercorn.asyncio import run as _hypercorn_run
from hypercorn.asyncio.tcp_server import MAX_RECV, TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.events import Closed, Event, RawData, Updated

__all__ = ["HEAD_TIMEOUT", "GuardedConnection", "install", "installed", "open_connections"]

HEAD_TIMEOUT = 10.0  # seconds for a request head to arrive whole; Claude Code sends one in a single write
connection_limit = 1_000_000  # connections open at once; install() sets it from the open-files limit


class _Connections:
    """The open connections of one Hypercorn worker, and which of them wait for a request head."""

    def __init__(self) -> None:
        self.count = 0
        self.peak = 0  # the most open at once since `open_connections(reset_peak=True)` last asked
        self.heads: dict[GuardedConnection, None] = {}  # waiting for a head's bytes, oldest first
        self.idle: dict[GuardedConnection, None] = {}  # idle keep-alive, oldest first

    def opened(self, conn: GuardedConnection) -> bool:
        """Count a new connection; False when it must be closed because every other one is busy."""
        self.count += 1
        self.peak = max(self.peak, self.count)
        if self.count <= connection_limit:
            return True
        oldest = next(iter(self.heads), None) or next(iter(self.idle), None)
        if oldest is None:
            self.count -= 1
            return False
        oldest.deadline.expire()
        self.forget(oldest)
        return True

    def waiting(self, conn: GuardedConnection, heads: bool) -> None:
        self.forget(conn)
        (self.heads if heads else self.idle)[conn] = None

    def forget(self, conn: GuardedConnection) -> None:
        self.heads.pop(conn, None)
        self.idle.pop(conn, None)


_workers: weakref.WeakKeyDictionary[WorkerContext, _Connections] = weakref.WeakKeyDictionary()


def open_connections(reset_peak: bool = False) -> tuple[int, int]:
    """(open now, the most open at once since the last reset) over every Hypercorn worker in this process."""
    now = sum(each.count for each in _workers.values())
    peak = sum(each.peak for each in _workers.values())
    if reset_peak:
        for each in _workers.values():
            each.peak = each.count
    return now, peak


class _Deadline:
    """A connection's one timer, in Hypercorn's `idle_task` slot (same `restart` and `stop`).

    Hypercorn calls `restart` when the connection is ready for a request (just opened, or an answer is
    done) and `stop` when a request head has arrived; `data` is ccm's own call, for bytes that arrive.
    On expiry the connection is closed as Hypercorn's own keep-alive wait closes it."""

    def __init__(self, conn: GuardedConnection) -> None:
        self._conn = conn
        self._timer: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        self.phase = "busy"  # "head": a head is due; "idle": between requests; "busy": answering
        self.served = False

    async def restart(self, task_group: Any = None, action: Any = None) -> None:
        self._arm("idle" if self.served else "head")

    async def stop(self) -> None:
        self._cancel()
        self.phase = "busy"
        self.served = True
        self._conn.connections.forget(self._conn)

    def data(self) -> None:
        if self.phase == "idle":  # the next request has begun: its head is due within HEAD_TIMEOUT
            self._arm("head")

    def _arm(self, phase: str) -> None:
        self._cancel()
        self.phase = phase
        conn = self._conn
        conn.connections.waiting(conn, heads=phase == "head")
        if conn.context.terminated.is_set():
            self.expire()
        else:
            wait = HEAD_TIMEOUT if phase == "head" else conn.config.keep_alive_timeout
            self._timer = conn.loop.call_later(wait, self.expire)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def expire(self) -> None:
        self._cancel()
        if self._closing is None:
            self._closing = self._conn.loop.create_task(self._conn._initiate_server_close())


class GuardedConnection(TCPServer):
    """Hypercorn's per-connection server with the three changes the module docstring lists."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = _Deadline(self)
        self.idle_task = self.deadline  # type: ignore[assignment]  # same interface as AsyncioSingleTask
        self.connections = _workers.setdefault(self.context, _Connections())
        self._read_ended = False

    async def run(self) -> None:
        if not self.connections.opened(self):
            self.writer.transport.abort()  # every connection is busy answering: this one is not served
            return
        # Hypercorn's own keep-alive wait also ended at shutdown; one waiter per connection does that here.
        shutdown = self.loop.create_task(self._close_when_waiting_at_shutdown())
        try:
            await super().run()
        finally:
            shutdown.cancel()
            self.connections.forget(self)
            self.connections.count -= 1

    async def _close_when_waiting_at_shutdown(self) -> None:
        await self.context.terminated.wait()
        if self.deadline.phase != "busy":
            self.deadline.expire()

    async def _read_data(self) -> None:
        # Hypercorn's loop (0.18.0), less `read_timeout` (ccm never sets it: it would cut healthy streams),
        # plus the `data` call that starts a request's head timer.
        try:
            while not self.reader.at_eof():
                try:
                    data = await self.reader.read(MAX_RECV)
                except (ConnectionError, OSError, SSLError):
                    break
                self.deadline.data()
                await self.protocol.handle(RawData(data))
            await self.protocol.handle(Closed())
        finally:
            self._read_ended = True
            await self.deadline.stop()

    async def protocol_send(self, event: Event) -> None:
        if self._read_ended and isinstance(event, Updated) and event.idle:
            # The protocol would wait for a next request that cannot come: close now.
            await self._close()
            return
        await super().protocol_send(event)


def install(max_connections: int | None = None) -> None:
    """Make every connection Hypercorn's asyncio worker accepts a GuardedConnection (idempotent);
    `max_connections` caps the connections open at once (default: no practical cap)."""
    global connection_limit
    if max_connections is not None:
        connection_limit = max_connections
    setattr(_hypercorn_run, "TCPServer", GuardedConnection)  # noqa: B010 (not an exported name)


def installed() -> bool:
    return getattr(_hypercorn_run, "TCPServer", None) is GuardedConnection
