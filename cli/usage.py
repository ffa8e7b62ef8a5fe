"""Reading requests.jsonl for `ccm usage`: pure grouping of records by provider, model, local day or client.

Stdlib only, no proxy needed. A line that does not parse (a file cut by a crash mid-write) is skipped.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from config.errors import CcmError

GROUPS = ("provider", "model", "day", "client")
FIELDS = ("requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd")
"""`requests` counts the requests served (status < 400): usage is what was answered. One that ended in an
error (refused by ccm, such as an unknown model's 404, or by every provider) counts in `errors` instead;
its tokens and cost, if a provider spent any, still count."""
PLAN = "plan"
"""A record's `pricing` when a subscription answered (Claude Pro/Max, ChatGPT Plus/Pro): no cost per request."""
ROTATED = 5
_AGE = re.compile(r"^\s*(\d+)\s*([hd])\s*$")


def parse_since(text: str) -> int:
    """`24h`, `7d`, `30d` (any whole number of hours or days) in seconds."""
    match = _AGE.match(text.lower())
    if not match or int(match.group(1)) == 0:
        raise CcmError(f"--since must be a number of hours or days such as 24h, 7d or 30d, not {text!r}")
    return int(match.group(1)) * (3600 if match.group(2) == "h" else 86400)


def read(path: Path, cutoff: float) -> Iterator[dict[str, Any]]:
    """Every record since `cutoff` from the journal and its rotated files, oldest file first."""
    candidates = [path.with_name(f"{path.name}.{i}") for i in range(ROTATED - 1, 0, -1)] + [path]
    for file in candidates:
        try:
            handle = file.open(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        with handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and float(record.get("time") or 0) >= cutoff:
                    yield record


def key_of(record: dict[str, Any], by: str) -> str:
    if by == "day":
        return time.strftime("%Y-%m-%d", time.localtime(float(record.get("time") or 0)))
    if by == "model":
        return str(record.get("routed_model") or record.get("model") or "-")
    if by == "client":  # a [[clients]] name; "-" for the router key or no key (and records from before clients)
        return str(record.get("client") or "-")
    return str(record.get("provider") or "(none answered)")


def _empty() -> dict[str, Any]:
    return {
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost_usd": 0.0,
        "plan_requests": 0,
        "errors": 0,
    }


def _add(row: dict[str, Any], record: dict[str, Any]) -> None:
    served = int(record.get("status") or 200) < 400
    row["requests" if served else "errors"] += 1
    for field in FIELDS[1:5]:
        row[field] += int(record.get(field) or 0)
    row["cost_usd"] += float(record.get("cost_usd") or 0.0)
    row["plan_requests"] += record.get("pricing") == PLAN


def summarize(records: Iterable[dict[str, Any]], by: str, cutoff: float) -> dict[str, Any]:
    """`ccm usage --json`: {since, by, rows: [{key, requests, ...tokens, cost_usd}], total}."""
    rows: dict[str, dict[str, Any]] = {}
    total = _empty()
    for record in records:
        if record.get("kind", "messages") != "messages":
            continue
        key = key_of(record, by)
        _add(rows.setdefault(key, _empty()), record)
        _add(total, record)
    ordered = (
        sorted(rows.items())
        if by == "day"
        else sorted(rows.items(), key=lambda kv: (-kv[1]["cost_usd"], -kv[1]["requests"], kv[0]))
    )
    for row in [*rows.values(), total]:
        row["cost_usd"] = round(row["cost_usd"], 6)
    since = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(cutoff))
    return {"since": since, "by": by, "rows": [{"key": k, **v} for k, v in ordered], "total": total}
