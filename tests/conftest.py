"""Fixtures every test gets: the developer's machine is kept out.

- `isolated_env` (autouse): a temporary CCM_HOME, no CCM_CONFIG/CCM_HOST/CCM_PORT, no proxy variables and
  no provider key variables, so nothing reads the developer's config or reaches a real provider.
- `memory_keyring` (autouse): an in-memory keyring backend, so no test touches the real OS keyring.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
"""Real Claude Code captures, kept with the tests (data: requests as Claude Code sent them)."""


def fixture_names(*, count_tokens: bool = True) -> list[str]:
    """Every captured request body's name; a missing folder fails the run instead of skipping tests."""
    if not FIXTURES.is_dir():
        raise FileNotFoundError(f"Claude Code fixtures missing: {FIXTURES} (they are part of the repo)")
    return sorted(
        p.stem
        for p in FIXTURES.glob("*.json")
        if not p.name.endswith(".headers.json")
        and p.name != "index.json"
        and (count_tokens or not p.stem.startswith("count-tokens"))
    )


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in a dict; selected explicitly, never by priority."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.store.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)


_SCRUB_PREFIXES = ("CCM_", "ANTHROPIC_", "OPENAI_", "CLAUDE_")
_SCRUB = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh CCM_HOME per test, and no variables that would point ccm at real things."""
    for name in list(os.environ):
        if name.startswith(_SCRUB_PREFIXES) or name in _SCRUB or name.endswith("_API_KEY"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "ccm-home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("CCM_HOME", str(home))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    from config import secrets

    secrets.reset()
    yield home
    secrets.reset()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring for in-process tests; restored afterwards."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def nothing_learnt() -> Iterator[None]:
    """What third-party hosts refused is remembered per process (ccm.providers.anthropic_compat): every test
    starts from nothing learnt, as a fresh proxy does. Only cleared when loaded (CLI tests never load it)."""
    yield
    module = sys.modules.get("ccm.providers.anthropic_compat")
    if module is not None:
        module.forget_all()


@pytest.fixture
def fixtures_dir() -> Path:
    """The real Claude Code captures in tests/fixtures/claude-code (a missing folder is a failure)."""
    assert fixture_names(), f"no Claude Code fixtures in {FIXTURES}"
    return FIXTURES
