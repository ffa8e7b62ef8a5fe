"""Edit and save a config file so that what the user wrote survives: comments, order, formatting.

tomlkit keeps comments, but re-renders a file that interleaves `[[providers]]` and `[[models]]` with all
providers moved together (python-poetry/tomlkit#601). Users who write "a provider, then its models" would
see their file reshuffled. So the file is edited *surgically*: it is cut into segments, one per top-level
table or array-of-tables element (with its sub-tables and the comment lines right above its header), and
only the segments an edit touches are parsed and re-rendered by tomlkit. Everything else stays byte for
byte, and inside an edited segment tomlkit changes only the keys that changed.

Every save validates the new text with config.load first (an invalid edit never reaches the file), then
writes atomically (temp file + fsync + rename, through a symlink rather than over it) and keeps the
previous file as `.bak`.

    doc = ConfigDocument.load(path)
    doc.upsert_provider("zai", {"provider_type": "z.ai"})   # the whole entry: keys not given are removed
    doc.set_value("router", "think", "glm-4.6")
    doc.save()                              # -> LoadResult, or ConfigError (file untouched)
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from config.errors import ConfigError, Problem
from config.load import LoadResult, parse_config
from config.locate import scan

#: The [router] keys that name a model (or `provider,model`): what renames must follow.
ROUTER_SLOTS = ("default", "think", "background", "websearch", "long_context")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(slots=True)
class _Segment:
    header: tuple[str, ...]  # () for the root keys, else the table's name ("server", "timeouts")
    is_array: bool
    text: str

    @property
    def top(self) -> str:
        return self.header[0] if self.header else ""

    def data(self) -> dict[str, Any]:
        try:
            return tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            where = ".".join(self.header) or "(top level)"
            raise ConfigError([Problem(f"not valid TOML: {exc}", key=where)]) from None


def _split(text: str, min_depth: int = 1) -> list[_Segment]:
    """Cut a text into segments; joining their texts gives the text back exactly.

    A header nested in an array element whose name has at least `min_depth` parts stays in that
    element's segment: [[models.mappings]] in its [[models]] at depth 1, [models.mappings.x] at depth 2.
    """
    segments: list[_Segment] = [_Segment((), False, "")]
    pending: list[str] = []  # comment lines that belong to the next header if one follows at once
    for line in scan(text):
        if line.kind == "header":
            last = segments[-1]
            lead = "".join(pending)
            pending = []
            nested = len(line.keys) > len(last.header) >= min_depth and line.keys[: len(last.header)] == last.header
            if last.is_array and nested:  # [[models.mappings]], [providers.headers]: part of the element
                last.text += lead + line.text
            else:
                segments.append(_Segment(line.keys, line.is_array, lead + line.text))
        elif line.kind == "comment":
            pending.append(line.text)
        else:  # a key, a blank line or a value's continuation: comments before it stay where they are
            if pending:
                segments[-1].text += "".join(pending)
                pending = []
            segments[-1].text += line.text
    segments[-1].text += "".join(pending)
    return segments


def _parts(header: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in header.split(".")) if header else ()


def _dotted(parts: Iterable[str]) -> str:
    return ".".join(p if _BARE_KEY.match(p) else tomlkit.string(p).as_string() for p in parts)


def _plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same(old: Any, new: Any) -> bool:
    """Equal and of the same type (so `1` does not stand for `true`)."""
    old = _plain(old)
    return type(old) is type(new) and bool(old == new)


def _apply(node: Any, data: dict[str, Any], *, replace: bool) -> None:
    """Write `data` into a tomlkit table, touching only the keys whose value changes.

    replace=True: keys of the table that `data` does not have are removed. A None value removes its key.
    """
    if replace:
        for key in [k for k in node if k not in data]:
            del node[key]
    for key, value in data.items():
        if value is None:
            if key in node:
                del node[key]
        elif key not in node or not _same(node[key], value):
            node[key] = value


def _keep_tail(old: str, new: str) -> str:
    """Give a re-rendered segment the old one's trailing blank lines (what separates it from the next)."""
    tail = old[len(old.rstrip()) :]
    return new.rstrip() + tail


def _navigate(doc: Any, parts: tuple[str, ...], is_array: bool = False) -> Any:
    node = doc
    for part in parts:
        node = node[part]
    return node[-1] if is_array else node


def _edit(seg: _Segment, change: Callable[[Any], None]) -> None:
    """Parse one segment with tomlkit, let `change` edit the document, render it back."""
    doc = tomlkit.parse(seg.text)
    change(doc)
    new = tomlkit.dumps(doc)
    if new != seg.text:
        seg.text = _keep_tail(seg.text, new)


def _table_text(parts: tuple[str, ...], data: dict[str, Any]) -> str:
    return f"[{_dotted(parts)}]\n" + tomlkit.dumps(data)


def _element_text(top: str, data: dict[str, Any]) -> str:
    doc = tomlkit.document()
    aot = tomlkit.aot()
    table = tomlkit.table()
    for key, value in data.items():
        table[key] = value
    aot.append(table)
    doc[top] = aot
    return tomlkit.dumps(doc)


def _ident(mapping: dict[str, Any]) -> tuple[str, str]:
    return (str(mapping.get("provider", "")).lower(), str(mapping.get("actual_model", "")))


def _blank_after(text: str) -> str:
    return text if text.endswith("\n\n") else text.rstrip("\n") + "\n\n"


def _mapping_text(old: str | None, mapping: dict[str, Any]) -> str:
    """One [[models.mappings]] piece: the old one edited in place, or a new one."""
    if old is None:
        return "[[models.mappings]]\n" + tomlkit.dumps(mapping)
    doc = tomlkit.parse(old)
    _apply(doc["models"]["mappings"][0], mapping, replace=True)
    new = tomlkit.dumps(doc)
    return old if new == old else _keep_tail(old, new)


def _model_text(text: str, name: str, mappings: list[dict[str, Any]]) -> str:
    """A [[models]] element with its name and mappings set, cut into pieces like the file itself: the
    model's own table, then one piece per [[models.mappings]] with the comment lines right above it. So
    inserting, deleting or reordering mappings moves each one's comments with it, and a mapping that does
    not change keeps its bytes. Each mapping dict is complete (keys it lacks are removed).
    """
    maps = [{k: v for k, v in m.items() if v is not None} for m in mappings]
    body = text.rstrip()
    tail = text[len(body) :]
    pieces = _split(body + "\n", min_depth=2)
    head = pieces[0].text + pieces[1].text  # comments above, [[models]] and its keys
    rest = pieces[2:]  # sub-tables: the mappings, and any other [models.x] table kept as it is
    first = next((i for i, p in enumerate(rest) if p.header == ("models", "mappings")), len(rest))
    before = [p.text for p in rest[:first]]
    old = [p.text for p in rest[first:] if p.header == ("models", "mappings")]
    after = [p.text for p in rest[first:] if p.header != ("models", "mappings")]

    head_doc = tomlkit.parse(head)
    model = head_doc["models"][0]
    if not _same(model.get("name"), name):
        model["name"] = name
    if not old and not _same(model.get("mappings", []), []):  # written inline: `mappings = [{...}]`
        if not _same(model["mappings"], maps):
            array = tomlkit.array()
            for m in maps:
                inline = tomlkit.inline_table()
                inline.update(m)
                array.append(inline)
            model["mappings"] = array
        maps = []
    elif not maps:  # no mapping left: say so (`mappings = []`) rather than leave the model bare
        if not _same(model.get("mappings"), []):
            model["mappings"] = []
    elif "mappings" in model:  # `mappings = []` until now: the new ones get [[models.mappings]] tables
        del model["mappings"]
    new_head = tomlkit.dumps(head_doc)
    head = head if new_head == head else _keep_tail(head, new_head)

    # Pair each new mapping with an old piece: the same (provider, actual_model) first, then the rest in
    # order (a renamed provider edits its mappings in place); what is left over is new or deleted.
    old_ids = [_ident(tomllib.loads(t)["models"]["mappings"][0]) for t in old]
    pairs: list[int | None] = [None] * len(maps)
    free = list(range(len(old)))
    for j, m in enumerate(maps):
        match = next((i for i in free if old_ids[i] == _ident(m)), None)
        if match is not None:
            pairs[j] = match
            free.remove(match)
    for j in range(len(maps)):
        if pairs[j] is None and free:
            pairs[j] = free.pop(0)
    texts = [head, *before]
    moved: list[int] = []  # positions in `texts` of new or reordered pieces
    previous = -1
    for j, m in enumerate(maps):
        i = pairs[j]
        texts.append(_mapping_text(None if i is None else old[i], m))
        if i is None or i != previous + 1:
            moved.append(len(texts) - 1)
        previous = -2 if i is None else i
    texts += after
    for k in moved:  # blank lines around new or moved mappings, as tomlkit writes between tables
        texts[k - 1] = _blank_after(texts[k - 1])
        if k < len(texts) - 1:
            texts[k] = _blank_after(texts[k])
    return "".join(texts).rstrip() + tail


class ConfigDocument:
    """A config file as editable segments; see the module docstring.

    Edits do not validate (a sequence of edits may pass through invalid states); `save()` and
    `validate()` do. Names of providers and models are matched case-insensitively.
    """

    def __init__(self, text: str, path: Path | None = None) -> None:
        self.path = path
        self._newline = "\r\n" if "\r\n" in text else "\n"
        self._segments = _split(text.replace("\r\n", "\n") if self._newline == "\r\n" else text)

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
        return cls(text, p)

    @property
    def text(self) -> str:
        body = "".join(s.text for s in self._segments)
        return body.replace("\n", "\r\n") if self._newline == "\r\n" else body

    # -- plain tables: [server], [router], [server.timeouts] -----------------------------------------
    def _holder(self, parts: tuple[str, ...]) -> _Segment | None:
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
        parts = _parts(header)
        seg = self._holder(parts)
        if seg is None:
            return {}
        node: Any = seg.data()
        for part in parts:
            node = node.get(part, {})
        return {k: v for k, v in node.items() if not isinstance(v, dict)}

    def set_value(self, header: str, key: str, value: Any) -> None:
        """Set (or, with None, remove) one key of a plain table, creating the table when missing."""
        parts = _parts(header)
        seg = self._holder(parts)
        if seg is None:
            if value is not None:
                self._insert(_Segment(parts, False, _table_text(parts, {key: value})))
            return
        _edit(seg, lambda doc: _apply(_navigate(doc, parts), {key: value}, replace=False))

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
            self._insert(_Segment(("providers",), True, _element_text("providers", full)))
        else:
            _edit(self._segments[index], lambda doc: _apply(_navigate(doc, ("providers",), True), full, replace=True))
        if old_name and old_name.lower() != name.lower():
            self._rename_provider_refs(old_name, name)

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
            self._insert(_Segment(("models",), True, _element_text("models", data)))
        else:
            seg = self._segments[index]
            seg.text = _model_text(seg.text, name, mappings)
        if old_name and old_name.lower() != name.lower():
            for slot, value in self.get_table("router").items():
                if slot in ROUTER_SLOTS and isinstance(value, str) and value.strip().lower() == old_name.lower():
                    self.set_value("router", slot, name)

    def delete_model(self, name: str) -> bool:
        """Remove a model (router slots that name it are left for validation to report)."""
        return self._delete("models", name)

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
        try:
            atomic_write(target, text)
        except OSError as exc:
            raise ConfigError([Problem(f"cannot write the config: {exc}", file=str(target))]) from exc
        self.path = target
        return result


def atomic_write(path: Path, text: str, *, backup: bool = True, mode: int = 0o600) -> None:
    """Write a file so that a crash or a full disk never leaves it truncated; keep the old one as .bak.

    A symlinked file (dotfile managers) is written where the link points; the link stays a link. A new
    file gets `mode`; an existing one keeps its mode.
    """
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    temps: list[str] = []
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        temps.append(tmp)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
            if backup:  # copied under a temp name, then renamed: a .bak is never half written either
                fd_bak, tmp_bak = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".bak.tmp", dir=path.parent)
                os.close(fd_bak)
                temps.append(tmp_bak)
                shutil.copy2(path, tmp_bak)
                os.replace(tmp_bak, path.with_name(path.name + ".bak"))
        else:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        for name in temps:
            Path(name).unlink(missing_ok=True)
        raise
    try:  # make the rename durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
