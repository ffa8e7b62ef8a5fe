"""Helpers for the config tests: sample files, and a writer that puts a config text in a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def v06_text() -> str:
    """A claude-code-mux v0.6 config as its users write them: providers interleaved with their models."""
    return (DATA / "ccm-v06.toml").read_text(encoding="utf-8")


@pytest.fixture
def fork_text() -> str:
    """A config from a claude-code-mux fork: [[router.prompt_rules]] and other keys ccm does not know."""
    return (DATA / "ccm-fork.toml").read_text(encoding="utf-8")


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config text to `<tmp>/cfg/config.toml` (bytes as given) and return its path."""

    def write(text: str, name: str = "config.toml") -> Path:
        folder = tmp_path / "cfg"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_bytes(text.encode("utf-8"))
        return path

    return write
