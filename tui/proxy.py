"""Which proxy the TUI talks to, and starting or stopping it.

The proxy's pid file (locked for its whole life, see ccm.pidfile) says whether one runs, where it
listens and which config it serves: probing it is a flock and a small read, cheap enough to poll every
second. Start and stop go through the `ccm` command itself, so the TUI does exactly what a user would
type (and never imports the server).

    state = probe()                    # ProxyState(info=PidInfo(...)) or ProxyState(None)
    code, output = await run_ccm("start", "--config", str(path))
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ccm import pidfile
from config import paths


@dataclass(frozen=True, slots=True)
class ProxyState:
    """What the pid file says; `info` is None when no proxy runs."""

    info: pidfile.PidInfo | None = None

    @property
    def running(self) -> bool:
        return self.info is not None

    @property
    def url(self) -> str | None:
        if self.info is None:
            return None
        return self.info.url or f"http://{self.info.host}:{self.info.port}"

    def serves(self, config_path: Path) -> bool:
        """Whether the running proxy serves this config file (unknown counts as yes)."""
        if self.info is None or not self.info.config:
            return True
        try:
            return Path(self.info.config).resolve() == config_path.resolve()
        except OSError:
            return False


def probe() -> ProxyState:
    return ProxyState(pidfile.running(paths.pid_path()))


def ccm_command(*args: str) -> list[str]:
    """The argv that runs `ccm ARGS` with this interpreter: the console script next to it, else the entry."""
    script = Path(sys.executable).with_name("ccm")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), *args]
    return [sys.executable, "-c", "from cli.entry import main; main()", *args]


async def run_ccm(*args: str, timeout: float = 45.0) -> tuple[int, str]:
    """Run `ccm ARGS` without a terminal; returns the exit code and its combined output (trimmed).

    The timeout covers `ccm stop`, which waits for in-flight requests (graceful drain, up to ~35 s).
    """
    proc = await asyncio.create_subprocess_exec(
        *ccm_command(*args),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 124, f"`ccm {' '.join(args)}` did not finish within {timeout:.0f} s"
    except asyncio.CancelledError:
        proc.kill()
        raise
    return proc.returncode or 0, out.decode("utf-8", errors="replace").strip()
