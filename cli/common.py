"""What every command needs: which config file, the loaded config, the running proxy, one-line output.

Config file, in order: `--config`, `$CCM_CONFIG`, the file the running proxy serves (from `ccm.pid`), then
`$CCM_HOME/config.toml`. So `ccm route explain` and `ccm config edit` look at what is live, while an
explicit choice always wins. Stdlib and config/ only: this module is imported by every command.
"""

from __future__ import annotations

import errno
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ccm import pidfile
from config import paths
from config.errors import CcmError, ConfigError
from config.load import LoadResult, load_config

if TYPE_CHECKING:
    from config.save import ConfigDocument


def running() -> pidfile.PidInfo | None:
    """The running proxy's pid file, or None when no proxy holds its lock."""
    return pidfile.running(paths.pid_path())


def config_path(explicit: str | os.PathLike[str] | None = None, *, live: bool = True) -> Path:
    """The config file a command works on (see the module docstring); `live=False` skips the proxy's."""
    if explicit or os.environ.get("CCM_CONFIG") or not live:
        return paths.config_path(explicit)
    info = running()
    if info is not None and info.config:
        return Path(info.config)
    return paths.config_path()


def writable_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The file a writer edits (chosen as config_path does), warning on stderr when a proxy
    runs and serves another file: the edit will not reach it."""
    path = config_path(explicit)
    info = running()
    if info is not None and info.config:
        try:
            served = Path(info.config).resolve() == path.resolve()
        except OSError:
            served = False
        if not served:
            note(f"ccm: warning: writing {path}, but the running proxy serves {info.config}")
    return path


def load(explicit: str | os.PathLike[str] | None = None) -> LoadResult:
    """Load and validate the config (ConfigError names file:line: key for every problem)."""
    return load_config(config_path(explicit))


def proxy_url(info: pidfile.PidInfo) -> str:
    """The URL a client on this machine uses: a wildcard bind is reached through loopback."""
    host = info.host
    if host in ("0.0.0.0", "", "::"):
        host = "127.0.0.1" if host != "::" else "::1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{info.port}" if info.port else info.url


def _raw(config: str | os.PathLike[str]) -> dict[str, Any]:
    """The file as TOML, read straight: it may be mid-edit and invalid while the proxy keeps serving its
    last good version, whose router key and providers are still these."""
    try:
        data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CcmError(f"cannot read {config}: {exc}") from None
    return data


def raw_router_key(config: str | os.PathLike[str]) -> str | None:
    """server.api_key as written (literal or $VAR)."""
    server = _raw(config).get("server")
    raw = server.get("api_key") if isinstance(server, dict) else None
    return raw if isinstance(raw, str) and raw else None


def uses_passthrough(config: str | os.PathLike[str]) -> bool:
    """Whether an enabled provider forwards Claude Code's own login (Claude Pro/Max): then `ccm code`
    leaves Claude Code's login alone and sends the router key in a header of its own."""
    providers = _raw(config).get("providers")
    return any(
        isinstance(p, dict) and str(p.get("auth_type", "")).lower() == "passthrough" and p.get("enabled", True)
        for p in (providers if isinstance(providers, list) else [])
    )


def check_edit(doc: ConfigDocument, flags: Mapping[str, tuple[str, object]]) -> None:
    """Validate an edit before anything is written or asked. The file has no line for the new entry yet,
    so a problem with a field the command set is said by its flag (`--base-url must start with http://`),
    not as a file position. `flags`: config key -> (the flag, the value given)."""
    try:
        doc.validate()
    except ConfigError as exc:
        problem = exc.problems[0]
        field = problem.key.rsplit(".", 1)[-1]
        if field not in flags:
            where = f"{problem.key}: " if problem.key else ""
            raise CcmError(f"the edit would make the config invalid: {where}{problem.message}") from None
        flag, value = flags[field]
        if problem.message.startswith(("is ", "must ", "names ")):
            raise CcmError(f"{flag} {problem.message}") from None
        raise CcmError(f"{flag} {value}: {problem.message}") from None


def clean_key(raw: str) -> str:
    """A key as typed or piped in: surrounding whitespace (a paste's newline, a CRLF) dropped; whitespace or
    a control character inside refused, since no key has one: it is two keys, a label or a terminal escape
    pasted along (CcmError; "" stays "" for the caller to refuse)."""
    key = raw.strip()
    for char in key:
        if char == " ":
            what = "a space"
        elif char.isspace():
            what = "whitespace"
        elif not char.isprintable():
            what = "a control character"
        else:
            continue
        raise CcmError(f"the key has {what} inside; nothing stored", hint="paste the key alone, on one line")
    return key


def require_running() -> pidfile.PidInfo:
    info = running()
    if info is None:
        raise CcmError("the proxy is not running", hint="start it with `ccm start`")
    return info


def echo(text: str = "") -> None:
    print(text, flush=True)


def note(text: str) -> None:
    """A side remark for a person (stderr, so stdout stays clean for pipes)."""
    print(text, file=sys.stderr, flush=True)


def plural(count: int, word: str) -> str:
    """`1 provider`, `2 providers`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def error_line(message: str, hint: str | None = None) -> str:
    return f"ccm: {message}" + (f" ({hint})" if hint else "")


def confirm(question: str, default: bool) -> bool:
    """A yes/no question; end of input (a script with nothing more to say) counts as no, and Ctrl-C
    interrupts the command (exit 130) as at any prompt."""
    import typer

    try:
        return bool(typer.confirm(question, default=default))
    except typer.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click turns both into Abort, keeping the cause
            raise KeyboardInterrupt from None
        print(file=sys.stderr)
        return False


_NOT_WRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def os_error_line(exc: OSError) -> tuple[str, str | None]:
    """An OSError as a person reads it: which folder could not be written, and what fixes that."""
    reason = exc.strerror or str(exc)
    if not exc.filename:
        return reason, "run with --debug to see the traceback"
    path = Path(os.fsdecode(exc.filename))
    if exc.errno not in _NOT_WRITABLE:
        return f"{path}: {reason}", None
    folder = path.parent
    home = paths.ccm_home()
    message = f"cannot write in {folder} ({reason.lower()}: {path.name})"
    if folder == home or home in folder.parents or folder in home.parents:
        return (
            message,
            f"ccm keeps its files in CCM_HOME ({home}): make it writable, or set CCM_HOME to a folder that is",
        )
    return message, "make that folder writable, or choose another path"
