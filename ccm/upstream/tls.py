"""The TLS context of every upstream connection: the OS trust store, plus SSL_CERT_FILE and SSL_CERT_DIR.

Where the OS verifies certificates itself (macOS, Windows), the context is truststore's: the handshake is
checked by the OS against its own store, where a company's root certificate is usually installed. On
Linux and the BSDs the OS store is OpenSSL's own files, which this module loads into a standard context
once; truststore's OpenSSL backend loads the same files, but again for every new connection (about 30 ms
on the event loop each, and on OpenSSL 3.0-3.3 an ever longer search:
https://github.com/sethmlarson/truststore/issues/212), which a long-running proxy cannot afford.

SSL_CERT_FILE (a PEM bundle) and SSL_CERT_DIR (folders of certificates, `:`-separated) are added to the OS
store, never in its place, so a corporate proxy's root certificate can be trusted beside the public ones.
A setting that cannot be used (no such file, not a certificate) is logged once, in one line naming it,
and named again in the error of an attempt whose certificate check then fails.

The context is made bare at once and its certificates loaded off the start path: in a worker thread
once the server is up (`preload`, when some provider uses https), or at the latest by the first
connection that needs them (`loaded`). A context without certificates verifies nothing successfully, so a
missed call fails closed, never open.
"""

from __future__ import annotations

import logging
import os
import ssl
import sys
import threading
from pathlib import Path

log = logging.getLogger("ccm.upstream")

_OS_VERIFIES = sys.platform in ("darwin", "win32")
# Where the OS keeps its bundle when OpenSSL's compiled-in default is missing (the list truststore uses,
# after https://github.com/tiran/certifi-system-store).
_CA_FILES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)

_lock = threading.Lock()
_context: ssl.SSLContext | None = None
_loaded = False
problems: list[str] = []
"""The SSL_CERT_FILE / SSL_CERT_DIR settings that could not be used, one line each."""


def _bare() -> ssl.SSLContext:
    if _OS_VERIFIES:
        import truststore

        ctx: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # check_hostname and CERT_REQUIRED are its defaults
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        ctx.keylog_filename = keylog
    return ctx


def context() -> ssl.SSLContext:
    """The shared context, certificates loaded or not."""
    global _context
    if _context is None:
        with _lock:
            if _context is None:
                _context = _bare()
    return _context


def loaded() -> ssl.SSLContext:
    """The shared context with the OS store and the environment's certificates in it, loaded once."""
    global _loaded
    ctx = context()
    if not _loaded:
        with _lock:
            if not _loaded:
                if not _OS_VERIFIES:
                    _load_os_store(ctx)
                _load_environment(ctx)
                _loaded = True
    return ctx


def preload() -> None:
    """Load the certificates in a worker thread (OpenSSL parses them with the GIL released), so the first
    https request finds them ready and the server's start never waits for them."""
    if not _loaded:
        # Not a daemon: a process stopped in its first ~50 ms (SIGTERM right after start) waits for the load
        # to end before exit, since OpenSSL's exit-time cleanup under a running load crashes the process.
        threading.Thread(target=loaded, name="ccm-tls-preload").start()


def _load_os_store(ctx: ssl.SSLContext) -> None:
    """OpenSSL's compiled-in bundle and folder (whatever SSL_CERT_FILE / SSL_CERT_DIR say: those are added
    after), or the first bundle of the usual places when the compiled-in one is missing."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    if cafile is None:
        cafile = next((f for f in _CA_FILES if os.path.isfile(f)), None)
    if cafile is None and capath is None:
        log.warning("no trust store found on this system: https upstreams will fail (set SSL_CERT_FILE)")
        return
    ctx.load_verify_locations(cafile=cafile, capath=capath)


def _load_environment(ctx: ssl.SSLContext) -> None:
    file = os.environ.get("SSL_CERT_FILE")
    if file:
        _add(ctx, "SSL_CERT_FILE", file, Path(file))
    for folder in filter(None, os.environ.get("SSL_CERT_DIR", "").split(os.pathsep)):
        _add(ctx, "SSL_CERT_DIR", folder, Path(folder))


def _add(ctx: ssl.SSLContext, name: str, value: str, path: Path) -> None:
    try:
        if path.is_dir():
            # OpenSSL looks a folder up by hashed names; the OS-verified contexts only trust what was
            # loaded, so each file is loaded as a bundle there.
            if _OS_VERIFIES:
                for each in sorted(path.iterdir()):
                    if each.is_file():
                        ctx.load_verify_locations(cafile=str(each))
            else:
                ctx.load_verify_locations(capath=str(path))
        elif name == "SSL_CERT_DIR":
            raise FileNotFoundError("no such folder")
        else:
            ctx.load_verify_locations(cafile=str(path))
    except FileNotFoundError:
        _problem(f"{name}={value}: no such {'folder' if name == 'SSL_CERT_DIR' else 'file'}")
    except (OSError, ssl.SSLError) as exc:
        _problem(f"{name}={value}: not usable as certificates ({getattr(exc, 'reason', None) or exc})")


def _problem(line: str) -> None:
    text = f"{line}; ignored (the OS trust store is still used)"
    problems.append(text)
    log.warning("%s", text)
