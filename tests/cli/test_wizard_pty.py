"""`ccm config init` driven through a pseudo-terminal, as a person would use it (stdlib pty, no pexpect).

pty.fork() gives the child the pty as its controlling terminal, so getpass really reads /dev/tty with echo
off: the test checks that a typed key never comes back on the screen.
"""

from __future__ import annotations

import json
import os
import pty
import select
import time
from pathlib import Path

import pytest

from tests.cli.conftest import CCM, Cli

pytestmark = pytest.mark.skipif(not hasattr(pty, "fork"), reason="needs a POSIX pty")


class Terminal:
    """A child process on a pty: `expect` text, `send` keys, read what was shown.

    Expect a hidden prompt up to its trailing space: getpass flushes pending input (TCSAFLUSH) just
    before it writes that space, so keys sent earlier would be lost.
    """

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once, nothing else runs here
            os.execve(argv[0], argv, env)
        self.pid, self.fd = pid, fd
        self.screen = ""
        self._seen = 0

    def expect(self, needle: str, timeout: float = 15) -> str:
        """Wait until `needle` appears after the previous match; the text up to and including it."""
        deadline = time.monotonic() + timeout
        while needle not in self.screen[self._seen :]:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{needle!r} not shown within {timeout} s; screen:\n{self.screen}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{needle!r} not shown before the end; screen:\n{self.screen}")
                self.screen += chunk.decode(errors="replace").replace("\r\n", "\n")
        end = self.screen.index(needle, self._seen) + len(needle)
        shown, self._seen = self.screen[self._seen : end], end
        return shown

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def interrupt(self, timeout: float = 15) -> int:
        """Ctrl-C at a prompt; the exit code. Sent again while the child lives: a SIGINT that lands after
        input() wrote its prompt but before it blocks reading is only noticed when the read returns (the
        interpreter checks signals between bytecodes), and a second one interrupts the read itself."""
        deadline = time.monotonic() + timeout
        while True:
            self.send("\x03")
            try:
                return self.wait(min(0.5, max(0.05, deadline - time.monotonic())), kill=False)
            except TimeoutError:
                if time.monotonic() >= deadline:
                    return self.wait(0.05)

    def wait(self, timeout: float = 15, kill: bool = True) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:  # drain, or the child may block writing to a full pty
                if select.select([self.fd], [], [], 0.05)[0]:
                    self.screen += os.read(self.fd, 4096).decode(errors="replace").replace("\r\n", "\n")
            except OSError:
                pass
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        if not kill:
            raise TimeoutError
        os.kill(self.pid, 9)
        raise AssertionError(f"still running after {timeout} s; screen:\n{self.screen}")


def test_wizard_on_a_terminal(cli: Cli) -> None:
    term = Terminal([str(CCM), "config", "init"], cli.env)
    term.expect("Pick a preset:")
    menu = term.expect("Preset [2]: ")
    assert "1) Subscriptions, with failover" in menu and "4) Full template" in menu
    term.send("7\r")  # out of range: asked again
    term.expect("Type a number from 1 to 4")
    term.expect("Preset [2]: ")
    term.send("3\r")  # cost-optimized: zai + anthropic
    term.expect("API key for zai (hidden; Enter to skip: `ccm keys set zai` later, or set ZAI_API_KEY): ")
    term.send("zai-typed-secret-987654\r")
    term.expect("or set ANTHROPIC_API_KEY): ")  # the trailing space: getpass has flushed and reads now
    term.send("\r")  # skipped
    done = term.expect("Next: `ccm code`")
    assert term.wait() == 0
    assert "zai-typed-secret" not in term.screen  # hidden input: never echoed
    assert "Stored 1 key in" in done and "No key yet for anthropic" in done
    assert (cli.home / "config.toml").read_text().startswith("# ccm config: cost-optimized")
    assert json.loads((cli.home / "secrets.json").read_text()) == {"provider:zai": "zai-typed-secret-987654"}


def test_wizard_asks_before_replacing(cli: Cli) -> None:
    config: Path = cli.home / "config.toml"
    config.write_text("# mine\n")
    term = Terminal([str(CCM), "config", "init"], cli.env)
    term.expect("There is already a config at")
    term.expect("Replace it? The current one is kept as config.toml.bak [y/N]: ")
    term.send("\r")
    term.expect("Left it unchanged.")
    assert term.wait() == 0
    assert config.read_text() == "# mine\n"

    term = Terminal([str(CCM), "config", "init", "--preset", "full"], cli.env)
    term.expect("[y/N]: ")
    term.send("y\r")
    term.expect("or set ANTHROPIC_API_KEY): ")
    term.send("\r")
    term.expect("Wrote")
    assert term.wait() == 0
    assert (cli.home / "config.toml.bak").read_text() == "# mine\n"
    assert config.read_text().startswith("# ccm config: the full template")


def test_keys_set_on_a_terminal_is_hidden(cli: Cli, write_config: object) -> None:
    write_config()  # type: ignore[operator]
    term = Terminal([str(CCM), "keys", "set", "up"], cli.env)
    term.expect("API key for up (input hidden): ")
    term.send("typed-up-key-000111\r")
    term.expect("Stored the key for up (typ…0111)")
    assert term.wait() == 0
    assert "typed-up-key-000111" not in term.screen
