"""The presets `ccm config init` and the TUI offer (config/presets/*.toml), in the order they are offered,
and the one chosen when nobody picks: one list, so the CLI and the TUI never show them differently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PRESETS_DIR = Path(__file__).with_name("presets")  # package data: works from a wheel too


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    """What `--preset` takes, and the file's stem."""
    title: str
    summary: str
    """One line: who it is for."""

    @property
    def path(self) -> Path:
        return PRESETS_DIR / f"{self.name}.toml"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


PRESETS: tuple[Preset, ...] = (
    Preset(
        "subscriptions",
        "Subscriptions, with failover",
        "Claude Pro/Max (Claude Code's login) first, ChatGPT Plus/Pro when it fails; no API keys",
    ),
    Preset("apikeys", "API keys, with failover", "Anthropic first, OpenAI when it fails"),
    Preset("cost", "Cost-optimized", "a cheap primary (z.ai GLM), Anthropic as the quality fallback"),
    Preset("full", "Full template", "every provider type ccm knows, commented, to edit by hand"),
)
ORDER: tuple[str, ...] = tuple(p.name for p in PRESETS)
DEFAULT = "apikeys"
