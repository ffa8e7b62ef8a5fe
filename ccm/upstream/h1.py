"""HTTP/1.1 as ccm speaks it to upstreams, without I/O: the request head it writes, the response head it
parses, and the body decoders (length, chunked, until-close; gzip and deflate).

Why ccm's own: a proxied request's upstream call was a fifth of its time in issue 12's profile, nearly all
of it aiohttp's client machinery around a parse that takes microseconds. ccm sends one kind of request (a
body it holds whole, to a known URL) and reads one answer per connection at a time, so the protocol it
needs is small. What it must refuse is not: a header it cannot send safely, and any answer whose framing
is ambiguous (RFC 9112 section 6.3), which is read to its close and never reused.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

MAX_HEAD = 64 * 1024  # status line and headers; more is not an answer from an LLM API
_MAX_CHUNK_LINE = 4096

_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # CR, LF, NUL and the other controls; tab is fine
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_NAMES_OK: set[str] = set()
_BLANK_LINE = re.compile(rb"\n\r?\n")


class ProtocolError(Exception):
    """An answer that breaks HTTP/1.1 (a malformed head, a body cut short): httpx.RemoteProtocolError."""


class HeaderError(Exception):
    """A header ccm will not send: httpx.LocalProtocolError. The message never quotes the value (a key)."""


def request_head(method: str, target: str, headers: Iterable[tuple[str, str]], length: int | None) -> bytes:
    """The request line and headers; `content-length` is always ccm's own count (a caller's is dropped), so
    the framing can never disagree with the body that follows."""
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    for name, value in headers:
        if name not in _NAMES_OK:
            if not _NAME.fullmatch(name):
                raise HeaderError("invalid header name")
            if len(_NAMES_OK) < 1024:
                _NAMES_OK.add(name)
        if _BAD_VALUE.search(value):
            raise HeaderError("invalid header value")
        low = name.lower()
        if low == "content-length" or low == "transfer-encoding":
            continue
        lines.append(f"{name}: {value}\r\n")
    if length is not None:
        lines.append(f"content-length: {length}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def head_end(buffer: bytes | bytearray) -> int:
    """Where the head ends (the index after its blank line), or -1 while it is incomplete. A bare LF is
    accepted as a line end, as RFC 9112 section 2.2 allows a recipient to."""
    found = _BLANK_LINE.search(buffer)
    return found.end() if found else -1


@dataclass(slots=True)
class Head:
    """A response head: `raw` as received (for httpx.Response), `headers` lower-cased with repeats joined,
    the body's framing, and whether the connection may carry another request after this answer."""

    status: int
    reason: str
    raw: list[tuple[bytes, bytes]]
    headers: dict[str, str]
    framing: str  # "length", "chunked", "close" (read to EOF) or "none"
    length: int
    keep_alive: bool


def parse_head(block: bytes, method: str) -> Head:
    """Parse a complete head (from `head_end`). Raises ProtocolError for anything h11 would refuse."""
    lines = block.splitlines()
    status_line = lines[0] if lines else b""
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise ProtocolError("malformed status line from upstream")
    raw: list[tuple[bytes, bytes]] = []
    headers: dict[str, str] = {}
    folded = False
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in b" \t":  # obs-fold: the previous value goes on, joined by a space (RFC 9112 5.2)
            if not raw:
                raise ProtocolError("malformed header line from upstream")
            name, value = raw[-1]
            raw[-1] = (name, value + b" " + line.strip(b" \t"))
            folded = True
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ProtocolError("malformed header line from upstream")
        value = value.strip(b" \t")
        raw.append((name, value))
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    if folded:  # rare: the joined values are rebuilt from the unfolded lines
        headers = {}
        for name, value in raw:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
    status = int(code)
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (version == b"HTTP/1.1" or "keep-alive" in connection)
    framing, length, reusable = _framing(status, method, headers)
    keep_alive = keep_alive and reusable
    return Head(status, reason.decode("latin-1"), raw, headers, framing, length, keep_alive)


def _framing(status: int, method: str, headers: dict[str, str]) -> tuple[str, int, bool]:
    """RFC 9112 section 6.3, in its order. An answer with both Transfer-Encoding and Content-Length is
    read by the former and its connection closed after (the rule against request smuggling)."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return "none", 0, True
    if method == "CONNECT" and 200 <= status < 300:
        return "none", 0, True  # a tunnel: what follows is the upstream's TLS, not a body
    coding = headers.get("transfer-encoding")
    if coding is not None:
        last = coding.rsplit(",", 1)[-1].strip().lower()
        if last != "chunked":
            return "close", 0, False
        return "chunked", 0, "content-length" not in headers
    given = headers.get("content-length")
    if given is None:
        return "close", 0, False
    values = {v.strip() for v in given.split(",")}
    value = values.pop() if len(values) == 1 else ""
    if not value.isdigit() or not value.isascii():
        raise ProtocolError("invalid content-length from upstream")
    return "length", int(value), True


class Body:
    """Decodes one answer's body as its bytes arrive. `feed` returns the payload in them; `done` says the
    body is complete; `extra` says bytes came after its end (that connection is not reused)."""

    __slots__ = ("_coding", "_left", "_line", "_state", "done", "extra")

    def __init__(self, framing: str, length: int) -> None:
        self.extra = False
        self._line = b""
        self._coding = framing
        if framing == "length":
            self._left = length
            self.done = length == 0
        else:
            self._left = 0
            self.done = framing == "none"
        self._state = "size"  # chunked: size, data, crlf, trailer

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.extra = self.extra or bool(data)
            return b""
        coding = self._coding
        if coding == "length":
            if len(data) < self._left:
                self._left -= len(data)
                return data
            out, rest = data[: self._left], data[self._left :]
            self._left = 0
            self.done = True
            self.extra = bool(rest)
            return out
        if coding == "close":
            return data
        return self._chunked(data)

    def _chunked(self, data: bytes) -> bytes:
        out: list[bytes] = []
        at, size = 0, len(data)
        if self._line:
            data, self._line = self._line + data, b""
            size = len(data)
        while at < size and not self.done:
            state = self._state
            if state == "data":
                take = min(self._left, size - at)
                out.append(data[at : at + take])
                at += take
                self._left -= take
                if not self._left:
                    self._state = "crlf"
                continue
            end = data.find(b"\n", at)
            if end < 0:
                self._line = data[at:]
                if len(self._line) > _MAX_CHUNK_LINE:
                    raise ProtocolError("malformed chunked body from upstream")
                break
            line = data[at:end].rstrip(b"\r")
            at = end + 1
            if state == "crlf":
                if line:
                    raise ProtocolError("malformed chunked body from upstream")
                self._state = "size"
            elif state == "size":
                digits = line.split(b";", 1)[0].strip(b" \t")
                if not _HEX.fullmatch(digits):
                    raise ProtocolError("malformed chunked body from upstream")
                self._left = int(digits, 16)
                self._state = "data" if self._left else "trailer"
            elif not line:  # the blank line that ends the trailer section
                self.done = True
        if at < size and self.done:
            self.extra = True
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)

    def end(self) -> None:
        """The connection closed: complete for a body read to EOF; cut short for any other."""
        if self._coding == "close":
            self.done = True
        elif not self.done:
            raise ProtocolError("upstream closed the connection before the end of the body")


class Decoder:
    """Content-Encoding gzip or deflate, decoded in C as the bytes arrive (ccm asks for nothing else)."""

    __slots__ = ("_first", "_z")

    def __init__(self, coding: str) -> None:
        # gzip (wbits 32+ takes its header); deflate is zlib-wrapped or raw, told by its first two bytes.
        self._z = zlib.decompressobj(32 + zlib.MAX_WBITS) if coding in ("gzip", "x-gzip") else None
        self._first = b""  # a deflate body's first byte, while its second has not come

    def feed(self, data: bytes) -> bytes:
        if self._z is None:
            data, self._first = self._first + data, b""
            if len(data) < 2:
                self._first = data
                return b""
            self._z = zlib.decompressobj(zlib.MAX_WBITS if _zlib_header(data) else -zlib.MAX_WBITS)
        try:
            return self._z.decompress(data)
        except zlib.error as exc:
            raise ProtocolError("undecodable compressed body from upstream") from exc

    def end(self) -> bytes:
        if self._z is None:
            if self._first:  # a one-byte deflate body: never a whole stream
                raise ProtocolError("undecodable compressed body from upstream")
            return b""
        try:
            return self._z.flush()
        except zlib.error as exc:
            raise ProtocolError("undecodable compressed body from upstream") from exc


def _zlib_header(data: bytes) -> bool:
    """Whether `data` starts with a zlib header (RFC 1950: method 8, a window of at most 32 KiB, a check
    that makes the first two bytes a multiple of 31): "deflate" is zlib-wrapped by the RFC, raw in practice
    from some servers, and either must decode."""
    return data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and ((data[0] << 8) | data[1]) % 31 == 0


def decoder(headers: dict[str, str]) -> Decoder | None:
    """The decoder for an answer's Content-Encoding, or None when it is plain (or a coding ccm never asked
    for, which then passes through as sent, its header kept)."""
    coding = headers.get("content-encoding", "").strip().lower()
    return Decoder(coding) if coding in ("gzip", "x-gzip", "deflate") else None
