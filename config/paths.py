"""Where ccm keeps its files. One env var, CCM_HOME, moves every one of them."""

from __future__ import annotations

import os
from pathlib import Path

from config.errors import CcmError

DEFAULT_HOME = "~/.claude-code-mux"
MAX_PORT = 65535


def ccm_home() -> Path:
    """The folder for config, pid, log and the secrets fallback (`$CCM_HOME`, default ~/.claude-code-mux)."""
    return Path(os.environ.get("CCM_HOME") or DEFAULT_HOME).expanduser()


def ensure_home() -> Path:
    """Create CCM_HOME with mode 0700 (it may hold secrets.json)."""
    home = ccm_home()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home


def tighten_home() -> int | None:
    """Make an existing CCM_HOME 0700; the mode it had when that was looser, else None.

    An older folder (the Rust tool's ~/.claude-code-mux was 0755) would let any local user read the log,
    the request log and a config with literal keys. Done when the proxy starts, which logs the change."""
    home = ensure_home()
    mode = home.stat().st_mode & 0o777
    if mode & 0o077 == 0:
        return None
    home.chmod(0o700)
    return mode


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The config file: `--config`, else `$CCM_CONFIG`, else `$CCM_HOME/config.toml`."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("CCM_CONFIG")
    if env:
        return Path(env).expanduser()
    return ccm_home() / "config.toml"


def checked_port(value: str | int, what: str) -> int:
    """A port number from a flag or $CCM_PORT, or a CcmError naming `what` (the one port check)."""
    try:
        port = int(value)
    except ValueError:
        raise CcmError(f"{what} must be a port number, not {value!r}") from None
    if not 1 <= port <= MAX_PORT:
        raise CcmError(f"{what} must be between 1 and {MAX_PORT}, not {port}")
    return port


def env_port() -> int | None:
    """`$CCM_PORT`, checked; None when unset."""
    raw = os.environ.get("CCM_PORT")
    return checked_port(raw, "CCM_PORT") if raw else None


def pid_path() -> Path:
    return ccm_home() / "ccm.pid"


def log_path() -> Path:
    return ccm_home() / "ccm.log"


def out_path() -> Path:
    """The server child's stdout/stderr: catches what happens before logging is set up."""
    return ccm_home() / "ccm.out"


def requests_path() -> Path:
    """The persisted request log (JSON lines, rotated: `.1` ... `.4` beside it); `ccm usage` reads it."""
    return ccm_home() / "requests.jsonl"


def secrets_path() -> Path:
    return ccm_home() / "secrets.json"


def default_config_text() -> str:
    """The shipped default config (package data, so it works from a wheel)."""
    return (Path(__file__).with_name("default.toml")).read_text(encoding="utf-8")
