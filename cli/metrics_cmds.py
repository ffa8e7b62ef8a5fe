"""`ccm metrics` (the running proxy's since-start counters) and `ccm usage` (tokens and cost from requests.jsonl).

`ccm metrics` reads GET /api/metrics, so it shows exactly what Prometheus and the TUI see; `ccm usage`
reads the persisted request log and so works with no proxy running and across restarts.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from cli import admin, common, tables, usage
from cli.options import JsonOpt
from config import paths
from config.errors import CcmError

WATCH_INTERVAL = 2.0


def fetch() -> dict[str, Any]:
    """GET /api/metrics from the running proxy (CcmError when none runs)."""
    status, data = admin.call("GET", "/api/metrics", info=common.require_running(), timeout=5)
    if status != 200 or not isinstance(data, dict):
        raise CcmError(f"the proxy did not give its metrics: {admin.error_message(data, status)}")
    return data


def tokens(n: int | None) -> str:
    n = n or 0
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}k"
    return str(n)


def ms(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value} ms"


def usd(value: float | None) -> str:
    if not value:
        return "-"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def cost_cell(row: dict[str, Any]) -> str:
    """A usage row's cost: "plan" when subscriptions answered all of it, "+ plan" when some of it."""
    plan = int(row.get("plan_requests") or 0)
    if plan and plan == row.get("requests"):
        return "plan"
    return usd(row.get("cost_usd")) + (" + plan" if plan else "")


def circuit(state: str, until: float | None) -> str:
    if state == "open" and until:
        return f"open ({max(0, round(until - time.time()))} s left)"
    return state.replace("_", "-")


def summary_line(data: dict[str, Any]) -> str:
    """One line for `ccm status`: requests, failed requests and failovers apart, p50, tokens, cost, circuits.

    A request that failed over and then got its answer is a success (its failover is counted as one); a
    failed request is one whose client got an error (every mapping failed, or a refusal passed on)."""
    providers: dict[str, Any] = data.get("providers") or {}
    requests = data.get("requests") or {}
    total = int(requests.get("total") or 0)
    failed = sum(int(n or 0) for status, n in (requests.get("by_status") or {}).items() if _failed(status))
    failovers = sum(int(p.get("failovers") or 0) for p in providers.values())
    busiest = max(providers.values(), key=lambda p: int(p.get("requests") or 0), default=None)
    p50 = (busiest or {}).get("latency_ms", {}).get("p50") if busiest and busiest.get("requests") else None
    used = sum(int(v or 0) for v in (data.get("tokens") or {}).values())
    opened = [name for name, p in providers.items() if p.get("circuit") != "closed"]
    parts = [
        f"{common.plural(total, 'request')} ({failed} failed, {common.plural(failovers, 'failover')})",
        f"p50 {ms(p50)}",
        f"{tokens(used)} tokens",
        usd(data.get("cost_usd")) if data.get("cost_usd") else "no cost (no prices)",
        "circuits closed" if not opened else "circuit " + ", ".join(f"{n} {providers[n]['circuit']}" for n in opened),
    ]
    return " · ".join(parts)


def _failed(status: str) -> bool:
    """A status the client got as an error (499: the client left, which is not the proxy's failure)."""
    return status.isdigit() and int(status) >= 400 and status != "499"


def _print_metrics(data: dict[str, Any]) -> None:
    providers: dict[str, Any] = data.get("providers") or {}
    rows = []
    for name, p in providers.items():
        t = p.get("tokens") or {}
        cached = (t.get("cache_read") or 0) + (t.get("cache_write") or 0)
        rows.append(
            [
                name,
                str(p.get("requests", 0)),
                str(p.get("errors", 0)),
                str(p.get("failovers", 0)),
                ms((p.get("latency_ms") or {}).get("p50")),
                ms((p.get("latency_ms") or {}).get("p95")),
                ms((p.get("ttft_ms") or {}).get("p50")),
                f"{tokens(t.get('input'))} / {tokens(t.get('output'))}"
                + (f" (+{tokens(cached)} cache)" if cached else ""),
                usd(p.get("cost_usd")),
                circuit(str(p.get("circuit") or "closed"), p.get("circuit_until")),
            ]
        )
    uptime = max(0, round(time.time() - float(data.get("started_at") or time.time())))
    title = f"Since start ({uptime // 3600}h {uptime % 3600 // 60:02d}m): {summary_line(data)}"
    headers = [
        "Provider",
        "Requests",
        "Errors",
        "Failovers",
        "p50",
        "p95",
        "TTFT p50",
        "Tokens in / out",
        "Cost",
        "Circuit",
    ]
    tables.print_table(headers, rows, title=title)


def metrics(
    json_out: JsonOpt = False,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh every 2 s until Ctrl-C.")] = False,
) -> None:
    """The running proxy's counters per provider: requests, errors, latency, TTFT, tokens, cost, circuit."""
    while True:
        data = fetch()
        if json_out:
            common.echo(json.dumps(data, indent=None if watch else 2))
        else:
            if watch and sys.stdout.isatty():
                sys.stdout.write("\x1b[2J\x1b[H")
            _print_metrics(data)
        if not watch:
            return
        time.sleep(WATCH_INTERVAL)


def usage_cmd(
    since: Annotated[
        str,
        typer.Option("--since", metavar="24h|7d|30d", help="How far back: 24h, 7d, 30d (any N followed by h or d)."),
    ] = "7d",
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="model|provider|day|client",
            help="Group by model, provider, day (local time) or client (its name in the config; '-' is the router key).",
        ),
    ] = ("provider"),
    json_out: JsonOpt = False,
) -> None:
    """Tokens and cost from the persisted request log ($CCM_HOME/requests.jsonl), by provider, model, day or client."""
    seconds = usage.parse_since(since)
    if by not in usage.GROUPS:
        raise CcmError(f"--by must be one of {', '.join(usage.GROUPS)}, not {by!r}")
    cutoff = time.time() - seconds
    report = usage.summarize(usage.read(paths.requests_path(), cutoff), by, cutoff)
    if json_out:
        common.echo(json.dumps(report, indent=2))
        return
    fields = ("requests", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

    def line(key: str, row: dict[str, Any]) -> list[str]:
        counts = [str(row[f]) if f in ("requests", "errors") else tokens(row[f]) for f in fields]
        return [key, *counts, cost_cell(row)]

    table = [line(str(r["key"]), r) for r in report["rows"]]
    table.append(line("total", report["total"]))
    headers = [by.capitalize(), "Requests", "Errors", "Input", "Output", "Cache read", "Cache write", "Cost"]
    start = time.strftime("%Y-%m-%d %H:%M", time.localtime(cutoff))
    tables.print_table(headers, table, title=f"Usage since {start} (last {since})")


def statusline_cmd() -> None:
    """A Claude Code statusLine command: the session's route, provider and model, today's cost (reads stdin)."""
    from cli import statusline  # `ccm statusline` itself is answered before typer loads (cli.entry)

    statusline.main()


def register(app: typer.Typer) -> None:
    app.command("metrics", rich_help_panel="Inspection")(metrics)
    app.command("statusline", rich_help_panel="Inspection")(statusline_cmd)
    app.command("usage", rich_help_panel="Inspection")(usage_cmd)
