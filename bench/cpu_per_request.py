"""CPU time the proxy spends per request (user + system, from /proc), the steadiest figure on a noisy VM.

    python bench/cpu_per_request.py [--count 2000] [--concurrency 1] [--mode json|stream|paced] [--body hello|big]
                                   [--client messages|chat|responses] [--resilience off|on] [--tree PATH]
                                   [--env NAME=VALUE ...]

Wall-clock figures on a shared 2-core VM move by 20% from run to run; the CPU a request costs the proxy
moves far less, so it is the figure to compare a change against (then confirm with bench/compare.py).
Same fake upstream, config and pinning as bench/compare.py. `--tree` measures ccm from another source tree
(a checkout of an earlier commit), `--env` sets variables for the proxy: a before/after without a stash.
`--client chat` sends the same hello as an OpenAI Chat Completions client (`/v1/chat/completions`, on the
fake's own wire: passed through) and `--client responses` as a Responses client (`/v1/responses`, translated
to Chat Completions and back): the inbound endpoints' cost next to `/v1/messages`'. With `--body hello`, the
median latency (c=1) is printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmp_procs import ROOT, ccm_spec, compile_sources, pin_load_here, tree
from cmp_table import percentile
from cmp_wire import Shot, request_bytes, run_count, run_for
from compare import _marker, big_fixture, shots, start, start_upstream


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--mode", choices=["json", "stream", "paced"], default="json")
    parser.add_argument("--body", choices=["hello", "big"], default="hello")
    parser.add_argument("--client", choices=["messages", "chat", "responses"], default="messages")
    parser.add_argument("--seconds", type=float, default=8.0, help="with --concurrency > 1: load duration")
    parser.add_argument("--resilience", choices=["off", "on"], default="off", help="as bench/compare.py")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the ccm source tree to run")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    pin_load_here()
    upstream, upstream_port = start_upstream(0)
    shot, _ = shots(args.body, args.mode, json.loads(big_fixture().read_text()))
    if args.client != "messages":
        shot = openai_shot(args.client, args.mode)
    env = dict(pair.split("=", 1) for pair in args.env)
    compile_sources(args.tree.resolve())
    spec = ccm_spec(upstream_port, args.resilience == "on", args.tree.resolve(), env)
    proxy, _ = start(spec, 1, shot.raw)
    try:
        run_count(proxy.spec.port, shot, 200)  # warm
        before = cpu_seconds(proxy.proc.pid)
        if args.concurrency == 1:
            out = run_count(proxy.spec.port, shot, args.count)
            done = len(out.total_ms)
        else:
            _, out = run_for(proxy.spec.port, shot, args.concurrency, args.seconds)
            done = len(out.total_ms)
        used = cpu_seconds(proxy.proc.pid) - before
    finally:
        proxy.stop()
        upstream.terminate()
    print(
        f"{args.body} {args.mode} c={args.concurrency} resilience {args.resilience}: {done} requests, {out.errors} errors, "
        f"{used * 1e6 / max(done, 1):.0f} µs of proxy CPU per request"
        + (f", median {percentile(out.total_ms, 0.5):.2f} ms" if args.concurrency == 1 else "")
        + f" ({args.client})"
    )


def openai_shot(client: str, mode: str) -> Shot:
    """The hello request as an OpenAI client sends it (the same routed model and marker)."""
    stream = mode != "json"
    text = "hello " + _marker(mode)
    if client == "chat":
        body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": text}]}
        path, first, end = "/v1/chat/completions", b'"content"', b"[DONE]"
    else:
        body = {"model": "claude-sonnet-4-5", "max_output_tokens": 64, "input": text}
        path, first, end = "/v1/responses", b"output_text.delta", b"response.completed"
    body["stream"] = stream
    raw = request_bytes(path, json.dumps(body, separators=(",", ":")).encode(), {"authorization": "Bearer k"})
    return Shot(raw, first if stream else None, end if stream else b'"ok"')


if __name__ == "__main__":
    main()
