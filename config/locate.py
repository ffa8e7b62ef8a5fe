"""Where things are in a TOML text: line kinds for the surgical saver, and the line of a key for errors.

tomllib gives values without positions, and tomlkit is 9x slower, so this module reads the text itself.
It is a line scanner, not a parser: it follows multi-line strings and arrays so that a line inside them is
never taken for a header or a key (a `[x]` line in a `'''` string, the `["a", "b"]` row of an array), and
it reads table headers and dotted keys with their quotes. That is all a config needs to say
`config.toml:12: providers[1].provider_type: ...` and to cut a file into its tables.

    lines = scan(text)                       # [Line(number, text, kind, path), ...]
    Locator(text).line(("providers", 1, "provider_type"))   -> 12
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import takewhile
from typing import Literal

Path = tuple[str | int, ...]
Kind = Literal["header", "key", "comment", "blank", "continuation"]


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line (number is 1-based; text keeps its line ending)."""

    number: int
    text: str
    kind: Kind
    keys: tuple[str, ...] = ()
    """A header's table name, or a key line's dotted key, split into parts (quotes removed)."""
    is_array: bool = False
    """For a header: `[[...]]`."""


def _skip_basic(s: str, i: int) -> int:
    """Index just past the closing quote of a one-line basic string whose opening quote is at i - 1."""
    n = len(s)
    while i < n and s[i] != '"':
        i += 2 if s[i] == "\\" else 1
    return i + 1


def _split_key(s: str) -> tuple[tuple[str, ...], int]:
    """Parse a (dotted) key at the start of s; return its parts and where it stops (at `=`, `]` or end)."""
    parts: list[str] = []
    cur = ""
    quoted = False
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == '"':
            end = _skip_basic(s, i + 1)
            cur += s[i + 1 : end - 1]
            quoted = True
            i = end
            continue
        if c == "'":
            end = s.find("'", i + 1)
            end = n if end < 0 else end
            cur += s[i + 1 : end]
            quoted = True
            i = end + 1
            continue
        if c in "=]":
            break
        if c == ".":
            parts.append(cur if quoted else cur.strip())
            cur, quoted = "", False
        else:
            cur += c
        i += 1
    parts.append(cur if quoted else cur.strip())
    return tuple(parts), i


def _advance(s: str, ml: str | None, depth: int) -> tuple[str | None, int]:
    """Follow one line of values: open multi-line strings and the nesting depth of arrays/inline tables."""
    i, n = 0, len(s)
    while i < n:
        if ml is not None:
            k = s.find(ml, i)
            while k >= 0 and ml == '"""':
                slashes = 0
                while k - 1 - slashes >= i and s[k - 1 - slashes] == "\\":
                    slashes += 1
                if slashes % 2 == 0:
                    break
                k = s.find(ml, k + 1)
            if k < 0:
                return ml, depth
            k += 3
            extra = 0
            while k < n and s[k] == ml[0] and extra < 2:  # `""""` ends the string with a quote in it
                k, extra = k + 1, extra + 1
            i, ml = k, None
            continue
        c = s[i]
        if c == "#":
            break
        if s.startswith('"""', i) or s.startswith("'''", i):
            ml, i = s[i : i + 3], i + 3
        elif c == '"':
            i = _skip_basic(s, i + 1)
        elif c == "'":
            end = s.find("'", i + 1)
            i = n if end < 0 else end + 1
        else:
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth = max(0, depth - 1)
            i += 1
    return ml, depth


def scan(text: str) -> list[Line]:
    """Classify every line; lines inside a multi-line string or array are "continuation"."""
    out: list[Line] = []
    ml: str | None = None
    depth = 0
    for number, raw in enumerate(text.splitlines(keepends=True), start=1):
        stripped = raw.strip()
        if ml is not None or depth > 0:
            ml, depth = _advance(raw, ml, depth)
            out.append(Line(number, raw, "continuation"))
        elif not stripped:
            out.append(Line(number, raw, "blank"))
        elif stripped.startswith("#"):
            out.append(Line(number, raw, "comment"))
        elif stripped.startswith("["):
            is_array = stripped.startswith("[[")
            keys, _ = _split_key(stripped[2 if is_array else 1 :])
            out.append(Line(number, raw, "header", keys, is_array))
        else:
            keys, stop = _split_key(stripped)
            ml, depth = _advance(stripped[stop + 1 :], None, 0)
            out.append(Line(number, raw, "key", keys))
    return out


class Locator:
    """Finds the line of a key path in one text; built once per load (the scan is reused)."""

    def __init__(self, text: str) -> None:
        self.lines = scan(text)
        self.headers: list[tuple[int, Path]] = []  # (line number, indexed path) of each table header
        counters: dict[Path, int] = {}
        current: dict[tuple[str, ...], Path] = {}  # array name -> its current element's indexed path
        for line in self.lines:
            if line.kind != "header":
                continue
            path: list[str | int] = []
            for depth, part in enumerate(line.keys):
                name = line.keys[: depth + 1]
                path.append(part)
                if depth == len(line.keys) - 1 and line.is_array:
                    parent = tuple(path)
                    counters[parent] = counters.get(parent, -1) + 1
                    path.append(counters[parent])
                    current[name] = tuple(path)
                    for key in list(counters):  # a new element restarts the arrays nested in it
                        if len(key) > len(parent) and key[: len(parent)] == parent:
                            del counters[key]
                elif name in current:
                    path = list(current[name])
            self.headers.append((line.number, tuple(path)))

    def line(self, path: Path) -> int | None:
        """The 1-based line of `path` (e.g. ("providers", 1, "provider_type")), else the nearest table's."""
        best: tuple[int, Path] | None = None
        for number, header in self.headers:
            if path[: len(header)] == header and (best is None or len(header) >= len(best[1])):
                best = (number, header)
        start, prefix = best if best else (0, ())
        rest = path[len(prefix) :]
        if not rest:
            return start or None
        wanted = tuple(takewhile(lambda p: isinstance(p, str), rest))
        found, found_len = None, 0
        for line in self.lines[start:]:
            if line.kind == "header":
                break
            if line.kind == "key" and wanted and line.keys[:1] == wanted[:1]:
                common = 0
                while common < min(len(line.keys), len(wanted)) and line.keys[common] == wanted[common]:
                    common += 1
                if common > found_len:
                    found, found_len = line.number, common
        if found is not None:
            return found
        # A table or array written with its own header further down ([[router.prompt_rules]]).
        for number, header in self.headers:
            if tuple(p for p in header if isinstance(p, str))[: len(path)] == tuple(path):
                return number
        return start or None
