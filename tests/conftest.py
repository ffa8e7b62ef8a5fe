"""Fixtures every test gets: the developer's machine is kept out.

- `away_from_the_real_home` (session, autouse): before any fixture of any scope runs, HOME and CCM_HOME
  point into a temporary folder (a module-scoped proxy starts before a test's own CCM_HOME is set, and
  every process the suite starts inherits these), keyring calls go to memory, and at the end the suite
  fails if anything appeared or changed in the real `~/.claude-code-mux`.
- `isolated_env` (autouse): a temporary CCM_HOME, no CCM_CONFIG/CCM_HOST/CCM_PORT, no proxy variables and
  no provider key variables, so nothing reads the developer's config or reaches a real provider.
- `memory_keyring` (autouse): an in-memory keyring backend, so no test touches the real OS keyring.
"""

from __future__ import annotations

import json
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


REAL_CCM_HOME = Path(os.environ.get("CCM_HOME") or Path("~/.claude-code-mux").expanduser())
"""The developer's own ccm folder, as it was when the suite started: nothing of the suite may land there."""


#: What the developer's own running proxy writes while the suite runs: not the suite's doing.
_LIVE_FILES = ("requests.jsonl", "ccm.log", "ccm.out")


def _own_proxy_runs(folder: Path) -> bool:
    """Whether a proxy the developer started serves from `folder` (its pid file names a live process)."""
    try:
        pid = int(json.loads((folder / "ccm.pid").read_text())["pid"])
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time (empty when there is no folder); the
    files a running proxy of the developer's own keeps writing are left out while it runs."""
    if not folder.is_dir():
        return {}
    live = _own_proxy_runs(folder)
    out: dict[str, tuple[int, int]] = {}
    for path in folder.rglob("*"):
        if live and path.name.startswith(_LIVE_FILES):
            continue
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            out[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.fixture(scope="session", autouse=True)
def away_from_the_real_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway HOME and CCM_HOME for the whole session, set before module- and session-scoped fixtures
    start proxies; fails the run when the real ~/.claude-code-mux changed meanwhile."""
    before = _snapshot(REAL_CCM_HOME)
    home = tmp_path_factory.mktemp("session-home")
    saved = {name: os.environ.get(name) for name in ("HOME", "CCM_HOME", "PYTHON_KEYRING_BACKEND")}
    os.environ["HOME"] = str(home)
    os.environ["CCM_HOME"] = str(home / ".claude-code-mux")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # processes the suite starts
    previous_keyring = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # this process, before a test's own memory_keyring
    yield home
    keyring.set_keyring(previous_keyring)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    after = _snapshot(REAL_CCM_HOME)
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    if changed:
        pytest.fail(f"the test suite wrote into the real {REAL_CCM_HOME}: {', '.join(changed)}", pytrace=False)


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
