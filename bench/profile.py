"""Where a proxied request's time goes: py-spy on the pinned ccm process under load.

    python bench/profile.py [--mode json|stream] [--body hello|big] [--concurrency 32] [--seconds 15] [--top 30]
                            [--native]

Starts the same fake upstream and ccm config as bench/compare.py (ccm on the last core, load and upstream
on the first), drives `--concurrency` connections (32 by default; 1 shows the per-request path a
lone Claude Code session sees) for `--seconds` while `py-spy record --format raw` samples ccm, then prints
the functions with the largest share of samples: own time (the frame at the top of the stack) and total
time (anywhere on the stack), by module, so the biggest cost can be removed at its source. py-spy is not a
project dependency: `pip install py-spy`. The raw profile is kept in `--out` for flame graphs.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cmp_procs import ccm_spec, pin_load_here
from cmp_wire import run_for
from compare import big_fixture, shots, start, start_upstream


def _frames(line: str) -> tuple[list[str], int]:
    stack, _, count = line.rpartition(" ")
    return [f for f in stack.split(";") if f], int(count)


def _short(frame: str) -> str:
    """`handle (hypercorn/protocol/h11.py:123)` -> `hypercorn/protocol/h11.py:handle`."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/", "/ccm/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{name}"


def summarize(raw: Path, top: int) -> str:
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    modules: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        if not line.strip():
            continue
        frames, count = _frames(line)
        if not frames:
            continue
        samples += count
        names = [_short(f) for f in frames]
        own[names[-1]] += count
        for name in set(names):
            total[name] += count
        modules[names[-1].split("/")[0].split(".py")[0]] += count
    pct = lambda n: f"{100 * n / max(samples, 1):5.1f}%"  # noqa: E731
    out = [f"{samples} samples", "", "own time by package:"]
    out += [f"  {pct(n)}  {m}" for m, n in modules.most_common(15)]
    out += ["", "own time:"] + [f"  {pct(n)}  {f}" for f, n in own.most_common(top)]
    out += ["", "total time:"] + [f"  {pct(n)}  {f}" for f, n in total.most_common(top)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["json", "stream"], default="json")
    parser.add_argument("--body", choices=["hello", "big"], default="hello")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--native", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ccm-profile.txt"))
    args = parser.parse_args()
    pin_load_here()
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    upstream, upstream_port = start_upstream(0)
    big = json.loads(big_fixture().read_text())
    shot, _ = shots(args.body, args.mode, big)
    proxy, _ = start(ccm_spec(upstream_port, resilience=False), 1, shot.raw)
    try:
        run_for(proxy.spec.port, shot, 32, 2)  # warm: pools, the request log's file
        cmd = [spy, "record", "--format", "raw", "-r", "500", "-o", str(args.out), "-p", str(proxy.proc.pid)]
        cmd += ["--gil", "-d", str(int(args.seconds) + 1)] + (["--native"] if args.native else [])
        recorder = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result: list[float] = []
        load = threading.Thread(
            target=lambda: result.append(run_for(proxy.spec.port, shot, args.concurrency, args.seconds)[0])
        )
        load.start()
        load.join()
        recorder.wait()
    finally:
        proxy.stop()
        upstream.terminate()
    print(f"{args.body} {args.mode} at c={args.concurrency}: {result[0]:.0f} req/s (while sampled)")
    print(summarize(args.out, args.top))


if __name__ == "__main__":
    main()
