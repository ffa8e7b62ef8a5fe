"""ccm against claude-code-router 2.0.0, side by side in one run: one table, each row with the bar it must meet.

    python bench/compare.py [--rounds 3] [--requests 1000] [--duration 5] [--startups 5]
                            [--resilience off|on|both] [--skip-ccr] [--only hello_p50,stream_rps,...]
                            [--also NAME=PATH[:ENV=VALUE...]]
                            [--json results.json] [--baseline earlier.json] [--ccr-cache .cache/bench-ccr]

What it does, so that anyone can rerun it and get comparable ratios:
- installs claude-code-router 2.0.0 from npm into `--ccr-cache` (not a project dependency; reused when
  that version is there) and runs `node dist/cli.js start` (CCR's own server, in the foreground) with a
  throwaway HOME whose `~/.claude-code-router/config.json` has one OpenAI-format provider;
- runs `python -m ccm serve --config ... --port ...` with one `openai-compatible` provider to the same
  upstream; `--resilience off` (the default) writes `max_retries = 0` and a breaker that never opens,
  `on` the shipped defaults; `both` runs the two side by side, in the same turns, and prints how much
  worse each ccm row got with resilience on (✓ for at most 5%), the steadiest way to check that bar
  (`--resilience on --baseline off.json` compares two separate runs, which a noisy VM moves apart);
- `--also NAME=PATH` (repeatable) runs one more ccm, from the source tree PATH (`.` for this one), with
  the environment variables given after it, in the same turns as the others: a before/after (a checkout
  of the earlier commit) or two variants of one change measured side by side, each printed in its own
  table against CCR and against ccm;
- one fake OpenAI-compatible upstream (bench/cmp_wire.py, raw asyncio, its own capacity printed first);
- pins each proxy to the last core and the load client plus the upstream to the first one;
- each round measures every row; a c=1 row ("added") sends to the direct call, ccm and CCR in turns,
  request by request (A B C A B C: a slow phase of the VM lands on all alike), a c=32 row saturates one
  target after the other, in the reverse order every other round; a row's figure is the median over rounds; "added" is the proxy's p50 minus the
  direct call's in the same round;
- startup is exec → first 200 of a real POST /v1/messages, over `--startups` spawns of each proxy; beside
  it, in the same turns and on the same core, the floor: a Python that only imports the libraries ccm
  serves with (cmp_procs.LIBRARIES), the part of the figure no code of ccm's can remove;
  RSS is VmRSS after start and a few requests (idle), and VmHWM after the run (peak), of the process tree.
Rows (for --only): hello_p50 hello_rps big_p50 big_rps big_stream_rps stream_c1 stream_rps paced startup rss.
Helpers: cmp_wire.py (upstream, client), cmp_procs.py (the proxies), cmp_table.py (rows, bar, table).
Absolute times move from machine to machine: compare ratios within one run. Never run it from the test
suite (tests/test_bench_compare.py only imports its pure parts).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmp_procs import (
    LIBRARIES,
    ROOT,
    Proxy,
    ProxySpec,
    ccm_spec,
    ccr_spec,
    compile_sources,
    get_bytes,
    http_ok,
    install_ccr,
    library_floor,
    pinned,
)
from cmp_table import CCR_VERSION, Row, median_rounds, percentile, render_baseline, render_table, rows
from cmp_wire import MARK_PACED, MARK_STREAM, Samples, Shot, request_bytes, run_count, run_for, run_interleaved

FIXTURE_DIRS = (ROOT / "tests" / "fixtures" / "claude-code", ROOT.parent / "shared" / "fixtures" / "claude-code")


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


def c1_count(row: Row, args: argparse.Namespace) -> int:
    """Requests per target for a c=1 ("added") figure."""
    if row.mode == "paced":
        return max(5, args.requests // 10)
    return {"hello": args.requests, "big": max(10, args.requests // 5)}[row.body]


def c1_values(row: Row, out: Samples) -> list[float]:
    if row.mode == "stream":
        return [percentile(out.first_ms, 0.5), percentile(out.total_ms, 0.5)]
    return [percentile(out.total_ms, 0.5)]


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
    compile_sources()
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
        if capacity:
            print("fake upstream alone at c=32: " + ", ".join(f"{v:.0f} req/s ({k})" for k, v in capacity.items()))
        print(f"cores: load + upstream on {load_core}, proxies on {proxy_core}; body {fixture.name} = {big_kib} KiB")
        specs: list[Callable[[], ProxySpec]] = [lambda: ccm_spec(up_port, args.resilience == "on")]
        if args.resilience == "both":  # a second ccm with resilience on, in the same turns as the first
            specs.append(lambda: dataclasses.replace(ccm_spec(up_port, True), name=RESILIENT))
        for name, root, env in args.also:
            compile_sources(root)
            specs.append(
                lambda name=name, root=root, env=env: dataclasses.replace(
                    ccm_spec(up_port, args.resilience == "on", root, env), name=name
                )
            )
        if cli is not None:
            specs.append(lambda: ccr_spec(cli, up_port))
        if any(r.key == "startup" for r in wanted):
            times: dict[str, list[float]] = {}
            for _ in range(args.startups):
                for make in specs:
                    proxy, seconds = start(make(), proxy_core, hello_proxy.raw)
                    proxy.stop()
                    times.setdefault(proxy.spec.name, []).append(seconds)
                times.setdefault(FLOOR, []).append(library_floor(proxy_core))
            results["startup"] = {name: [min(t), max(t)] for name, t in times.items()}
            per_round["startup"] = {name: [[t] for t in ts] for name, ts in times.items()}  # every spawn
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
                aimed = [
                    (name, port, direct_shot if name == "direct" else proxy_shot)
                    for name, port in targets
                    if name != "direct" or row.kind == "added"
                ]
                if number == 0:
                    for _, port, shot in aimed:  # warm-up: connections, the JIT
                        run_count(port, shot, 5 if row.body == "big" else 30)
                if row.kind == "added":  # the direct call and each proxy take turns, request by request
                    outs = run_interleaved([(port, shot) for _, port, shot in aimed], c1_count(row, args))
                    measured = [(name, c1_values(row, out), out) for (name, _, _), out in zip(aimed, outs, strict=True)]
                else:  # c=32: one target at a time, the first core's load client saturating it; the order
                    # flips every round (A B, then B A), since the target measured first fared a few % better
                    measured = []
                    for name, port, shot in aimed if number % 2 == 0 else aimed[::-1]:
                        rate, out = run_for(port, shot, 32, args.duration)
                        measured.append((name, [rate], out))
                for name, values, out in measured:
                    per_round.setdefault(row.key, {}).setdefault(name, []).append(values)
                    if out.errors:
                        errors[f"{name} {row.key}"] = f"{out.errors} errors, last: {out.last_error}"
            print(f"round {number + 1}/{args.rounds} done", flush=True)
        for key, by_target in per_round.items():
            if key == "startup":  # its figure is (min, max) over the spawns, set above
                continue
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
    for name, _, _ in args.also:
        print(f"\n{name} in ccm's column:")
        print(render_table(wanted, {k: {**v, "ccm": v[name]} for k, v in results.items() if name in v}))
    if FLOOR in results.get("startup", {}):
        low, high = results["startup"][FLOOR]
        print(f"\nstartup floor: importing {', '.join(LIBRARIES)} alone takes {low:.2f}–{high:.2f} s here")
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


RESILIENT = "ccm-on"
FLOOR = "libraries"
"""The startup row's extra column: the dependencies' imports alone (cmp_procs.library_floor)."""
"""The name of the second ccm of `--resilience both` (the first, "ccm", has resilience off)."""


def resilience_split(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A `--resilience both` report as two (on, off) in the shape render_baseline compares."""
    on = {"meta": {**report["meta"], "resilience": "on"}, "rows": {}}
    off = {"meta": {**report["meta"], "resilience": "off"}, "rows": {}}
    for key, row in report["rows"].items():
        if RESILIENT in row and "ccm" in row:
            on["rows"][key] = {**row, "ccm": row[RESILIENT]}
            off["rows"][key] = row
    return on, off


def also(text: str) -> tuple[str, Path, dict[str, str]]:
    """`--also NAME=PATH[:ENV=VALUE...]`: one more ccm to run beside the others."""
    name, _, rest = text.partition("=")
    path, *pairs = rest.split(":")
    if not name or not path or any("=" not in p for p in pairs):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=PATH[:ENV=VALUE...]")
    root = (ROOT if path == "." else Path(path)).resolve()
    if not (root / "ccm" / "__main__.py").is_file():
        raise argparse.ArgumentTypeError(f"{root} is not a ccm source tree")
    return name, root, dict(p.split("=", 1) for p in pairs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000, help="requests per c=1 figure (big: /5, paced: /10)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per c=32 figure")
    parser.add_argument("--startups", type=int, default=5, help="spawns of each proxy for the startup row")
    parser.add_argument("--resilience", choices=("off", "on", "both"), default="off")
    parser.add_argument("--skip-ccr", action="store_true")
    parser.add_argument("--only", type=lambda s: set(s.split(",")), default=None, metavar="ROWS")
    parser.add_argument("--json", metavar="PATH", help="write the figures (and every round's) to PATH")
    parser.add_argument("--baseline", metavar="PATH", help="an earlier --json: print how much worse ccm got")
    parser.add_argument("--ccr-cache", default=str(ROOT / ".cache" / "bench-ccr"))
    parser.add_argument("--also", type=also, action="append", default=[], metavar="NAME=PATH[:ENV=VALUE...]")
    args = parser.parse_args(argv)
    unknown = (args.only or set()) - {r.key for r in rows(0)}
    if unknown:
        parser.error(f"unknown rows {', '.join(sorted(unknown))}; known: {' '.join(r.key for r in rows(0))}")
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else None
    report = run(args)
    if baseline is not None:
        print(render_baseline(report, baseline))
    if args.resilience == "both":
        print(render_baseline(*resilience_split(report)))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
