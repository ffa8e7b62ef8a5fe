"""First run: no config file yet. Offer the same presets as `ccm config init` and write the chosen one.

The list is config.preset_order's, the one `ccm config init` reads, so the two never differ. The preview
shows the file as it will be written, without soft wrap (it scrolls sideways): a wrapped comment's second
half would read like a line of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from config.preset_order import DEFAULT, PRESETS, Preset
from tui.format import display_path


def presets() -> list[Preset]:
    """The presets `ccm config init` offers, in its order."""
    return list(PRESETS)


class PresetScreen(ModalScreen[str | None]):
    """Returns the chosen preset's text, or None when the user would rather not write a config."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Quit", id="presets.cancel"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.presets = presets()
        self.texts = [p.text() for p in self.presets]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog presets"):
            yield Static("Welcome to ccm", classes="dialog-title")
            yield Static(
                f"There is no config at {display_path(self.path)} yet. Pick a starting point; "
                "you can change everything afterwards in the tabs.",
                classes="dialog-detail",
                markup=False,
            )
            with Horizontal(id="preset-body"):
                yield OptionList(*(Option(p.title, id=p.name) for p in self.presets), id="preset-list", markup=False)
                with Vertical(id="preset-preview"):
                    yield Static(id="preset-summary", markup=False)
                    yield TextArea(
                        id="preset-text",
                        read_only=True,
                        soft_wrap=False,
                        show_cursor=False,
                        highlight_cursor_line=False,
                        compact=True,
                    )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write this config", id="write", variant="primary")
                yield Button("Quit", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        first = next((i for i, p in enumerate(self.presets) if p.name == DEFAULT), 0)  # the wizard's default
        options.highlighted = first
        options.focus()
        self._preview(first)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._preview(event.option_index)

    def _preview(self, index: int) -> None:
        preset = self.presets[index]
        self.query_one("#preset-summary", Static).update(f"{preset.summary[:1].upper()}{preset.summary[1:]}.")
        self.query_one("#preset-text", TextArea).load_text(self.texts[index])

    @on(OptionList.OptionSelected)
    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        index = self.query_one(OptionList).highlighted or 0
        self.dismiss(self.texts[index])

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
