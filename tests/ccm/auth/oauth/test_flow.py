"""The ChatGPT login against a fake issuer: the browser callback (the test plays the browser), a wrong
`state`, the ports, --no-browser's pasted redirect, the device code, and refused exchanges."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ccm.auth.oauth import flow
from ccm.auth.oauth.callback import LoginError
from ccm.auth.oauth.pkce import challenge, new_pkce
from tests.fakes.openai_auth import ACCOUNT_ID, FakeAuth


def browser_get(url: str) -> httpx.Response:
    """What the browser does with the issuer's redirect (localhost: the server listens on 127.0.0.1)."""
    return httpx.get(url.replace("//localhost:", "//127.0.0.1:"), trust_env=False, timeout=5)


@pytest.fixture
def client() -> Iterator[httpx.AsyncClient]:
    yield httpx.AsyncClient(trust_env=False)


def listening(port: int) -> socket.socket:
    """A listener on the port (SO_REUSEADDR: an earlier test's closed connections may linger there)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


@pytest.fixture
def port_1455_taken() -> Iterator[socket.socket]:
    with listening(1455) as sock:
        yield sock


def test_pkce_is_s256_and_fresh() -> None:
    one, two = new_pkce(), new_pkce()
    assert one.verifier != two.verifier and 43 <= len(one.verifier) <= 128
    digest = hashlib.sha256(one.verifier.encode()).digest()
    assert one.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge(one.verifier)


def test_the_authorize_url_carries_what_the_codex_app_expects(auth: FakeAuth) -> None:
    login = flow.BrowserLogin.start(serve=False)
    url = urlsplit(login.url)
    assert f"{url.scheme}://{url.netloc}" == auth.url and url.path == "/oauth/authorize"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert q["client_id"] == "app_EMoamEEZ73f0CkXaXp7hrann"
    assert q["redirect_uri"] == "http://localhost:1455/auth/callback"
    assert q["scope"] == "openid profile email offline_access api.connectors.read api.connectors.invoke"
    assert q["code_challenge_method"] == "S256" and q["code_challenge"] == challenge(login.pkce.verifier)
    assert q["state"] == login.state and len(login.state) >= 43
    assert (q["id_token_add_organizations"], q["codex_cli_simplified_flow"], q["originator"]) == (
        "true",
        "true",
        "codex_cli_rs",
    )


async def test_login_through_the_callback(auth: FakeAuth, client: httpx.AsyncClient) -> None:
    login = flow.BrowserLogin.start()
    assert login.redirect == "http://localhost:1455/auth/callback"
    location = await asyncio.to_thread(auth.redirect_for, login.url)
    page = await asyncio.to_thread(browser_get, location)
    assert page.status_code == 200 and "You can close this tab" in page.text
    token = await login.finish(client)
    assert token.access == auth.access and token.refresh == auth.valid_refresh
    assert token.account_id == ACCOUNT_ID and token.status() == "active"
    # one code, then the server is gone
    with pytest.raises(httpx.ConnectError):
        browser_get(location)


async def test_a_wrong_state_is_refused_and_the_login_waits_for_the_right_one(
    auth: FakeAuth, client: httpx.AsyncClient
) -> None:
    login = flow.BrowserLogin.start()
    location = await asyncio.to_thread(auth.redirect_for, login.url)
    forged = location.replace(f"state={login.state}", "state=forged")
    refused = await asyncio.to_thread(browser_get, forged)
    assert refused.status_code == 400 and "state does not match" in refused.text
    assert login.server is not None and login.server.refused == 1 and login.server.code is None
    assert (await asyncio.to_thread(browser_get, location)).status_code == 200
    assert (await login.finish(client)).access == auth.access


async def test_port_1455_taken_uses_1457(
    auth: FakeAuth, client: httpx.AsyncClient, port_1455_taken: socket.socket
) -> None:
    login = flow.BrowserLogin.start()
    assert login.redirect == "http://localhost:1457/auth/callback" and "localhost%3A1457" in login.url
    location = await asyncio.to_thread(auth.redirect_for, login.url)
    await asyncio.to_thread(browser_get, location)
    assert (await login.finish(client)).account_id == ACCOUNT_ID


def test_both_ports_taken_says_what_to_do(port_1455_taken: socket.socket) -> None:
    with listening(1457), pytest.raises(LoginError) as caught:
        flow.BrowserLogin.start()
    assert "1455 and 1457 are taken" in caught.value.message and "--device" in str(caught.value.hint)


async def test_no_callback_within_the_deadline_stops_the_server(client: httpx.AsyncClient) -> None:
    login = flow.BrowserLogin.start()
    with pytest.raises(LoginError, match=r"no login arrived within 0\.2 s"):
        await login.finish(client, timeout=0.2)
    assert login.server is not None
    listening(login.server.port).close()  # the port is free again


async def test_the_issuer_refusing_in_the_callback_ends_the_login(client: httpx.AsyncClient) -> None:
    login = flow.BrowserLogin.start()
    url = f"{login.redirect}?error=access_denied&error_description=User+cancelled&state={login.state}"
    assert (await asyncio.to_thread(browser_get, url)).status_code == 200
    with pytest.raises(LoginError, match="refused: User cancelled"):
        await login.finish(client)


async def test_no_browser_takes_the_pasted_redirect_or_the_bare_code(auth: FakeAuth, client: httpx.AsyncClient) -> None:
    login = flow.BrowserLogin.start(serve=False)
    assert login.server is None
    location = await asyncio.to_thread(auth.redirect_for, login.url)
    code = flow.code_from_paste(f"  {location}\n", login.state)
    assert (await login.finish(client, code)).access == auth.access

    again = flow.BrowserLogin.start(serve=False)
    bare = parse_qs(urlsplit(await asyncio.to_thread(auth.redirect_for, again.url)).query)["code"][0]
    assert flow.code_from_paste(bare, again.state) == bare
    assert (await again.finish(client, bare)).account_id == ACCOUNT_ID


def test_a_pasted_url_of_another_login_is_refused() -> None:
    with pytest.raises(LoginError, match="state does not match"):
        flow.code_from_paste("http://localhost:1455/auth/callback?code=c&state=other", "mine")
    with pytest.raises(LoginError, match="nothing was pasted"):
        flow.code_from_paste("  ", "mine")


async def test_device_code_login(auth: FakeAuth, client: httpx.AsyncClient) -> None:
    auth.device_pending = 2
    shown: list[tuple[str, str]] = []
    token = await flow.device_login(client, lambda url, code: shown.append((url, code)))
    assert shown == [(f"{auth.url}/codex/device", "ABCD-1234")]
    assert token.access == auth.access and token.account_id == ACCOUNT_ID
    assert auth.device_pending == 0 and auth.exchanges == 1


async def test_an_exchange_with_the_wrong_verifier_is_refused(auth: FakeAuth, client: httpx.AsyncClient) -> None:
    login = flow.BrowserLogin.start(serve=False)
    code = flow.code_from_paste(await asyncio.to_thread(auth.redirect_for, login.url), login.state)
    with pytest.raises(LoginError, match=r"code exchange was refused \(400: bad code or verifier"):
        await flow.exchange(client, code, new_pkce().verifier, login.redirect)


async def test_an_unreachable_issuer_is_one_clear_error(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCM_OAUTH_OPENAI_ISSUER", "http://127.0.0.1:9")
    with pytest.raises(LoginError, match=r"cannot reach http://127.0.0.1:9 \(ConnectError\)"):
        await flow.device_login(client, lambda url, code: None)
