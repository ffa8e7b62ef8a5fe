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
`hypercorn.asyncio.run` instantiates per connection; tests/ccm/test_hangup.py fails if a new Hypercorn
moves it.
"""

from __future__ import annotations

from hypercorn.asyncio import run as _hypercorn_run
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.events import Event, Updated


class HangupAwareTCPServer(TCPServer):
    """Hypercorn's TCPServer, minus the keep-alive wait on a connection whose client has gone."""

    _read_ended = False

    async def _read_data(self) -> None:
        try:
            await super()._read_data()
        finally:
            self._read_ended = True
            await self.idle_task.stop()

    async def protocol_send(self, event: Event) -> None:
        if self._read_ended and isinstance(event, Updated) and event.idle:
            # The protocol would start a keep-alive wait for a next request that cannot come: close now.
            await self._close()
            return
        await super().protocol_send(event)


def install() -> None:
    """Make every connection Hypercorn's asyncio worker accepts use HangupAwareTCPServer (idempotent)."""
    setattr(_hypercorn_run, "TCPServer", HangupAwareTCPServer)  # noqa: B010 (not an exported name)


def installed() -> bool:
    return getattr(_hypercorn_run, "TCPServer", None) is HangupAwareTCPServer
