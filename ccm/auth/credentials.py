"""The credential of one upstream call, resolved in one place for dispatch, count_tokens and the check.

Adapters receive a ready `Credential` and never read config, keyring or token files themselves:

    cred = await credentials.resolve(provider, client_headers)   # Credential, or raises NoCredential
    ctx = RequestContext(candidate, cred, client_headers, ...)
    # apikey / adc / oauth: cred.secret is the key or bearer token; oauth adds cred.account_id
    # passthrough: cred.forward holds the client's own Authorization / x-api-key and identity headers
    # none: a keyless local server
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ccm.auth.redact import held
from config import keycheck
from config.schema import ProviderConfig


@dataclass(frozen=True, slots=True)
class Credential:
    kind: str
    """"none", "apikey", "passthrough", "oauth" or "adc"."""
    secret: str | None = None
    """The API key, OAuth access token or Google access token (never logged)."""
    account_id: str | None = None
    """ChatGPT's account id (`chatgpt-account-id`), for oauth."""
    forward: Mapping[str, str] = field(default_factory=dict)
    """passthrough: the client's own auth and identity headers, forwarded as they came."""


NO_CREDENTIAL = Credential("none")


def api_key(key: str | None) -> Credential:
    """An API-key credential, or none for a keyless local server."""
    return Credential("apikey", key) if key else NO_CREDENTIAL


class CredentialError(Exception):
    """No usable credential for this call: a failed attempt (never fatal), whose message says the fix.

    `status` is what the attempt counts as: 403 for a missing key or file (fail over), 401 for a refused
    login (`ccm oauth login NAME`); `transient` marks a refresh that failed for a reason that may pass
    (a network error at the token endpoint), which counts like a 5xx.
    """

    def __init__(self, message: str, status: int = 403, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient


class TokenSource(Protocol):
    """What the resolver needs of ccm.auth.oauth's token manager and ccm.auth.adc's token cache."""

    async def credential(self, provider: ProviderConfig) -> Credential: ...


class RefreshingSource(TokenSource, Protocol):
    async def force_refresh(self, provider: ProviderConfig) -> Credential: ...


class GoogleTokens(Protocol):
    """ccm.auth.adc.AdcTokens: a Google access token per credentials file, cached and refreshed."""

    async def token(self, provider: ProviderConfig) -> str: ...


#: The client's identity headers a passthrough provider receives as they came: a Claude Pro/Max login is
#: accepted only on requests that are Claude Code's own, headers included.
_IDENTITY_PREFIXES = ("anthropic-", "x-stainless-", "x-claude-code-")
_IDENTITY_NAMES = frozenset({"x-app", "user-agent"})


def _is_router_key(name: str, value: str, router_key: str | None) -> bool:
    """Whether a client's credential header carries the router key (ccm's, never Anthropic's)."""
    if not router_key:
        return False
    token = value[7:].strip() if name == "authorization" and value[:7].lower() == "bearer " else value.strip()
    return hmac.compare_digest(token.encode(), router_key.encode())


def passthrough(provider: ProviderConfig, client_headers: Mapping[str, str], router_key: str | None) -> Credential:
    """The client's own login (Claude Code's Pro/Max token), never the router key, never stored."""
    forward: dict[str, str] = {}
    for name in ("authorization", "x-api-key"):
        value = client_headers.get(name)
        if not value:
            continue
        # A header sent twice arrives joined ("stale, KEY"): each copy is judged alone, so the router key
        # never rides upstream beside another value.
        kept = [part for part in value.split(", ") if not _is_router_key(name, part, router_key)]
        if kept:
            forward[name] = ", ".join(kept)
    if not forward:
        raise CredentialError(
            f"provider '{provider.name}' forwards Claude Code's own login, but the request carried none "
            "(log in with `claude /login`)",
            401,
        )
    for name, value in client_headers.items():
        if name in _IDENTITY_NAMES or name.startswith(_IDENTITY_PREFIXES):
            forward[name] = value
    return Credential("passthrough", forward=forward)


def _forwarded_secrets(credential: Credential) -> list[str]:
    """A passthrough client's own login, as it would be quoted back (without `Bearer `, each copy)."""
    out: list[str] = []
    for name in ("authorization", "x-api-key"):
        for part in credential.forward.get(name, "").split(", "):
            out.append(part[7:].strip() if part[:7].lower() == "bearer " else part.strip())
    return out


class Resolver:
    """Resolves the credential of every upstream call: dispatch, count_tokens and the provider check.

    API keys come from the config snapshot (already resolved from file, $VAR, keyring); OAuth and Google
    tokens from their sources, which cache and refresh them (a refresh may await the network).
    """

    def __init__(self, oauth: RefreshingSource | None = None, adc: GoogleTokens | None = None) -> None:
        self.oauth = oauth
        self.adc = adc

    async def resolve(
        self,
        provider: ProviderConfig,
        keys: Mapping[str, str | None],
        client_headers: Mapping[str, str],
        router_key: str | None = None,
    ) -> Credential:
        """The credential of one call; its secret is held for redaction (ccm.auth.redact) before any use."""
        credential = await self._resolve(provider, keys, client_headers, router_key)
        held.hold(credential.secret, *_forwarded_secrets(credential))
        return credential

    async def _resolve(
        self,
        provider: ProviderConfig,
        keys: Mapping[str, str | None],
        client_headers: Mapping[str, str],
        router_key: str | None,
    ) -> Credential:
        auth = provider.auth_type
        if auth == "passthrough":
            return passthrough(provider, client_headers, router_key)
        if auth == "oauth":
            if self.oauth is None:
                raise CredentialError(f"provider '{provider.name}': OAuth is not available in this process")
            return await self.oauth.credential(provider)
        if auth == "adc":
            if self.adc is None:
                raise CredentialError(f"provider '{provider.name}': Google credentials are not available")
            return Credential("adc", await self.adc.token(provider))
        key = keys.get(provider.name.lower())
        if key:
            return Credential("apikey", key)
        problem = keycheck.missing_key(provider, key)
        if problem is None:
            return NO_CREDENTIAL  # a local server that needs no key (an explicit `$VAR` unset is missing)
        raise CredentialError(problem)

    async def refresh(self, provider: ProviderConfig) -> Credential | None:
        """After an upstream 401 on an OAuth credential: one forced refresh (None when not OAuth)."""
        if provider.auth_type == "oauth" and self.oauth is not None:
            return await self.oauth.force_refresh(provider)
        return None
