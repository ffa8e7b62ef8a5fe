"""Edit and save a config file so that what the user wrote survives: comments, order, formatting.

tomlkit keeps comments, but re-renders a file that interleaves `[[providers]]` and `[[models]]` with all
providers moved together (python-poetry/tomlkit#601). Users who write "a provider, then its models" would
see their file reshuffled. So the file is edited *surgically*: it is cut into segments, one per top-level
table or array-of-tables element (with its sub-tables and the comment lines right above its header), and
only the segments an edit touches are parsed and re-rendered by tomlkit. Everything else stays byte for
byte, and inside an edited segment tomlkit changes only the keys that changed.

Every save validates the new text with config.load first (an invalid edit never reaches the file), then
writes atomically (temp file + fsync + rename, through a symlink rather than over it) and keeps the
previous file as `.bak`. A document loaded from a file is saved only while the file still holds what was
loaded: ccm commands, the TUI and an editor may save the same file, and an edit made from a stale copy
would silently undo theirs (a removed client brought back). `ConfigDocument.edit` loads, changes and saves
under the config's lock, with no window at all.

    doc = ConfigDocument.load(path)
    doc.upsert_provider("zai", {"provider_type": "z.ai"})   # the whole entry: keys not given are removed
    doc.set_value("router", "think", "glm-4.6")
    doc.save()                              # -> LoadResult, or ConfigError (file untouched)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from config import paths
from config.atomic import atomic_write, exclusive
from config.errors import ConfigError, Problem
from config.load import LoadResult, parse_config
from config.segments import (
    ROUTER_SLOTS,
    Segment,
    apply_values,
    edit,
    element_text,
    header_parts,
    model_text,
    navigate,
    split,
    table_text,
)

__all__ = ["ROUTER_SLOTS", "ConfigDocument", "atomic_write", "write_unchanged"]


def config_lock() -> Path:
    """The lock every save of a config file holds: one per CCM_HOME, beside the other locks there."""
    return paths.ccm_home() / "config.lock"


def write_unchanged(path: Path, text: str, read: str | None) -> None:
    """Write `text` atomically unless the file no longer holds `read` (what the edit started from; None:
    do not check); ConfigError, and the file as the other writer left it, when it changed."""
    with exclusive(config_lock()):
        if read is not None and _current(path) != read:
            raise ConfigError(
                [
                    Problem(
                        "the file changed since it was read (saved by another ccm command, the TUI or an "
                        "editor); nothing was written",
                        file=str(path),
                    )
                ],
                hint="run it again: it starts from the file as it is now",
            )
        _write(path, text)


def _write(path: Path, text: str) -> None:
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise ConfigError([Problem(f"cannot write the config: {exc}", file=str(path))]) from exc


def _current(path: Path) -> str | None:
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class ConfigDocument:
    """A config file as editable segments; see the module docstring.

    Edits do not validate (a sequence of edits may pass through invalid states); `save()` and
    `validate()` do. Names of providers and models are matched case-insensitively.
    """

    def __init__(self, text: str, path: Path | None = None, *, read: str | None = None) -> None:
        self.path = path
        self._read = read
        """The file's text when it was loaded (None: not from a file): a save checks it is still there."""
        self._newline = "\r\n" if "\r\n" in text else "\n"
        self._segments = split(text.replace("\r\n", "\n") if self._newline == "\r\n" else text)

    @classmethod
    def load(cls, path: str | Path) -> ConfigDocument:
        p = Path(path)
        try:
            text = p.read_bytes().decode("utf-8")  # bytes: keep \r\n as written
        except FileNotFoundError:
            raise ConfigError(
                [Problem("config file not found", file=str(p))],
                hint="run `ccm config init` to create one",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([Problem(f"cannot read config: {exc}", file=str(p))]) from None
        return cls(text, p, read=text)

    @classmethod
    def edit(cls, path: Path, change: Callable[[ConfigDocument], object]) -> LoadResult:
        """Load, apply `change`, validate and save, all under the config's lock: nothing can be saved in
        between. For edits that need no answer from the user halfway (ask first, then call this)."""
        with exclusive(config_lock()):
            doc = cls.load(path)
            change(doc)
            text = doc.text
            result = parse_config(text, path)
            _write(path, text)  # unchecked: the lock has been held since the load
            return result

    @property
    def text(self) -> str:
        body = "".join(s.text for s in self._segments)
        return body.replace("\n", "\r\n") if self._newline == "\r\n" else body

    # -- plain tables: [server], [router], [server.timeouts] -----------------------------------------
    def _holder(self, parts: tuple[str, ...]) -> Segment | None:
        """The segment that defines a table: its own header, or a parent's (inline table, dotted keys)."""
        for seg in self._segments:
            if seg.header == parts and not seg.is_array:
                return seg
        for cut in range(len(parts) - 1, -1, -1):
            for seg in self._segments:
                if seg.header == parts[:cut] and not seg.is_array:
                    node: Any = seg.data()
                    for part in parts:
                        node = node.get(part) if isinstance(node, dict) else None
                    if isinstance(node, dict):
                        return seg
        return None

    def get_table(self, header: str) -> dict[str, Any]:
        """The plain values of a table (sub-tables left out); {} when it does not exist."""
        parts = header_parts(header)
        seg = self._holder(parts)
        if seg is None:
            return {}
        node: Any = seg.data()
        for part in parts:
            node = node.get(part, {})
        return {k: v for k, v in node.items() if not isinstance(v, dict)}

    def set_value(self, header: str, key: str, value: Any) -> None:
        """Set (or, with None, remove) one key of a plain table, creating the table when missing."""
        parts = header_parts(header)
        seg = self._holder(parts)
        if seg is None:
            if value is not None:
                self._insert(Segment(parts, False, table_text(parts, {key: value})))
            return
        edit(seg, lambda doc: apply_values(navigate(doc, parts), {key: value}, replace=False))

    def _insert(self, seg: Segment) -> None:
        """Place a new segment after the last one of the same kind (else at the end)."""
        same = [i for i, s in enumerate(self._segments) if s.top == seg.top and s.is_array == seg.is_array]
        if same:
            index = same[-1] + 1
        elif not seg.is_array:  # a new plain table goes before the first array of tables
            arrays = [i for i, s in enumerate(self._segments) if s.is_array]
            index = arrays[0] if arrays else len(self._segments)
        else:
            index = len(self._segments)
        prev = self._segments[index - 1]
        if prev.text and not prev.text.endswith("\n\n"):
            prev.text = prev.text.rstrip("\n") + "\n\n"
        if index < len(self._segments) and not seg.text.endswith("\n\n"):
            seg.text = seg.text.rstrip("\n") + "\n\n"
        self._segments.insert(index, seg)

    # -- arrays of tables: [[providers]], [[models]] ----------------------------------------------------
    def _elements(self, top: str) -> list[tuple[int, dict[str, Any]]]:
        out = []
        for i, seg in enumerate(self._segments):
            if seg.is_array and seg.header == (top,):
                items = seg.data().get(top)
                out.append((i, items[-1] if isinstance(items, list) and items else {}))
        return out

    def providers(self) -> list[dict[str, Any]]:
        """Every [[providers]] entry as written (tomllib values), in file order."""
        return [data for _, data in self._elements("providers")]

    def models(self) -> list[dict[str, Any]]:
        """Every [[models]] entry as written (tomllib values, mappings in file order)."""
        return [data for _, data in self._elements("models")]

    def _find(self, top: str, name: str) -> int | None:
        for i, data in self._elements(top):
            if str(data.get("name", "")).lower() == name.lower():
                return i
        return None

    def _target(self, top: str, name: str, old_name: str | None) -> int | None:
        index = self._find(top, old_name or name)
        if index is None and old_name:
            kind = top[:-1]
            raise ConfigError([Problem(f"there is no {kind} named {old_name!r} to rename", key=f"{top}.name")])
        return index

    def upsert_provider(self, name: str, fields: dict[str, Any], old_name: str | None = None) -> None:
        """Add or replace a provider. `fields` is the whole entry as in [[providers]]: keys it lacks are
        removed, None values are left out. With `old_name`, renames it and fixes what points at it."""
        full = {"name": name, **{k: v for k, v in fields.items() if k != "name" and v is not None}}
        index = self._target("providers", name, old_name)
        if index is None:
            self._insert(Segment(("providers",), True, element_text("providers", full)))
        else:
            edit(
                self._segments[index], lambda doc: apply_values(navigate(doc, ("providers",), True), full, replace=True)
            )
        if old_name and old_name.lower() != name.lower():
            self._rename_provider_refs(old_name, name)

    def set_provider_value(self, name: str, key: str, value: Any) -> bool:
        """Set (None: remove) one key of a provider, leaving the rest of its entry as written; False if absent."""
        index = self._find("providers", name)
        if index is None:
            return False
        edit(
            self._segments[index],
            lambda doc: apply_values(navigate(doc, ("providers",), True), {key: value}, replace=False),
        )
        return True

    def delete_provider(self, name: str) -> bool:
        """Remove a provider (mappings that use it are left for validation to report)."""
        return self._delete("providers", name)

    def upsert_model(self, name: str, mappings: list[dict[str, Any]], old_name: str | None = None) -> None:
        """Add a model or set its mappings (each a complete [[models.mappings]] dict); other keys of the
        model are kept. With `old_name`, renames it and the router slots that name it."""
        index = self._target("models", name, old_name)
        if index is None:
            maps = [{k: v for k, v in m.items() if v is not None} for m in mappings]
            data: dict[str, Any] = {"name": name, "mappings": maps}
            self._insert(Segment(("models",), True, element_text("models", data)))
        else:
            seg = self._segments[index]
            seg.text = model_text(seg.text, name, mappings)
        if old_name and old_name.lower() != name.lower():
            for slot, value in self.get_table("router").items():
                if slot in ROUTER_SLOTS and isinstance(value, str) and value.strip().lower() == old_name.lower():
                    self.set_value("router", slot, name)

    def delete_model(self, name: str) -> bool:
        """Remove a model (router slots that name it are left for validation to report)."""
        return self._delete("models", name)

    def clients(self) -> list[dict[str, Any]]:
        """Every [[clients]] entry as written, in file order."""
        return [data for _, data in self._elements("clients")]

    def upsert_client(self, name: str, fields: dict[str, Any]) -> None:
        """Add or replace a client: `fields` is the whole entry (keys it lacks are removed, None left out)."""
        full = {"name": name, **{k: v for k, v in fields.items() if k != "name" and v is not None}}
        index = self._find("clients", name)
        if index is None:
            self._insert(Segment(("clients",), True, element_text("clients", full)))
        else:
            edit(self._segments[index], lambda doc: apply_values(navigate(doc, ("clients",), True), full, replace=True))

    def delete_client(self, name: str) -> bool:
        return self._delete("clients", name)

    def _delete(self, top: str, name: str) -> bool:
        index = self._find(top, name)
        if index is None:
            return False
        del self._segments[index]
        if index == len(self._segments):  # it was the last: no dangling blank lines at the end of the file
            last = self._segments[-1]
            if last.text.endswith("\n\n"):
                last.text = last.text.rstrip("\n") + "\n"
        return True

    def _rename_provider_refs(self, old: str, new: str) -> None:
        def same(value: Any) -> bool:
            return isinstance(value, str) and value.strip().lower() == old.lower()

        for model in self.models():
            maps = model.get("mappings") or []
            if isinstance(maps, list) and any(isinstance(m, dict) and same(m.get("provider")) for m in maps):
                fixed = [{**m, "provider": new} if same(m.get("provider")) else m for m in maps]
                self.upsert_model(str(model["name"]), fixed)
        for slot, value in self.get_table("router").items():
            if slot in ROUTER_SLOTS and isinstance(value, str) and "," in value:
                provider, model_part = value.split(",", 1)
                if same(provider):
                    self.set_value("router", slot, f"{new},{model_part}")

    # -- saving ------------------------------------------------------------------------------------------
    def validate(self) -> LoadResult:
        return parse_config(self.text, self.path or "config.toml")

    def save(self, path: str | Path | None = None) -> LoadResult:
        """Validate, then write atomically with one `.bak`; raises ConfigError and leaves the file as it was."""
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ConfigError([Problem("no path to save the config to")])
        text = self.text
        result = parse_config(text, target)
        write_unchanged(target, text, self._read if target == self.path else None)
        self.path, self._read = target, text
        return result
