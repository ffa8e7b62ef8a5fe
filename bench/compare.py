"""ccm against claude-code-router 2.0.0, side by side in one run (issue #12's table, with its bar).

    python bench/compare.py [--rounds 3] [--requests 1000] [--duration 5] [--startups 5]
                            [--resilience off|on] [--skip-ccr] [--only hello_p50,stream_rps,...]
                            [--json results.json] [--baseline earlier.json] [--ccr-cache .cache/bench-ccr]

What it does, so that anyone can rerun it and get comparable ratios:
- installs claude-code-router 2.0.0 from npm into `--ccr-cache` (not a project dependency; reused when
  that version is there) and runs `node dist/cli.js start` (CCR's own server, in the foreground) with a
  throwaway HOME whose `~/.claude-code-router/config.json` has one OpenAI-format provider;
- runs `python -m ccm serve --config ... --port ...` with one `openai-compatible` provider to the same
  upstream; `--resilience off` (the default) writes `max_retries = 0` and a breaker that never opens,
  `on` the shipped defaults (`--resilience off --json off.json`, then `--resilience on --baseline
  off.json` prints how much worse each ccm row got, with ✓ for at most 5%);
- one fake OpenAI-compatible upstream (bench/cmp_wire.py, raw asyncio, its own capacity printed first);
- pins each proxy to the last core and the load client plus the upstream to the first one;
- each round measures the direct call, then ccm, then CCR (A B A B over the rounds); a row's figure is
  the median over rounds; "added" is the proxy's p50 minus the direct call's in the same round;
- startup is exec → first 200 of a real POST /v1/messages, over `--startups` spawns of each proxy;
  RSS is VmRSS after start and a few requests (idle), and VmHWM after the run (peak), of the process tree.
Rows (for --only): hello_p50 hello_rps big_p50 big_rps big_stream_rps stream_c1 stream_rps paced startup rss.
Absolute times move from machine to machine: compare ratios within one run. Never run it from the test
suite (tests/test_bench_compare.py only imports its pure parts).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmp_procs import CCR_VERSION, ROOT, Proxy, ProxySpec, ccm_spec, ccr_spec, get_bytes, http_ok, install_ccr, pinned
from cmp_wire import MARK_PACED, MARK_STREAM, Samples, Shot, request_bytes, run_count, run_for

FIXTURE_DIRS = (Path("/work/shared/fixtures/claude-code"), ROOT / "tests" / "fixtures" / "claude-code")


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
    """The issue's markdown table: figure | ccm | CCR | ccm / CCR | bar (rows without results are left out)."""
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


# ---- requests ----------------------------------------------------------------------------------------


def big_fixture() -> Path:
    for folder in FIXTURE_DIRS:
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_size) if folder.is_dir() else []
        files = [f for f in files if not f.name.endswith(".headers.json")]
        if files:
            return files[-1]
    raise SystemExit(f"no Claude Code fixture in {', '.join(map(str, FIXTURE_DIRS))}")


def _marker(mode: str) -> str:
    return {"json": "", "stream": MARK_STREAM.decode(), "paced": MARK_PACED.decode()}[mode]


def anthropic_body(body: str, mode: str, big: dict[str, object]) -> bytes:
    """The request Claude Code would send: the fixture (or "hello"), the marker in the last user message."""
    marker = _marker(mode)
    if body == "big":
        doc = json.loads(json.dumps(big))
        last = doc["messages"][-1]
        if isinstance(last["content"], str):
            last["content"] = [{"type": "text", "text": last["content"]}]
        if marker:
            last["content"].append({"type": "text", "text": marker})
    else:
        doc = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": "hello " + marker}],
        }
    doc["stream"] = mode != "json"
    return json.dumps(doc, separators=(",", ":")).encode()


def shots(body: str, mode: str, big: dict[str, object]) -> tuple[Shot, Shot]:
    """(through a proxy, direct to the upstream); the direct one carries the same bytes to the same upstream."""
    data = anthropic_body(body, mode, big)
    headers = {"anthropic-version": "2023-06-01", "x-api-key": "bench-client-key"}
    stream = mode != "json"
    proxy = Shot(
        request_bytes("/v1/messages", data, headers),
        b"text_delta" if stream else None,
        b"message_stop" if stream else b'"ok"',
    )
    direct = Shot(
        request_bytes("/v1/chat/completions", data, {"authorization": "Bearer bench-key-123456"}),
        b'"content"' if stream else None,
        b"[DONE]" if stream else b'"ok"',
    )
    return proxy, direct


def measure(port: int, row: Row, shot: Shot, args: argparse.Namespace) -> tuple[list[float], Samples]:
    if row.kind == "rps":
        rate, out = run_for(port, shot, 32, args.duration)
        return [rate], out
    count = {"hello": args.requests, "big": max(10, args.requests // 5)}[row.body]
    if row.mode == "paced":
        count = max(5, args.requests // 10)
    out = run_count(port, shot, count)
    if row.mode == "stream":
        return [percentile(out.first_ms, 0.5), percentile(out.total_ms, 0.5)], out
    return [percentile(out.total_ms, 0.5)], out


# ---- the run -----------------------------------------------------------------------------------------


def start_upstream(core: int | None) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("cmp_wire.py"))],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=pinned(core),
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def start(spec: ProxySpec, core: int | None, hello: bytes) -> tuple[Proxy, float]:
    proxy = Proxy(spec, core)
    try:
        seconds = proxy.wait_ready(lambda port: http_ok(port, hello))
        if spec.health:
            proxy.wait_ready(lambda port: http_ok(port, get_bytes(spec.health)))
    except BaseException:
        proxy.stop()
        raise
    return proxy, seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    load_core, proxy_core = (cores[0], cores[-1]) if len(cores) > 1 else (None, None)
    if load_core is not None:
        os.sched_setaffinity(0, {load_core})
    fixture = big_fixture()
    big = json.loads(fixture.read_text())
    big_kib = round(len(anthropic_body("big", "json", big)) / 1024)
    wanted = [r for r in rows(big_kib) if not args.only or r.key in args.only]
    cli = None if args.skip_ccr else install_ccr(Path(args.ccr_cache))
    upstream, up_port = start_upstream(load_core)
    hello_proxy, hello_direct = shots("hello", "json", big)
    results: dict[str, dict[str, list[float]]] = {}
    per_round: dict[str, dict[str, list[list[float]]]] = {}
    errors: dict[str, str] = {}
    running: list[Proxy] = []
    try:
        run_count(up_port, hello_direct, 200)  # warm-up
        capacity = {  # per (body, mode) of the c=32 rows: the upstream alone must be far above any proxy
            f"{r.body} {r.mode}": run_for(up_port, shots(r.body, r.mode, big)[1], 32, min(args.duration, 2.0))[0]
            for r in wanted
            if r.kind == "rps"
        }
        print("fake upstream alone at c=32: " + ", ".join(f"{v:.0f} req/s ({k})" for k, v in capacity.items()))
        print(f"cores: load + upstream on {load_core}, proxies on {proxy_core}; body {fixture.name} = {big_kib} KiB")
        specs: list[Callable[[], ProxySpec]] = [lambda: ccm_spec(up_port, args.resilience == "on")]
        if cli is not None:
            specs.append(lambda: ccr_spec(cli, up_port))
        if any(r.key == "startup" for r in wanted):
            times: dict[str, list[float]] = {}
            for _ in range(args.startups):
                for make in specs:
                    proxy, seconds = start(make(), proxy_core, hello_proxy.raw)
                    proxy.stop()
                    times.setdefault(proxy.spec.name, []).append(seconds)
            results["startup"] = {name: [min(t), max(t)] for name, t in times.items()}
        for make in specs:
            running.append(start(make(), proxy_core, hello_proxy.raw)[0])
        idle = {}
        for proxy in running:
            run_count(proxy.spec.port, hello_proxy, 20)
            idle[proxy.spec.name] = proxy.rss_mib()[0]
        targets = [("direct", up_port)] + [(p.spec.name, p.spec.port) for p in running]
        for number in range(args.rounds):
            for row in wanted:
                if row.kind not in ("added", "rps"):
                    continue
                proxy_shot, direct_shot = shots(row.body, row.mode, big)
                for name, port in targets:
                    if name == "direct" and row.kind == "rps":
                        continue
                    shot = direct_shot if name == "direct" else proxy_shot
                    if number == 0:
                        run_count(port, shot, 5 if row.body == "big" else 30)  # warm-up: connections, the JIT
                    values, out = measure(port, row, shot, args)
                    per_round.setdefault(row.key, {}).setdefault(name, []).append(values)
                    if out.errors:
                        errors[f"{name} {row.key}"] = f"{out.errors} errors, last: {out.last_error}"
            print(f"round {number + 1}/{args.rounds} done", flush=True)
        for key, by_target in per_round.items():
            direct = by_target.get("direct")
            for name, rounds in by_target.items():
                if name == "direct":
                    continue
                if direct is not None:
                    rounds = [
                        [v - d for v, d in zip(vr, dr, strict=True)] for vr, dr in zip(rounds, direct, strict=True)
                    ]
                results.setdefault(key, {})[name] = median_rounds(rounds)
            if direct is not None:
                results[key]["direct"] = median_rounds(direct)
        if any(r.key == "rss" for r in wanted):
            results["rss"] = {p.spec.name: [idle[p.spec.name], p.rss_mib()[1]] for p in running}
    finally:
        for proxy in running:
            proxy.stop()
        upstream.terminate()
        upstream.wait()
    print()
    print(render_table(wanted, results))
    for key, message in errors.items():
        print(f"! {key}: {message}")
    for r in wanted:
        rate = max((v[0] for n, v in results.get(r.key, {}).items() if r.kind == "rps"), default=0.0)
        if rate and capacity[f"{r.body} {r.mode}"] < 2 * rate:
            print(
                f"! {r.key}: the fake upstream alone ({capacity[f'{r.body} {r.mode}']:.0f} req/s) may limit {rate:.0f}"
            )
    verdicts = {
        r.key: [c.passes(results[r.key]["ccm"], results[r.key].get("CCR")) for c in r.checks]
        for r in wanted
        if "ccm" in results.get(r.key, {})
    }
    return {
        "meta": {
            "rounds": args.rounds,
            "requests": args.requests,
            "duration_s": args.duration,
            "startups": args.startups,
            "resilience": args.resilience,
            "ccr_version": CCR_VERSION,
            "body": fixture.name,
            "body_kib": big_kib,
            "upstream_rps": capacity,
            "cores": {"load": load_core, "proxy": proxy_core},
        },
        "rows": {
            r.key: {
                "label": r.label,
                "kind": r.kind,
                **results.get(r.key, {}),
                "per_round": per_round.get(r.key, {}),
                "pass": verdicts.get(r.key),
            }
            for r in wanted
        },
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000, help="requests per c=1 figure (big: /5, paced: /10)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per c=32 figure")
    parser.add_argument("--startups", type=int, default=5, help="spawns of each proxy for the startup row")
    parser.add_argument("--resilience", choices=("off", "on"), default="off")
    parser.add_argument("--skip-ccr", action="store_true")
    parser.add_argument("--only", type=lambda s: set(s.split(",")), default=None, metavar="ROWS")
    parser.add_argument("--json", metavar="PATH", help="write the figures (and every round's) to PATH")
    parser.add_argument("--baseline", metavar="PATH", help="an earlier --json: print how much worse ccm got")
    parser.add_argument("--ccr-cache", default=str(ROOT / ".cache" / "bench-ccr"))
    args = parser.parse_args(argv)
    unknown = (args.only or set()) - {r.key for r in rows(0)}
    if unknown:
        parser.error(f"unknown rows {', '.join(sorted(unknown))}; known: {' '.join(r.key for r in rows(0))}")
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    report = run(args)
    if baseline is not None:
        print(render_baseline(report, baseline))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
