"""First run: no config file yet. Offer the same presets as `ccm config init` and write the chosen one.

Presets are package data (`config/presets/*.toml`, each starting with a comment line that describes it)
plus the shipped default (`config/default.toml`), so this works from a wheel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

import config
from config.paths import default_config_text
from tui.format import display_path


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    summary: str
    text: str


def _summary(text: str) -> str:
    """The first comment line that says something (the file's own description)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        words = stripped.lstrip("#").strip()
        if words and not words.lower().startswith("ccm config"):
            return words
    return ""


def presets() -> list[Preset]:
    """The shipped default first, then every config/presets/*.toml by name."""
    out = [Preset("default", "Anthropic only: claude-* requests go to your Anthropic key", default_config_text())]
    folder = Path(config.__file__).with_name("presets")
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        if path.stem == "default":
            continue
        text = path.read_text(encoding="utf-8")
        out.append(Preset(path.stem, _summary(text), text))
    return out


class PresetScreen(ModalScreen[str | None]):
    """Returns the chosen preset's text, or None when the user would rather not write a config."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Quit", id="presets.cancel"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.presets = presets()

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
                yield OptionList(
                    *(Option(f"{p.name}\n  {p.summary}" if p.summary else p.name, id=p.name) for p in self.presets),
                    id="preset-list",
                )
                with VerticalScroll(id="preset-preview"):
                    yield Static(id="preset-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write this config", id="write", variant="primary")
                yield Button("Quit", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()
        self._preview(0)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._preview(event.option_index)

    def _preview(self, index: int) -> None:
        self.query_one("#preset-text", Static).update(self.presets[index].text)

    @on(OptionList.OptionSelected)
    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        index = self.query_one(OptionList).highlighted or 0
        self.dismiss(self.presets[index].text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
