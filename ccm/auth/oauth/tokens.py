"""The stored OAuth token: one compact JSON per login, in the keyring as `oauth:NAME`.

    {"type":"openai","access":"…","refresh":"…","expires_at":1767225600,"account_id":"…"}

Compact because Windows' credential store holds about 1,280 characters per secret: the id token (the
largest part of a token answer) is never stored, only the account id read from it. A value longer than
that on Windows goes straight to the 0600 file store.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from dataclasses import dataclass, replace
from typing import Any

from config import secrets
from config.schema import ProviderConfig

REFRESH_MARGIN_S = 300
"""Refresh this long before the access token expires (a request in flight must not outlive it)."""
WINDOWS_SECRET_LIMIT = 1280
AUTH_CLAIM = "https://api.openai.com/auth"


@dataclass(frozen=True, slots=True)
class Token:
    access: str
    refresh: str
    expires_at: float
    account_id: str | None = None
    type: str = "openai"

    def to_json(self) -> str:
        data = {
            "type": self.type,
            "access": self.access,
            "refresh": self.refresh,
            "expires_at": int(self.expires_at),
            "account_id": self.account_id,
        }
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Token | None:
        """None when the stored value is not a token of ours (never raises on a stranger's secret)."""
        try:
            data = json.loads(raw)
            return cls(
                access=str(data["access"]),
                refresh=str(data["refresh"]),
                expires_at=float(data["expires_at"]),
                account_id=str(data["account_id"]) if data.get("account_id") else None,
                type=str(data.get("type") or "openai"),
            )
        except (ValueError, TypeError, KeyError):
            return None

    def status(self, now: float | None = None) -> str:
        """ "active", "needs_refresh" (inside the refresh margin) or "expired"."""
        left = self.expires_at - (time.time() if now is None else now)
        if left <= 0:
            return "expired"
        return "needs_refresh" if left <= REFRESH_MARGIN_S else "active"

    def with_answer(self, answer: dict[str, Any], now: float | None = None) -> Token:
        """This token updated by a refresh answer: a rotated refresh token replaces the old one."""
        return replace(
            self,
            access=str(answer["access_token"]),
            refresh=str(answer.get("refresh_token") or self.refresh),
            expires_at=expires_at(answer, now),
            account_id=account_id(answer.get("id_token")) or self.account_id,
        )


def jwt_claims(jwt: str | None) -> dict[str, Any]:
    """A JWT's claims, unverified (the token came from the issuer over TLS; we only read fields)."""
    if not jwt or jwt.count(".") < 2:
        return {}
    part = jwt.split(".")[1]
    try:
        data = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def account_id(id_token: str | None) -> str | None:
    """ChatGPT's account id, from the id token's `https://api.openai.com/auth` claim."""
    auth = jwt_claims(id_token).get(AUTH_CLAIM)
    value = auth.get("chatgpt_account_id") if isinstance(auth, dict) else None
    return str(value) if value else None


def expires_at(answer: dict[str, Any], now: float | None = None) -> float:
    """From `expires_in`, else the access token's own `exp`, else an hour (a refresh then tells)."""
    now = time.time() if now is None else now
    expires_in = answer.get("expires_in")
    if isinstance(expires_in, int | float) and expires_in > 0:
        return now + float(expires_in)
    exp = jwt_claims(str(answer.get("access_token") or "")).get("exp")
    return float(exp) if isinstance(exp, int | float) else now + 3600


def from_answer(answer: dict[str, Any], now: float | None = None) -> Token:
    """The token of a code exchange's answer ({id_token, access_token, refresh_token, expires_in?})."""
    return Token(
        access=str(answer["access_token"]),
        refresh=str(answer["refresh_token"]),
        expires_at=expires_at(answer, now),
        account_id=account_id(answer.get("id_token")),
    )


def token_id(provider: ProviderConfig) -> str:
    """The name a provider's token is stored under: `oauth_provider`, else the provider's name."""
    return provider.oauth_provider or provider.name


def secret_name(tid: str) -> str:
    return f"oauth:{tid}"


def load(tid: str) -> Token | None:
    """The stored token (blocks on the OS keyring: call from a thread in async code)."""
    raw = secrets.store().get(secret_name(tid))
    return Token.from_json(raw) if raw else None


def save(tid: str, token: Token) -> str:
    """Store a token; returns where it went ("keyring" or "file")."""
    value = token.to_json()
    store = secrets.store()
    if sys.platform == "win32" and len(value) > WINDOWS_SECRET_LIMIT:
        store.delete(secret_name(tid))
        store.file.set(secret_name(tid), value)
        return "file"
    return store.set(secret_name(tid), value)


def delete(tid: str) -> bool:
    return secrets.store().delete(secret_name(tid))


def view(tid: str, token: Token, now: float | None = None) -> dict[str, Any]:
    """What the admin API, the CLI and the TUI show of a token: status, expiry, masked parts only."""
    return {
        "provider": tid,
        "type": token.type,
        "status": token.status(now),
        "expires_at": int(token.expires_at),
        "account_id": secrets.mask(token.account_id) if token.account_id else None,
        "access": secrets.mask(token.access),
    }
