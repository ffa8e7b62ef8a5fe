"""`ccm statusline`: a Claude Code `statusLine` command, answered before typer is imported (cli.entry).

Claude Code runs the command after each turn with its status JSON on stdin (`session_id`, `model`, `cost`,
...) and shows the first line printed. This one shows where the session's last request went (the route,
the provider and the model that answered), today's cost, and any provider whose circuit is open:

    ccm think → kimi-k2 · openrouter/moonshotai/kimi-k2-thinking · today $0.42 · circuit open: zai

Standard library and ccm's light modules only, and a budget of 200 ms: a short request to the running
proxy's `GET /api/statusline?session=ID`, else the tail of `$CCM_HOME/requests.jsonl`; today's cost comes
from that file's tail in both cases. It never fails: any error still prints one plain line and exits 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from ccm import pidfile
from config import paths

PROXY_TIMEOUT_S = 0.12
"""The proxy answers from memory; slower than this (its admin API is built on first use, ~0.5 s), the file
is read instead."""
TAIL_BYTES = 4 * 2**20
"""How much of requests.jsonl is read at most, from its end (thousands of records: a long day's work)."""


def _router_key(config: str) -> str | None:
    """server.api_key of the served config, resolved as the proxy does ($VAR / ${VAR} or a literal)."""
    try:
        raw = tomllib.loads(Path(config).read_text(encoding="utf-8")).get("server", {}).get("api_key")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(raw, str) or not raw:
        return None
    if raw.startswith("$"):
        return os.environ.get(raw[1:].strip("{}")) or None
    return raw


def from_proxy(info: pidfile.PidInfo, session: str) -> dict[str, Any] | None:
    """The running proxy's answer, or None when it does not answer in time."""
    if not info.port:
        return None
    import http.client  # only when a proxy runs
    from urllib.parse import quote

    host = info.host if info.host not in ("0.0.0.0", "", "::") else "127.0.0.1"
    headers = {"accept": "application/json"}
    key = _router_key(info.config)
    if key:
        headers["x-api-key"] = key
    conn = http.client.HTTPConnection(host, info.port, timeout=PROXY_TIMEOUT_S)
    try:
        conn.request("GET", f"/api/statusline?session={quote(session, safe='')}", headers=headers)
        response = conn.getresponse()
        data = json.loads(response.read()) if response.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return data if isinstance(data, dict) else None


def _tail_records(path: Path) -> list[dict[str, Any]]:
    """The records at the end of the journal, newest first (a line cut at the start of the tail is skipped)."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - TAIL_BYTES))
            chunk = handle.read()
    except OSError:
        return []
    lines = chunk.split(b"\n")
    if len(chunk) == TAIL_BYTES:
        lines = lines[1:]
    out = []
    for line in reversed(lines):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def from_journal(session: str, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The session's last request in the journal (the file the proxy writes, also when it is stopped)."""
    return next((r for r in records if session and r.get("session") == session), None)


def today_cost(records: list[dict[str, Any]], now: float) -> float:
    start = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))  # local midnight
    total = 0.0
    for record in records:
        if float(record.get("time") or 0) < start:
            break  # newest first: the rest is older
        total += float(record.get("cost_usd") or 0.0)
    return total


def render(last: dict[str, Any] | None, cost: float, open_circuits: list[str], running: bool) -> str:
    parts = ["ccm"]
    if last:
        route = str(last.get("route") or "?")
        parts[0] += f" {route} → {last.get('routed_model') or '?'}"
        if last.get("provider"):
            parts.append(f"{last['provider']}/{last.get('actual_model') or '?'}")
        else:
            parts.append(f"failed ({last.get('status')})")
    else:
        parts[0] += ": no request yet in this session"
    parts.append(f"today ${cost:.2f}")
    if open_circuits:
        parts.append("circuit open: " + ", ".join(open_circuits))
    if not running:
        parts.append("proxy stopped")
    return " · ".join(parts)


def line(stdin: str, now: float | None = None) -> str:
    try:
        status = json.loads(stdin) if stdin.strip() else {}
    except ValueError:
        status = {}
    session = str(status.get("session_id") or "") if isinstance(status, dict) else ""
    records = _tail_records(paths.requests_path())
    info = pidfile.running(paths.pid_path())
    answer = from_proxy(info, session) if info is not None else None
    last = answer.get("last") if answer is not None else from_journal(session, records)
    opened = [str(n) for n in answer.get("open_circuits") or []] if answer is not None else []
    cost = today_cost(records, now or time.time())
    return render(last if isinstance(last, dict) else None, cost, opened, info is not None)


def main() -> None:
    """Print one line, whatever happens, and exit 0: a broken statusline must not bother Claude Code."""
    try:
        text = line(sys.stdin.read() if not sys.stdin.isatty() else "")
    except Exception as exc:  # the one place where anything goes: Claude Code shows this line as it is
        text = f"ccm: statusline unavailable ({type(exc).__name__})"
    try:
        print(" ".join(text.split()), flush=True)
    except OSError:
        pass
