"""Connections are released: after any burst of clients that connect,
ask and hang up, the real proxy process's open file descriptors return to within 5 of their baseline
within 2 s, and a client that hangs up mid-stream has its upstream request cancelled within 2 s.

Upstream answers carry `connection: close`, so the proxy's own (bounded, legitimate) upstream keep-alive
pools do not blur what is measured: the sockets of clients that have gone.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.e2e.harness import anthropic_provider, free_port, make_config, spawn_server, terminate, wait_healthy
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_message, anthropic_stream

CLOSE = {"connection": "close"}
QUESTION = [{"role": "user", "content": "q"}]


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def settle(pid: int, target: int, deadline_s: float = 2.0) -> int:
    """Poll the fd count until it is at most `target` or the deadline passes; the last count."""
    end = time.monotonic() + deadline_s
    count = open_fds(pid)
    while count > target and time.monotonic() < end:
        time.sleep(0.02)
        count = open_fds(pid)
    return count


def steady(pid: int) -> int:
    """The fd count once it stops moving (two reads 100 ms apart agree, within 3 s)."""
    end = time.monotonic() + 3
    last = open_fds(pid)
    while time.monotonic() < end:
        time.sleep(0.1)
        now = open_fds(pid)
        if now == last:
            return now
        last = now
    return last


@dataclass
class Proxy:
    url: str
    pid: int
    good: FakeUpstream
    flaky: FakeUpstream


def _flaky(counter: Iterator[int]) -> Reply:
    """Three requests in ten fail: an overloaded answer, a refused one, or a stream cut before its end."""
    n = next(counter) % 10
    if n == 0:
        return Reply.error(529, "overloaded", "overloaded_error", headers=CLOSE)
    if n == 1:
        return Reply(drop=True)
    if n == 2:
        return Reply.stream(anthropic_stream("cut short", pieces=4), cut_after=2, headers=CLOSE)
    return Reply.stream(anthropic_stream("flaky but fine", pieces=3), headers=CLOSE)


def _good(rec: Received) -> Reply:
    if rec.json and rec.json.get("stream"):
        return Reply.stream(anthropic_stream("all good", pieces=3), headers=CLOSE)
    return Reply(200, json=anthropic_message("all good"), headers=CLOSE)


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    """`python -m ccm serve` as a subprocess: model `m` on a good upstream, `f` on a flaky one failing over
    to the good one."""
    counter = itertools.count()
    lock = threading.Lock()

    def flaky(_: Received) -> Reply:
        with lock:
            return _flaky(counter)

    with FakeUpstream() as good, FakeUpstream() as bad:
        good.script(Reply(handler=_good))
        bad.script(Reply(handler=flaky))
        home = tmp_path / "home"
        home.mkdir()
        port = free_port()
        providers = [anthropic_provider("good", good.url), anthropic_provider("flaky", bad.url)]
        config = make_config(
            providers,
            {"m": [("good", "g1")], "f": [("flaky", "f1"), ("good", "g1")]},
            server={"port": port},
        )
        (home / "config.toml").write_text(config)
        proc = spawn_server(home)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc=proc)
            yield Proxy(url, proc.pid, good, bad)
        finally:
            assert terminate(proc) == 0


def warm_up(p: Proxy) -> int:
    """One request of each kind (lazy pools, the request log's file), then the steady fd count."""
    with httpx.Client(trust_env=False, timeout=10) as client:
        client.get(f"{p.url}/health")
        for model, stream in itertools.product("mf", (False, True)):
            for _ in range(4):
                body = {"model": model, "max_tokens": 5, "stream": stream, "messages": QUESTION}
                client.post(f"{p.url}/v1/messages", json=body)
    return steady(p.pid)


def test_burst_of_short_connections_leaves_no_socket_behind(proxy: Proxy) -> None:
    baseline = warm_up(proxy)
    kinds = [
        ("GET", "/health", None),
        ("POST", "/v1/messages", {"model": "m", "max_tokens": 5, "messages": QUESTION}),
        ("POST", "/v1/messages", {"model": "m", "max_tokens": 5, "stream": True, "messages": QUESTION}),
    ]
    for i in range(300):
        method, path, body = kinds[i % 3]
        with httpx.Client(trust_env=False, timeout=10) as client:  # connect, one request, close
            response = client.request(method, proxy.url + path, json=body)
            assert response.status_code == 200
    after = settle(proxy.pid, baseline + 5)
    print(f"fds: baseline {baseline}, 2 s after 300 connect-request-close cycles {after}")
    assert after <= baseline + 5


def test_raw_clients_that_hang_up_between_requests_are_closed(proxy: Proxy) -> None:
    """HTTP/1.1 keep-alive clients that send a request, read the answer and close (FIN, or RST with
    unread bytes): the socket Hypercorn would keep for keep_alive_timeout (75 s) is closed at once."""
    baseline = warm_up(proxy)
    host, port = proxy.url.removeprefix("http://").split(":")
    for i in range(100):
        sock = socket.create_connection((host, int(port)))
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        if i % 2:
            data = b""
            while b'"status"' not in data:
                data += sock.recv(65536)
        sock.close()
    after = settle(proxy.pid, baseline + 5)
    print(f"fds: baseline {baseline}, after 100 raw keep-alive hang-ups {after}")
    assert after <= baseline + 5


def test_concurrent_streams_with_failing_upstreams_release_everything(proxy: Proxy) -> None:
    baseline = warm_up(proxy)

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(trust_env=False, timeout=60, limits=limits) as client:

            async def one(i: int) -> int:
                body = {"model": "f", "max_tokens": 5, "stream": True, "messages": QUESTION}
                async with client.stream("POST", f"{proxy.url}/v1/messages", json=body) as response:
                    text = b"".join([chunk async for chunk in response.aiter_bytes()])
                    assert b"message_stop" in text or b"event: error" in text
                    return response.status_code

            return await asyncio.gather(*(one(i) for i in range(200)))

    statuses = asyncio.run(burst())  # the client's pooled connections close here, idle ones included
    assert statuses == [200] * 200  # a failed first attempt (30%) failed over before any byte was sent
    assert len(proxy.flaky.received) >= 200  # every stream tried the flaky upstream first
    after = settle(proxy.pid, baseline + 5)
    print(f"fds: baseline {baseline}, 2 s after 200 concurrent streams (30% failing upstream) {after}")
    assert after <= baseline + 5


def test_client_hanging_up_mid_stream_cancels_the_upstream_request(proxy: Proxy) -> None:
    baseline = warm_up(proxy)
    proxy.good.script(Reply.stream(anthropic_stream("x" * 200, pieces=100), delay=0.05))
    client = anthropic.Anthropic(base_url=proxy.url, api_key="unused", max_retries=0)
    with client.messages.stream(model="m", max_tokens=5, messages=QUESTION) as stream:  # type: ignore[arg-type]
        for event in stream:
            if event.type == "content_block_delta":
                break  # the answer is flowing: hang up
    left = time.monotonic()
    end = left + 2
    while proxy.good.disconnects == 0 and time.monotonic() < end:
        time.sleep(0.01)
    print(f"upstream saw the hang-up {time.monotonic() - left:.2f} s after the client left")
    assert proxy.good.disconnects == 1
    client.close()
    assert settle(proxy.pid, baseline + 5) <= baseline + 5
