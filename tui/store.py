"""The config file as the TUI edits it: every edit validated, then saved surgically (config.save).

An edit is a function on a fresh ConfigDocument read from disk, so a change made meanwhile in an editor
or by `ccm config` is never overwritten with a stale copy. An invalid result raises ConfigError and the
file stays as it was. Renaming or deleting a provider or a model also fixes what points at it, because
a user who deletes a provider means "and its mappings", not "show me 3 validation errors".

    store = ConfigStore(path)
    store.load()                                   # -> Config, or ConfigError
    store.save_provider("zai", {"provider_type": "z.ai", "enabled": True})
    store.set_router("think", "glm-4.6")
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.atomic import atomic_write
from config.errors import ConfigError, Problem
from config.load import LoadResult, load_config, parse_config
from config.save import ConfigDocument
from config.schema import Config, Mapping, keys_of

_UNSET = object()
#: The provider fields the form always sends, with the value a missing key already means.
_PROVIDER_DEFAULTS: dict[str, object] = {"enabled": True, "auth_type": "apikey"}

Signature = tuple[float, int, int]


class ConfigStore:
    """One config file: the last valid Config read from it, and the edits the tabs make."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.config: Config | None = None
        self._signature: Signature | None = None

    def exists(self) -> bool:
        return self.path.is_file()

    def signature(self) -> Signature | None:
        """mtime, size and inode: an atomic rename by another writer changes the inode."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime, st.st_size, st.st_ino)

    def changed_on_disk(self) -> bool:
        return self.signature() != self._signature

    def load(self) -> Config:
        self._signature = self.signature()
        self.config = load_config(self.path).config
        return self.config

    def create(self, text: str) -> Config:
        """Write a new config (a preset) after validating it; refuses to overwrite an existing file."""
        if self.exists():
            raise ConfigError([Problem("a config file already exists", file=str(self.path))])
        parse_config(text, self.path)
        atomic_write(self.path, text, backup=False)
        return self.load()

    def edit(self, change: Callable[[ConfigDocument], None]) -> LoadResult:
        """Apply `change` to the file's current text, validate, save; ConfigError leaves the file alone."""
        result = ConfigDocument.edit(self.path, change)  # under the config's lock: no other save in between
        self.config = result.config
        self._signature = self.signature()
        return result

    # -- providers ------------------------------------------------------------------------------------
    def save_provider(self, name: str, fields: dict[str, Any], old_name: str | None = None) -> LoadResult:
        """Add or update a provider. Keys the form does not know (headers, project_id...) are kept;
        a field given as None is removed from the file."""
        name = name.strip()

        def change(doc: ConfigDocument) -> None:
            current = _find(doc.providers(), old_name or name)
            if old_name is None and current is not None:
                raise ConfigError([Problem(f"a provider named {current['name']!r} already exists", key="name")])
            if old_name and old_name.lower() != name.lower() and _find(doc.providers(), name):
                raise ConfigError([Problem(f"a provider named {name!r} already exists", key="name")])
            merged = {k: v for k, v in (current or {}).items() if k != "name"}
            # A default the file does not write stays unwritten (saving an unchanged form changes nothing).
            merged.update({k: v for k, v in fields.items() if k in merged or _PROVIDER_DEFAULTS.get(k, _UNSET) != v})
            doc.upsert_provider(name, {k: v for k, v in merged.items() if v is not None}, old_name=old_name)

        return self.edit(change)

    def delete_provider(self, name: str) -> LoadResult:
        """Delete a provider and every mapping that uses it (router slots naming it explicitly too)."""

        def change(doc: ConfigDocument) -> None:
            doc.delete_provider(name)
            for model in doc.models():
                maps = model.get("mappings", [])
                kept = [m for m in maps if str(m.get("provider", "")).lower() != name.lower()]
                if len(kept) != len(maps):
                    doc.upsert_model(str(model["name"]), _renumber(kept))
            for slot, value in doc.get_table("router").items():
                if isinstance(value, str) and value.lower().startswith(name.lower() + ","):
                    doc.set_value("router", slot, "")

        return self.edit(change)

    def provider_usage(self, name: str) -> list[str]:
        """The models whose mappings use a provider (what deleting it would change)."""
        if self.config is None:
            return []
        return [m.name for m in self.config.models if any(x.provider.lower() == name.lower() for x in m.mappings)]

    # -- models ---------------------------------------------------------------------------------------
    def model_mappings(self, name: str) -> list[dict[str, Any]]:
        """A model's mappings as written, in priority order (ties keep file order)."""
        found = _find(ConfigDocument.load(self.path).models(), name)
        maps = list(found.get("mappings", [])) if found else []
        order = sorted(range(len(maps)), key=lambda i: (maps[i].get("priority", i), i))
        return [dict(maps[i]) for i in order]

    def save_model(self, name: str, mappings: list[dict[str, Any]], old_name: str | None = None) -> LoadResult:
        """Add, rename or re-map a model; mappings are written in the given order, priorities 1, 2, 3..."""
        name = name.strip()

        def change(doc: ConfigDocument) -> None:
            if old_name is None and _find(doc.models(), name):
                raise ConfigError([Problem(f"a model named {name!r} already exists", key="name")])
            if old_name and old_name.lower() != name.lower() and _find(doc.models(), name):
                raise ConfigError([Problem(f"a model named {name!r} already exists", key="name")])
            doc.upsert_model(name, _renumber(mappings), old_name=old_name)

        return self.edit(change)

    def delete_model(self, name: str) -> LoadResult:
        """Delete a model and clear the optional router slots that name it (router.default cannot be)."""

        def change(doc: ConfigDocument) -> None:
            doc.delete_model(name)
            for slot, value in doc.get_table("router").items():
                if slot != "default" and isinstance(value, str) and value.lower() == name.lower():
                    doc.set_value("router", slot, "")

        return self.edit(change)

    def model_usage(self, name: str) -> list[str]:
        """The router slots naming a model."""
        if self.config is None:
            return []
        return [slot for slot, value in self.config.router.slots().items() if value and value.lower() == name.lower()]

    # -- router ---------------------------------------------------------------------------------------
    def set_router(self, key: str, value: Any) -> LoadResult:
        return self.edit(lambda doc: doc.set_value("router", key, value))


def _find(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for item in items:
        if str(item.get("name", "")).lower() == name.lower():
            return item
    return None


#: A mapping's keys _renumber writes itself; every other key of the schema is kept as written.
_RENUMBERED = ("provider", "actual_model", "priority", "max_output_tokens")
_KEPT_MAPPING_KEYS = tuple(key for key in keys_of(Mapping) if key not in _RENUMBERED)


def _renumber(mappings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Priorities 1, 2, 3... in list order, keys in the usual order; empty optional keys dropped."""
    out = []
    for i, m in enumerate(mappings, start=1):
        entry: dict[str, Any] = {"provider": m["provider"], "actual_model": m["actual_model"], "priority": i}
        if m.get("max_output_tokens"):
            entry["max_output_tokens"] = m["max_output_tokens"]
        for key in _KEPT_MAPPING_KEYS:  # written by hand: an edit in the TUI must not drop them
            if m.get(key) is not None:
                entry[key] = m[key]
        out.append(entry)
    return out


def first_problem(exc: ConfigError) -> str:
    """A ConfigError in one short line for the status bar: `key: message (and N more)`."""
    if not exc.problems:
        return exc.message
    p = exc.problems[0]
    line = f"{p.key}: {p.message}" if p.key else p.message
    if len(exc.problems) > 1:
        line += f" (and {len(exc.problems) - 1} more)"
    return line
