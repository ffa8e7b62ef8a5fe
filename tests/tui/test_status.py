"""The status bar says what just happened, and no longer: a form's refusal goes when the form closes or
its fields change, any message goes when the user moves to another tab, and a long message keeps its
point (the key hint yields; details stay in F1 help)."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static

from config import secrets
from tests.tui.helpers import open_tab, settle, type_into, wait_for
from tui.app import CcmApp
from tui.modals.provider_form import ProviderForm


def status(app: CcmApp) -> str:
    return str(app.query_one("#status-message").render())


async def test_a_refusal_goes_when_its_form_is_cancelled(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f3", "providers")
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#name", "zai")  # already exists
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "not saved · " in status(app) and "already exists" in status(app)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ProviderForm)
        assert status(app) == ""


async def test_a_forms_error_goes_once_the_field_changes(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f3", "providers")
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        await pilot.press("ctrl+s")
        await settle(pilot)
        error = form.query_one("#form-error", Static)
        assert "a provider needs a name" in str(error.render())
        await type_into(pilot, "#name", "zai")
        assert str(error.render()) == ""
        await pilot.press("ctrl+s")  # refused by the store: in the form and the status bar
        await settle(pilot)
        assert "already exists" in str(error.render()) and "already exists" in status(app)
        await type_into(pilot, "#name", "zai2")
        assert str(error.render()) == "" and status(app) == ""


async def test_switching_tabs_clears_the_message(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f3", "providers")
        app.say("not saved · something about this tab", "error")
        await open_tab(pilot, "f4", "models")
        assert status(app) == ""


def shown(app: CcmApp, selector: str) -> str:
    """What a widget shows on screen, its rows joined (a cut message ends in "…" here)."""
    widget = app.screen.query_one(selector)
    return " ".join(widget.render_line(y).text.strip() for y in range(widget.size.height)).strip()


async def test_no_keyring_is_said_plainly_with_the_details_in_help(make_app: Callable[..., CcmApp]) -> None:
    import keyring.backends.fail

    keyring.set_keyring(keyring.backends.fail.Keyring())  # the memory_keyring fixture puts its own back
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f3", "providers")
        await wait_for(pilot, lambda: "keyring" in status(app))
        assert shown(app, "#status-message") == "keys are kept in secrets.json (no OS keyring)"
        await pilot.press("f1")
        await settle(pilot)
        details = str(app.screen.query_one("#help-messages", Static).render())
        assert "keyring.backends.fail.Keyring" in details and str(secrets.store().file.path) in details


async def test_a_long_message_keeps_its_end(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        message = (
            "provider deepseek added · key stored in secrets.json (no OS keyring) · saved (the proxy is not running)"
        )
        app.say(message, "ok")
        await pilot.pause()
        assert shown(app, "#status-message") == message
        assert not app.query_one("#status-hint").display  # the hint yields to the message
        app.say("x" * (78 - 1 - len("F1 help · F2–F8 tabs")), "ok")  # just fits beside the hint
        await pilot.pause()
        assert app.query_one("#status-hint").display
        app.say("proxy started", "ok")
        await pilot.pause()
        assert app.query_one("#status-hint").display
        assert app.query_one("#status-message").size.height == 1


async def test_oauth_login_with_nothing_to_log_in_to(make_app: Callable[..., CcmApp]) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_tab(pilot, "f6", "oauth")
        await pilot.press("l")
        await settle(pilot)
        said = status(app)
        assert said and shown(app, "#status-message") == said  # whole, not cut
        assert "openai" in shown(app, "#oauth-hint") and "OAuth" in shown(app, "#oauth-hint")
