"""Ports for the servers a test starts, kept apart: a port chosen for a proxy is never also taken by a fake.

`free_port()` finds a free port and closes it again, so that a proxy started later can bind it. Until
then the OS may hand the same port to anything that binds port 0: a fake upstream started in between
would then answer the proxy's health check and requests (its scripted replies spent on the wrong
caller). Every port handed out is remembered here, and the fakes bind until they get one that was not.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TypeVar

HANDED_OUT: set[int] = set()
"""Every port free_port() gave away in this process."""

Bound = TypeVar("Bound")


def free_port() -> int:
    """A port no server of this process holds or was promised."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in HANDED_OUT:
            HANDED_OUT.add(port)
            return port


def bind_apart(bind: Callable[[], Bound], port_of: Callable[[Bound], int], close: Callable[[Bound], None]) -> Bound:
    """A server bound to port 0 (`bind`) whose port free_port() never handed out (others are closed)."""
    while True:
        server = bind()
        if port_of(server) not in HANDED_OUT:
            return server
        close(server)
