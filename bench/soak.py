"""Soak: Claude Code-shaped traffic for a long while against a flaky provider and one that goes down.

    python bench/soak.py [--minutes 20] [--concurrency 16] [--flaky 0.2] [--outage 120]

A real `python -m ccm serve` subprocess serves one model with two mappings in priority order: `flaky`
(answers 503 to `--flaky` of its requests) first, `steady` second; in the middle of
the run `flaky` goes down completely (connection refused) for `--outage` seconds. Both fakes are raw
asyncio servers on 127.0.0.1 that answer Anthropic-format JSON or streams. The load replays the captured
Claude Code bodies (tests/fixtures/claude-code), streaming and not, at `--concurrency`.

Prints, every 30 s and at the end: requests, answers that were not a 200 (with a healthy mapping always
there, the bar is zero), the proxy's RSS and open fds (start and end, to see them stay flat), and the
circuit-breaker transitions seen in /api/metrics. Never part of the test suite: it runs for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
MESSAGE = {
    "id": "msg_soak",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "content": [{"type": "text", "text": "ok"}],
    "usage": {"input_tokens": 5, "output_tokens": 1},
}


def _stream() -> bytes:
    start = {**MESSAGE, "content": [], "stop_reason": None}
    events = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"{i} "}},
        )
        for i in range(10)
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 10}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


STREAM = _stream()
JSON = json.dumps(MESSAGE).encode()


class Fake:
    """A raw asyncio Anthropic-format upstream; `fail` is the share of requests answered 503."""

    def __init__(self, fail: float = 0.0) -> None:
        self.fail = fail
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.open: set[asyncio.StreamWriter] = set()

    async def start(self, port: int = 0) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Down for real: the listener and every pooled keep-alive connection the proxy holds."""
        if self.server is not None:
            self.server.close()
            for writer in list(self.open):
                writer.close()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length) if length else b""
                if random.random() < self.fail:
                    err = b'{"type":"error","error":{"type":"api_error","message":"flaky"}}'
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n")
                    writer.write(b"content-length: %d\r\n\r\n%s" % (len(err), err))
                elif b'"stream":true' in body.replace(b" ", b""):
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
                    writer.write(b"content-length: %d\r\n\r\n%s" % (len(STREAM), STREAM))
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
                    writer.write(b"content-length: %d\r\n\r\n%s" % (len(JSON), JSON))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open.discard(writer)
            writer.close()


def bodies() -> list[bytes]:
    out = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name.endswith(".headers.json") or path.name == "index.json":
            continue
        data = json.loads(path.read_text())
        if isinstance(data, dict) and "messages" in data and "max_tokens" in data:
            data["model"] = "m"
            out.append(json.dumps(data).encode())
    return out


def proc_figures(pid: int) -> tuple[int, int]:
    """RSS in KiB and open fds of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


async def client(port: int, stop: float, payloads: list[bytes], stats: dict[str, int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop:
            body = random.choice(payloads)
            writer.write(
                b"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            lines = head.lower().split(b"\r\n")
            length = next((int(h.split(b":")[1]) for h in lines if h.startswith(b"content-length:")), None)
            if length is not None:
                data = await reader.readexactly(length)
            else:  # chunked
                data = b""
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    data += chunk[:-2]
            stats["requests"] += 1
            if status != 200 or b"event: error" in data:
                stats["lost"] += 1
    finally:
        writer.close()


async def run(args: argparse.Namespace) -> None:
    flaky, steady = Fake(args.flaky), Fake()
    await flaky.start()
    await steady.start()
    flaky_port = flaky.port
    home = Path(tempfile.mkdtemp(prefix="ccm-soak-"))
    port = 20000 + random.randrange(20000)
    (home / "config.toml").write_text(
        f"""[server]
port = {port}
[router]
default = "m"
[failover]
circuit_failures = 5
circuit_cooldown_ms = 10000
[[providers]]
name = "flaky"
provider_type = "anthropic-compatible"
base_url = "http://127.0.0.1:{flaky_port}"
api_key = "k-flaky-000000"
[[providers]]
name = "steady"
provider_type = "anthropic-compatible"
base_url = "http://127.0.0.1:{steady.port}"
api_key = "k-steady-00000"
[[models]]
name = "m"
[[models.mappings]]
provider = "flaky"
actual_model = "f"
priority = 1
[[models.mappings]]
provider = "steady"
actual_model = "s"
priority = 2
"""
    )
    env = {**os.environ, "CCM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    proc = subprocess.Popen([sys.executable, "-m", "ccm", "serve"], env=env, cwd=str(ROOT), stderr=subprocess.DEVNULL)
    import httpx

    async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
        deadline = time.monotonic() + 20
        while True:
            try:
                if (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the proxy did not start")
            await asyncio.sleep(0.05)
        payloads = bodies()
        stats = {"requests": 0, "lost": 0}
        total_s = args.minutes * 60
        start = time.monotonic()
        stop = start + total_s
        clients = [asyncio.create_task(client(port, stop, payloads, stats)) for _ in range(args.concurrency)]
        await asyncio.sleep(min(5, total_s / 10))
        rss0, fds0 = proc_figures(proc.pid)
        print(f"start: RSS {rss0 / 1024:.1f} MiB, {fds0} fds")
        outage_at, outage_end = start + (total_s - args.outage) / 2, start + (total_s + args.outage) / 2
        down = False
        transitions: list[tuple[float, str]] = []
        last_state = "closed"
        next_report = start + 30
        while time.monotonic() < stop:
            now = time.monotonic()
            if not down and outage_at <= now < outage_end:
                await flaky.stop()
                down = True
                print(f"{now - start:6.0f} s: flaky goes down")
            elif down and now >= outage_end:
                await flaky.start(flaky_port)
                down = False
                print(f"{now - start:6.0f} s: flaky is back")
            circuit = (await http.get(f"http://127.0.0.1:{port}/api/metrics")).json()["providers"].get("flaky", {})
            state = circuit.get("circuit", "closed")
            if state != last_state:
                transitions.append((now - start, state))
                last_state = state
            if now >= next_report:
                rss, fds = proc_figures(proc.pid)
                print(
                    f"{now - start:6.0f} s: {stats['requests']} requests, {stats['lost']} lost, RSS {rss / 1024:.1f} MiB, {fds} fds"
                )
                next_report += 30
            await asyncio.sleep(0.5)
        await asyncio.gather(*clients, return_exceptions=True)
        rss1, fds1 = proc_figures(proc.pid)
    proc.terminate()
    proc.wait(30)
    await flaky.stop()
    await steady.stop()
    print(
        f"end: {stats['requests']} requests, {stats['lost']} lost; RSS {rss0 / 1024:.1f} -> {rss1 / 1024:.1f} MiB; fds {fds0} -> {fds1}"
    )
    print("breaker transitions of 'flaky' (s: state): " + ", ".join(f"{t:.0f}: {s}" for t, s in transitions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--flaky", type=float, default=0.2, help="share of the flaky provider's 503s")
    parser.add_argument("--outage", type=float, default=120, help="seconds the flaky provider is down mid-run")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
