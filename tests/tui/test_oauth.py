"""The OAuth tab logs in to ChatGPT (the test plays the browser against the fake issuer), refreshes and
logs out, directly on the keyring with no proxy and through the proxy's /api/oauth/* when one runs;
a Claude row explains instead of logging in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from textual.widgets import DataTable, Input

from ccm.auth.oauth import tokens
from tests.fakes.openai_auth import ACCOUNT_ID, FakeAuth
from tests.tui.conftest import RunningProxy
from tests.tui.helpers import SAMPLE, open_tab, proxied_config, settle, type_into, wait_for
from tui.app import CcmApp
from tui.oauth import OAuthView

CHATGPT = '\n[[providers]]\nname = "chatgpt"\nprovider_type = "openai"\nauth_type = "oauth"\n'


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAuth]:
    with FakeAuth() as fake:
        monkeypatch.setenv("CCM_OAUTH_OPENAI_ISSUER", fake.url)
        yield fake


def browser(auth: FakeAuth) -> Callable[[str], bool]:
    """A stand-in for webbrowser.open: the user approves, the issuer redirects to the callback server."""

    def open_url(url: str) -> bool:
        location = auth.redirect_for(url).replace("//localhost:", "//127.0.0.1:")
        return httpx.get(location, trust_env=False, timeout=5).status_code == 200

    return open_url


def hint(app: CcmApp) -> str:
    return str(app.query_one("#oauth-hint").render())


def shown_url(app: CcmApp) -> str:
    """The login URL as the OAuth tab shows it, the lines it wraps on joined again."""
    return "".join(str(app.query_one("#oauth-url").render()).split())


def status_of(app: CcmApp, name: str) -> str:
    return str(app.query_one("#oauth-table", DataTable).get_row(name)[1])


async def test_log_in_refresh_and_log_out_with_no_proxy(
    make_app: Callable[..., CcmApp], config_path: Path, auth: FakeAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text(SAMPLE + CHATGPT)
    monkeypatch.setattr(OAuthView, "open_url", staticmethod(browser(auth)))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "f6", "oauth")
        assert status_of(app, "chatgpt") == "no token" and "l logs in to chatgpt" in hint(app)
        await pilot.press("l")  # the login runs in a worker, with the browser in a thread: wait for its end
        await wait_for(pilot, lambda: "chatgpt" in str(app.query_one("#status-message").render()))
        assert "logged in to chatgpt" in str(app.query_one("#status-message").render()), str(
            app.query_one("#status-message").render()
        )
        await settle(pilot)
        token = tokens.load("chatgpt")
        assert token is not None and token.access == auth.access and token.account_id == ACCOUNT_ID
        assert status_of(app, "chatgpt") == "active"
        assert "logged in to chatgpt" in str(app.query_one("#status-message").render())

        await pilot.press("r")
        await settle(pilot)
        kept = tokens.load("chatgpt")
        assert auth.refreshes == 1 and kept is not None and kept.refresh == auth.valid_refresh != token.refresh

        await pilot.press("d")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert tokens.load("chatgpt") is None and status_of(app, "chatgpt") == "no token"


async def test_with_a_proxy_the_login_is_announced_and_refresh_goes_through_it(
    make_app: Callable[..., CcmApp],
    isolated_env: Path,
    auth: FakeAuth,
    proxy_in_thread: Callable[[Path], RunningProxy],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = proxied_config(isolated_env / "config.toml", "http://127.0.0.1:9")
    config.write_text(config.read_text() + CHATGPT)
    proxy = proxy_in_thread(config)
    monkeypatch.setattr(OAuthView, "open_url", staticmethod(browser(auth)))
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "f6", "oauth")
        await pilot.press("l")
        await wait_for(pilot, lambda: app.query_one(OAuthView).tokens != [])
        [row] = app.query_one(OAuthView).tokens  # as the proxy lists it: masked
        assert row["provider"] == "chatgpt" and auth.access not in str(row)
        await pilot.press("r")
        await settle(pilot)
        assert auth.refreshes == 1
        listed = httpx.get(f"{proxy.url}/api/oauth/tokens", trust_env=False).json()["tokens"]
        assert [t["status"] for t in listed] == ["active"]


async def test_a_login_waiting_for_the_browser_can_be_cancelled(
    make_app: Callable[..., CcmApp], config_path: Path, auth: FakeAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path.write_text(SAMPLE + CHATGPT)
    monkeypatch.setattr(OAuthView, "open_url", staticmethod(lambda url: True))  # the user never approves
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_tab(pilot, "f6", "oauth")
        await pilot.press("l")
        view = app.query_one(OAuthView)
        await wait_for(pilot, lambda: view.login is not None and "/oauth/authorize?" in shown_url(app))
        assert view.login is not None and view.login.url == shown_url(app)  # the URL is on screen, whole
        await pilot.press("c")
        await settle(pilot)
        assert view.login is None and "login cancelled" in str(app.query_one("#status-message").render())
        assert tokens.load("chatgpt") is None


def test_the_provider_form_offers_no_claude_oauth() -> None:
    """Claude Pro/Max is Claude Code's own login (passthrough); only ChatGPT has a ccm OAuth login."""
    from tui.modals.provider_form import ProviderForm

    anthropic = [value for _, value in ProviderForm._auth_options("anthropic")]
    assert anthropic == ["apikey", "passthrough"]
    assert "oauth" not in [value for _, value in ProviderForm._auth_options("gemini")]
    assert "oauth" in [value for _, value in ProviderForm._auth_options("openai")]


@pytest.mark.parametrize("size", [(200, 50), (80, 24)])
async def test_the_login_url_is_whole_and_the_redirect_can_be_pasted(
    make_app: Callable[..., CcmApp],
    config_path: Path,
    auth: FakeAuth,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    """A browser on another machine: its redirect to localhost cannot load, so the user pastes it."""
    config_path.write_text(SAMPLE + CHATGPT)
    monkeypatch.setattr(OAuthView, "open_url", staticmethod(lambda url: True))  # the browser is elsewhere
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_tab(pilot, "f6", "oauth")
        await pilot.press("l")
        view = app.query_one(OAuthView)
        await wait_for(pilot, lambda: view.login is not None and shown_url(app) == view.login.url)
        assert len(view.login.url) > 2 * size[0]  # longer than two lines: shown whole all the same
        paste = app.query_one("#oauth-paste", Input)
        assert paste.display and paste.region.height > 0  # on screen
        await type_into(pilot, "#oauth-paste", auth.redirect_for(view.login.url))
        await pilot.press("enter")
        await wait_for(pilot, lambda: tokens.load("chatgpt") is not None)
        await wait_for(pilot, lambda: view.login is None)
        assert "logged in to chatgpt" in str(app.query_one("#status-message").render())
        assert not app.query_one("#oauth-login").display
