"""A fake auth.openai.com on 127.0.0.1 (reached through CCM_OAUTH_OPENAI_ISSUER): authorize, token, device.

    with FakeAuth() as auth:
        monkeypatch.setenv("CCM_OAUTH_OPENAI_ISSUER", auth.url)
        auth.refresh_error = (400, {"error": "invalid_grant"})   # the next refreshes fail like this
        auth.refreshes                                           # refresh requests received

`GET /oauth/authorize` checks the client id, PKCE method, scope and redirect URI like the real app, then
redirects to `redirect_uri?code=…&state=…` (the browser's part: a test follows that redirect). The token
endpoint checks the verifier against the challenge, and rotates the refresh token on every refresh: an old
one is refused with `refresh_token_reused`, as OpenAI does.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.upstream import FakeUpstream, Received, Reply

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
ALLOWED_REDIRECTS = ("http://localhost:1455/auth/callback", "http://localhost:1457/auth/callback")
ACCOUNT_ID = "acct-0a1b2c3d4e5f"


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def id_token(account: str = ACCOUNT_ID) -> str:
    return jwt({"email": "user@example.com", "https://api.openai.com/auth": {"chatgpt_account_id": account}})


class FakeAuth:
    def __init__(self, expires_in: int = 3600) -> None:
        self.up = FakeUpstream().script(Reply(handler=self._handle))
        self.url = self.up.url
        self.expires_in = expires_in
        self.refresh_delay = 0.0
        """Seconds each refresh takes (so concurrent callers really overlap)."""
        self.refresh_error: tuple[int, Any] | None = None
        self.device_pending = 1
        """Device-token polls answered 403 (not approved yet) before the code is granted."""
        self.refreshes = 0
        self.exchanges = 0
        self.refresh_bodies: list[Any] = []
        self._codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        self.valid_refresh = ""
        self.access = ""

    # -- what tests use ------------------------------------------------------------------------------
    def issue(self) -> dict[str, Any]:
        """A fresh token answer (the one a login gets); also what the fake then accepts."""
        n = next(self._serial)
        self.access = f"access-{n}-" + "x" * 40
        self.valid_refresh = f"refresh-{n}-" + "y" * 40
        return {
            "access_token": self.access,
            "refresh_token": self.valid_refresh,
            "id_token": id_token(),
            "expires_in": self.expires_in,
            "token_type": "Bearer",
        }

    def redirect_for(self, authorize_url: str) -> str:
        """Play the user approving the login: the Location the issuer redirects the browser to."""
        import httpx

        response = httpx.get(authorize_url, follow_redirects=False, trust_env=False)
        assert response.status_code == 302, response.text
        return str(response.headers["location"])

    # -- the server ------------------------------------------------------------------------------------
    def _handle(self, rec: Received) -> Reply:
        url = urlsplit(rec.path)
        if rec.method == "GET" and url.path == "/oauth/authorize":
            return self._authorize({k: v[0] for k, v in parse_qs(url.query).items()})
        if rec.method == "POST" and url.path == "/oauth/token":
            if rec.headers.get("content-type", "").startswith("application/json"):
                return self._refresh(rec.json)
            form = {k: v[0] for k, v in parse_qs(rec.body.decode()).items()}
            return self._exchange(form)
        if rec.method == "POST" and url.path == "/api/accounts/deviceauth/usercode":
            if (rec.json or {}).get("client_id") != CLIENT_ID:
                return Reply(400, json={"error": "invalid_client"})
            return Reply(200, json={"device_auth_id": "dev-1", "user_code": "ABCD-1234", "interval": "0.05"})
        if rec.method == "POST" and url.path == "/api/accounts/deviceauth/token":
            if rec.json != {"device_auth_id": "dev-1", "user_code": "ABCD-1234"}:
                return Reply(400, json={"error": "bad_device_code"})
            with self._lock:
                if self.device_pending > 0:
                    self.device_pending -= 1
                    return Reply(403, json={"error": "authorization_pending"})
            verifier = "device-verifier-" + "v" * 40
            challenge = _challenge(verifier)
            self._codes["device-code"] = (challenge, f"{self.url}/deviceauth/callback")
            return Reply(
                200,
                json={"authorization_code": "device-code", "code_verifier": verifier, "code_challenge": challenge},
            )
        return Reply(404, json={"error": "not_found"})

    def _authorize(self, q: dict[str, str]) -> Reply:
        problems = [
            q.get("client_id") != CLIENT_ID and "client_id",
            q.get("response_type") != "code" and "response_type",
            q.get("code_challenge_method") != "S256" and "code_challenge_method",
            q.get("redirect_uri") not in ALLOWED_REDIRECTS and "redirect_uri",
            "offline_access" not in q.get("scope", "").split() and "scope",
            not q.get("state") and "state",
            q.get("codex_cli_simplified_flow") != "true" and "codex_cli_simplified_flow",
            q.get("originator") != "codex_cli_rs" and "originator",
        ]
        bad = [p for p in problems if p]
        if bad:
            return Reply(400, json={"error": "invalid_request", "error_description": f"bad {', '.join(bad)}"})
        code = f"code-{next(self._serial)}"
        self._codes[code] = (q["code_challenge"], q["redirect_uri"])
        location = f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}"
        return Reply(302, body=b"", headers={"location": location})

    def _exchange(self, form: dict[str, str]) -> Reply:
        entry = self._codes.pop(form.get("code", ""), None)
        if (
            entry is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("redirect_uri") != entry[1]
            or _challenge(form.get("code_verifier", "")) != entry[0]
        ):
            return Reply(400, json={"error": "invalid_grant", "error_description": "bad code or verifier"})
        with self._lock:
            self.exchanges += 1
            return Reply(200, json=self.issue())

    def _refresh(self, body: Any) -> Reply:
        with self._lock:
            self.refreshes += 1
            self.refresh_bodies.append(body)
        if self.refresh_delay:
            time.sleep(self.refresh_delay)
        with self._lock:
            if self.refresh_error is not None:
                status, payload = self.refresh_error
                return Reply(status, json=payload)
            if not isinstance(body, dict) or body.get("client_id") != CLIENT_ID:
                return Reply(400, json={"error": "invalid_client"})
            if body.get("grant_type") != "refresh_token" or body.get("refresh_token") != self.valid_refresh:
                return Reply(401, json={"error": {"code": "refresh_token_reused", "message": "already used"}})
            return Reply(200, json=self.issue())

    def __enter__(self) -> FakeAuth:
        self.up.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.up.stop()


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
