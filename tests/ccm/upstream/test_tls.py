"""ccm.upstream.tls: the OS trust store, with SSL_CERT_FILE / SSL_CERT_DIR added to it (never in its place),
loaded off the start path; a setting that cannot be used is one line naming it, never a traceback.

Each case runs in a fresh interpreter: the store is loaded once per process, and what is under test is
when and from where. The https upstream is a real TLS server on 127.0.0.1 with a certificate made for the
test (which no OS store trusts).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

# One https request through the proxy's upstream client, to a TLS server in the same process. Prints the
# CAs in the shared context before and after the request, then "200" or the exception and its message.
SCRIPT = textwrap.dedent(
    """
    import asyncio, logging, ssl, sys
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s", stream=sys.stdout)
    from ccm.upstream import tls
    from ccm.upstream.client import make_client

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
        client = make_client()
        try:
            response = await client.post(f"https://127.0.0.1:{port}/v1/x", content=b"{}")
            print("answer", response.status_code)
        except Exception as exc:
            print("answer", type(exc).__name__, exc)
        finally:
            await client.aclose()
            server.close()
        print("after", tls.context().cert_store_stats()["x509_ca"])

    asyncio.run(main())
    """
)


def _run(cert: tuple[Path, Path], **env: str) -> tuple[dict[str, str], list[str]]:
    base = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    base.update(PYTHONPATH=str(ROOT), NO_PROXY="*", **env)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(cert[0]), str(cert[1])],
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
    lines = done.stdout.splitlines()
    out = dict(line.split(" ", 1) for line in lines if line.split(" ", 1)[0] in ("before", "answer", "after"))
    return out, [line for line in lines if line.startswith("WARNING")]


def test_ssl_cert_file_is_added_to_the_os_store_which_loads_at_the_first_https_request(
    cert: tuple[Path, Path],
) -> None:
    out, warnings = _run(cert, SSL_CERT_FILE=str(cert[0]))
    assert (out["before"], out["answer"]) == ("0", "200") and not warnings
    assert int(out["after"]) > 50  # the OS store's roots are there too: the file was added, not put in place


def test_without_the_certificate_the_upstream_is_refused(cert: tuple[Path, Path]) -> None:
    out, warnings = _run(cert)
    assert out["answer"].startswith("ConnectError") and "CERTIFICATE_VERIFY_FAILED" in out["answer"]
    assert int(out["after"]) > 50 and not warnings


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to name the folder's files")
def test_ssl_cert_dir_is_added_too(cert: tuple[Path, Path], tmp_path: Path) -> None:
    name = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(cert[0])], capture_output=True, text=True)
    (tmp_path / f"{name.stdout.strip()}.0").write_bytes(cert[0].read_bytes())
    out, warnings = _run(cert, SSL_CERT_DIR=f"{tmp_path}{os.pathsep}{tmp_path / 'missing'}")
    assert out["answer"] == "200"
    assert warnings == [
        f"WARNING SSL_CERT_DIR={tmp_path / 'missing'}: no such folder; ignored (the OS trust store is still used)"
    ]


@pytest.mark.parametrize("what", ["missing", "not a certificate"])
def test_a_trust_setting_that_cannot_be_used_is_one_line_naming_it(
    cert: tuple[Path, Path], tmp_path: Path, what: str
) -> None:
    path = tmp_path / "corporate.pem"
    if what != "missing":
        path.write_text("not a certificate\n")
    out, warnings = _run(cert, SSL_CERT_FILE=str(path))
    assert len(warnings) == 1 and f"SSL_CERT_FILE={path}: " in warnings[0], warnings
    assert ("no such file" if what == "missing" else "not usable as certificates") in warnings[0]
    assert out["answer"].startswith("ConnectError") and f"SSL_CERT_FILE={path}" in out["answer"]  # and in the error
    assert int(out["after"]) > 50  # the OS store still serves


def test_preload_fills_the_store_in_the_background() -> None:
    script = "from ccm.upstream import tls\ntls.preload()\nimport threading\n"
    script += "[t.join() for t in threading.enumerate() if t.name == 'ccm-tls-preload']\n"
    script += "print(tls.context().cert_store_stats()['x509_ca'] > 50)"
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True
    )
    assert done.stdout == b"True\n", done.stderr.decode()
