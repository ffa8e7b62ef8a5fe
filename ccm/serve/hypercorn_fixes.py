"""Close a connection as soon as its client hangs up, even while it waits between keep-alive requests.

Why this exists (Hypercorn 0.18.0, read in `hypercorn/asyncio/tcp_server.py`): `TCPServer.run` reads in
`_read_data` inside a task group that also holds the keep-alive idle task (`_idle_timeout`, which sleeps
`keep_alive_timeout`). When the client closes an idle connection, `_read_data` sees EOF and returns, but
nothing stops the idle task, so the task group, and with it the `finally: _close()` that closes the
socket, waits out the whole keep-alive timeout: 75 s in ccm, with the socket in CLOSE-WAIT and its file
descriptor held. 300 short connections meant 300 more open fds; a default `ulimit -n 1024` runs out at
about 13 new connections a second. The same happens under asyncio and uvloop (it is Hypercorn's task
bookkeeping, not the loop), and no Hypercorn setting avoids it short of a keep-alive timeout so short
that the proxy would close connections Claude Code is about to reuse.

The fix is one subclass: once reading has ended, nothing more can arrive, so the idle wait is stopped
(and never restarted), the task group exits and the socket is closed at once. A request in flight is
unaffected: Hypercorn already tells the app (`http.disconnect`; Quart cancels the handler, which closes the
upstream request) and closes the connection when the app is done. `install()` swaps the class that
`hypercorn.asyncio.run` instantiates per connection; tests/ccm/serve/test_hypercorn_fixes.py fails if a new Hypercorn
moves it. The same subclass keeps the keep-alive wait on a timer instead of a task per request (_IdleTimer).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypercorn.asyncio import run as _hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Closed, Event, RawData, Updated

_WRITE_HIGH = 2**16  # bytes held or queued in the transport before a send waits for the socket (as drain)


class _IdleTimer:
    """Hypercorn's keep-alive wait as one timer handle, in place of its `AsyncioSingleTask`.

    Why: Hypercorn stops the idle wait when a request arrives and restarts it when the answer is sent, by
    cancelling and awaiting one task and creating another (with a `wait_for` inside that makes a third):
    about a tenth of a small request's cost in issue 12's profile, for a timer that almost never fires.
    Same interface (`restart`, `stop`), same outcome: after `keep_alive_timeout` of idleness, or at once
    when the server is shutting down, the connection is closed."""

    def __init__(self, server: HangupAwareTCPServer) -> None:
        self._server = server
        self._timer: asyncio.TimerHandle | None = None
        self._closing: asyncio.Task[None] | None = None
        self.idle = False

    async def restart(self, task_group: Any, action: Any) -> None:
        self._cancel()
        self.idle = True
        server = self._server
        if server.context.terminated.is_set():
            self.expire()
        else:
            self._timer = server.loop.call_later(server.config.keep_alive_timeout, self.expire)

    async def stop(self) -> None:
        self._cancel()
        self.idle = False

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def expire(self) -> None:
        self._timer = None
        if self._closing is None:
            self._closing = self._server.loop.create_task(self._server._initiate_server_close())


class HangupAwareTCPServer(TCPServer):
    """Hypercorn's TCPServer, minus the keep-alive wait on a connection whose client has gone, and with
    that wait kept by a timer (see _IdleTimer)."""

    _read_ended = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.idle_task = _IdleTimer(self)  # type: ignore[assignment]
        self._out: list[bytes] = []
        self._out_size = 0
        self._flush_soon = False

    async def run(self) -> None:
        # Hypercorn's own idle task also ended at shutdown; one waiter per connection does that here.
        shutdown = self.loop.create_task(self._close_when_idle_at_shutdown())
        try:
            await super().run()
        finally:
            shutdown.cancel()

    async def _close_when_idle_at_shutdown(self) -> None:
        await self.context.terminated.wait()
        timer: _IdleTimer = self.idle_task  # type: ignore[assignment]
        if timer.idle:
            timer.expire()

    async def _read_data(self) -> None:
        try:
            await super()._read_data()
        finally:
            self._read_ended = True
            await self.idle_task.stop()

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, RawData):
            await self._write(event.data)
            return
        if isinstance(event, Updated) and event.idle:
            self._flush()  # the response is complete: out now, before the app's after-work (ccm.dispatch.relay.record_soon)
        if self._read_ended and isinstance(event, Updated) and event.idle:
            # The protocol would start a keep-alive wait for a next request that cannot come: close now.
            await self._close()
            return
        await super().protocol_send(event)

    async def _write(self, data: bytes) -> None:
        """Hold the bytes until this turn of the loop ends, then write them in one go.

        Hypercorn writes (and drains) the status line, each body piece and the end of the message one by
        one: three writes, syscalls and packets for a small answer. Everything sent within one turn
        goes out as one write (call_soon runs before the loop next waits), so nothing is delayed, and a
        send still waits for the socket once 64 KiB are pending, as drain did."""
        if not data:
            return
        self._out.append(data)
        self._out_size += len(data)
        transport = self.writer.transport
        if self._out_size >= _WRITE_HIGH or transport.get_write_buffer_size() >= _WRITE_HIGH:
            async with self.send_lock:
                self._flush()
                try:
                    await self.writer.drain()
                except (ConnectionError, RuntimeError):
                    await self.protocol.handle(Closed())
        elif not self._flush_soon:
            self._flush_soon = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if not self._out:
            return
        data = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        try:
            self.writer.write(data)
        except (ConnectionError, RuntimeError):  # the socket is gone: tell the protocol, as a failed drain did
            self.loop.create_task(self.protocol.handle(Closed()))

    async def _close(self) -> None:
        self._flush()  # what was sent goes out before the FIN
        await super()._close()

    async def _initiate_server_close(self) -> None:
        self._flush()
        await super()._initiate_server_close()


def install() -> None:
    """Make every connection Hypercorn's asyncio worker accepts use HangupAwareTCPServer (idempotent)."""
    setattr(_hypercorn_run, "TCPServer", HangupAwareTCPServer)  # noqa: B010 (not an exported name)


def installed() -> bool:
    return getattr(_hypercorn_run, "TCPServer", None) is HangupAwareTCPServer
