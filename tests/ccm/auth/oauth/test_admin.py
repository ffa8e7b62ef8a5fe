"""The admin /api/oauth/* routes on the real proxy (Hypercorn in a thread, sharing the test's in-memory
keyring) against the fake issuer: login by authorize + exchange, list, refresh, reload, delete; no answer
ever carries a whole token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccm.auth.oauth import tokens
from tests.ccm.auth.oauth.conftest import PROVIDER
from tests.e2e.harness import InProcessProxy
from tests.fakes.openai_auth import FakeAuth


@pytest.fixture
def proxy(isolated_env: Path) -> Iterator[InProcessProxy]:
    path = isolated_env / "config.toml"
    path.write_text('[server]\nhost = "127.0.0.1"\n' + PROVIDER)
    running = InProcessProxy(path).start()
    yield running
    running.stop()


def call(proxy: InProcessProxy, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, f"{proxy.url}{path}", json=body, trust_env=False, timeout=10)


def assert_no_whole_token(response: httpx.Response, auth: FakeAuth, *secrets: str) -> None:
    for secret in (auth.access, auth.valid_refresh, *secrets):
        assert secret and secret not in response.text


def test_login_list_refresh_reload_delete(auth: FakeAuth, proxy: InProcessProxy) -> None:
    assert call(proxy, "GET", "/api/oauth/tokens").json() == {"tokens": []}

    start = call(proxy, "POST", "/api/oauth/authorize", {"oauth_type": "openai-codex"}).json()
    assert start["redirect_uri"] == "http://localhost:1455/auth/callback"
    location = auth.redirect_for(start["auth_url"])
    body = {"code": location, "verifier": start["verifier"], "state": start["state"], "provider_id": "chatgpt"}
    done = call(proxy, "POST", "/api/oauth/exchange", {**body, "oauth_type": "openai-codex"})
    assert done.status_code == 200 and done.json()["status"] == "ok"
    assert_no_whole_token(done, auth)
    first = tokens.load("chatgpt")
    assert first is not None and first.access == auth.access

    listed = call(proxy, "GET", "/api/oauth/tokens")
    [row] = listed.json()["tokens"]
    assert row["provider"] == "chatgpt" and row["status"] == "active" and row["access"].endswith(auth.access[-4:])
    assert_no_whole_token(listed, auth)

    refreshed = call(proxy, "POST", "/api/oauth/tokens/refresh", {"provider_id": "chatgpt"})
    assert refreshed.status_code == 200 and refreshed.json()["status"] == "refreshed"
    assert_no_whole_token(refreshed, auth, first.access, first.refresh)
    assert auth.refreshes == 1
    kept = tokens.load("chatgpt")
    assert kept is not None and kept.refresh == auth.valid_refresh != first.refresh  # rotation written back

    assert call(proxy, "POST", "/api/oauth/tokens/reload", {"provider_id": "chatgpt"}).json() == {
        "status": "reloaded",
        "provider": "chatgpt",
    }
    deleted = call(proxy, "POST", "/api/oauth/tokens/delete", {"provider_id": "chatgpt"})
    assert deleted.json() == {"status": "deleted", "provider": "chatgpt"}
    assert tokens.load("chatgpt") is None and call(proxy, "GET", "/api/oauth/tokens").json() == {"tokens": []}
    assert call(proxy, "POST", "/api/oauth/tokens/delete", {"provider": "chatgpt"}).status_code == 404


def test_a_refused_refresh_names_the_login_command_and_is_not_a_401(auth: FakeAuth, proxy: InProcessProxy) -> None:
    tokens.save("chatgpt", tokens.from_answer(auth.issue()))
    auth.refresh_error = (400, {"error": "invalid_grant"})
    answer = call(proxy, "POST", "/api/oauth/tokens/refresh", {"provider_id": "chatgpt"})
    assert answer.status_code == 400  # a 401 would read as "wrong router key" to the CLI and the TUI
    assert "run `ccm oauth login chatgpt`" in answer.json()["error"]["message"]
    auth.refresh_error = (503, {"error": "temporarily_unavailable"})
    tokens.save("chatgpt", tokens.from_answer(auth.issue()))
    call(proxy, "POST", "/api/oauth/tokens/reload", {"provider_id": "chatgpt"})
    assert call(proxy, "POST", "/api/oauth/tokens/refresh", {"provider_id": "chatgpt"}).status_code == 502
    missing = call(proxy, "POST", "/api/oauth/tokens/refresh", {"provider_id": "nobody"})
    assert missing.status_code == 404 and "no OAuth token for provider 'nobody'" in missing.text


@pytest.mark.parametrize(("oauth_type", "says"), [("claude-max", "only inside Claude Code"), ("gemini", "API key")])
def test_claude_and_gemini_logins_are_refused_with_the_alternative(
    proxy: InProcessProxy, oauth_type: str, says: str
) -> None:
    answer = call(proxy, "POST", "/api/oauth/authorize", {"oauth_type": oauth_type})
    assert answer.status_code == 400 and says in answer.json()["error"]["message"]


def test_an_exchange_without_its_fields_is_a_400(proxy: InProcessProxy) -> None:
    answer = call(proxy, "POST", "/api/oauth/exchange", {"code": "c"})
    assert answer.status_code == 400 and "provider_id" in answer.json()["error"]["message"]
