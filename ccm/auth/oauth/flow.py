"""The ChatGPT login as the Codex CLI does it: authorize URL, code exchange, refresh, device code.

Three ways to get a code, one exchange:
- browser: a CallbackServer on 127.0.0.1:1455 (1457) receives the redirect (`BrowserLogin`);
- `--no-browser`: the user pastes the redirect URL (or just the code): `code_from_paste`;
- `--device`: the device-code flow, for SSH sessions: `device_login`.

    login = BrowserLogin.start()            # serving; login.url is what the browser opens
    token = await login.finish(client)      # waits for the callback (5 min), exchanges the code

The issuer is `$CCM_OAUTH_OPENAI_ISSUER` (tests point it at a fake), else https://auth.openai.com.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from ccm.auth.oauth import tokens
from ccm.auth.oauth.callback import CALLBACK_PORTS, CallbackServer, LoginError, redirect_uri
from ccm.auth.oauth.pkce import Pkce, new_pkce, new_state

__all__ = [
    "CALLBACK_PORTS",
    "CLIENT_ID",
    "BrowserLogin",
    "LoginError",
    "RefreshError",
    "authorize_url",
    "code_from_paste",
    "device_login",
    "exchange",
    "issuer",
    "refresh",
]

CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
"""The Codex CLI's public OAuth app, which OpenAI lets other tools use for ChatGPT logins."""
SCOPE = "openid profile email offline_access api.connectors.read api.connectors.invoke"
ORIGINATOR = "codex_cli_rs"
DEFAULT_ISSUER = "https://auth.openai.com"
LOGIN_TIMEOUT_S = 300.0
DEVICE_TIMEOUT_S = 900.0
PERMANENT_REFRESH_ERRORS = frozenset(
    {"invalid_grant", "refresh_token_expired", "refresh_token_reused", "refresh_token_invalidated"}
)
TIMEOUT = httpx.Timeout(10.0, read=30.0)


class RefreshError(Exception):
    """A refresh that failed; `permanent` when the issuer refused the refresh token for good."""

    def __init__(self, message: str, *, permanent: bool, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code


def issuer() -> str:
    return (os.environ.get("CCM_OAUTH_OPENAI_ISSUER") or DEFAULT_ISSUER).rstrip("/")


def authorize_url(redirect: str, pkce: Pkce, state: str) -> str:
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect,
        "scope": SCOPE,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "id_token_add_organizations": "true",
        "codex_cli_simplified_flow": "true",
        "state": state,
        "originator": ORIGINATOR,
    }
    return f"{issuer()}/oauth/authorize?{urlencode(query)}"


def _error_code(response: httpx.Response) -> tuple[str | None, str]:
    """(code, readable text) of an OAuth error answer: `error.code`, `error` or `code`, as Codex reads it."""
    try:
        data = response.json()
    except ValueError:
        return None, response.text[:200] or f"HTTP {response.status_code}"
    if not isinstance(data, dict):
        return None, f"HTTP {response.status_code}"
    err = data.get("error")
    if isinstance(err, dict):
        code = err.get("code") or err.get("type")
        text = err.get("message") or code
    else:
        code = err or data.get("code")
        text = data.get("error_description") or data.get("message") or code
    return (str(code) if code else None), str(text or f"HTTP {response.status_code}")


async def _post(client: httpx.AsyncClient, path: str, **kw: Any) -> httpx.Response:
    try:
        return await client.post(f"{issuer()}{path}", timeout=TIMEOUT, **kw)
    except httpx.HTTPError as exc:
        raise LoginError(f"cannot reach {issuer()} ({type(exc).__name__})") from None


async def exchange(client: httpx.AsyncClient, code: str, verifier: str, redirect: str) -> tokens.Token:
    """Trade an authorization code for tokens (form-encoded, as the Codex CLI sends it)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": CLIENT_ID,
        "code_verifier": verifier,
    }
    response = await _post(client, "/oauth/token", data=form)
    if response.status_code != 200:
        _, text = _error_code(response)
        raise LoginError(f"the code exchange was refused ({response.status_code}: {text})", hint="log in again")
    try:
        return tokens.from_answer(response.json())
    except (ValueError, KeyError, TypeError):
        raise LoginError("the code exchange answered without access and refresh tokens") from None


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> dict[str, Any]:
    """One refresh (JSON body, as Codex sends it); the answer's fields, or RefreshError."""
    body = {"client_id": CLIENT_ID, "grant_type": "refresh_token", "refresh_token": refresh_token}
    try:
        response = await client.post(f"{issuer()}/oauth/token", json=body, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise RefreshError(f"the token endpoint did not answer ({type(exc).__name__})", permanent=False) from None
    if response.status_code == 200:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("access_token"):
            return data
        raise RefreshError("the token endpoint answered without an access token", permanent=False)
    code, text = _error_code(response)
    permanent = response.status_code == 401 or code in PERMANENT_REFRESH_ERRORS
    return_code = code or str(response.status_code)
    raise RefreshError(f"refresh refused ({response.status_code} {text})", permanent=permanent, code=return_code)


def code_from_paste(text: str, state: str) -> str:
    """The code in what the user pasted: the whole redirect URL (its `state` is checked) or the code."""
    text = text.strip()
    if not text:
        raise LoginError("nothing was pasted", hint="paste the URL your browser was sent to")
    if "://" not in text and "code=" not in text:
        return text
    query = {k: v[0] for k, v in parse_qs(urlsplit(text).query if "://" in text else text).items()}
    if query.get("state") != state:
        raise LoginError("the pasted URL belongs to another login (its state does not match)", hint="log in again")
    if "error" in query:
        raise LoginError(f"the login was refused: {query.get('error_description') or query['error']}")
    if not query.get("code"):
        raise LoginError("the pasted URL carries no code")
    return query["code"]


@dataclass
class BrowserLogin:
    """A login waiting for its redirect; `url` goes to the browser, `finish` exchanges the code."""

    url: str
    pkce: Pkce
    state: str
    redirect: str
    server: CallbackServer | None

    @classmethod
    def start(cls, *, serve: bool = True, ports: tuple[int, ...] = CALLBACK_PORTS) -> BrowserLogin:
        """Start the callback server (or, `serve=False`, none: the code will be pasted)."""
        pkce, state = new_pkce(), new_state()
        server = CallbackServer(state, ports).start() if serve else None
        redirect = server.redirect_uri if server else redirect_uri(ports[0])
        return cls(authorize_url(redirect, pkce, state), pkce, state, redirect, server)

    async def wait_code(self, timeout: float = LOGIN_TIMEOUT_S) -> str:
        assert self.server is not None, "a pasted login has no server to wait for"
        return await asyncio.to_thread(self.server.wait, timeout)

    async def finish(
        self, client: httpx.AsyncClient, code: str | None = None, timeout: float = LOGIN_TIMEOUT_S
    ) -> tokens.Token:
        """Exchange `code` (pasted), or the one the callback server receives within `timeout`."""
        if code is None:
            code = await self.wait_code(timeout)
        return await exchange(client, code, self.pkce.verifier, self.redirect)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def device_login(
    client: httpx.AsyncClient, show: Callable[[str, str], None], timeout: float = DEVICE_TIMEOUT_S
) -> tokens.Token:
    """The device-code flow: `show(url, user_code)` tells the user where to go, then we poll."""
    response = await _post(client, "/api/accounts/deviceauth/usercode", json={"client_id": CLIENT_ID})
    if response.status_code != 200:
        _, text = _error_code(response)
        raise LoginError(f"the device login was refused ({response.status_code}: {text})")
    data = response.json()
    device_id = str(data.get("device_auth_id") or "")
    user_code = str(data.get("user_code") or data.get("usercode") or "")
    if not device_id or not user_code:
        raise LoginError("the device login answered without a device code")
    try:
        interval = max(0.0, float(data.get("interval") or 5))
    except (TypeError, ValueError):
        interval = 5.0
    show(f"{issuer()}/codex/device", user_code)
    deadline = time.monotonic() + timeout
    poll = {"device_auth_id": device_id, "user_code": user_code}
    while True:
        response = await _post(client, "/api/accounts/deviceauth/token", json=poll)
        if response.status_code == 200:
            break
        if response.status_code not in (403, 404):  # 403/404: the user has not approved yet
            _, text = _error_code(response)
            raise LoginError(f"the device login was refused ({response.status_code}: {text})")
        if time.monotonic() + interval > deadline:
            raise LoginError(f"the device code was not approved within {timeout / 60:g} minutes")
        await asyncio.sleep(interval)
    granted = response.json()
    try:
        code, verifier = str(granted["authorization_code"]), str(granted["code_verifier"])
    except (KeyError, TypeError):
        raise LoginError("the device login answered without an authorization code") from None
    return await exchange(client, code, verifier, f"{issuer()}/deviceauth/callback")
