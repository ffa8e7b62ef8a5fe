"""Fixtures for the CLI tests: they run the real `ccm` console script as a subprocess.

- `cli`: runs `ccm ARGS` with a temporary CCM_HOME, the fail keyring (so secrets go to the 0600 file that
  every process of the test shares), no proxy variables, and a PATH whose first entry is a folder for
  stand-in programs (`claude`, editors). Any proxy a test starts is stopped (or killed) at teardown.
- `port`: a free port on 127.0.0.1.
- `write_config`: writes a small valid config on that port (one Anthropic-compatible provider).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.ports import free_port

CCM = Path(sys.executable).parent / "ccm"


def wait_for(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll until predicate() is truthy (returns it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class Cli:
    """Runs `ccm` in one isolated environment; `env` may be changed by a test before a run."""

    home: Path
    bin_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self, *args: str, input: str | None = None, timeout: float = 30, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CCM), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**self.env, **(env or {})},
            cwd=self.home,
        )

    def ok(self, *args: str, **kw: Any) -> str:
        """Run and assert exit 0; the stdout."""
        result = self.run(*args, **kw)
        assert result.returncode == 0, f"ccm {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def fails(self, *args: str, code: int = 1, **kw: Any) -> str:
        """Run and assert the exit code, one line on stderr and no traceback; that line."""
        result = self.run(*args, **kw)
        assert result.returncode == code, (
            f"ccm {' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]

    @property
    def pid_file(self) -> Path:
        return self.home / "ccm.pid"

    def pid_info(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.pid_file.read_text()))
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        from ccm import pidfile

        return pidfile.is_locked(self.pid_file)

    def write_program(self, name: str, source: str) -> Path:
        """A stand-in executable on PATH (a Python script run by this interpreter)."""
        path = self.bin_dir / name
        path.write_text(f"#!{sys.executable}\n{source}")
        path.chmod(0o755)
        return path


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CCM_", "ANTHROPIC_", "OPENAI_", "CLAUDE_"))
        and not k.endswith("_API_KEY")
        and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env.update(
        CCM_HOME=str(home),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        NO_PROXY="127.0.0.1,localhost",
        EDITOR="false",
        COLUMNS="200",
    )
    env.pop("VISUAL", None)
    c = Cli(home, bin_dir, env)
    yield c
    _cleanup(c)


def _cleanup(c: Cli) -> None:
    """Never leave a proxy behind: SIGTERM whatever holds this home's pid file, SIGKILL if it lingers."""
    info = c.pid_info()
    if info is None or not c.running():
        return
    try:
        os.kill(int(info["pid"]), signal.SIGTERM)
        wait_for(lambda: not c.running(), timeout=10)
    except (ProcessLookupError, AssertionError):
        try:
            os.kill(int(info["pid"]), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def port() -> int:
    return free_port()


CONFIG = """\
# a small test config
[server]
host = "127.0.0.1"
port = {port}

[router]
default = "main"
think = "deep"
background = "quick"

[[providers]]
name = "up"
provider_type = "anthropic-compatible"
base_url = "{base_url}"

[[models]]
name = "main"

[[models.mappings]]
provider = "up"
actual_model = "main-actual"
priority = 1

[[models]]
name = "deep"

[[models.mappings]]
provider = "up"
actual_model = "deep-actual"
priority = 1

[[models]]
name = "quick"

[[models.mappings]]
provider = "up"
actual_model = "quick-actual"
priority = 1
"""


@pytest.fixture
def write_config(cli: Cli, port: int) -> Any:
    """Write CONFIG (or a given text) to $CCM_HOME/config.toml; returns its path."""

    def write(text: str | None = None, base_url: str = "http://127.0.0.1:9") -> Path:
        path = cli.home / "config.toml"
        path.write_text(text if text is not None else CONFIG.format(port=port, base_url=base_url))
        return path

    return write
