"""The one-shot callback server of a browser login: 127.0.0.1:1455 (1457 when taken), `/auth/callback`.

It answers the browser's redirect, checks `state`, and stops after one code, one error from the issuer,
or the deadline. A request with the wrong `state` (a stale tab, another site) is refused with 400 and
the server keeps waiting for the right one.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from config.errors import CcmError

CALLBACK_PORTS = (1455, 1457)
"""The ports the Codex CLI's app allows in its redirect URI (keep in sync with its allow-list)."""
CALLBACK_PATH = "/auth/callback"

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>ccm</title></head>
<body style="font-family: sans-serif; margin: 3em"><h2>{title}</h2><p>{text}</p></body></html>"""


class LoginError(CcmError):
    """A login that did not produce a token: refused, timed out, or the ports were taken."""


def redirect_uri(port: int) -> str:
    """Exactly what the app's allow-list holds: `localhost`, not 127.0.0.1."""
    return f"http://localhost:{port}{CALLBACK_PATH}"


class CallbackServer:
    """Serves the redirect in a thread; `wait()` returns the code (or raises LoginError)."""

    def __init__(self, state: str, ports: Sequence[int] = CALLBACK_PORTS) -> None:
        self.state = state
        self.code: str | None = None
        self.error: str | None = None
        self.refused = 0
        """Callbacks refused for a wrong `state`."""
        self._done = threading.Event()
        self._server = self._bind(ports)
        self.port = int(self._server.server_address[1])
        self.redirect_uri = redirect_uri(self.port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ccm-oauth-callback", daemon=True
        )

    def _bind(self, ports: Sequence[int]) -> ThreadingHTTPServer:
        handler = _handler(self)
        for port in ports:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", port), handler)
            except OSError:
                continue
            server.daemon_threads = True
            return server
        taken = " and ".join(str(p) for p in ports)
        raise LoginError(
            f"cannot serve the login callback: port {taken} {'is' if len(ports) == 1 else 'are'} taken",
            hint="log in with --no-browser (paste the redirect) or --device",
        )

    def start(self) -> CallbackServer:
        self._thread.start()
        return self

    def _finish(self, code: str | None, error: str | None) -> None:
        self.code, self.error = code, error
        self._done.set()

    def wait(self, timeout: float) -> str:
        """The code, once it arrives; the server is closed whatever happens."""
        try:
            if not self._done.wait(timeout):
                minutes = f"{timeout / 60:g} minutes" if timeout >= 60 else f"{timeout:g} s"
                raise LoginError(f"no login arrived within {minutes}", hint="run the login again")
            if self.error or not self.code:
                raise LoginError(f"the login was refused: {self.error or 'no code in the callback'}")
            return self.code
        finally:
            self.close()

    def cancel(self) -> None:
        """End a wait at once (the user gave up on this login)."""
        if not self._done.is_set():
            self._finish(None, "cancelled")

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


def _handler(owner: CallbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # the query holds the code: never logged
            pass

        def _page(self, status: int, title: str, text: str) -> None:
            body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
            self.send_response(status)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != CALLBACK_PATH or owner._done.is_set():
                self._page(404, "Not found", "This is ccm's login callback; nothing else is served here.")
                return
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if query.get("state") != owner.state:
                owner.refused += 1
                self._page(400, "Login refused", "The state does not match the login ccm started.")
                return
            if "error" in query:
                why = query.get("error_description") or query["error"]
                self._page(200, "Login failed", f"{why}. Return to the terminal.")
                owner._finish(None, why)
                return
            code = query.get("code")
            if not code:
                self._page(400, "Login refused", "The callback carried no code.")
                return
            self._page(200, "Logged in", "ccm received your login. You can close this tab.")
            owner._finish(code, None)

    return Handler
