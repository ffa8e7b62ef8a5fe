"""A slow client cannot lock others out: with an open-files limit of 256 (soft 128, hard 256), more slow
clients than the proxy has descriptors, each sending its request head one byte a second, do not stop a
normal request from being answered at once, the proxy never runs out of descriptors (no EMFILE in its
log, the request journal written), raises its soft limit to the hard one (one log line), and closes the
slow connections once their heads are 10 s late."""

from __future__ import annotations

import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ROOT, anthropic_provider, free_port, make_config, server_env, terminate, wait_healthy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

SOFT, HARD = 128, 256
SLOW_CLIENTS = 300  # more than the proxy could hold open at once


def low_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT, HARD))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int, Path]]:
    """`python -m ccm serve` under a low open-files limit: (url, pid, CCM_HOME)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < SLOW_CLIENTS + 64:
        pytest.skip("this test's own process needs more open files than its hard limit allows")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, SLOW_CLIENTS + 64), hard))  # the slow clients' sockets
    with contextlib.ExitStack() as undo, FakeUpstream() as up:
        undo.callback(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        up.script(Reply(200, json=anthropic_message("hi")))
        home = tmp_path / "home"
        home.mkdir()
        port = free_port()
        config = make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}, server={"port": port})
        (home / "config.toml").write_text(config)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ccm", "serve"],
            env=server_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=str(ROOT),
            preexec_fn=low_limit,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc=proc)
            yield url, proc.pid, home
        finally:
            assert terminate(proc) == 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Trickle:
    """Slow clients: each connects and sends its request head one byte a second, never finishing it."""

    def __init__(self, port: int, count: int) -> None:
        self.socks: list[socket.socket] = []
        for _ in range(count):
            with contextlib.suppress(OSError):
                self.socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def _run(self) -> None:
        head = b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        for index in range(len(head)):
            for sock in self.socks:
                with contextlib.suppress(OSError):
                    sock.send(head[index : index + 1])
            if self._stop.wait(1.0):
                return

    def open_count(self) -> int:
        """How many of the slow connections the proxy has not closed."""
        count = 0
        for sock in self.socks:
            sock.setblocking(False)
            try:
                count += sock.recv(1) != b""  # b"": closed by the proxy
            except BlockingIOError:
                count += 1  # open, nothing to read
            except OSError:
                pass  # reset by the proxy
        return count

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def test_slow_clients_cannot_lock_others_out(served: tuple[str, int, Path]) -> None:
    url, pid, home = served
    port = int(url.rsplit(":", 1)[1])
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
    with Trickle(port, SLOW_CLIENTS) as slow, httpx.Client(trust_env=False, timeout=5) as client:
        answered = None
        deadline = time.monotonic() + 5  # at once, give or take a loaded machine: not after a slow head's 10 s
        while answered is None and time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                answered = client.post(f"{url}/v1/messages", json=body, headers={"connection": "close"})
        assert answered is not None and answered.status_code == 200
        assert open_fds(pid) < HARD
        deadline = time.monotonic() + 25  # the slow heads are cut 10 s after they began
        while slow.open_count() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert slow.open_count() == 0
    log = (home / "ccm.log").read_text()
    assert "open files limit: 256 (raised from 128)" in log
    assert "Too many open files" not in log and "EMFILE" not in log
    deadline = time.monotonic() + 10  # the journal is written off the request path
    journal = home / "requests.jsonl"
    while not (journal.exists() and journal.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert journal.read_text().count("\n") >= 1
