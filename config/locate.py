"""Find the line of a key in a TOML text, so errors can say `config.toml:12`.

tomllib gives values without positions; this scanner walks table headers and `key =` lines, which is
all a hand-written ccm config uses. Anything it cannot place falls back to its table's header line.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_.-]+)\s*=""")

Path = tuple[str | int, ...]


def _index_headers(text: str) -> tuple[list[str], list[tuple[int, Path]]]:
    """Each table header as (line number, path with array indexes), e.g. ("models", 0, "mappings", 1)."""
    lines = text.splitlines()
    counters: dict[Path, int] = {}
    current: dict[str, Path] = {}  # dotted array name -> its current indexed path
    headers: list[tuple[int, Path]] = []
    for number, line in enumerate(lines, start=1):
        match = _HEADER.match(line)
        if not match:
            continue
        is_array = match.group(1) == "[["
        parts = [p.strip().strip('"').strip("'") for p in match.group(2).split(".")]
        path: list[str | int] = []
        for depth, part in enumerate(parts):
            dotted = ".".join(parts[: depth + 1])
            path.append(part)
            last = depth == len(parts) - 1
            if last and is_array:
                parent = tuple(path)
                counters[parent] = counters.get(parent, -1) + 1
                path.append(counters[parent])
                current[dotted] = tuple(path)
                # A new element resets the counters of arrays nested in it.
                for key in list(counters):
                    if len(key) > len(parent) and key[: len(parent)] == parent:
                        del counters[key]
            elif dotted in current:
                path = list(current[dotted])
        headers.append((number, tuple(path)))
    return lines, headers


def locate(text: str, path: Path) -> int | None:
    """The 1-based line of `path` (e.g. ("providers", 1, "provider_type")), or its table's line."""
    lines, headers = _index_headers(text)
    # Find the deepest header that is a prefix of the path.
    best: tuple[int, Path] | None = None
    for number, header in headers:
        if path[: len(header)] == header and (best is None or len(header) >= len(best[1])):
            best = (number, header)
    start, prefix = best if best else (0, ())
    rest = path[len(prefix) :]
    if not rest:
        return start or None
    key = rest[0]
    if not isinstance(key, str):
        return start or None
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        if _HEADER.match(line):
            break
        match = _KEY.match(line)
        if match and match.group(1).strip("\"'").split(".")[0] == key:
            return number
    return start or None
