"""ccm.hangup: Hypercorn closes an idle connection as soon as its client hangs up (not after
keep_alive_timeout), under asyncio and uvloop alike; and the shim still hooks where Hypercorn builds
its per-connection server (a new Hypercorn that moves it fails here, not silently in production)."""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypercorn.asyncio import run as hypercorn_run
from hypercorn.asyncio import serve
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config

from ccm import hangup
from tests.e2e.harness import free_port


async def hello(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(params=["asyncio", "uvloop"])
def server(request: pytest.FixtureRequest) -> Iterator[int]:
    """A bare ASGI app under Hypercorn (keep_alive_timeout 75 s, as ccm) with the shim installed."""
    hangup.install()
    if request.param == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    port = free_port()
    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.keep_alive_timeout = 75
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve(hello, cfg, shutdown_trigger=stop.wait),),
        daemon=True,  # type: ignore[arg-type]
    )
    thread.start()
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.02)
    yield port
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=5)


def test_an_idle_connection_is_closed_when_its_client_hangs_up(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while not data.endswith(b"ok"):
            data += sock.recv(1000)
        sock.shutdown(socket.SHUT_WR)  # our FIN; the server's FIN (recv -> b"") must follow at once
        sock.settimeout(2.0)
        started = time.monotonic()
        assert sock.recv(1000) == b""
        assert time.monotonic() - started < 2.0


def test_the_shim_hooks_where_hypercorn_builds_connections() -> None:
    hangup.install()
    assert hangup.installed()
    assert "TCPServer(app, loop, config, context" in inspect.getsource(hypercorn_run.worker_serve)
    assert {"_read_data", "protocol_send", "_close"} <= set(vars(TCPServer))
    assert issubclass(hangup.HangupAwareTCPServer, TCPServer)
