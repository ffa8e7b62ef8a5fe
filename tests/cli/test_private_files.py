"""Everything ccm keeps in CCM_HOME stays the user's own on a shared machine: the folder is 0700 (an older,
looser one is tightened when the proxy starts, saying so once in ccm.log) and every file ccm writes there
is 0600 from its first byte, whatever the umask (keys sit in secrets.json and config.toml; an upstream's
error may have quoted one into ccm.log before it was redacted)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import Cli, wait_for


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask: a file opened without an explicit mode would be 0644 (every child inherits it)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(home: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(home.stat().st_mode)}
    for path in home.rglob("*"):
        found[str(path.relative_to(home))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_a_0755_home_is_tightened_and_every_file_is_0600(
    cli: Cli, write_config: Any, port: int, umask_022: None
) -> None:
    config = write_config()
    cli.home.chmod(0o755)
    cli.ok("keys", "set", "up", input="up-key-0123456789abcdef\n")
    cli.ok("config", "init", "--yes", "--force", "--port", str(port))  # a save: config.toml and its .bak
    cli.ok("start")
    url = f"http://127.0.0.1:{port}"
    httpx.post(
        f"{url}/v1/messages",
        json={"model": "main", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        trust_env=False,
        timeout=30,
    )
    wait_for(lambda: (cli.home / "requests.jsonl").exists())
    running = modes(cli.home)
    assert "ccm.pid" in running and running["ccm.pid"] == 0o600
    cli.ok("stop")
    log = (cli.home / "ccm.log").read_text()
    assert sum("0755" in line and "0700" in line for line in log.splitlines()) == 1, log
    found = modes(cli.home)
    expected = {
        "ccm.log",
        "ccm.out",
        "requests.jsonl",
        "secrets.json",
        "secrets.json.lock",
        "config.toml",
        "config.toml.bak",
    }
    assert expected <= set(found), found
    assert config.exists()
    loose = {name: oct(mode) for name, mode in found.items() if mode & 0o077}
    assert loose == {}, loose
    assert found["."] == 0o700
