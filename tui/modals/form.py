"""The shape every edit form shares: ctrl+s / Enter / Save saves, escape / Cancel closes.

A subclass builds its edit in `_edit()` (or returns why it cannot); `on_save` stores it and returns
None, or returns why it was refused, and then the form stays open showing the reason in `#form-error`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

from textual import on
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

EditT = TypeVar("EditT")


class EditForm(ModalScreen[EditT | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="form.save", priority=True),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]

    def __init__(self, on_save: Callable[[EditT], str | None]) -> None:
        super().__init__()
        self.on_save = on_save

    def _edit(self) -> EditT | str:
        raise NotImplementedError

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def action_save(self) -> None:
        edit = self._edit()
        error = edit if isinstance(edit, str) else self.on_save(edit)
        if error:
            self.query_one("#form-error", Static).update(f"✗ {error}")
            return
        self.dismiss(edit)  # type: ignore[arg-type]

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
