"""First run: no config file yet. Offer the same presets as `ccm config init` and write the chosen one.

Presets are package data (`config/presets/*.toml`, each starting with a comment line that describes it)
plus the shipped default (`config/default.toml`), so this works from a wheel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

import config
from config.paths import default_config_text
from config.preset_order import DEFAULT, ORDER
from tui.format import display_path


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    title: str
    summary: str
    text: str


_TITLE = re.compile(r"^#\s*ccm config:\s*(.+?)\s*(?:\(written by .*\))?\.?\s*$")


def describe(text: str) -> tuple[str, str]:
    """(title, summary) from a preset's opening comment: `# ccm config: TITLE (written by ...)`, then the
    next comment line."""
    comments = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comments.append(line)
    match = _TITLE.match(comments[0]) if comments else None
    title = match.group(1) if match else ""
    rest = " ".join(line.lstrip("#").strip() for line in comments[1:])
    summary = rest.split(". ", 1)[0].rstrip(".") + "." if rest else ""  # the first sentence
    return title[:1].upper() + title[1:], summary


def _rank(path: Path) -> tuple[int, str]:
    """`ccm config init`'s order (config.preset_order); a preset it does not list comes after, by name."""
    return (ORDER.index(path.stem) if path.stem in ORDER else len(ORDER), path.stem)


def presets() -> list[Preset]:
    """Every config/presets/*.toml in `ccm config init`'s order, then the shipped minimal default."""
    folder = Path(config.__file__).with_name("presets")
    files = sorted(folder.glob("*.toml"), key=_rank) if folder.is_dir() else []
    out = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        title, summary = describe(text)
        out.append(Preset(path.stem, title or path.stem, summary, text))
    default = default_config_text()
    out.append(Preset("minimal", "Minimal", "Anthropic only: what `ccm start` writes when there is no config", default))
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
                yield OptionList(*(self._option(p) for p in self.presets), id="preset-list")
                with VerticalScroll(id="preset-preview"):
                    yield Static(id="preset-text", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Write this config", id="write", variant="primary")
                yield Button("Quit", id="cancel")

    @staticmethod
    def _option(preset: Preset) -> Option:
        label = Text(preset.title, style="bold")
        if preset.summary:
            label.append(f"\n{preset.summary}", style="dim")
        return Option(label, id=preset.name)

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
        self.query_one("#preset-text", Static).update(self.presets[index].text)

    @on(OptionList.OptionSelected)
    @on(Button.Pressed, "#write")
    def _write(self) -> None:
        index = self.query_one(OptionList).highlighted or 0
        self.dismiss(self.presets[index].text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
