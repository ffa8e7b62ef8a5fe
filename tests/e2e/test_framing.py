"""A request with both content-length and transfer-encoding is refused with 400 and its connection closed
(RFC 9112 section 6.1: a server MUST close the connection after such a request), on every route: whatever
follows it on the connection, a smuggled second request, is never answered. Raw sockets, a real Hypercorn."""

from __future__ import annotations

import socket
from collections.abc import Callable

import orjson
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

BODY = b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}]}'
FOLLOWING = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def everything(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (failing if it keeps it open 10 s)."""
    sock.settimeout(10)
    data = b""
    while piece := sock.recv(65536):
        data += piece
    return data


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/messages/count_tokens", "/api/config/reload", "/nowhere"])
def test_both_lengths_are_refused_and_what_follows_is_never_answered(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], path: str
) -> None:
    up = upstreams()
    up.script(Reply(200, json=anthropic_message("hi")))
    p = proxy(make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}))
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", p.port)) as sock:
        sock.sendall(head + chunked + FOLLOWING)  # pipelined: a second request right behind the first
        data = everything(sock)
    assert data.startswith(b"HTTP/1.1 400"), data[:200]
    assert data.count(b"HTTP/1.1 ") == 1, data  # the following request got no answer: the connection closed
    head_part, body = data.split(b"\r\n\r\n", 1)
    assert b"connection: close" in head_part.lower()
    error = orjson.loads(body)["error"]
    assert error["type"] == "invalid_request_error" and "content-length and transfer-encoding" in error["message"]
    assert up.received == []


def test_one_length_header_keeps_the_connection_for_the_next_request(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream]
) -> None:
    up = upstreams()
    up.script(Reply(200, json=anthropic_message("hi")))
    p = proxy(make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}))
    head = f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", p.port)) as sock:
        sock.sendall(head + BODY + FOLLOWING.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        data = everything(sock)
    assert data.count(b"HTTP/1.1 200") == 2, data


def test_a_refusal_before_the_body_is_read_closes_the_connection_and_says_so(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream]
) -> None:
    """A request refused before its body is read (no router key here) is answered with `connection:
    close`, so a client never sends its next request on a connection the server is closing; a refusal of
    a request without a body keeps the connection."""
    up = upstreams()
    config = make_config(
        [anthropic_provider("up", up.url)], {"m": [("up", "x")]}, server={"api_key": "router-key-0123456789"}
    )
    p = proxy(config)
    with socket.create_connection(("127.0.0.1", p.port)) as sock:
        sock.sendall(f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(BODY)}\r\n\r\n".encode())
        sock.sendall(BODY)
        data = everything(sock)  # fails unless the server closes the connection after its answer
    head_part = data.split(b"\r\n\r\n", 1)[0].lower()
    assert head_part.startswith(b"http/1.1 401") and b"connection: close" in head_part
    with socket.create_connection(("127.0.0.1", p.port)) as sock:
        sock.sendall(b"GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + FOLLOWING)
        sock.settimeout(10)
        data = b""
        while data.count(b"HTTP/1.1 ") < 2:
            data += sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 401") and b"HTTP/1.1 200" in data  # the same connection served both
    assert up.received == []


@pytest.mark.parametrize("path", ["/v1/messages", "/v1/chat/completions", "/api/oauth/authorize"])
def test_a_body_too_large_is_refused_with_connection_close(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], path: str
) -> None:
    """A content-length over the body limit is a 413 answered before the body is read, on the lean
    endpoints and on the admin API's (Quart's) alike: it says `connection: close`, and the server then
    closes the connection."""
    p = proxy(make_config([anthropic_provider("up", upstreams().url)], {"m": [("up", "x")]}))
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 400000000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", p.port)) as sock:
        sock.sendall(head.encode())
        sock.sendall(BODY)
        data = everything(sock)
    head_part = data.split(b"\r\n\r\n", 1)[0].lower()
    assert head_part.startswith(b"http/1.1 413") and b"connection: close" in head_part
