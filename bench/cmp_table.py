"""The table half of bench/compare.py: the rows, the bar each must meet, and how they print (pure functions).

A row's figure is a list of floats (one, or two such as first text / total); the bar compares ccm's
with CCR's from the same run (a ratio), or with an absolute limit (startup, RSS)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

CCR_VERSION = "2.0.0"


@dataclass(frozen=True)
class Check:
    """ccm's value at `index` must be `op` (le/ge) `factor` × CCR's, or `factor` itself if absolute."""

    index: int
    op: str
    factor: float
    absolute: bool = False
    unit: str = ""  # of an absolute limit

    def passes(self, ccm: list[float], ccr: list[float] | None) -> bool | None:
        if self.absolute:
            limit = self.factor
        elif ccr is None:
            return None
        else:
            limit = self.factor * ccr[self.index]
        return ccm[self.index] <= limit if self.op == "le" else ccm[self.index] >= limit

    def text(self) -> str:
        sign = "≤" if self.op == "le" else "≥"
        return f"{sign} {self.factor:g}" + (f" {self.unit}" if self.absolute else "×")


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    kind: str  # added (ms over the direct call) | rps | startup (s) | rss (MiB)
    body: str = "hello"  # hello | big
    mode: str = "json"  # json | stream | paced
    checks: tuple[Check, ...] = ()


def rows(big_kib: int) -> list[Row]:
    le, ge = "le", "ge"
    big = f"{big_kib} KiB Claude Code body"
    return [
        Row("hello_p50", '"hello", non-stream, added p50 at c=1', "added", checks=(Check(0, le, 0.8),)),
        Row("hello_rps", '"hello", non-stream, req/s at c=32', "rps", checks=(Check(0, ge, 1.25),)),
        Row("big_p50", f"{big}, added p50", "added", "big", checks=(Check(0, le, 0.25),)),
        Row("big_rps", f"{big}, req/s at c=32", "rps", "big", checks=(Check(0, ge, 5),)),
        Row("big_stream_rps", f"{big} streamed, req/s at c=32", "rps", "big", "stream", (Check(0, ge, 4),)),
        Row(
            "stream_c1",
            '"hello" stream (20 chunks), added first text / total at c=1',
            "added",
            mode="stream",
            checks=(Check(0, le, 0.8), Check(1, le, 1)),
        ),
        Row("stream_rps", '"hello" stream, req/s at c=32', "rps", mode="stream", checks=(Check(0, ge, 1.25),)),
        Row("paced", "paced stream (10 chunks × 10 ms), added total", "added", mode="paced", checks=(Check(0, le, 1),)),
        Row("startup", "startup, exec → first 200", "startup", checks=(Check(1, le, 0.5, True, "s"),)),
        Row("rss", "idle / peak RSS", "rss", checks=(Check(0, le, 60, True, "MiB"), Check(1, le, 120, True, "MiB"))),
    ]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..1); NaN for no values, so an all-errors row shows as nan."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def median_rounds(per_round: list[list[float]]) -> list[float]:
    return [statistics.median(column) for column in zip(*per_round, strict=True)]


def fmt_values(kind: str, values: list[float] | None) -> str:
    if values is None:
        return "—"
    if kind == "added":
        return " / ".join(f"{v:+.2f}" for v in values) + " ms"
    if kind == "rps":
        return " / ".join(f"{v:.0f}" for v in values)
    if kind == "startup":
        return f"{values[0]:.2f}–{values[1]:.2f} s"
    return " / ".join(f"{v:.0f}" for v in values) + " MiB"


def fmt_ratio(ccm: list[float], ccr: list[float] | None) -> str:
    if ccr is None:
        return "—"
    return " / ".join(f"{a / b:.2f}×" if b else "—" for a, b in zip(ccm, ccr, strict=True))


def fmt_bar(row: Row, ccm: list[float], ccr: list[float] | None) -> str:
    marks = {True: "✓", False: "✗", None: "?"}
    return " / ".join(f"{c.text()} {marks[c.passes(ccm, ccr)]}" for c in row.checks)


def render_table(table_rows: list[Row], results: dict[str, dict[str, list[float]]]) -> str:
    """The markdown table: figure | ccm | CCR | ccm / CCR | bar (rows without results are left out)."""
    lines = [f"| figure | ccm | CCR {CCR_VERSION} | ccm / CCR | bar |", "|---|---|---|---|---|"]
    for row in table_rows:
        got = results.get(row.key)
        if not got or "ccm" not in got:
            continue
        ccm, ccr = got["ccm"], got.get("CCR")
        cells = [row.label, fmt_values(row.kind, ccm), fmt_values(row.kind, ccr), fmt_ratio(ccm, ccr)]
        lines.append("| " + " | ".join(cells + [fmt_bar(row, ccm, ccr)]) + " |")
    return "\n".join(lines)


def worse_by(kind: str, now: list[float], then: list[float]) -> list[float]:
    """How much worse ccm got than a baseline, per value, as a fraction (negative: better)."""
    if kind == "rps":
        return [(b - a) / b if b else 0.0 for a, b in zip(now, then, strict=True)]
    return [(a - b) / abs(b) if b else 0.0 for a, b in zip(now, then, strict=True)]


def render_baseline(report: dict[str, Any], baseline: dict[str, Any], limit: float = 0.05) -> str:
    """ccm against an earlier run's --json (say, --resilience on against off): no row worse by > `limit`."""
    lines = [f"ccm against the baseline ({baseline['meta'].get('resilience')} → {report['meta'].get('resilience')}):"]
    for key, row in report["rows"].items():
        then = baseline["rows"].get(key, {}).get("ccm")
        if "ccm" not in row or not then:
            continue
        changes = worse_by(row["kind"], row["ccm"], then)
        mark = "✓" if all(c <= limit for c in changes) else "✗"
        lines.append(f"  {row['label']}: " + " / ".join(f"{c:+.1%} worse" for c in changes) + f" {mark}")
    return "\n".join(lines)
