"""ccm.serve.hypercorn_fixes: Hypercorn closes an idle connection as soon as its client hangs up (not after
keep_alive_timeout), under asyncio and uvloop alike; and the shim still hooks where Hypercorn builds
its per-connection server (a new Hypercorn that moves it fails here, not silently in production)."""

from __future__ import annotations

import asyncio
import contextlib
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

from ccm.serve import hypercorn_fixes
from tests.e2e.harness import free_port


async def hello(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] == "http" and scope["path"] == "/big":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(100):  # 100 x 64 KiB: more than any buffer, so writes must wait for the reader
            await send({"type": "http.response.body", "body": bytes([65 + i % 26]) * 2**16, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@contextlib.contextmanager
def serving(kind: str, keep_alive: float) -> Iterator[tuple[int, Callable[[], float]]]:
    """A bare ASGI app under Hypercorn with the shim installed: (port, stop() -> seconds the stop took)."""
    hypercorn_fixes.install()
    if kind == "uvloop":
        import uvloop

        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    port = free_port()
    cfg = Config()
    cfg.bind = [f"127.0.0.1:{port}"]
    cfg.keep_alive_timeout = keep_alive
    cfg.graceful_timeout = 30
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

    def stopped() -> float:
        started = time.monotonic()
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        return time.monotonic() - started

    try:
        yield port, stopped
    finally:
        if thread.is_alive():
            stopped()


@pytest.fixture(params=["asyncio", "uvloop"])
def server(request: pytest.FixtureRequest) -> Iterator[int]:
    """keep_alive_timeout 75 s, as ccm."""
    with serving(request.param, 75) as (port, _):
        yield port


def ask(sock: socket.socket) -> None:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while not data.endswith(b"ok"):
        data += sock.recv(1000)


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(kind: str) -> None:
    with serving(kind, 0.3) as (port, _), socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(3):  # each request restarts the wait; the connection stays usable
            ask(sock)
        sock.settimeout(5.0)
        started = time.monotonic()
        assert sock.recv(1000) == b""  # the server's FIN, once idle for 0.3 s
        assert 0.2 < time.monotonic() - started < 3.0


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_idle_connections_do_not_hold_up_a_shutdown(kind: str) -> None:
    with serving(kind, 75) as (port, stop), socket.create_connection(("127.0.0.1", port)) as sock:
        ask(sock)
        assert stop() < 5.0  # not the 30 s graceful timeout, nor the 75 s keep-alive
        sock.settimeout(2.0)
        assert sock.recv(1000) == b""


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
    hypercorn_fixes.install()
    assert hypercorn_fixes.installed()
    assert "TCPServer(app, loop, config, context" in inspect.getsource(hypercorn_run.worker_serve)
    assert {"_read_data", "protocol_send", "_close", "_initiate_server_close", "run"} <= set(vars(TCPServer))
    assert issubclass(hypercorn_fixes.HangupAwareTCPServer, TCPServer)


def test_writes_held_within_a_turn_keep_order_and_wait_for_a_slow_reader(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(0.3)  # a slow reader: the socket buffers fill and the server's sends must wait (not readiness)
        sock.settimeout(10)
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            piece = sock.recv(2**15)
            assert piece, "the server closed before the end of the body"
            data += piece
        body = data.split(b"\r\n\r\n", 1)[1]
        letters = bytes(byte for byte in body if 65 <= byte <= 90)
        assert letters == b"".join(bytes([65 + i % 26]) * 2**16 for i in range(100))
