"""Edit and save a config file so that what the user wrote survives: comments, order, formatting.

tomlkit keeps comments, but re-renders a file that interleaves `[[providers]]` and `[[models]]` with all
providers moved together (python-poetry/tomlkit#601). Users who write "a provider, then its models" would
see their file reshuffled. So the file is edited *surgically*: it is cut into segments, one per top-level
table or array-of-tables element (with its sub-tables and the comment lines right above its header), and
only the segments an edit touches are parsed and re-rendered by tomlkit. Everything else stays byte for byte.

Every save validates the new text with config.load first (an invalid edit never reaches the file), then
writes atomically (temp file + fsync + rename) and keeps the previous file as `.bak`.

    doc = ConfigDocument.load(path)
    doc.upsert_provider("zai", {"provider_type": "z.ai"})
    doc.set_value("router", "think", "glm-4.6")
    doc.save()                              # -> LoadResult, or ConfigError (file untouched)
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from config.errors import ConfigError, Problem
from config.load import LoadResult, parse_config

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")


@dataclass(slots=True)
class _Segment:
    header: str  # "" for the root keys, else the dotted table name ("providers", "server.timeouts")
    is_array: bool
    text: str

    @property
    def top(self) -> str:
        return self.header.split(".")[0]

    def data(self) -> dict[str, Any]:
        return tomllib.loads(self.text)


def _split(text: str) -> list[_Segment]:
    lines = text.splitlines(keepends=True)
    segments: list[_Segment] = [_Segment("", False, "")]
    pending: list[str] = []  # comment lines that may belong to the next header
    for line in lines:
        match = _HEADER.match(line)
        if match:
            name = ".".join(p.strip().strip("\"'") for p in match.group(2).split("."))
            is_array = match.group(1) == "[["
            last = segments[-1]
            if last.is_array and name.startswith(last.header + "."):
                last.text += "".join(pending) + line
            else:
                segments.append(_Segment(name, is_array, "".join(pending) + line))
            pending = []
        elif line.lstrip().startswith("#"):
            pending.append(line)
        else:
            if pending:  # comments followed by a key or a blank line stay where they were
                segments[-1].text += "".join(pending)
                pending = []
            segments[-1].text += line
    segments[-1].text += "".join(pending)
    return segments


def _render(data: dict[str, Any], header: str, is_array: bool, old_text: str | None) -> str:
    """Render one segment with tomlkit, keeping the old segment's comments where keys survive."""
    if old_text is not None:
        doc = tomlkit.parse(old_text)
        node: Any = doc[header.split(".")[0]]
        if is_array:
            node = node[0]
        for part in header.split(".")[1:]:
            node = node[part]
        for key in [k for k in node if k not in data]:
            del node[key]
        for key, value in data.items():
            if key in node and node[key] == value:
                continue
            node[key] = value
        return tomlkit.dumps(doc)
    doc = tomlkit.document()
    if is_array:
        aot = tomlkit.aot()
        aot.append(tomlkit.table())
        for key, value in data.items():
            if key == "mappings" and isinstance(value, list):
                sub = tomlkit.aot()
                for item in value:
                    t = tomlkit.table()
                    t.update(item)
                    sub.append(t)
                aot[0].append("mappings", sub)
            else:
                aot[0][key] = value
        doc[header] = aot
    else:
        table = tomlkit.table()
        table.update(data)
        doc[header] = table
    return tomlkit.dumps(doc)


class ConfigDocument:
    """A config file as editable segments; see the module docstring."""

    def __init__(self, text: str, path: Path | None = None) -> None:
        self.path = path
        self._segments = _split(text)

    @classmethod
    def load(cls, path: str | Path) -> ConfigDocument:
        p = Path(path)
        return cls(p.read_text(encoding="utf-8"), p)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self._segments)

    # -- plain tables: [server], [router], [server.timeouts] -----------------------------------------
    def get_table(self, header: str) -> dict[str, Any]:
        for seg in self._segments:
            if seg.header == header and not seg.is_array:
                node: Any = seg.data()
                for part in header.split("."):
                    node = node.get(part, {})
                return {k: v for k, v in node.items() if not isinstance(v, dict)}
        return {}

    def set_value(self, header: str, key: str, value: Any) -> None:
        """Set (or, with None, remove) one key of a plain table, creating the table when missing."""
        for seg in self._segments:
            if seg.header == header and not seg.is_array:
                doc = tomlkit.parse(seg.text)
                node: Any = doc
                for part in header.split("."):
                    node = node[part]
                if value is None:
                    if key in node:
                        del node[key]
                else:
                    node[key] = value
                seg.text = tomlkit.dumps(doc)
                return
        if value is None:
            return
        self._insert(_Segment(header, False, _render({key: value}, header, False, None)))

    def _insert(self, seg: _Segment) -> None:
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
            if seg.top == top and seg.is_array and seg.header == top:
                items = seg.data().get(top, [{}])
                out.append((i, items[0] if items else {}))
        return out

    def providers(self) -> list[dict[str, Any]]:
        return [data for _, data in self._elements("providers")]

    def models(self) -> list[dict[str, Any]]:
        return [data for _, data in self._elements("models")]

    def _find(self, top: str, name: str) -> int | None:
        for i, data in self._elements(top):
            if str(data.get("name", "")).lower() == name.lower():
                return i
        return None

    def _upsert(self, top: str, name: str, data: dict[str, Any], old_name: str | None) -> None:
        index = self._find(top, old_name or name)
        full = {"name": name, **{k: v for k, v in data.items() if k != "name" and v is not None}}
        if index is None:
            self._insert(_Segment(top, True, _render(full, top, True, None)))
            return
        seg = self._segments[index]
        if top == "models":
            # Mappings are nested arrays: re-render the element, keeping the comments above it.
            lead = "".join(line for line in seg.text.splitlines(keepends=True)[:1] if line.lstrip().startswith("#"))
            trail = "\n" if seg.text.endswith("\n\n") else ""
            seg.text = lead + _render(full, top, True, None) + trail
        else:
            trail = "\n" if seg.text.endswith("\n\n") and not seg.text.endswith("\n\n\n") else ""
            seg.text = _render(full, top, True, seg.text).rstrip("\n") + "\n" + trail

    def _delete(self, top: str, name: str) -> bool:
        index = self._find(top, name)
        if index is None:
            return False
        del self._segments[index]
        return True

    def upsert_provider(self, name: str, fields: dict[str, Any], old_name: str | None = None) -> None:
        """Add or replace a provider (fields as in [[providers]]; a None value removes the key)."""
        self._upsert("providers", name, fields, old_name)
        if old_name and old_name.lower() != name.lower():
            self._rename_provider_refs(old_name, name)

    def delete_provider(self, name: str) -> bool:
        return self._delete("providers", name)

    def upsert_model(self, name: str, mappings: list[dict[str, Any]], old_name: str | None = None) -> None:
        self._upsert("models", name, {"mappings": mappings}, old_name)
        if old_name and old_name.lower() != name.lower():
            for slot, value in self.get_table("router").items():
                if isinstance(value, str) and value.lower() == old_name.lower():
                    self.set_value("router", slot, name)

    def delete_model(self, name: str) -> bool:
        return self._delete("models", name)

    def _rename_provider_refs(self, old: str, new: str) -> None:
        for model in self.models():
            maps = model.get("mappings", [])
            if any(str(m.get("provider", "")).lower() == old.lower() for m in maps):
                fixed = [
                    {**m, "provider": new} if str(m.get("provider", "")).lower() == old.lower() else m for m in maps
                ]
                self.upsert_model(str(model["name"]), fixed)
        for slot, value in self.get_table("router").items():
            if isinstance(value, str) and value.lower().startswith(old.lower() + ","):
                self.set_value("router", slot, new + value[len(old) :])

    # -- saving ------------------------------------------------------------------------------------------
    def validate(self) -> LoadResult:
        return parse_config(self.text, self.path or "config.toml")

    def save(self, path: str | Path | None = None) -> LoadResult:
        """Validate, then write atomically with one `.bak`; raises ConfigError and leaves the file as it was."""
        target = Path(path) if path else self.path
        if target is None:
            raise ConfigError([Problem("no path to save the config to")])
        result = parse_config(self.text, target)
        atomic_write(target, self.text)
        return result


def atomic_write(path: Path, text: str, *, backup: bool = True, mode: int = 0o600) -> None:
    """Write a file so that a crash or a full disk never leaves it truncated; keep the old one as .bak."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
            if backup:
                shutil.copy2(path, path.with_name(path.name + ".bak"))
        else:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
