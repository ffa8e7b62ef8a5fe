"""The one TLS context of the process's upstream calls, and aiohttp imported without building its own.

aiohttp makes two default TLS contexts when it is imported (a verifying one and a non-verifying one),
each loading the system's CA store: ~70 ms of the proxy's ~0.5 s start (issue 12), for contexts ccm never
uses, since every connection gets this module's context. While aiohttp is imported, the verifying one is
this very context (certifi's CAs, as httpx uses) and the non-verifying one skips loading CAs it would
never check. Nothing else changes, and nothing changes at all when aiohttp was imported before.
"""

from __future__ import annotations

import ssl
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

_CONTEXT: list[ssl.SSLContext] = []


def context() -> ssl.SSLContext:
    """httpx's default context (certifi's CAs, SSL_CERT_FILE honoured), made once per process (~30 ms and
    ~1 MiB each): every upstream connection verifies against the same roots."""
    if not _CONTEXT:
        _CONTEXT.append(httpx.create_ssl_context())
    return _CONTEXT[0]


@contextmanager
def aiohttp_defaults_shared() -> Iterator[None]:
    if "aiohttp.connector" in sys.modules:
        yield
        return
    shared = context()
    create, load_paths = ssl.create_default_context, ssl.SSLContext.set_default_verify_paths

    def create_default(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        return shared if not args and not kwargs else create(*args, **kwargs)

    ssl.create_default_context = create_default
    ssl.SSLContext.set_default_verify_paths = lambda self: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.create_default_context = create
        ssl.SSLContext.set_default_verify_paths = load_paths  # type: ignore[method-assign]
