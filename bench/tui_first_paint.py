"""Time from `ccm tui` to its first painted screen, as a user sees it: in a real pseudo-terminal.

Each run spawns the command in a pty (80x24, TERM=xterm-256color) with a temporary CCM_HOME holding a
sample config, reads the terminal output until the Overview tab's content has been drawn, records the
elapsed wall time, then sends ctrl+q. Reported: min / median / max over the runs, for `ccm tui` and for
the TUI alone (`python -c "from tui.app import run; run()"`, no CLI in front).

    python bench/tui_first_paint.py [--runs 7]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.tui.helpers import SAMPLE  # noqa: E402

MARKER = b"Last requests"  # drawn by the Overview body: the first tab is on screen


def first_paint(argv: list[str], env: dict[str, str], timeout: float = 20.0) -> float:
    """Seconds from spawn until MARKER appears on the pty."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    elapsed = None
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            seen += chunk
            if MARKER in seen.replace(b"\x1b", b""):
                elapsed = time.perf_counter() - started
                break
        os.write(fd, b"\x11")  # ctrl+q
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    if not os.read(fd, 65536):
                        break
                except OSError:
                    break
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                pid = 0
                break
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    if elapsed is None:
        raise RuntimeError(f"{argv} did not paint within {timeout} s; got {seen[-300:]!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ccm-paint-"))
    (home / "config.toml").write_text(SAMPLE)
    env = {
        **os.environ,
        "CCM_HOME": str(home),
        "TERM": "xterm-256color",
        "COLUMNS": "80",
        "LINES": "24",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    ccm = shutil.which("ccm", path=str(Path(sys.executable).parent)) or "ccm"
    commands = {
        "ccm tui": [ccm, "tui"],
        "tui only": [sys.executable, "-c", "from tui.app import run; run()"],
    }
    first_paint(commands["ccm tui"], env)  # warm the file cache once
    try:
        for label, argv in commands.items():
            times = [first_paint(argv, env) * 1000 for _ in range(args.runs)]
            print(
                f"{label:10} first paint: min {min(times):.0f} ms, median {statistics.median(times):.0f} ms, "
                f"max {max(times):.0f} ms ({args.runs} runs)"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
