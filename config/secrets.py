"""Secrets: provider API keys and OAuth tokens, kept in the OS keyring or a 0600 file.

Two stores behind one surface (`get`, `set`, `delete`, names like "provider:zai"):
- the OS keyring (service "ccm"), when a usable backend exists;
- `$CCM_HOME/secrets.json`, mode 0600, written atomically, when none does (headless servers, CI).

A keyring can look usable and still fail on the first call (a locked or prompt-less desktop keyring), so
every call catches keyring's one base exception and falls back for the rest of the process, saying so
once in the log. keyring is imported lazily: it costs ~60 ms and most commands never need it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from config import paths
from config.atomic import atomic_write, exclusive
from config.errors import SecretError

SERVICE = "ccm"
log = logging.getLogger("ccm.secrets")
_VAR = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


def env_reference(raw: str | None) -> str | None:
    """The variable name when `raw` is "$VAR" or "${VAR}", else None."""
    if not raw:
        return None
    match = _VAR.match(raw.strip())
    return (match.group(1) or match.group(2)) if match else None


def interpolate(raw: str | None) -> str | None:
    """Resolve a config value that may be "$VAR"/"${VAR}"; an unset variable resolves to None."""
    if raw is None:
        return None
    var = env_reference(raw)
    if var is None:
        return raw
    return os.environ.get(var) or None


#: Query parameters whose value is a credential (`?key=`, `?access_token=`, `?sig=`...): masked in views.
_SECRET_PARAM = re.compile(r"key|token|secret|sig|pass|auth|credential", re.IGNORECASE)


def url_secrets(url: str | None) -> list[str]:
    """The credentials written into a URL: its password (`user:pass@`) and its secret query values."""
    if not url:
        return []
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    return found + [value for name, value in parse_qsl(parts.query) if _SECRET_PARAM.search(name) and value]


def shown_url(url: str | None) -> str | None:
    """A URL as views show it: a credential written into it (url_secrets) masked, the rest as written."""
    if not url:
        return url
    for secret in url_secrets(url):
        url = url.replace(secret, mask(secret, prefix=False))
    return url


def mask(secret: str | None, *, prefix: bool = True) -> str:
    """A view of a secret that never shows it: `sk-…a1b2` (short secrets show nothing). `prefix=False`
    shows the last 4 alone (`…a1b2`), for keys a person chose, whose start may be a word of theirs."""
    if not secret:
        return "(none)"
    if len(secret) < 12:
        return "…" * 3
    if not prefix:
        return f"…{secret[-4:]}"
    head = secret[:3] if not secret.startswith("sk-") else "sk-"
    return f"{head}…{secret[-4:]}"


class FileStore:
    """secrets.json under CCM_HOME: created 0600 atomically, rewritten via temp file + fsync + rename.

    Every read-modify-write holds an exclusive lock on `secrets.json.lock` across processes: two
    `ccm keys set` at once, or the proxy writing a rotated OAuth token back while the TUI stores a key,
    would otherwise each rewrite the file from what they read and silently drop the other's secret (a
    lost refresh token logs the user out). Reads need no lock: a write replaces the whole file at once."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or paths.secrets_path()
        self._lock = threading.Lock()

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """This thread's turn, then this process's (config.atomic.exclusive)."""
        with self._lock, exclusive(self.lock_path):
            yield

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise SecretError(f"cannot read {self.path}: {exc}") from None
        if not isinstance(data, dict):  # never overwrite a file we do not understand
            raise SecretError(f"cannot read {self.path}: expected a JSON object, found {type(data).__name__}")
        return {str(k): str(v) for k, v in data.items()}

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atomic_write(self.path, json.dumps(data, indent=2, sort_keys=True), backup=False, mode=0o600, keep_mode=False)

    def get(self, name: str) -> str | None:
        return self._read().get(name)

    def set(self, name: str, value: str) -> None:
        with self._exclusive():
            data = self._read()
            data[name] = value
            self._write(data)

    def delete(self, name: str) -> bool:
        if name not in self._read():  # nothing to remove (the keyring's every set asks): no lock, no write
            return False
        with self._exclusive():
            data = self._read()
            if name not in data:
                return False
            del data[name]
            self._write(data)
            return True

    def names(self) -> list[str]:
        return sorted(self._read())


class SecretStore:
    """The keyring when it works, the file otherwise; `where(name)` says which holds a secret."""

    def __init__(self, file_store: FileStore | None = None) -> None:
        self.file = file_store or FileStore()
        self._keyring_ok: bool | None = None
        self._warned = False

    def _keyring(self) -> Any | None:
        if self._keyring_ok is False:
            return None
        import keyring  # deferred: ~60 ms
        import keyring.backends.fail

        backend = keyring.get_keyring()
        usable = not _is_unusable(backend)
        if not usable:
            self._fall_back(f"backend {type(backend).__module__}.{type(backend).__name__}")
            return None
        self._keyring_ok = True
        return keyring

    def _fall_back(self, why: str) -> None:
        self._keyring_ok = False
        if not self._warned:
            self._warned = True
            log.warning(
                "no usable OS keyring (%s); secrets are kept in %s, mode 0600",
                why,
                self.file.path,
                extra={"brief": f"keys are kept in {self.file.path.name} (no OS keyring)"},  # the TUI's status line
            )

    def _call(self, method: str, *args: str) -> tuple[bool, Any]:
        """Run a keyring call; (False, None) when the keyring is unusable (and from now on)."""
        kr = self._keyring()
        if kr is None:
            return False, None
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            return True, getattr(kr, method)(SERVICE, *args)
        except PasswordDeleteError:
            return True, False
        except KeyringError as exc:
            self._fall_back(type(exc).__name__)
            return False, None

    @property
    def backend_name(self) -> str:
        self._keyring()
        return "keyring" if self._keyring_ok else f"file ({self.file.path})"

    def lookup(self, name: str) -> tuple[str | None, str | None]:
        """The secret and where it is ("keyring" or "file"), with one keyring call; (None, None) if absent."""
        ok, value = self._call("get_password", name)
        if ok and value is not None:
            return str(value), "keyring"
        value = self.file.get(name)
        return (value, "file") if value is not None else (None, None)

    def get(self, name: str) -> str | None:
        return self.lookup(name)[0]

    def where(self, name: str) -> str | None:
        return self.lookup(name)[1]

    def set(self, name: str, value: str) -> str:
        """Store a secret; returns where it went ("keyring" or "file")."""
        ok, _ = self._call("set_password", name, value)
        if ok:
            self.file.delete(name)  # never leave a stale copy behind
            return "keyring"
        self.file.set(name, value)
        return "file"

    def delete(self, name: str) -> bool:
        ok, result = self._call("delete_password", name)
        removed = bool(ok and result is not False)
        return self.file.delete(name) or removed

    def move(self, old: str, new: str) -> bool:
        """Keep a secret when what it belongs to is renamed (`provider:zai` -> `provider:z`); False if none.

        Set before delete: a crash in between leaves two copies, never none."""
        value = self.get(old)
        if value is None:
            return False
        self.set(new, value)
        self.delete(old)
        return True


def _is_unusable(backend: Any) -> bool:
    """fail.Keyring raises on use and null.Keyring silently drops writes: both mean no keyring."""
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return True
    if module.startswith("keyring.backends.chainer"):
        return not getattr(backend, "backends", [])
    return False


_default: SecretStore | None = None


def store() -> SecretStore:
    """The process-wide secret store (reset by tests through `reset()`)."""
    global _default
    if _default is None:
        _default = SecretStore()
    return _default


def reset() -> None:
    global _default
    _default = None


def key_name(provider: str) -> str:
    """The secret name of a provider's API key ("provider:zai"): the one place it is spelled."""
    return f"provider:{provider}"


def client_key_name(client: str) -> str:
    """The secret name of a [[clients]] key ("client:alice"): the one place it is spelled."""
    return f"client:{client}"


#: Where a provider key can live, as every view names it (`ccm keys list`, `providers list`, the TUI).
SOURCE_CONFIG = "config file"
SOURCE_KEYRING = "keyring"
SOURCE_FILE = "secrets.json"
_STORE_SOURCES = {"keyring": SOURCE_KEYRING, "file": SOURCE_FILE}


def provider_key(name: str, raw: str | None, key_env: str) -> tuple[str | None, str]:
    """Resolve a provider's API key and say where it came from (for `config show`, never the value).

    Order: the config's literal or $VAR > keyring > secrets file > the `<NAME>_API_KEY` env var. The
    source is "config file", "$VAR", "keyring", "secrets.json", "$NAME_API_KEY" or "missing".
    """
    if raw:
        var = env_reference(raw)
        if var is None:
            return raw, SOURCE_CONFIG
        value = os.environ.get(var)
        if value:
            return value, f"${var}"
    value, where = store().lookup(key_name(name))
    if value and where:
        return value, _STORE_SOURCES[where]
    env_value = os.environ.get(key_env)
    if env_value:
        return env_value, f"${key_env}"
    return None, "missing"


def client_key(name: str, raw: str | None) -> tuple[str | None, str]:
    """Resolve a client's key and say where it came from (never the value): the config's literal or
    $VAR, else the keyring / secrets file under `client:NAME`. Source as provider_key's, or "missing"."""
    if raw:
        var = env_reference(raw)
        if var is None:
            return raw.strip() or None, SOURCE_CONFIG
        value = os.environ.get(var, "").strip()
        if value:
            return value, f"${var}"
        return None, "missing"  # the operator named a variable: the keyring is no stand-in for it
    stored, where = store().lookup(client_key_name(name))
    if stored and stored.strip() and where:
        return stored.strip(), _STORE_SOURCES[where]
    return None, "missing"
