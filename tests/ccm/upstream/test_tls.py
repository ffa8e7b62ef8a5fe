"""ccm.upstream.tls: the CA store loads off the start path, yet every TLS connection still verifies against it.

Each case runs in a fresh interpreter: the store is loaded once per process, and what is under test is
when that happens (never at import; before the first https request; from SSL_CERT_FILE when it is set).
The https upstream is a real TLS server on 127.0.0.1 with a certificate made for the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


# One https request through the proxy's own upstream client, to a TLS server in the same process; prints
# the CAs in the shared context before the request, then "200" or the exception's class.
SCRIPT = textwrap.dedent(
    """
    import asyncio, ssl, sys
    from ccm.upstream import tls
    from ccm.serve.app import upstream_client

    async def main():
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(sys.argv[1], sys.argv[2])

        async def handle(reader, writer):
            await reader.readuntil(b"\\r\\n\\r\\n")
            writer.write(b"HTTP/1.1 200 OK\\r\\ncontent-length: 2\\r\\n\\r\\nok")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        print("before", tls.context().cert_store_stats()["x509_ca"])
        client = upstream_client()
        try:
            response = await client.post(f"https://127.0.0.1:{port}/v1/x", content=b"{}")
            print("answer", response.status_code)
        except Exception as exc:
            print("answer", type(exc).__name__)
        finally:
            await client.aclose()
            server.close()

    asyncio.run(main())
    """
)


def _run(cert: tuple[Path, Path], **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    base.update(PYTHONPATH=str(ROOT), NO_PROXY="*", **env)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cert[0]), str(cert[1])],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def test_importing_the_proxy_loads_no_ca_and_the_first_https_request_loads_them(cert: tuple[Path, Path]) -> None:
    out = _run(cert, SSL_CERT_FILE=str(cert[0]))
    assert out == {"before": "0", "answer": "200"}


def test_without_the_certificate_in_the_store_the_upstream_is_refused(cert: tuple[Path, Path]) -> None:
    # certifi's roots do not include the test's certificate: verification is on, so the connection fails.
    out = _run(cert)
    assert out == {"before": "0", "answer": "ConnectError"}


def test_the_loaded_context_has_httpx_settings() -> None:
    script = textwrap.dedent(
        """
        import httpx, ssl
        from ccm.upstream import tls
        ours, theirs = tls.loaded(), httpx.create_ssl_context()
        for attr in ("verify_mode", "check_hostname", "options", "verify_flags", "minimum_version", "protocol"):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
        assert ours.cert_store_stats() == theirs.cert_store_stats(), (ours.cert_store_stats(), theirs.cert_store_stats())
        assert ours.cert_store_stats()["x509_ca"] > 50
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    done = subprocess.run([sys.executable, "-c", script], env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True)
    assert done.returncode == 0 and done.stdout == b"ok\n", done.stderr.decode()


def test_preload_fills_the_store_in_the_background() -> None:
    script = "from ccm.upstream import tls\ntls.preload()\nimport threading\n"
    script += "[t.join() for t in threading.enumerate() if t.name == 'ccm-tls-preload']\n"
    script += "print(tls.context().cert_store_stats()['x509_ca'] > 50)"
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True
    )
    assert done.stdout == b"True\n", done.stderr.decode()
