"""The real Codex CLI for tests: the newest `@openai/codex` on npm at test time, installed by the project
itself under .cache/codex (as tests.e2e.claude_code installs Claude Code).

    codex.binary      # node_modules/.bin/codex (a Node launcher for the native binary)
    codex.version     # "0.171.0"
    codex.netns       # argv prefix that runs a command in a fresh network namespace, or ()

The newest version is asked of npm (`npm view`) once per session and installed when the cache holds
another; the first run pays ~10 s and ~150 MB. The tests skip, saying so loudly in the report, only when
Node/npm are missing or npm cannot reach its registry; any other install problem fails them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.claude_code import _OFFLINE, INSTALL_TIMEOUT_S, _locked, _say, netns_prefix
from tests.e2e.harness import ROOT

PACKAGE = "@openai/codex"
CACHE = ROOT / ".cache" / "codex"


@dataclass(frozen=True)
class Codex:
    binary: Path
    version: str
    netns: tuple[str, ...]
    netns_note: str


def version_of(binary: Path) -> str | None:
    """`codex --version` ("codex-cli 0.171.0") -> "0.171.0", or None when it does not run."""
    if not binary.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="ccm-codex-home-") as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "CODEX_HOME": home}
        try:
            done = subprocess.run(
                [str(binary), "--version"], capture_output=True, text=True, timeout=60, env=env, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
    match = re.search(r"(\d+\.\d+\.\d+)", done.stdout)
    return match.group(1) if done.returncode == 0 and match else None


def newest_version() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("Codex CLI tests need Node.js and npm on PATH")
    argv = [npm, "view", PACKAGE, "version"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S // 5, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"`npm view {PACKAGE} version` took over {INSTALL_TIMEOUT_S // 5} s (no registry reachable?)")
    version = done.stdout.strip()
    if done.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+", version):
        return version
    offline = _OFFLINE.search(done.stderr or "")
    if offline:
        pytest.skip(f"npm could not reach its registry to find {PACKAGE}: {offline.group(0)}")
    pytest.fail(f"`{' '.join(argv)}` failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}")


def install(version: str) -> tuple[Path, float | None]:
    binary = CACHE / "node_modules" / ".bin" / "codex"
    with _locked(CACHE.parent / ".codex.lock"):
        manifest = CACHE / "node_modules" / PACKAGE / "package.json"
        try:
            cached = json.loads(manifest.read_text()).get("version")
        except (OSError, ValueError):
            cached = None
        if cached == version and version_of(binary) == version:
            return binary, None
        CACHE.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm") or "npm"
        argv = [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", f"{PACKAGE}@{version}"]
        started = time.monotonic()
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            pytest.skip(f"`npm install {PACKAGE}@{version}` took over {INSTALL_TIMEOUT_S} s (no registry reachable?)")
        if done.returncode != 0:
            offline = _OFFLINE.search(done.stderr or "")
            if offline:
                pytest.skip(f"npm could not reach its registry to install {PACKAGE}@{version}: {offline.group(0)}")
            tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
            pytest.fail(f"`{' '.join(argv)}` failed ({done.returncode}):\n" + "\n".join(tail), pytrace=False)
        if version_of(binary) != version:
            pytest.fail(f"{PACKAGE}@{version} installed under {CACHE}, but `codex --version` does not say so")
        return binary, time.monotonic() - started


@pytest.fixture(scope="session", name="codex_cli")
def codex_cli_fixture(request: pytest.FixtureRequest) -> Codex:
    """The newest Codex CLI on npm, installed on first use."""
    try:
        version = newest_version()
        binary, install_s = install(version)
    except pytest.skip.Exception as skipped:
        _say(request, f"WARNING: the Codex CLI was NOT tested: {skipped}")
        raise
    netns, note = netns_prefix()
    how = f"installed in {install_s:.1f} s" if install_s is not None else "cached"
    _say(request, f"codex-cli {version} ({how}) at {binary}; {note}")
    return Codex(binary, version, netns, note)
