"""Hostile upstreams on raw sockets against the real proxy: an answer HTTP forbids, or one past its bounds,
fails over like any invalid answer; a stream that stalls after its first text ends with `event: error`
however many bytes of an unfinished event the upstream trickles, and ccm's own pings do not hide it."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.raw import Conn, RawUpstream
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}


def chain(urls: list[str], api_timeout_ms: int = 5000) -> str:
    """One mapping per URL, in order; one retry allowed, so an attempt that is retried shows."""
    providers = [anthropic_provider(f"p{i}", url) for i, url in enumerate(urls, start=1)]
    return make_config(
        providers,
        {"m": [(f"p{i}", f"model-{i}") for i in range(1, len(urls) + 1)]},
        server={"timeouts": {"api_timeout_ms": api_timeout_ms, "connect_timeout_ms": 1000}},
        failover={"max_retries": 1, "backoff_ms": 10},
    )


# Each hostile answer carries a valid message: read leniently, it would be served as the answer.
MESSAGE = json.dumps(anthropic_message("hostile", "model-1")).encode()
JSON = b"content-type: application/json\r\n"


def _bomb(conn: Conn) -> None:
    """The message, then 128 MiB of spaces (valid JSON still), gzipped to about 128 KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    wire = packer.compress(MESSAGE) + b"".join(packer.compress(b" " * (1 << 20)) for _ in range(128)) + packer.flush()
    conn.send(
        b"HTTP/1.1 200 OK\r\n" + JSON + b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(wire) + wire
    )


def _sized(head: bytes) -> Callable[[Conn], None]:
    return lambda conn: conn.send(head + JSON + b"content-length: %d\r\n\r\n" % len(MESSAGE) + MESSAGE)


def _chunked(conn: Conn) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + JSON + b"transfer-encoding: gzip, chunked\r\n\r\n"
    conn.send(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(MESSAGE), MESSAGE))


@pytest.mark.parametrize(
    "answer",
    [
        _sized(b"HTTP/1.1 099 Odd\r\n"),
        _sized(b"HTTP/1.1 200 OK\r\nbad name: 1\r\n"),
        _sized(b"HTTP/1.1 200 OK\r\nx-evil: a\x01b\r\n"),
        _chunked,
        _bomb,
    ],
    ids=[
        "status 099",
        "a space in a header name",
        "a control character in a header",
        "transfer coding gzip",
        "gzip bomb",
    ],
)
def test_a_forbidden_or_unbounded_answer_fails_over_as_an_invalid_answer(
    answer: Callable[[Conn], None], upstreams: Up, proxy: Px
) -> None:
    good = upstreams().script(Reply(200, json=anthropic_message("rescued", "model-2")))
    with RawUpstream(answer) as bad:
        p = proxy(chain([bad.url, good.url]))
        response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False, timeout=60)
        assert response.status_code == 200, response.text
        assert response.json()["content"][0]["text"] == "rescued"
        assert response.headers["x-ccm-attempts"] == "2"  # an invalid answer fails over, never retried
        assert bad.requests == 1
        first = httpx.get(f"{p.url}/api/requests", trust_env=False).json()[0]["attempts"][0]
        assert (first["outcome"], first["status"]) == ("failed_over", 502)


def test_a_stream_trickling_an_event_that_never_completes_ends_with_a_timeout_error(proxy: Px) -> None:
    events = anthropic_stream("hello", pieces=2)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"

    def trickle(conn: Conn) -> None:
        conn.send(head + b"".join(events[:4]))  # message_start, ping, content_block_start, the first text
        conn.trickle(b"event: content_block_delta\ndata: " + b"x" * 120, every_s=0.2)

    with RawUpstream(trickle) as up:
        p = proxy(chain([up.url], api_timeout_ms=1500))
        started = time.monotonic()
        got = b""
        with httpx.stream(
            "POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False, timeout=30
        ) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                got += chunk
                assert time.monotonic() - started < 15, "the stall was never noticed"
        assert b"text_delta" in got  # the first text went out: the failover window was over
        assert got.rstrip().split(b"\n\n")[-1].startswith(b"event: error")
        assert b"timeout_error" in got and b"message_stop" not in got
        record = httpx.get(f"{p.url}/api/requests", trust_env=False).json()[0]
        assert record["status"] == 504


def test_upstream_pings_are_progress(proxy: Px) -> None:
    """An upstream that pings while it thinks is not stalled, however long the thought."""
    events = anthropic_stream("hello", pieces=2)
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"
    ping = b'event: ping\ndata: {"type": "ping"}\n\n'

    def pings(conn: Conn) -> None:
        conn.send(head + b"".join(events[:4]))
        for _ in range(8):
            time.sleep(0.3)
            if not conn.send(ping):
                return
        conn.send_all(events[4:])

    with RawUpstream(pings) as up:
        p = proxy(chain([up.url], api_timeout_ms=1000))
        response = httpx.post(f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False, timeout=30)
        assert response.status_code == 200
        assert b"event: message_stop" in response.content and b"event: error" not in response.content
