"""The real Claude Code CLI for tests: installed by the project itself, cached in .cache/: the pinned
version (the fixtures') and the newest on npm at test time.

The session fixtures `claude_code` (pinned) and `claude_code_newest` (import `claude_code_fixture` and
`claude_code_newest_fixture` into a test module) give a ClaudeCode:

    claude_code.binary     # the native `claude` executable of VERSION
    claude_code.bin_dir    # a folder whose only entry is `claude` (for PATH, as `ccm code` finds it)
    claude_code.netns      # argv prefix that runs a command in a fresh network namespace, or []

The first run pays `npm install --prefix <repo>/.cache/claude-code @anthropic-ai/claude-code@VERSION`
(~5-10 s, ~170 MB download); later runs find the right version there and install nothing. The newest is
asked of npm (`npm view`) once per session and installed under .cache/claude-code-newest when it changed:
what users run is the newest, so the suite follows it. The tests skip only when Node/npm are missing or
npm cannot reach its registry (said loudly, in the test report's header too); any other install problem
fails them.

Claude Code 2.1.x ships its native binary in a per-platform package
(`@anthropic-ai/claude-code-linux-x64/claude`, Bun inside); the main package's postinstall hard-links it
over the `bin/claude.exe` placeholder that `node_modules/.bin/claude` points at. When install scripts are
off (`--ignore-scripts`, or npm's allowScripts policy) the placeholder stays, so the platform package's
binary is used directly. Each candidate is checked with `claude --version`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import ROOT

PACKAGE = "@anthropic-ai/claude-code"
VERSION = "2.1.329"
"""The version the fixtures in tests/fixtures/claude-code were captured with."""
CACHE = ROOT / ".cache" / "claude-code"
NEWEST_CACHE = ROOT / ".cache" / "claude-code-newest"
INSTALL_TIMEOUT_S = 300
"""~5 s is usual (170 MB); the limit keeps a CI behind a stalled registry well under its 15 minutes."""
#: npm error codes that mean "no registry reachable", not "the package is broken".
_OFFLINE = re.compile(
    r"\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ERR_SOCKET_TIMEOUT|"
    r"network request|request to \S+ failed)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ClaudeCode:
    binary: Path
    bin_dir: Path
    version: str
    install_s: float | None
    """Seconds the npm install took this session; None when the cache already had VERSION."""
    netns: tuple[str, ...]
    netns_note: str


def _version_of(binary: Path) -> str | None:
    """`claude --version` (e.g. "2.1.329 (Claude Code)") -> "2.1.329", or None when it does not run."""
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return None
    with tempfile.TemporaryDirectory(prefix="ccm-claude-home-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "DISABLE_AUTOUPDATER": "1"}
        try:
            done = subprocess.run(
                [str(binary), "--version"], capture_output=True, text=True, timeout=60, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    match = re.match(r"\s*(\d+\.\d+\.\d+)", done.stdout)
    return match.group(1) if done.returncode == 0 and match else None


def find_binary(prefix: Path = CACHE, version: str = VERSION) -> Path | None:
    """The installed `claude` of `version` under an npm prefix, or None."""
    modules = prefix / "node_modules"
    manifest = modules / PACKAGE / "package.json"
    try:
        if json.loads(manifest.read_text()).get("version") != version:
            return None
    except (OSError, ValueError):
        return None
    candidates = [modules / ".bin" / "claude", *sorted(modules.glob("@anthropic-ai/claude-code-*/claude"))]
    for candidate in candidates:
        if _version_of(candidate) == version:
            return candidate.resolve()
    return None


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer at a time per checkout (two pytest runs may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install(prefix: Path = CACHE, version: str = VERSION) -> tuple[Path, float | None]:
    """Make sure `version` is installed under `prefix`; (binary, seconds spent installing or None).

    Skips the calling test when Node/npm are missing or the registry cannot be reached.
    """
    with _locked(prefix.parent / f".{prefix.name}.lock"):
        found = find_binary(prefix, version)
        if found is not None:
            return found, None
        npm, node = shutil.which("npm"), shutil.which("node")
        if npm is None or node is None:
            pytest.skip(f"Claude Code tests need Node.js and npm ({'npm' if npm is None else 'node'} is not on PATH)")
        prefix.mkdir(parents=True, exist_ok=True)
        argv = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"{PACKAGE}@{version}"]
        started = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"`npm install {PACKAGE}@{version}` took over {INSTALL_TIMEOUT_S} s (no registry reachable?)")
        elapsed = time.monotonic() - started
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
            offline = _OFFLINE.search(done.stderr or "")
            if offline:
                pytest.skip(f"npm could not reach its registry to install {PACKAGE}@{version}: {offline.group(0)}")
            pytest.fail(f"`{' '.join(argv)}` failed ({done.returncode}):\n" + "\n".join(tail), pytrace=False)
        found = find_binary(prefix, version)
        if found is None:
            pytest.fail(
                f"{PACKAGE}@{version} installed under {prefix}, but no `claude` there reports {version} "
                "(no native binary for this platform?)",
                pytrace=False,
            )
        return found, elapsed


@functools.cache
def netns_prefix() -> tuple[tuple[str, ...], str]:
    """How to start a command in a fresh network namespace that has only (a down) loopback, and why not.

    Root uses `unshare -n`; other users try a user namespace too (`unshare -r -n`), which works where
    unprivileged user namespaces are enabled. The command itself must bring `lo` up
    (tests.e2e.cc_driver.loopback_up).
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        return (), "no `unshare` on PATH: Claude Code runs in the host's network namespace (127.0.0.1 only)"
    prefix = (unshare, "-n") if os.geteuid() == 0 else (unshare, "-r", "-n")
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return (), f"`{' '.join(prefix)}` did not run ({exc}): no network namespace (127.0.0.1 only)"
    if probe.returncode != 0:
        why = probe.stderr.strip().splitlines()[-1:] or [f"exit {probe.returncode}"]
        return (), f"`{' '.join(prefix)}` refused ({why[0]}): no network namespace (127.0.0.1 only)"
    return prefix, f"fresh network namespace ({' '.join(prefix)}, loopback only)"


def _bin_dir(binary: Path, prefix: Path = CACHE) -> Path:
    """A folder holding only `claude` -> binary, so PATH finds exactly this one (and no npm shims)."""
    folder = prefix / "path"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "claude"
    if not (link.is_symlink() and link.resolve() == binary):
        tmp = folder / "claude.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(binary)
        os.replace(tmp, link)
    return folder


@functools.cache
def newest_version() -> tuple[str | None, str]:
    """The newest version on npm, or None and why it could not be asked (skips, never failures)."""
    npm = shutil.which("npm")
    if npm is None:
        return None, "npm is not on PATH"
    argv = [npm, "view", PACKAGE, "version"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S // 5, check=False)
    except subprocess.TimeoutExpired:
        return None, f"`npm view {PACKAGE} version` took over {INSTALL_TIMEOUT_S // 5} s (no registry reachable?)"
    version = done.stdout.strip()
    if done.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", version):
        return version, ""
    offline = _OFFLINE.search(done.stderr or "")
    if offline:
        return None, f"npm could not reach its registry: {offline.group(0)}"
    pytest.fail(f"`{' '.join(argv)}` failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")


def _say(request: pytest.FixtureRequest, line: str) -> None:
    """A line in the test report itself (not captured): which Claude Code ran, or why one did not."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line, yellow=line.startswith("WARNING"), bold=line.startswith("WARNING"))


def _found(
    request: pytest.FixtureRequest, binary: Path, prefix: Path, version: str, install_s: float | None
) -> ClaudeCode:
    netns, note = netns_prefix()
    how = f"installed in {install_s:.1f} s" if install_s is not None else "cached"
    _say(request, f"claude-code {version} ({how}) at {binary}; {note}")
    return ClaudeCode(binary, _bin_dir(binary, prefix), version, install_s, netns, note)


@pytest.fixture(scope="session", name="claude_code")
def claude_code_fixture(request: pytest.FixtureRequest) -> ClaudeCode:
    """The pinned Claude Code, installed on first use; the session pays the install at most once."""
    binary, install_s = install()
    return _found(request, binary, CACHE, VERSION, install_s)


@pytest.fixture(scope="session", name="claude_code_newest")
def claude_code_newest_fixture(request: pytest.FixtureRequest) -> ClaudeCode:
    """The newest Claude Code on npm (the pinned install when that is the newest)."""
    version, why = newest_version()
    if version is None:
        reason = f"WARNING: the NEWEST Claude Code was NOT tested: {why}"
        _say(request, reason)
        pytest.skip(reason)
    prefix = CACHE if version == VERSION else NEWEST_CACHE
    binary, install_s = install(prefix, version)
    return _found(request, binary, prefix, version, install_s)
