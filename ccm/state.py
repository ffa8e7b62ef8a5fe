"""The live config of a running proxy: an immutable snapshot, swapped whole on reload.

A request takes `holder.current` once and keeps it, so requests in flight finish on the config they
started with. The file is watched by polling its (mtime, size, inode): atomic renames are seen, and a
change applies within the poll interval. An invalid file is refused and the old snapshot keeps serving.

    holder = ConfigHolder(path); holder.load()        # raises ConfigError / CcmError at start
    snap = holder.current                             # Snapshot(config, keys, router_key, generation)
    outcome = await holder.reload()                   # ReloadOutcome(ok, problems, restart_required)
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from ccm import adc
from config import secrets
from config.errors import CcmError, ConfigError, Problem
from config.load import load_config
from config.schema import Config

log = logging.getLogger("ccm.config")


@dataclass(frozen=True, slots=True)
class Snapshot:
    config: Config
    keys: dict[str, str | None] = field(default_factory=dict)
    """Provider name (lower-case) -> resolved API key, or None when none was found."""
    router_key: str | None = None
    """The resolved server.api_key clients must send, if any."""
    generation: int = 0


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    ok: bool
    problems: list[str] = field(default_factory=list)
    restart_required: list[str] = field(default_factory=list)


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def build_snapshot(config: Config, generation: int) -> Snapshot:
    """Resolve every secret the config needs (may block on the OS keyring: call from a thread)."""
    router_key: str | None = None
    raw = config.server.api_key
    if raw:
        router_key = secrets.interpolate(raw)
        router_key = router_key.strip() if router_key else router_key
        if router_key is None:
            var = secrets.env_reference(raw)
            raise CcmError(
                f"server.api_key is {raw} but ${var} is not set; refusing to start without it",
                hint=f"export {var}=... or remove server.api_key",
            )
    keys: dict[str, str | None] = {}
    for provider in config.providers:
        if provider.auth_type == "oauth":
            keys[provider.name.lower()] = None
            continue
        if provider.auth_type == "adc":  # Google credentials: a file, not a key (ccm.adc)
            keys[provider.name.lower()] = None
            problem = adc.check(provider) if provider.enabled else None
            if problem:
                log.warning("%s", problem)
            continue
        value, _source = secrets.provider_key(provider.name, provider.api_key, provider.key_env)
        # A key pasted with a trailing newline or space (a CRLF .env file) works instead of failing.
        keys[provider.name.lower()] = value.strip() if value else value
        if value is None and provider.enabled and not provider.spec.key_optional:
            log.warning(
                "provider '%s' has no API key: run `ccm keys set %s` or set %s",
                provider.name,
                provider.name,
                provider.key_env,
            )
    return Snapshot(config, keys, router_key, generation)


class ConfigHolder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._snapshot: Snapshot | None = None
        self._signature: tuple[int, int, int] | None = None
        self._lock = asyncio.Lock()

    @property
    def current(self) -> Snapshot:
        assert self._snapshot is not None, "ConfigHolder.load() first"
        return self._snapshot

    def load(self) -> Snapshot:
        """The first load, at start: errors are fatal here (and only here)."""
        self._signature = _signature(self.path)
        result = load_config(self.path)
        for warning in result.warnings:
            log.warning("%s", warning)
        self._snapshot = build_snapshot(result.config, 1)
        return self._snapshot

    async def reload(self) -> ReloadOutcome:
        async with self._lock:
            self._signature = _signature(self.path)
            try:
                result = await asyncio.to_thread(load_config, self.path)
                snapshot = await asyncio.to_thread(build_snapshot, result.config, self.current.generation + 1)
            except ConfigError as exc:
                for problem in exc.problems:
                    log.error("config reload refused: %s", problem)
                return ReloadOutcome(False, [str(p) for p in exc.problems])
            except CcmError as exc:
                log.error("config reload refused: %s", exc)
                return ReloadOutcome(False, [str(Problem(exc.message, file=str(self.path)))])
            except Exception as exc:  # anything else (a keyring backend's own error, a parser limit): refused too,
                # so neither the admin API nor the watcher dies and the old config keeps serving
                log.exception("config reload refused: %s", type(exc).__name__)
                problem = Problem(f"cannot load config: {type(exc).__name__}: {exc}", file=str(self.path))
                return ReloadOutcome(False, [str(problem)])
            for warning in result.warnings:
                log.warning("%s", warning)
            old = self.current.config.server
            new = snapshot.config.server
            restart = [f"server.{k}" for k in ("host", "port") if getattr(old, k) != getattr(new, k)]
            self._snapshot = snapshot
            log.info(
                "config reloaded (generation %d)%s",
                snapshot.generation,
                f"; {', '.join(restart)} change needs a restart" if restart else "",
            )
            return ReloadOutcome(True, [], restart)

    def changed(self) -> bool:
        return _signature(self.path) != self._signature

    async def watch(self, interval: float = 0.5) -> None:
        """Poll the file and reload on change, forever (cancelled at shutdown)."""
        while True:
            await asyncio.sleep(interval)
            if self.changed():
                if _signature(self.path) is None:
                    continue  # mid-rename or deleted: keep serving, look again
                await self.reload()
