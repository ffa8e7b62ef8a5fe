"""Google application default credentials (auth_type "adc", vertex-ai's default) as bearer tokens.

    tokens = AdcTokens()
    token = await tokens.token(provider)     # a Google access token, or CredentialError
    problem = check(provider)                # one line for start-up logging / `ccm config validate`

The file is the provider's `credentials_file`, else `$GOOGLE_APPLICATION_CREDENTIALS`, else gcloud's
(`gcloud auth application-default login` writes it). Service-account and authorized-user files both
work: google-auth signs the JWT or spends the refresh token at the file's `token_uri`. A token is reused
until 5 minutes before it expires, and one refresh at a time runs per file (ten waiting requests cause
one fetch). google-auth is synchronous, so its refresh runs in a thread, over httpx (no `requests`).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ccm.auth.credentials import CredentialError
from config.schema import ProviderConfig

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
REFRESH_MARGIN_S = 300.0
#: A token whose expiry google-auth does not know is kept this long.
UNKNOWN_LIFETIME_S = 3000.0
FIX = "run `gcloud auth application-default login`, or set credentials_file to a service-account key"
_KNOWN_TYPES = ("service_account", "authorized_user")


def credentials_path(provider: ProviderConfig) -> Path:
    if provider.credentials_file:
        return Path(provider.credentials_file).expanduser()
    env = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if env:
        return Path(env).expanduser()
    return gcloud_adc_file()


def gcloud_adc_file() -> Path:
    """Where `gcloud auth application-default login` writes (CLOUDSDK_CONFIG moves gcloud's folder)."""
    config = os.environ.get("CLOUDSDK_CONFIG")
    if config:
        return Path(config).expanduser() / "application_default_credentials.json"
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "gcloud" / "application_default_credentials.json"
    return Path.home() / ".config" / "gcloud" / "application_default_credentials.json"


def _read(provider: ProviderConfig, path: Path) -> dict[str, Any]:
    """The file's JSON, or CredentialError naming the file and the fix."""
    where = f"provider '{provider.name}': Google credentials file {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CredentialError(f"{where} does not exist: {FIX}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(f"{where} cannot be read ({exc.__class__.__name__}): {FIX}") from None
    except ValueError:
        raise CredentialError(f"{where} is not valid JSON: {FIX}") from None
    if not isinstance(data, dict) or data.get("type") not in _KNOWN_TYPES:
        kind = data.get("type") if isinstance(data, dict) else None
        raise CredentialError(f"{where} is not a credentials file ({kind or 'no type'}): {FIX}")
    return data


def check(provider: ProviderConfig) -> str | None:
    """A one-line problem with this provider's Google credentials file, or None when it looks usable."""
    try:
        _read(provider, credentials_path(provider))
    except CredentialError as exc:
        return exc.message
    return None


class _Response:
    """google.auth.transport.Response over an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers = dict(response.headers)
        self.data = response.content


class HttpxRequest:
    """google.auth.transport.Request over a synchronous httpx client, so google-auth needs no `requests`."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> _Response:
        from google.auth import exceptions

        try:
            response = self._client.request(
                method, url, content=body, headers=dict(headers or {}), timeout=timeout or 30
            )
        except httpx.HTTPError as exc:
            raise exceptions.TransportError(f"{exc.__class__.__name__}: {exc}") from exc  # type: ignore[no-untyped-call]
        return _Response(response)


def _load(provider: ProviderConfig, path: Path) -> Any:
    """google-auth credentials for the file, by its declared type (never a generic loader: a file of
    another type could make google-auth run a command or fetch a URL it names)."""
    from google.auth import exceptions
    from google.oauth2 import credentials, service_account

    info = _read(provider, path)
    try:
        if info["type"] == "service_account":
            return service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))  # type: ignore[no-untyped-call]
        if info["type"] == "authorized_user":
            # Built by hand: from_authorized_user_info ignores the file's token_uri.
            return credentials.Credentials(  # type: ignore[no-untyped-call]
                None,
                refresh_token=info["refresh_token"],
                token_uri=info.get("token_uri") or GOOGLE_TOKEN_URI,
                client_id=info["client_id"],
                client_secret=info["client_secret"],
                scopes=list(SCOPES),
                quota_project_id=info.get("quota_project_id"),
            )
    except (exceptions.GoogleAuthError, ValueError, KeyError) as exc:
        raise CredentialError(
            f"provider '{provider.name}': Google credentials file {path} is not usable ({exc}): {FIX}"
        ) from None
    raise CredentialError(
        f"provider '{provider.name}': Google credentials file {path} is of type {info['type']!r}, which ccm does "
        f"not use: {FIX}"
    )


@dataclass(slots=True)
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    credentials: Any = None
    signature: tuple[float, int] | None = None
    token: str | None = None
    expires_at: float = 0.0

    def fresh(self, now: float) -> bool:
        return self.token is not None and now < self.expires_at - REFRESH_MARGIN_S


class AdcTokens:
    """Access tokens per credentials file, cached and refreshed one fetch at a time."""

    def __init__(self, *, timeout_s: float = 30.0) -> None:
        self._entries: dict[str, _Entry] = {}
        self._timeout_s = timeout_s

    async def token(self, provider: ProviderConfig) -> str:
        path = credentials_path(provider)
        entry = self._entries.setdefault(str(path), _Entry())
        if entry.fresh(time.time()):
            assert entry.token is not None
            return entry.token
        async with entry.lock:
            if not entry.fresh(time.time()):
                await asyncio.to_thread(self._refresh, provider, path, entry)
        assert entry.token is not None
        return entry.token

    def _refresh(self, provider: ProviderConfig, path: Path, entry: _Entry) -> None:
        from google.auth import exceptions

        try:
            stat = path.stat()
            signature: tuple[float, int] | None = (stat.st_mtime, stat.st_size)
        except OSError:
            signature = None
        if entry.credentials is None or signature != entry.signature:
            entry.credentials, entry.signature = _load(provider, path), signature
        with httpx.Client(timeout=self._timeout_s) as client:
            try:
                entry.credentials.refresh(HttpxRequest(client))
            except exceptions.TransportError as exc:
                raise CredentialError(
                    f"provider '{provider.name}': Google's token endpoint did not answer ({exc})", 503, transient=True
                ) from None
            except exceptions.RefreshError as exc:
                transient = bool(getattr(exc, "retryable", False))
                raise CredentialError(
                    f"provider '{provider.name}': Google refused the credentials in {path} ({exc}): {FIX}",
                    503 if transient else 401,
                    transient=transient,
                ) from None
        token = entry.credentials.token
        if not isinstance(token, str) or not token:
            raise CredentialError(f"provider '{provider.name}': Google returned no access token for {path}")
        expiry = entry.credentials.expiry
        if expiry is not None:
            from datetime import UTC

            entry.expires_at = expiry.replace(tzinfo=UTC).timestamp()
        else:
            entry.expires_at = time.time() + UNKNOWN_LIFETIME_S
        entry.token = token
