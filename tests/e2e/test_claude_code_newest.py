"""Asking npm for the newest Claude Code: a version, a loud skip when npm cannot reach its registry, and a
failure for anything else (a stand-in `npm` on PATH plays each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import claude_code

NPM = """#!/bin/sh
{body}
"""


def with_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    folder = tmp_path / "bin"
    folder.mkdir()
    npm = folder / "npm"
    npm.write_text(NPM.format(body=body))
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    claude_code.newest_version.cache_clear()


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    yield
    claude_code.newest_version.cache_clear()


def test_the_newest_version_is_npms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_npm(tmp_path, monkeypatch, 'echo "2.1.400"')
    assert claude_code.newest_version() == ("2.1.400", "")


def test_an_unreachable_registry_is_a_reason_to_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_npm(tmp_path, monkeypatch, 'echo "npm error code ENOTFOUND" >&2; exit 1')
    assert claude_code.newest_version() == (None, "npm could not reach its registry: ENOTFOUND")


def test_no_npm_is_a_reason_to_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    claude_code.newest_version.cache_clear()
    assert claude_code.newest_version() == (None, "npm is not on PATH")


def test_any_other_npm_failure_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_npm(tmp_path, monkeypatch, 'echo "npm error code E404 not found" >&2; exit 1')
    with pytest.raises(pytest.fail.Exception, match="E404"):
        claude_code.newest_version()
