"""The pieces of a TOML text that config.save edits one at a time (see config.save for why).

A text is cut into segments: one per top-level table or array-of-tables element, each with its
sub-tables and the comment lines right above its header; joining them gives the text back byte for byte.
Edits parse one segment with tomlkit and change only the keys whose values change; a [[models]] element
is cut once more, into its own table and one piece per [[models.mappings]].
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import tomlkit

from config.errors import ConfigError, Problem
from config.locate import scan

ROUTER_SLOTS = ("default", "think", "background", "websearch", "long_context")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(slots=True)
class Segment:
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


def split(text: str, min_depth: int = 1) -> list[Segment]:
    """Cut a text into segments; joining their texts gives the text back exactly.

    A header nested in an array element whose name has at least `min_depth` parts stays in that
    element's segment: [[models.mappings]] in its [[models]] at depth 1, [models.mappings.x] at depth 2.
    """
    segments: list[Segment] = [Segment((), False, "")]
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
                segments.append(Segment(line.keys, line.is_array, lead + line.text))
        elif line.kind == "comment":
            pending.append(line.text)
        else:  # a key, a blank line or a value's continuation: comments before it stay where they are
            if pending:
                segments[-1].text += "".join(pending)
                pending = []
            segments[-1].text += line.text
    segments[-1].text += "".join(pending)
    return segments


def header_parts(header: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in header.split(".")) if header else ()


def dotted(parts: Iterable[str]) -> str:
    return ".".join(p if _BARE_KEY.match(p) else tomlkit.string(p).as_string() for p in parts)


def plain(value: Any) -> Any:
    return value.unwrap() if hasattr(value, "unwrap") else value


def same(old: Any, new: Any) -> bool:
    """Equal and of the same type (so `1` does not stand for `true`)."""
    old = plain(old)
    return type(old) is type(new) and bool(old == new)


def apply_values(node: Any, data: dict[str, Any], *, replace: bool) -> None:
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
        elif key not in node or not same(node[key], value):
            node[key] = value


def keep_tail(old: str, new: str) -> str:
    """Give a re-rendered segment the old one's trailing blank lines (what separates it from the next)."""
    tail = old[len(old.rstrip()) :]
    return new.rstrip() + tail


def navigate(doc: Any, parts: tuple[str, ...], is_array: bool = False) -> Any:
    node = doc
    for part in parts:
        node = node[part]
    return node[-1] if is_array else node


def edit(seg: Segment, change: Callable[[Any], None]) -> None:
    """Parse one segment with tomlkit, let `change` edit the document, render it back."""
    doc = tomlkit.parse(seg.text)
    change(doc)
    new = tomlkit.dumps(doc)
    if new != seg.text:
        seg.text = keep_tail(seg.text, new)


def table_text(parts: tuple[str, ...], data: dict[str, Any]) -> str:
    return f"[{dotted(parts)}]\n" + tomlkit.dumps(data)


def element_text(top: str, data: dict[str, Any]) -> str:
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
    apply_values(doc["models"]["mappings"][0], mapping, replace=True)
    new = tomlkit.dumps(doc)
    return old if new == old else keep_tail(old, new)


def model_text(text: str, name: str, mappings: list[dict[str, Any]]) -> str:
    """A [[models]] element with its name and mappings set, cut into pieces like the file itself: the
    model's own table, then one piece per [[models.mappings]] with the comment lines right above it. So
    inserting, deleting or reordering mappings moves each one's comments with it, and a mapping that does
    not change keeps its bytes. Each mapping dict is complete (keys it lacks are removed).
    """
    maps = [{k: v for k, v in m.items() if v is not None} for m in mappings]
    body = text.rstrip()
    tail = text[len(body) :]
    pieces = split(body + "\n", min_depth=2)
    head = pieces[0].text + pieces[1].text  # comments above, [[models]] and its keys
    rest = pieces[2:]  # sub-tables: the mappings, and any other [models.x] table kept as it is
    first = next((i for i, p in enumerate(rest) if p.header == ("models", "mappings")), len(rest))
    before = [p.text for p in rest[:first]]
    old = [p.text for p in rest[first:] if p.header == ("models", "mappings")]
    after = [p.text for p in rest[first:] if p.header != ("models", "mappings")]

    head_doc = tomlkit.parse(head)
    model = head_doc["models"][0]
    if not same(model.get("name"), name):
        model["name"] = name
    if not old and not same(model.get("mappings", []), []):  # written inline: `mappings = [{...}]`
        if not same(model["mappings"], maps):
            array = tomlkit.array()
            for m in maps:
                inline = tomlkit.inline_table()
                inline.update(m)
                array.append(inline)
            model["mappings"] = array
        maps = []
    elif not maps:  # no mapping left: say so (`mappings = []`) rather than leave the model bare
        if not same(model.get("mappings"), []):
            model["mappings"] = []
    elif "mappings" in model:  # `mappings = []` until now: the new ones get [[models.mappings]] tables
        del model["mappings"]
    new_head = tomlkit.dumps(head_doc)
    head = head if new_head == head else keep_tail(head, new_head)

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
