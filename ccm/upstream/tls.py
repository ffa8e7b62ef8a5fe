"""The one TLS context of the process's upstream calls: made at once, its CA store loaded off the start path.

Loading certifi's CA store takes ~40 ms of this VM's ~0.45 s start (issue 12: startup <= 0.5 s), and a
proxy whose providers are all plain http (a local model, a corporate gateway on loopback) never needs it.
So the context is made bare at import, with exactly httpx's settings, and its CAs are loaded into that same
object later: in a worker thread once the server is up (`preload`, when some provider uses https), or at
the latest by the first connection that could need them (`loaded`, called by the transport before any
https or proxied request). A context without CAs verifies nothing successfully, so a missed call fails
closed, never open.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading


def _bare() -> ssl.SSLContext:
    """`ssl.create_default_context()`'s settings for a client, without its CA load."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED are its defaults
    if sys.version_info >= (3, 13):
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        ctx.keylog_filename = keylog
    return ctx


_CONTEXT = _bare()
_LOCK = threading.Lock()
_LOADED = False


def context() -> ssl.SSLContext:
    """The shared context, CAs loaded or not: for connectors made before the first connection."""
    return _CONTEXT


def loaded() -> ssl.SSLContext:
    """The shared context with httpx's CA store in it (SSL_CERT_FILE, then SSL_CERT_DIR, then certifi's),
    loaded once per process (~40 ms and ~1 MiB): every upstream connection verifies against the same roots."""
    global _LOADED
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                if os.environ.get("SSL_CERT_FILE"):
                    _CONTEXT.load_verify_locations(cafile=os.environ["SSL_CERT_FILE"])
                elif os.environ.get("SSL_CERT_DIR"):
                    _CONTEXT.load_verify_locations(capath=os.environ["SSL_CERT_DIR"])
                else:
                    import certifi

                    _CONTEXT.load_verify_locations(cafile=certifi.where())
                _LOADED = True
    return _CONTEXT


def preload() -> None:
    """Load the CA store in a worker thread (OpenSSL parses it with the GIL released), so the first https
    request finds it ready and the server's start never waits for it."""
    if not _LOADED:
        # Not a daemon: a process stopped in its first ~50 ms (SIGTERM right after start) waits for the load
        # to end before exit, since OpenSSL's exit-time cleanup under a running load crashes the process.
        threading.Thread(target=loaded, name="ccm-tls-preload").start()
