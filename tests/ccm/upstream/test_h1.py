"""ccm.upstream.h1, the HTTP/1.1 framing under the upstream client: pure functions, so property tests.

The promise: however an answer's bytes are cut by the network, the decoder yields the whole body and says
it is done, or it raises; a body cut short never ends cleanly. And an answer framed two ways is read by
its Transfer-Encoding and never leaves its connection reusable (RFC 9112 section 6.3).
"""

from __future__ import annotations

import gzip
import itertools
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccm.upstream import h1


def _chunked(body: bytes, sizes: list[int], extension: bool, trailer: bool) -> bytes:
    out, at = [], 0
    for size in sizes:
        piece = body[at : at + size]
        if not piece:
            break
        ext = b";name=value" if extension else b""
        out.append(b"%x%s\r\n%s\r\n" % (len(piece), ext, piece))
        at += len(piece)
    if at < len(body):
        out.append(b"%x\r\n%s\r\n" % (len(body) - at, body[at:]))
    out.append(b"0\r\n" + (b"x-trailer: 1\r\n" if trailer else b"") + b"\r\n")
    return b"".join(out)


def _cut(wire: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(wire) + 1) for c in cuts})
    edges = [0, *points, len(wire)]
    return [wire[a:b] for a, b in itertools.pairwise(edges)]


def _decode(framing: str, length: int, pieces: list[bytes], coding: str = "") -> tuple[bytes, bool]:
    body, out = h1.Body(framing, length), []
    decoder = h1.Decoder(coding) if coding else None
    for piece in pieces:
        payload = body.feed(piece)
        if decoder is not None and payload:
            payload = decoder.feed(payload)
        out.append(payload)
    if decoder is not None and body.done:
        out.append(decoder.end())
    return b"".join(out), body.done


bodies = st.binary(max_size=3000)
cuts = st.lists(st.integers(min_value=0, max_value=10_000), max_size=12)


@given(
    body=bodies, sizes=st.lists(st.integers(1, 700), max_size=8), cuts=cuts, ext=st.booleans(), trailer=st.booleans()
)
def test_any_cut_of_a_chunked_body_yields_all_of_it(
    body: bytes, sizes: list[int], cuts: list[int], ext: bool, trailer: bool
) -> None:
    wire = _chunked(body, sizes, ext, trailer)
    got, done = _decode("chunked", 0, _cut(wire, cuts))
    assert done and got == body


@given(body=bodies, cuts=cuts, keep=st.integers(min_value=0))
def test_a_chunked_body_cut_short_never_ends_cleanly(body: bytes, cuts: list[int], keep: int) -> None:
    wire = _chunked(body, [], False, False)
    wire = wire[: keep % len(wire)]  # anything short of the whole
    decoder = h1.Body("chunked", 0)
    got = b"".join(decoder.feed(p) for p in _cut(wire, cuts))
    assert not decoder.done
    assert body.startswith(got)
    with pytest.raises(h1.ProtocolError):
        decoder.end()


@given(body=bodies, cuts=cuts)
def test_any_cut_of_a_length_body_yields_all_of_it_and_notices_extra_bytes(body: bytes, cuts: list[int]) -> None:
    got, done = _decode("length", len(body), _cut(body, cuts))
    assert done and got == body
    decoder = h1.Body("length", len(body))
    for piece in _cut(body + b"HTTP/1.1 200 OK\r\n", cuts):
        decoder.feed(piece)
    assert decoder.done and decoder.extra  # bytes after the end: that connection is not reused


@given(body=bodies, cuts=cuts, chunked=st.booleans(), coding=st.sampled_from(["gzip", "deflate", "raw-deflate"]))
def test_any_cut_of_a_compressed_body_decodes_to_all_of_it(
    body: bytes, cuts: list[int], chunked: bool, coding: str
) -> None:
    if coding == "gzip":
        packed = gzip.compress(body)
    elif coding == "deflate":
        packed = zlib.compress(body)
    else:  # some servers send deflate without its zlib wrapper
        z = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed = z.compress(body) + z.flush()
    wire = _chunked(packed, [97], False, False) if chunked else packed
    framing, length = ("chunked", 0) if chunked else ("length", len(packed))
    got, done = _decode(framing, length, _cut(wire, cuts), "gzip" if coding == "gzip" else "deflate")
    assert done and got == body


def test_a_body_read_to_close_ends_with_the_connection() -> None:
    decoder = h1.Body("close", 0)
    assert decoder.feed(b"abc") == b"abc" and not decoder.done
    decoder.end()
    assert decoder.done


@pytest.mark.parametrize(
    "wire",
    [b"zz\r\nabc\r\n", b"3\r\nabcX\r\n", b"-1\r\n", b"3" * 5000],
    ids=["not hex", "no CRLF after the data", "negative", "an endless size line"],
)
def test_a_malformed_chunked_body_is_a_protocol_error(wire: bytes) -> None:
    with pytest.raises(h1.ProtocolError):
        h1.Body("chunked", 0).feed(wire)


def test_garbage_in_a_compressed_body_is_a_protocol_error() -> None:
    with pytest.raises(h1.ProtocolError):
        h1.Decoder("gzip").feed(b"this is not gzip at all")


def _head(text: str, method: str = "POST") -> h1.Head:
    return h1.parse_head(text.replace("\n", "\r\n").encode(), method)


def test_a_head_is_parsed_with_repeats_joined_and_raw_kept() -> None:
    head = _head("HTTP/1.1 429 Too Many Requests\nRetry-After: 3\nX-A: 1\nx-a: 2\nContent-Length: 2\n\n")
    assert (head.status, head.reason) == (429, "Too Many Requests")
    assert head.headers == {"retry-after": "3", "x-a": "1, 2", "content-length": "2"}
    assert head.raw[0] == (b"Retry-After", b"3")
    assert (head.framing, head.length, head.keep_alive) == ("length", 2, True)


@pytest.mark.parametrize(
    ("text", "framing", "keep_alive"),
    [
        ("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nContent-Length: 5\n\n", "chunked", False),
        ("HTTP/1.1 200 OK\nTransfer-Encoding: gzip\n\n", "close", False),
        ("HTTP/1.1 200 OK\n\n", "close", False),
        ("HTTP/1.1 200 OK\nContent-Length: 3\nConnection: close\n\n", "length", False),
        ("HTTP/1.0 200 OK\nContent-Length: 3\n\n", "length", False),
        ("HTTP/1.0 200 OK\nContent-Length: 3\nConnection: keep-alive\n\n", "length", True),
        ("HTTP/1.1 204 No Content\n\n", "none", True),
        ("HTTP/1.1 200 OK\nContent-Length: 3, 3\n\n", "length", True),
    ],
)
def test_framing_follows_rfc_9112(text: str, framing: str, keep_alive: bool) -> None:
    head = _head(text)
    assert (head.framing, head.keep_alive) == (framing, keep_alive)


def test_a_tunnel_answer_has_no_body() -> None:
    assert _head("HTTP/1.1 200 Connection established\n\n", "CONNECT").framing == "none"


@pytest.mark.parametrize(
    "text",
    [
        "HTTP/2 200 OK\n\n",
        "HTTP/1.1 2000 OK\n\n",
        "garbage\n\n",
        "HTTP/1.1 200 OK\nNo colon here\n\n",
        "HTTP/1.1 200 OK\n folded before any header\n\n",
        "HTTP/1.1 200 OK\nBad Name : 1\n\n",
        "HTTP/1.1 200 OK\nContent-Length: 3, 4\n\n",
        "HTTP/1.1 200 OK\nContent-Length: -3\n\n",
    ],
)
def test_a_malformed_head_is_a_protocol_error(text: str) -> None:
    with pytest.raises(h1.ProtocolError):
        _head(text)


def test_a_folded_header_line_joins_the_value_before_it() -> None:
    """obs-fold (RFC 9112 5.2): old servers still send it; h11 takes it, so ccm does, joined by a space."""
    head = _head("HTTP/1.1 200 OK\nX-A: 1\nX-Long: part1\n\t part2\nX-A: 2\n  more\nContent-Length: 0\n\n")
    assert head.headers["x-long"] == "part1 part2"
    assert head.headers["x-a"] == "1, 2 more"
    assert (b"X-Long", b"part1 part2") in head.raw


@pytest.mark.parametrize("wbits", [9, 12, 15, -9, -15])
def test_deflate_decodes_zlib_wrapped_at_any_window_and_raw(wbits: int) -> None:
    plain = b'{"text":"deflated"}' * 50
    squeezer = zlib.compressobj(wbits=wbits)
    packed = squeezer.compress(plain) + squeezer.flush()
    for size in (1, 2, 7, len(packed)):
        decoder = h1.decoder({"content-encoding": "deflate"})
        assert decoder is not None
        out = b"".join(decoder.feed(packed[i : i + size]) for i in range(0, len(packed), size)) + decoder.end()
        assert out == plain, (wbits, size)


def test_the_request_head_counts_its_own_length_and_refuses_unsafe_headers() -> None:
    head = h1.request_head("POST", "/v1/messages", [("Host", "a"), ("Content-Length", "999"), ("X-K", "v\tw")], 7)
    assert head == b"POST /v1/messages HTTP/1.1\r\nHost: a\r\nX-K: v\tw\r\ncontent-length: 7\r\n\r\n"
    for name, value in [("x-api-key", "sk-secret\r\nx-evil: 1"), ("bad name", "v"), ("x", "a\x00b")]:
        with pytest.raises(h1.HeaderError) as caught:
            h1.request_head("POST", "/", [(name, value)], 0)
        assert "sk-secret" not in str(caught.value)


def test_the_end_of_a_head_accepts_bare_line_feeds() -> None:
    assert h1.head_end(b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\nbody") == len(b"HTTP/1.1 200 OK\r\nA: 1\r\n\r\n")
    assert h1.head_end(b"HTTP/1.1 200 OK\nA: 1\n\nbody") == len(b"HTTP/1.1 200 OK\nA: 1\n\n")
    assert h1.head_end(b"HTTP/1.1 200 OK\r\nA: 1\r\n") == -1
