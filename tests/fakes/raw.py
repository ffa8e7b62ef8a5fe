"""A hostile upstream on a raw socket: it reads a request and then writes whatever bytes a test scripts,
HTTP or not, at whatever pace, counting what it managed to send before the client went away.

    with RawUpstream(lambda conn: conn.send(b"HTTP/1.1 099 Odd\\r\\ncontent-length: 0\\r\\n\\r\\n")) as up:
        ... point a provider's base_url at up.url ...
        up.sent        # bytes written before the client closed (what a bounded reader let through)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable

from tests.fakes.ports import bind_apart


class Conn:
    """One accepted connection, its request already read."""

    def __init__(self, sock: socket.socket, owner: RawUpstream) -> None:
        self.sock, self._owner = sock, owner

    def send(self, data: bytes) -> bool:
        """Write `data`; False once the client has gone (reset or closed)."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        self._owner.sent += len(data)
        return True

    def send_all(self, parts: Iterable[bytes]) -> bool:
        return all(self.send(part) for part in parts)

    def trickle(self, data: bytes, every_s: float) -> None:
        """One byte at a time, `every_s` apart, until the client goes."""
        for i in range(len(data)):
            if not self.send(data[i : i + 1]):
                return
            time.sleep(every_s)


class RawUpstream:
    def __init__(self, answer: Callable[[Conn], None]) -> None:
        self._answer = answer
        self._server = bind_apart(
            lambda: socket.create_server(("127.0.0.1", 0)), lambda s: int(s.getsockname()[1]), socket.socket.close
        )
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.sent = 0
        self.requests = 0
        self._stop = False

    def _serve(self) -> None:
        while not self._stop:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(sock,), daemon=True).start()

    def _one(self, sock: socket.socket) -> None:
        with sock:
            sock.settimeout(30)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    data = sock.recv(65536)
                    if not data:
                        return
                    head += data
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                body = head.split(b"\r\n\r\n", 1)[1]
                while len(body) < length:
                    data = sock.recv(65536)
                    if not data:
                        return
                    body += data
            except OSError:
                return
            self.requests += 1
            self._answer(Conn(sock, self))

    def __enter__(self) -> RawUpstream:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self._server.close()
