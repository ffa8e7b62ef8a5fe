"""The live config of a running proxy: an immutable snapshot, swapped whole on reload.

A request takes `holder.current` once and keeps it, so requests in flight finish on the config they
started with. The file is watched by polling (ccm.serve.watch: mtime, size, inode and a hash of the
content): a new file renamed over the old one applies at once, a file changed in place only once it has
stayed the same for a second (an editor still writing it is never read half-way). An invalid file is
refused, the old snapshot keeps serving, and `status()` says so (GET /api/status, `ccm status`, the TUI).

    holder = ConfigHolder(path); holder.load()        # raises ConfigError / CcmError at start
    snap = holder.current                             # Snapshot(config, keys, router_key, generation, missing_keys)
    outcome = await holder.reload()                   # ReloadOutcome(ok, problems, restart_required)
    holder.status()                                   # {"path", "loaded_at", "refused", "warnings"}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ccm.auth import adc
from ccm.auth.callers import key_owners
from ccm.auth.redact import held, redact
from ccm.serve.watch import FileWatch
from config import keycheck, secrets
from config.errors import CcmError, ConfigError, Problem
from config.load import load_config
from config.schema import Config

log = logging.getLogger("ccm.config")
_NOISY = ("httpx", "httpcore", "hpack", "asyncio")


def apply_log_level(level: str) -> None:
    """Set the process's log level from `server.log_level` (at start and on every reload that changes
    it); the HTTP libraries stay at warnings, their debug lines would drown ccm's own."""
    numeric = {"trace": logging.DEBUG, "warn": logging.WARNING}.get(level, getattr(logging, level.upper(), 20))
    logging.getLogger().setLevel(numeric)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class Snapshot:
    config: Config
    keys: dict[str, str | None] = field(default_factory=dict)
    """Provider name (lower-case) -> resolved API key, or None when none was found."""
    router_key: str | None = None
    """The resolved server.api_key clients must send, if any."""
    generation: int = 0
    missing_keys: dict[str, str] = field(default_factory=dict)
    """Provider name (lower-case) -> "provider 'zai' has no API key: ..." for every API-key provider that
    needs a key and has none (an unset explicit `$VAR` included, even on key-optional types). A provider
    absent here either has its key in `keys` or needs none; the credential resolver asks this first."""
    key_owners: dict[bytes, str] = field(default_factory=dict)
    """The digest of the router key and of every [[clients]] key -> its owner: "" for the router key, else
    the client's name (ccm.auth.callers; ccm.api.guard identifies callers by it)."""


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    ok: bool
    problems: list[str] = field(default_factory=list)
    restart_required: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Refused:
    """The last file the watcher or a reload refused, while the config before it keeps serving."""

    path: str
    error: str
    """The first problem, as `ccm config validate` words it (file:line: key: message), secrets redacted."""
    since: float
    """When this file was first refused (a later edit that is still invalid keeps the time)."""


def build_snapshot(config: Config, generation: int, *, reloading: bool = False) -> Snapshot:
    """Resolve every secret the config needs (may block on the OS keyring: call from a thread).

    `reloading`: a running proxy's environment cannot change, so an unset router-key variable is worded
    for that (restart from a shell that has it), not as a refusal to start."""
    router_key: str | None = None
    raw = config.server.api_key
    if raw:
        router_key = secrets.interpolate(raw)
        router_key = router_key.strip() if router_key else router_key
        if router_key is None:
            var = secrets.env_reference(raw)
            if reloading:
                raise CcmError(
                    f"server.api_key is {raw} but the proxy was started without ${var}; the previous config "
                    "keeps serving",
                    hint=f"export {var}=... and `ccm restart`, or remove server.api_key",
                )
            raise CcmError(
                f"server.api_key is {raw} but ${var} is not set; refusing to start without it",
                hint=f"export {var}=... or remove server.api_key",
            )
    keys = keycheck.resolve_keys(config)
    clients = _client_keys(config)
    owners = key_owners(router_key, clients)
    # Redacted from any error text and log line from now on (ccm.auth.redact).
    held.hold(router_key, *keys.values(), *clients.values(), *_other_secrets(config))
    for provider in config.providers:
        if provider.auth_type == "adc" and provider.enabled:  # Google credentials: a file, not a key
            problem = adc.check(provider)
            if problem:
                log.warning("%s", problem)
    return Snapshot(config, keys, router_key, generation, keycheck.missing_keys(config, keys), owners)


def _other_secrets(config: Config) -> list[str | None]:
    """The values of the providers' own headers (an AI gateway's token travels there) and the credentials
    written into their URLs: each is held as a secret (the masked view shows none of them either)."""
    headers = [secrets.interpolate(value) for provider in config.providers for _, value in provider.headers]
    return headers + [found for provider in config.providers for found in secrets.url_secrets(provider.base_url)]


def _client_keys(config: Config) -> dict[str, str]:
    """Each [[clients]] name -> its key; a client with none is logged (it cannot connect until it has one)."""
    out: dict[str, str] = {}
    for client in config.clients:
        value, _source = secrets.client_key(client.name, client.api_key)
        if value is None:
            var = secrets.env_reference(client.api_key)
            where = f"${var} is not set" if var else f"nothing is stored as {client.secret_name}"
            log.warning(
                "client '%s' has no key (%s): it cannot connect; run `ccm clients add %s`",
                client.name,
                where,
                client.name,
            )
            continue
        out[client.name] = value
    return out


def _enabled_missing(snapshot: Snapshot) -> dict[str, str]:
    enabled = {p.name.lower() for p in snapshot.config.providers if p.enabled}
    return {name: message for name, message in snapshot.missing_keys.items() if name in enabled}


def _log_missing(snapshot: Snapshot, previous: Snapshot | None) -> None:
    """Each enabled provider with no key, once: at start, then only what a reload changed (not on every reload)."""
    before = _enabled_missing(previous) if previous is not None else {}
    for name, message in _enabled_missing(snapshot).items():
        if before.get(name) != message:
            log.warning("%s", message)


class ConfigHolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._snapshot: Snapshot | None = None
        self.file = FileWatch(path)
        self._lock = asyncio.Lock()
        self.loaded_at: float | None = None
        self.refused: Refused | None = None
        self.warnings: list[str] = []
        self.listeners: list[Callable[[Config, Config], None]] = []
        """Called with (old, new) after each accepted reload (e.g. to close changed providers' circuits)."""
        self._started: tuple[str, int] | None = None
        """server.host and server.port as the process started with them: what it listens on."""

    @property
    def current(self) -> Snapshot:
        assert self._snapshot is not None, "ConfigHolder.load() first"
        return self._snapshot

    def load(self) -> Snapshot:
        """The first load, at start: errors are fatal here (and only here)."""
        self.file.seen()
        result = load_config(self.path)
        for warning in result.warnings:
            log.warning("%s", warning)
        self._snapshot = build_snapshot(result.config, 1)
        self._loaded([str(w) for w in result.warnings])
        _log_missing(self._snapshot, None)
        self._started = (result.config.server.host, result.config.server.port)
        return self._snapshot

    async def reload(self) -> ReloadOutcome:
        async with self._lock:
            self.file.seen()
            try:
                result = await asyncio.to_thread(load_config, self.path)
                snapshot = await asyncio.to_thread(
                    partial(build_snapshot, reloading=True), result.config, self.current.generation + 1
                )
            except ConfigError as exc:
                for problem in exc.problems:
                    log.error("config reload refused: %s", problem)
                return self._refuse([str(p) for p in exc.problems])
            except CcmError as exc:
                log.error("config reload refused: %s", exc)
                hint = f" ({exc.hint})" if exc.hint else ""
                return self._refuse([str(Problem(exc.message + hint, file=str(self.path)))])
            except Exception as exc:  # anything else (a keyring backend's own error, a parser limit): refused too,
                # so neither the admin API nor the watcher dies and the old config keeps serving
                log.exception("config reload refused: %s", type(exc).__name__)
                problem = Problem(f"cannot load config: {type(exc).__name__}: {exc}", file=str(self.path))
                return self._refuse([str(problem)])
            for warning in result.warnings:
                log.warning("%s", warning)
            old = self.current.config.server
            new = snapshot.config.server
            host, port = self._started or (old.host, old.port)
            # Against what is served, not the previous file: a port changed and changed back needs nothing.
            restart = [
                k for k, was, now in (("server.host", host, new.host), ("server.port", port, new.port)) if was != now
            ]
            previous = self.current
            self._snapshot = snapshot
            self._loaded([str(w) for w in result.warnings])
            _log_missing(snapshot, previous)
            for listener in self.listeners:
                listener(previous.config, snapshot.config)
            if new.log_level != old.log_level:
                apply_log_level(new.log_level)
                log.info("log level now %s", new.log_level)
            log.info(
                "config reloaded (generation %d)%s",
                snapshot.generation,
                f"; {', '.join(restart)} change needs a restart" if restart else "",
            )
            return ReloadOutcome(True, [], restart)

    def _loaded(self, warnings: list[str]) -> None:
        self.loaded_at = time.time()
        self.refused = None
        self.warnings = [redact(w) for w in warnings]

    def _refuse(self, problems: list[str]) -> ReloadOutcome:
        first = redact(problems[0]) if problems else "invalid config"
        since = self.refused.since if self.refused is not None else time.time()
        self.refused = Refused(str(self.path), first, since)
        return ReloadOutcome(False, problems)

    def status(self) -> dict[str, Any]:
        """GET /api/status: the file in use, when it was loaded, a refused reload (or null), its warnings:
        the file's own, then each enabled provider with no key as this process resolved it (its environment,
        not the asking shell's), as ccm.log said at load."""
        refused = self.refused
        missing = list(_enabled_missing(self._snapshot).values()) if self._snapshot is not None else []
        return {
            "path": str(self.path),
            "loaded_at": self.loaded_at,
            "refused": None
            if refused is None
            else {"path": refused.path, "error": refused.error, "since": refused.since},
            "warnings": [*self.warnings, *missing],
        }

    async def watch(self, interval: float = 0.25) -> None:
        """Poll the file and reload once a change is whole (ccm.serve.watch), forever (cancelled at shutdown)."""
        while True:
            await asyncio.sleep(interval)
            if await asyncio.to_thread(self.file.ready):
                await self.reload()
