"""Added latency of the proxy over a direct call, for a small non-streaming request.

Starts a minimal fake Anthropic upstream (raw asyncio, answers a fixed message: as fast as Python gets),
then a real `python -m ccm serve` subprocess pointed at it, and measures with a raw keep-alive HTTP/1.1
client (no httpx overhead on the client side) at concurrency 1 and 32:

    python bench/latency.py [--requests 2000] [--concurrency 1 32]

Prints p50/p99 for direct and through-proxy calls, and the difference (the proxy's added latency).
Numbers on a 2-core VM are noisy (±10 %): compare runs of the same session only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSWER = json.dumps(
    {
        "id": "msg_b",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "content": [{"type": "text", "text": "ok"}],
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
).encode()
BODY = json.dumps({"model": "bench", "max_tokens": 16, "messages": [{"role": "user", "content": "hello"}]}).encode()


async def _upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(ANSWER)).encode()
                + b"\r\n\r\n"
                + ANSWER
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def start_upstream() -> int:
    ready = threading.Event()
    port_box: list[int] = []

    def run() -> None:
        async def main() -> None:
            server = await asyncio.start_server(_upstream, "127.0.0.1", 0)
            port_box.append(server.sockets[0].getsockname()[1])
            ready.set()
            await server.serve_forever()

        asyncio.run(main())

    threading.Thread(target=run, daemon=True).start()
    ready.wait()
    return port_box[0]


async def _client(port: int, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        b"anthropic-version: 2023-06-01\r\nx-api-key: bench\r\ncontent-length: "
        + str(len(BODY)).encode()
        + b"\r\n\r\n"
        + BODY
    )
    for _ in range(count):
        start = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        latencies.append((time.perf_counter() - start) * 1000)
    writer.close()


def measure(port: int, total: int, concurrency: int) -> list[float]:
    latencies: list[float] = []

    async def main() -> None:
        per = max(1, total // concurrency)
        await asyncio.gather(*(_client(port, per, latencies) for _ in range(concurrency)))

    asyncio.run(main())
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    args = parser.parse_args()
    up_port = start_upstream()
    home = Path(tempfile.mkdtemp(prefix="ccm-bench-"))
    proxy_port = up_port + 1 if up_port < 65000 else 40123
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        proxy_port = s.getsockname()[1]
    (home / "config.toml").write_text(f"""
[server]
port = {proxy_port}
log_level = "warning"
[router]
default = "bench"
[[providers]]
name = "up"
provider_type = "anthropic-compatible"
base_url = "http://127.0.0.1:{up_port}"
api_key = "bench-key-123456"
[[models]]
name = "bench"
[[models.mappings]]
provider = "up"
actual_model = "m"
priority = 1
""")
    env = {
        **os.environ,
        "CCM_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen([sys.executable, "-m", "ccm", "serve"], env=env, cwd=str(ROOT))
    try:
        import urllib.request

        deadline = time.monotonic() + 15
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{proxy_port}/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        measure(proxy_port, 200, 4)  # warm-up: connections, imports, caches
        measure(up_port, 200, 4)
        print(
            f"{'concurrency':>11} {'direct p50':>10} {'p99':>7} {'proxy p50':>10} {'p99':>7} "
            f"{'added p50':>10} {'added p99':>10} {'proxy req/s':>11}"
        )
        for c in args.concurrency:
            direct = measure(up_port, args.requests, c)
            start = time.perf_counter()
            proxied = measure(proxy_port, args.requests, c)
            rate = len(proxied) / (time.perf_counter() - start)
            d50, d99, p50, p99 = pct(direct, 0.5), pct(direct, 0.99), pct(proxied, 0.5), pct(proxied, 0.99)
            print(
                f"{c:>11} {d50:>9.2f}ms {d99:>6.2f}ms {p50:>9.2f}ms {p99:>6.2f}ms "
                f"{p50 - d50:>9.2f}ms {p99 - d99:>9.2f}ms {rate:>11.0f}"
            )
        print(
            f"(median of {args.requests} requests per row; statistics.mean proxy "
            f"{statistics.mean(proxied):.2f} ms at c={args.concurrency[-1]})"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=40)


if __name__ == "__main__":
    main()
