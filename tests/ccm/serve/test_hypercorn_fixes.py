"""ccm.serve.hypercorn_fixes, one group per change, each with a test that fails when Hypercorn moves what the
change relies on (the source of the methods it hooks or copies, as read in Hypercorn 0.18.0) and tests of
what a user notices, under asyncio and uvloop:

1. a client that hangs up is let go at once, not after keep_alive_timeout;
2. a request head must be whole within HEAD_TIMEOUT (a trickle is cut, an idle keep-alive connection and a
   long answer are not);
3. at the connection cap a new client displaces the connection that has waited longest for a head.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
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
from hypercorn.protocol.h11 import H11Protocol

from ccm.serve import hypercorn_fixes
from tests.e2e.harness import free_port

REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def fingerprint(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def assert_unchanged(expected: dict[Callable[..., Any], str]) -> None:
    moved = [f.__qualname__ for f, digest in expected.items() if fingerprint(f) != digest]
    assert not moved, f"Hypercorn changed {moved}: re-read them and update ccm/serve/hypercorn_fixes.py"


async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":  # a long answer whose client sends nothing while it listens
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(8):
            await asyncio.sleep(0.25)
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


@contextlib.contextmanager
def serving(kind: str, keep_alive: float) -> Iterator[tuple[int, Callable[[], float]]]:
    """The app under Hypercorn with the fixes installed: (port, stop() -> seconds the stop took)."""
    hypercorn_fixes.install()
    loop: asyncio.AbstractEventLoop
    if kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
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
        args=(serve(app, cfg, shutdown_trigger=stop.wait),),  # type: ignore[arg-type]
        daemon=True,
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


@pytest.fixture
def short_heads(monkeypatch: pytest.MonkeyPatch) -> float:
    """A head timeout of 0.6 s, so the tests of it take seconds, not tens of them."""
    monkeypatch.setattr(hypercorn_fixes, "HEAD_TIMEOUT", 0.6)
    return 0.6


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(10.0)
    return sock


def ask(sock: socket.socket) -> None:
    sock.sendall(REQUEST)
    data = b""
    while not data.endswith(b"ok"):
        piece = sock.recv(1000)
        assert piece, "closed before the answer"
        data += piece


def closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closes `sock` (its FIN or a reset), failing after `seconds`."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(1000):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


# 1. A client that hangs up is let go at once.


def test_hangup_hooks_are_where_hypercorn_0_18_has_them() -> None:
    assert_unchanged(
        {
            hypercorn_run.worker_serve: "ae30269c42b95442",  # one TCPServer per accepted connection
            TCPServer.run: "9437d01a916d887b",  # idle_task.restart, then _read_data, then _close
            TCPServer.protocol_send: "06144915fc094c1b",  # Updated(idle=True) restarts the keep-alive wait
            TCPServer._close: "ea76225e14315206",
        }
    )
    assert "TCPServer(app, loop, config, context" in inspect.getsource(hypercorn_run.worker_serve)
    hypercorn_fixes.install()
    assert hypercorn_fixes.installed() and issubclass(hypercorn_fixes.GuardedConnection, TCPServer)


def test_an_idle_connection_is_closed_when_its_client_hangs_up(server: int) -> None:
    with connect(server) as sock:
        ask(sock)
        sock.shutdown(socket.SHUT_WR)  # our FIN; the server's FIN (recv -> b"") must follow at once
        assert closed_within(sock, 5.0) < 2.0


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_an_idle_connection_is_closed_after_the_keep_alive_timeout(kind: str) -> None:
    with serving(kind, 0.3) as (port, _), connect(port) as sock:
        for _ in range(3):  # each request restarts the wait; the connection stays usable
            ask(sock)
        assert 0.2 < closed_within(sock, 5.0) < 3.0


@pytest.mark.parametrize("kind", ["asyncio", "uvloop"])
def test_idle_connections_do_not_hold_up_a_shutdown(kind: str) -> None:
    with serving(kind, 75) as (port, stop), connect(port) as sock:
        ask(sock)
        assert stop() < 5.0  # not the 30 s graceful timeout, nor the 75 s keep-alive
        assert closed_within(sock, 2.0) < 2.0


# 2. A request head must be whole within HEAD_TIMEOUT.


def test_head_timer_hooks_are_where_hypercorn_0_18_has_them() -> None:
    assert_unchanged(
        {
            TCPServer.__init__: "95a6f196b96bfa92",  # idle_task: an AsyncioSingleTask (restart, stop)
            TCPServer._read_data: "8e7ad8f4bfca2fd2",  # copied, less read_timeout, plus the data() call
            TCPServer._initiate_server_close: "b133876f0613af93",  # how the keep-alive wait closes
            H11Protocol._handle_events: "bd4a76b2837e8722",  # Updated(idle=False) once a head is whole
            H11Protocol._maybe_recycle: "3ac53f52bc4e65de",  # Updated(idle=True) once an answer is done
        }
    )


def test_a_trickling_head_is_cut_at_the_head_timeout(server: int, short_heads: float) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")
        started = time.monotonic()
        with contextlib.suppress(OSError):  # one header byte at a time, as a slow-loris client sends them
            while time.monotonic() - started < 5:
                sock.sendall(b"X")
                time.sleep(0.05)
        waited = time.monotonic() - started + closed_within(sock, 5.0)
    assert short_heads * 0.8 < waited < 4.0


def test_a_connection_that_sends_nothing_is_closed_at_the_head_timeout(server: int, short_heads: float) -> None:
    with connect(server) as sock:
        assert short_heads * 0.8 < closed_within(sock, 5.0) < 4.0


def test_an_idle_keep_alive_connection_waits_longer_than_a_head(short_heads: float) -> None:
    with serving("asyncio", 2.0) as (port, _), connect(port) as sock:
        ask(sock)
        time.sleep(short_heads * 2)  # idle past a head's time: still open, and it serves the next request
        ask(sock)
        time.sleep(short_heads * 2)
        sock.sendall(b"GET / HTTP/1.1\r\n")  # a next head begins and stalls: cut at the head timeout
        assert closed_within(sock, 5.0) < 1.8


def test_a_long_answer_is_never_cut_by_the_head_timer(server: int, short_heads: float) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while not data.endswith(b"0\r\n\r\n"):  # 2 s of answer, the client silent: 3 head timeouts
            piece = sock.recv(1000)
            assert piece, f"cut after {data.count(b'tick')} ticks"
            data += piece
    assert data.count(b"tick") == 8


# 3. The connection cap.


def test_connection_cap_hooks_are_where_hypercorn_0_18_has_them() -> None:
    source = inspect.getsource(hypercorn_run.worker_serve)
    assert "context = WorkerContext(" in source  # one context per worker: the cap counts per worker
    assert "await TCPServer(" in source  # the connection is served inside run(): refused by returning
    assert fingerprint(TCPServer._idle_timeout) == "cb99af7fa2cfa051"  # what _Deadline stands in for


@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(hypercorn_fixes, "connection_limit", 4)
    return 4


def test_at_the_cap_a_new_client_displaces_the_oldest_trickling_head(server: int, capped: int) -> None:
    slow = [connect(server) for _ in range(capped)]
    try:
        for sock in slow:
            sock.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
        deadline = time.monotonic() + 10
        while hypercorn_fixes.open_connections()[0] < capped and time.monotonic() < deadline:
            time.sleep(0.02)
        with connect(server) as sock:
            ask(sock)  # served at once, although the cap was reached
        assert closed_within(slow[0], 5.0) < 5.0  # the one that had waited longest made room
    finally:
        for sock in slow:
            sock.close()


def test_at_the_cap_with_every_connection_busy_a_new_one_is_closed(server: int, capped: int) -> None:
    busy = [connect(server) for _ in range(capped)]
    try:
        for sock in busy:
            sock.sendall(b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        with connect(server) as sock:
            assert closed_within(sock, 5.0) < 5.0
        for sock in busy:  # the answers in flight were not disturbed
            data = b""
            while not data.endswith(b"0\r\n\r\n"):
                piece = sock.recv(1000)
                assert piece
                data += piece
    finally:
        for sock in busy:
            sock.close()
