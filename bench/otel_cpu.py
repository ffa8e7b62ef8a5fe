"""Proxy CPU per request on a team's gateway (50 [[clients]], each request sent with a client key), with
OpenTelemetry export off and on, in interleaved rounds.

    python bench/otel_cpu.py [--rounds 40] [--count 200] [--mode json|stream] [--clients 50] [--on-env NAME=VALUE]

Two proxies run side by side from this tree on the same core and config, one with OTEL_EXPORTER_OTLP_ENDPOINT
pointing at a collector that accepts everything (a separate process: its CPU is not the proxy's). Each round
measures both (in alternating order), `--count` requests at concurrency 1, and reads each proxy's CPU (user +
system, its threads included: the OpenTelemetry thread is the proxy's cost), from each thread's
/proc schedstat (nanoseconds) rather than the clock ticks of bench/cpu_per_request.py. A shared VM's load moves both figures by a quarter from round to round, so
the figures are paired by round: the median of the per-round ratios, and the ratio of the totals. The bar
is "on" within 5% of "off".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmp_procs import ROOT, ccm_spec, compile_sources, pin_load_here, tree
from cmp_wire import Shot, request_bytes, run_count
from compare import anthropic_body, big_fixture, start, start_upstream

COLLECTOR = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
ROUTER = "bench-router-key-0123456789"


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time of the process (its threads and children): (the main thread's, every other thread's), from
    each thread's schedstat (nanoseconds: the clock-tick figures of /proc/PID/stat are 10 ms coarse, too
    coarse for short interleaved rounds). The main thread runs the event loop; the others are the request
    journal's writer and, with OTel on, the OpenTelemetry thread."""
    main = others = 0
    for each in tree(pid):
        for task in Path(f"/proc/{each}/task").glob("*"):
            try:
                used = int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if task.name == str(pid):
                main += used
            else:
                others += used
    return main / 1e9, others / 1e9


def client_key(i: int) -> str:
    return f"bench-client-{i:03d}-key-0123456789"


def team_config(base: str, clients: int) -> str:
    """bench/cmp_procs.py's config with a router key and `clients` [[clients]], globs and limits that never bite."""
    text = base.replace('log_level = "warning"\n', f'log_level = "warning"\napi_key = "{ROUTER}"\n')
    for i in range(clients):
        text += f'\n[[clients]]\nname = "client-{i:03d}"\napi_key = "{client_key(i)}"\nmodels = ["bench*"]\n'
        text += "rpm = 1000000\ntpm = 1000000000\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--mode", choices=["json", "stream"], default="json")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--on-env", action="append", default=[], metavar="NAME=VALUE", help="more for the 'on' proxy")
    args = parser.parse_args()
    pin_load_here()
    compile_sources(ROOT)
    upstream, upstream_port = start_upstream(0)
    collector = subprocess.Popen([sys.executable, "-c", COLLECTOR], stdout=subprocess.PIPE, text=True)
    assert collector.stdout is not None
    collector_url = f"http://127.0.0.1:{collector.stdout.readline().strip()}"
    body = anthropic_body("hello", args.mode, json.loads(big_fixture().read_text()))
    headers = {"anthropic-version": "2023-06-01", "x-api-key": client_key(args.clients // 2)}
    stream = args.mode == "stream"
    shot = Shot(
        request_bytes("/v1/messages", body, headers),
        b"text_delta" if stream else None,
        b"message_stop" if stream else b'"ok"',
    )
    proxies = {}
    try:
        extra = dict(pair.split("=", 1) for pair in args.on_env)
        for name, env in (("off", {}), ("on", {"OTEL_EXPORTER_OTLP_ENDPOINT": collector_url, **extra})):
            spec = ccm_spec(upstream_port, False, ROOT, env)
            config = spec.home / "config.toml"
            config.write_text(team_config(config.read_text(), args.clients))
            proxies[name], _ = start(spec, 1, shot.raw)
            run_count(spec.port, shot, 300)  # warm
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        threads: dict[str, float] = {"off": 0.0, "on": 0.0}
        for round_no in range(args.rounds):
            order = ["off", "on"] if round_no % 2 == 0 else ["on", "off"]
            for name in order:
                proxy = proxies[name]
                main, others = cpu_seconds(proxy.proc.pid)
                out = run_count(proxy.spec.port, shot, args.count)
                main_after, others_after = cpu_seconds(proxy.proc.pid)
                if out.errors:
                    raise SystemExit(f"{name}: {out.errors} errors")
                cpu[name].append((main_after - main + others_after - others) * 1e6 / len(out.total_ms))
                threads[name] += (others_after - others) * 1e6 / len(out.total_ms) / args.rounds
            if round_no % 5 == 4:
                print(f"round {round_no + 1}: off {cpu['off'][-1]:.0f} µs, on {cpu['on'][-1]:.0f} µs", flush=True)
    finally:
        for proxy in proxies.values():
            proxy.stop()
        upstream.terminate()
        collector.terminate()
    off, on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
    paired = statistics.median(b / a for a, b in zip(cpu["off"], cpu["on"], strict=True))
    totals = sum(cpu["on"]) / sum(cpu["off"])
    print(
        f"{args.mode}, {args.clients} clients, {args.rounds} rounds x {args.count} requests: proxy CPU per request "
        f"median off {off:.0f} µs, on {on:.0f} µs; on/off per round (median) {(paired - 1) * 100:+.1f}%, "
        f"totals {(totals - 1) * 100:+.1f}%; threads other than the event loop's: off {threads['off']:.0f} µs, "
        f"on {threads['on']:.0f} µs"
    )


if __name__ == "__main__":
    main()
