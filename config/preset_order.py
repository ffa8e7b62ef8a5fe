"""The order in which `ccm config init` and the TUI offer the shipped presets (config/presets/*.toml), and
the one chosen when nobody picks: one list, so the CLI and the TUI never show them differently."""

from __future__ import annotations

ORDER: tuple[str, ...] = ("subscriptions", "apikeys", "cost", "full")
DEFAULT = "apikeys"
