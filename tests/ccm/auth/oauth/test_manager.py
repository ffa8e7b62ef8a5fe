"""TokenManager against the fake issuer: one refresh for ten concurrent requests, the rotated refresh
token written back, the corrective refresh after a 401, refusals for good and transient failures."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from ccm.auth.credentials import CredentialError
from ccm.auth.oauth import tokens
from ccm.auth.oauth.manager import TokenManager
from ccm.auth.oauth.tokens import Token
from config.schema import ProviderConfig
from tests.fakes.openai_auth import ACCOUNT_ID, FakeAuth


@pytest.fixture
async def manager() -> AsyncIterator[TokenManager]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield TokenManager(client)


def stored(auth: FakeAuth, expires_in: float) -> Token:
    """Log in at the fake (it now accepts this refresh token) and store the token as `oauth:chatgpt`."""
    answer = auth.issue()
    token = tokens.from_answer({**answer, "expires_in": expires_in})
    tokens.save("chatgpt", token)
    return token


async def test_a_fresh_token_is_served_from_the_cache(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig
) -> None:
    token = stored(auth, 3600)
    cred = await manager.credential(chatgpt)
    assert (cred.kind, cred.secret, cred.account_id) == ("oauth", token.access, ACCOUNT_ID)
    tokens.delete("chatgpt")  # the keyring is not read again while the token is fresh
    assert (await manager.credential(chatgpt)).secret == token.access
    assert auth.refreshes == 0


async def test_ten_concurrent_requests_cause_one_refresh_and_the_rotation_is_written_back(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig
) -> None:
    old = stored(auth, 120)  # inside the 5-minute margin
    auth.refresh_delay = 0.2
    creds = await asyncio.gather(*(manager.credential(chatgpt) for _ in range(10)))
    assert auth.refreshes == 1 and manager.refreshes == 1
    assert {c.secret for c in creds} == {auth.access} and auth.access != old.access
    assert auth.refresh_bodies[0] == {
        "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
        "grant_type": "refresh_token",
        "refresh_token": old.refresh,
    }
    kept = tokens.load("chatgpt")
    assert kept is not None and kept.refresh == auth.valid_refresh != old.refresh
    assert kept.account_id == ACCOUNT_ID and kept.expires_at > time.time() + 3000
    # the next refresh uses the rotated token (the fake refuses a reused one)
    await manager.refresh_now("chatgpt")
    assert auth.refreshes == 2


async def test_force_refresh_after_a_401_refreshes_once_for_concurrent_failures(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig
) -> None:
    stored(auth, 3600)
    failed = await manager.credential(chatgpt)
    auth.refresh_delay = 0.1
    again = await asyncio.gather(*(manager.force_refresh(chatgpt, failed) for _ in range(5)))
    assert auth.refreshes == 1 and {c.secret for c in again} == {auth.access} != {failed.secret}
    # a late 401 on the old token does not refresh again: the cached one is already new
    assert (await manager.force_refresh(chatgpt, failed)).secret == auth.access
    assert auth.refreshes == 1


async def test_a_token_another_process_stored_is_used_instead_of_refreshing(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig
) -> None:
    stored(auth, 120)
    await manager.credential(chatgpt)  # refreshes: 1
    manager._tokens["chatgpt"] = tokens.from_answer({**auth.issue(), "expires_in": 60})  # our copy expires
    newer = stored(auth, 3600)  # ...while `ccm oauth login` elsewhere stored a new login
    assert (await manager.credential(chatgpt)).secret == newer.access
    assert auth.refreshes == 1


@pytest.mark.parametrize(
    ("status", "payload", "code"),
    [
        (400, {"error": "invalid_grant", "error_description": "Refresh token revoked"}, "invalid_grant"),
        (401, {"error": {"code": "refresh_token_reused", "message": "already used"}}, "refresh_token_reused"),
        (400, {"error": {"code": "refresh_token_expired"}}, "refresh_token_expired"),
        (400, {"code": "refresh_token_invalidated"}, "refresh_token_invalidated"),
    ],
)
async def test_a_refresh_refused_for_good_asks_for_a_login_and_is_not_retried(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig, status: int, payload: object, code: str
) -> None:
    stored(auth, 60)
    auth.refresh_error = (status, payload)
    with pytest.raises(CredentialError) as caught:
        await manager.credential(chatgpt)
    err = caught.value
    assert err.status == 401 and not err.transient
    assert code in err.message and "run `ccm oauth login chatgpt`" in err.message
    with pytest.raises(CredentialError, match="ccm oauth login chatgpt"):
        await manager.credential(chatgpt)
    assert auth.refreshes == 1  # the refused refresh token is not sent again
    auth.refresh_error = None
    stored(auth, 3600)  # a new login...
    manager.drop("ChatGPT")  # ...announced by /api/oauth/tokens/reload
    assert (await manager.credential(chatgpt)).secret == auth.access


async def test_a_transient_refresh_failure_is_a_502_and_the_next_request_tries_again(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig
) -> None:
    stored(auth, 60)
    auth.refresh_error = (503, {"error": "temporarily_unavailable"})
    with pytest.raises(CredentialError) as caught:
        await manager.credential(chatgpt)
    assert caught.value.status == 502 and caught.value.transient
    auth.refresh_error = None
    assert (await manager.credential(chatgpt)).secret == auth.access
    assert auth.refreshes == 2


async def test_an_unreachable_issuer_is_transient(
    manager: TokenManager, chatgpt: ProviderConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCM_OAUTH_OPENAI_ISSUER", "http://127.0.0.1:9")
    tokens.save("chatgpt", Token("a" * 20, "r" * 20, time.time() + 10, ACCOUNT_ID))
    with pytest.raises(CredentialError) as caught:
        await manager.credential(chatgpt)
    assert caught.value.status == 502 and caught.value.transient and "ConnectError" in caught.value.message


async def test_no_stored_token_says_how_to_log_in(manager: TokenManager, chatgpt: ProviderConfig) -> None:
    with pytest.raises(CredentialError) as caught:
        await manager.credential(chatgpt)
    assert caught.value.status == 401
    assert caught.value.message == "provider 'chatgpt' has no ChatGPT login: run `ccm oauth login chatgpt`"


def test_the_stored_json_is_compact_and_survives_a_round_trip() -> None:
    token = Token("eyJ" + "a" * 900, "rt_" + "b" * 60, 1767225600.4, "acct-1")
    raw = token.to_json()
    assert " " not in raw and set(json_keys(raw)) == {"type", "access", "refresh", "expires_at", "account_id"}
    assert len(raw) - len(token.access) < 200  # everything but the access token fits in very little
    assert Token.from_json(raw) == Token(token.access, token.refresh, 1767225600, "acct-1")
    assert Token.from_json("not json") is None and Token.from_json('{"access": 1}') is None


def json_keys(raw: str) -> list[str]:
    import json

    return list(json.loads(raw))


async def test_a_refresh_error_quoting_the_tokens_reaches_no_one(
    auth: FakeAuth, manager: TokenManager, chatgpt: ProviderConfig
) -> None:
    """The issuer's error text may quote the refresh token it refused: the manager holds both tokens for
    redaction (ccm.auth.redact) before it sends one, so the dispatcher's error and the log show neither."""
    from ccm.auth.redact import redact

    token = stored(auth, 60)
    echo = f"refresh token {token.refresh} (for access {token.access}) is not valid here"
    auth.refresh_error = (503, {"error": {"code": "server_error", "message": echo}})
    with pytest.raises(CredentialError) as caught:
        await manager.credential(chatgpt)
    assert token.refresh in caught.value.message  # the raw text, as the issuer sent it
    clean = redact(caught.value.message)
    assert token.refresh not in clean and token.access not in clean and "[redacted]" in clean
