"""The status bar says what just happened, and no longer: a form's refusal goes when the form closes or
its fields change, any message goes when the user moves to another tab, and a long message keeps its
point (the key hint yields; details stay in F1 help)."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static

from tests.tui.helpers import open_tab, settle, type_into
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
