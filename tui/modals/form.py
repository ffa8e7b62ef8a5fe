"""The shape every edit form shares: ctrl+s / Enter / Save saves, escape / Cancel closes.

A subclass builds its edit in `_edit()` (or returns why it cannot); `on_save` stores it and returns
None, or returns why it was refused, and then the form stays open showing the reason in `#form-error`.
The reason goes once the user changes a field or closes the form, here and in the status bar: a
refusal the user has moved on from is not news any more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual import on
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select, Static

from tui.status import StatusBar

EditT = TypeVar("EditT")


class EditForm(ModalScreen[EditT | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, on_save: Callable[[EditT], str | None]) -> None:
        super().__init__()
        self.on_save = on_save
        self._said: str | None = None
        """The status bar's message when `on_save` refused the edit (the app's "not saved · …")."""

    def _edit(self) -> EditT | str:
        raise NotImplementedError

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def action_save(self) -> None:
        edit = self._edit()
        error = edit if isinstance(edit, str) else self.on_save(edit)
        if error:
            self.query_one("#form-error", Static).update(f"✗ {error}")
            if not isinstance(edit, str):
                bars = self.app.query(StatusBar)
                self._said = bars.first().message if bars else None
            return
        self.dismiss(edit)  # type: ignore[arg-type]

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _field_changed(self) -> None:
        self.query_one("#form-error", Static).update("")
        self._withdraw()

    def _withdraw(self) -> None:
        """Clear the status bar if it still shows this form's refusal."""
        if self._said:
            for bar in self.app.query(StatusBar):
                bar.clear(self._said)
        self._said = None

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self._withdraw()
        self.dismiss(None)
