"""TokenManager: the proxy's source of OAuth credentials (cached, refreshed once, rotation written back).

    manager = TokenManager(client)                       # one per proxy (ccm.serve.services: Services.oauth)
    cred = await manager.credential(provider)            # Credential("oauth", access, account_id=...)
    cred = await manager.force_refresh(provider, cred)   # once, after the upstream answered 401
    manager.drop(token_id)                               # a login elsewhere wrote a new token

Tokens are cached in memory; the keyring is read on first use, again just before a refresh (another
process may have logged in meanwhile) and after a 401. A refresh happens 5 minutes before expiry, one at
a time per token: ten requests that find the token stale wait for the one refresh. The refresh token
rotates, so the new one is written back before anyone uses the new access token: a refresh whose
answer were lost would log the user out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx

from ccm.auth.credentials import Credential, CredentialError
from ccm.auth.oauth import flow, tokens
from ccm.auth.oauth.tokens import REFRESH_MARGIN_S, Token
from ccm.auth.redact import held
from config.errors import SecretError
from config.schema import ProviderConfig

log = logging.getLogger("ccm.auth.oauth")

RECENT_S = 10.0
"""A token refreshed this recently is not refreshed again for a 401 (it was the request, not the token)."""


def login_hint(name: str) -> str:
    return f"run `ccm oauth login {name}`"


class TokenManager:
    def __init__(self, client: httpx.AsyncClient, *, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.clock = clock
        self.refreshes = 0
        """Refresh requests sent to the issuer since start (metrics, tests)."""
        self._tokens: dict[str, Token] = {}
        self._refreshed_at: dict[str, float] = {}
        self._refused: dict[str, str] = {}
        """token id -> the refresh token the issuer refused for good (not sent again)."""
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, tid: str) -> asyncio.Lock:
        return self._locks.setdefault(tid, asyncio.Lock())

    async def _stored(self, tid: str, label: str) -> Token:
        token = await asyncio.to_thread(tokens.load, tid)
        if token is None:
            self._tokens.pop(tid, None)
            raise CredentialError(f"provider '{label}' has no ChatGPT login: {login_hint(label)}", status=401)
        held.hold(token.access, token.refresh)  # the issuer may quote them back in an error
        return token

    def _fresh(self, token: Token) -> bool:
        return token.expires_at - self.clock() > REFRESH_MARGIN_S

    async def credential(self, provider: ProviderConfig) -> Credential:
        """The provider's current access token, refreshed first when it expires within 5 minutes."""
        tid = tokens.token_id(provider)
        token = self._tokens.get(tid)
        if token is None:
            async with self._lock(tid):
                token = self._tokens.get(tid) or await self._stored(tid, provider.name)
                self._tokens[tid] = token
        if not self._fresh(token):
            token = await self._refresh(tid, provider.name, token)
        return _credential(token)

    async def force_refresh(self, provider: ProviderConfig, failed: Credential | None = None) -> Credential:
        """A new access token after an upstream 401 on `failed` (the credential that was refused).

        Concurrent 401s share one refresh: when the cached token is no longer the one that failed, or was
        refreshed in the last few seconds, it is returned as it is.
        """
        tid = tokens.token_id(provider)
        token = self._tokens.get(tid)
        if token is None:
            return await self.credential(provider)
        if failed is not None and failed.secret != token.access:
            return _credential(token)
        return _credential(await self._refresh(tid, provider.name, token, forced=True))

    async def refresh_now(self, tid: str, label: str | None = None) -> Token:
        """Refresh a token because a person asked (`ccm oauth refresh`, the TUI): always one refresh."""
        async with self._lock(tid):
            stored = await self._stored(tid, label or tid)
            return await self._send_refresh(tid, label or tid, stored)

    async def _refresh(self, tid: str, label: str, seen: Token, *, forced: bool = False) -> Token:
        async with self._lock(tid):
            current = self._tokens.get(tid)
            if current is not None and current is not seen:
                return current  # someone refreshed (or reloaded) while we waited for the lock
            if forced and self.clock() - self._refreshed_at.get(tid, float("-inf")) < RECENT_S:
                return seen
            stored = await self._stored(tid, label)
            if stored.access != seen.access and (forced or self._fresh(stored)):
                self._tokens[tid] = stored  # another process logged in or refreshed: use its token
                return stored
            return await self._send_refresh(tid, label, stored)

    async def _send_refresh(self, tid: str, label: str, stored: Token) -> Token:
        """The refresh itself (the caller holds the token's lock); the new token is stored before use."""
        if self._refused.get(tid) == stored.refresh:
            raise CredentialError(f"the ChatGPT login of '{label}' has ended: {login_hint(label)}", status=401)
        self.refreshes += 1
        try:
            answer = await flow.refresh(self.client, stored.refresh)
        except flow.RefreshError as exc:
            if exc.permanent:
                self._refused[tid] = stored.refresh
                self._tokens.pop(tid, None)
                log.warning("OAuth token %s: refresh refused for good (%s)", tid, exc.code)
                raise CredentialError(
                    f"the ChatGPT login of '{label}' has ended ({exc.code}): {login_hint(label)}", status=401
                ) from None
            log.warning("OAuth token %s: refresh failed (%s)", tid, exc.message)
            raise CredentialError(
                f"could not refresh the ChatGPT login of '{label}': {exc.message}", status=502, transient=True
            ) from None
        new = stored.with_answer(answer, self.clock())
        held.hold(new.access, new.refresh)
        try:
            await asyncio.to_thread(tokens.save, tid, new)
        except (SecretError, OSError):  # already rotated at the issuer: serve it, and say it was not kept
            log.exception("OAuth token %s: refreshed, but the new token could not be stored", tid)
        self._tokens[tid] = new
        self._refreshed_at[tid] = self.clock()
        self._refused.pop(tid, None)
        log.info("OAuth token %s refreshed; expires in %d s", tid, int(new.expires_at - self.clock()))
        return new

    def drop(self, provider_id: str) -> bool:
        """Forget the cached token (and any refusal) so the next request reads the keyring again."""
        found = False
        for tid in [t for t in {*self._tokens, *self._refused} if t.lower() == provider_id.lower()]:
            found = tid in self._tokens or found
            self._tokens.pop(tid, None)
            self._refused.pop(tid, None)
            self._refreshed_at.pop(tid, None)
        return found

    def adopt(self, tid: str, token: Token) -> None:
        """A token just obtained in this process (admin exchange): cache it as it is."""
        self.drop(tid)
        held.hold(token.access, token.refresh)
        self._tokens[tid] = token


def _credential(token: Token) -> Credential:
    return Credential("oauth", token.access, account_id=token.account_id)
