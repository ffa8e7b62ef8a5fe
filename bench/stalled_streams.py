"""Memory after a burst: many clients stall on large streams, then all leave; does the proxy's RSS come back?

    python bench/stalled_streams.py [--clients 100 500] [--size-mb 18] [--hold 15] [--after 60]

For each client count, a fresh `python -m ccm serve` subprocess serves one Anthropic-format model from a
fake upstream (a raw asyncio server here) that answers every streaming request with `--size-mb` of
`content_block_delta` events, as fast as the proxy reads. The clients send a streaming request each, read
the answer's head, then read 1 KiB a second (slow readers: the proxy's buffers toward them fill and stay
full) for `--hold` seconds, and hang up all at once. The proxy's RSS is sampled before (the baseline,
after a few small warm-up requests), during (the peak), and every second for `--after` seconds after the
last client left.

The target: RSS within 64 MiB of the baseline within 60 s of the last client leaving. Prints one line per
client count: baseline, peak, RSS 60 s after, and the first second at which RSS was back within 64 MiB.
Never part of the test suite: it runs for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WITHIN = 64  # MiB
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n"


def sse(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def stream_body(size: int) -> bytes:
    """An Anthropic stream of about `size` bytes: 16 KiB text deltas between the usual first and last events."""
    message = {"id": "msg_big", "type": "message", "role": "assistant", "model": "m", "content": [],
               "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}  # fmt: skip
    parts = [
        sse("message_start", {"type": "message_start", "message": message}),
        sse("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ]  # fmt: skip
    delta = sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": "x" * 16384}})  # fmt: skip
    parts += [delta] * max(1, size // len(delta))
    parts += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 9}}),
        sse("message_stop", {"type": "message_stop"}),
    ]  # fmt: skip
    return b"".join(parts)


class Upstream:
    """Answers a request whose max_tokens is below 100 with a small stream, any other with the big one."""

    def __init__(self, big: bytes) -> None:
        self.big = big
        self.small = stream_body(1000)
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (int(h.split(b":")[1]) for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:")), 0
                )
                body = json.loads(await reader.readexactly(length))
                answer = self.small if body.get("max_tokens", 0) < 100 else self.big
                writer.write(HEAD % len(answer))
                view = memoryview(answer)
                for start in range(0, len(view), 2**16):  # never a copy of the whole answer per connection
                    writer.write(view[start : start + 2**16])
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


def request(max_tokens: int) -> bytes:
    body = json.dumps({"model": "m", "max_tokens": max_tokens, "stream": True,
                       "messages": [{"role": "user", "content": "hi"}]}).encode()  # fmt: skip
    head = f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    return head.encode() + body


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def whole_answer(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request(10))
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        while not (await reader.read(2**16)).endswith(b"0\r\n\r\n"):
            pass
    finally:
        writer.close()


async def slow_client(port: int, leave: asyncio.Event, heads: list[int]) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    try:
        writer.write(request(64000))
        head = await reader.readuntil(b"\r\n\r\n")
        heads.append(int(head.split(b" ", 2)[1]))
        while not leave.is_set():
            await reader.read(1024)
            try:
                await asyncio.wait_for(leave.wait(), 1.0)
            except TimeoutError:
                pass
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.transport.abort()  # hang up at once, whatever is unread


def config(home: Path, port: int, upstream: int) -> Path:
    path = home / "config.toml"
    path.write_text(
        f"""[server]\nport = {port}\nlog_level = "warning"\n[router]\ndefault = "m"\n
[[providers]]\nname = "up"\nprovider_type = "anthropic-compatible"\nbase_url = "http://127.0.0.1:{upstream}"
api_key = "k-bench-0000000000"\n[[models]]\nname = "m"\n[[models.mappings]]\nprovider = "up"\nactual_model = "m"\npriority = 1\n"""
    )
    return path


async def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the proxy exited before serving")
        try:
            await whole_answer(port)
            return
        except (OSError, AssertionError, asyncio.IncompleteReadError):
            await asyncio.sleep(0.05)
    raise SystemExit("the proxy did not serve within 30 s")


async def one_round(clients: int, args: argparse.Namespace, upstream: Upstream) -> str:
    home = Path(tempfile.mkdtemp(prefix="ccm-bench-stalled-"))
    port = _free_port()
    env = {**os.environ, "CCM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1"}  # fmt: skip
    argv = [sys.executable, "-m", "ccm", "serve", "--config", str(config(home, port, upstream.port))]
    proc = subprocess.Popen(argv, env=env, cwd=str(ROOT), stderr=subprocess.DEVNULL)
    try:
        await wait_ready(port, proc)
        for _ in range(5):
            await whole_answer(port)
        await asyncio.sleep(2)
        baseline = rss_mib(proc.pid)
        leave = asyncio.Event()
        heads: list[int] = []
        tasks = [asyncio.create_task(slow_client(port, leave, heads)) for _ in range(clients)]
        peak = baseline
        end = time.monotonic() + args.hold
        while time.monotonic() < end:
            peak = max(peak, rss_mib(proc.pid))
            await asyncio.sleep(0.5)
        leave.set()
        await asyncio.gather(*tasks)
        left = time.monotonic()
        back: float | None = None
        rss = rss_mib(proc.pid)
        while (waited := time.monotonic() - left) < args.after:
            rss = rss_mib(proc.pid)
            if back is None and rss <= baseline + WITHIN:
                back = waited
            await asyncio.sleep(1.0)
        rss = rss_mib(proc.pid)
        ok = sum(1 for status in heads if status == 200)
        came_back = "never" if back is None else f"{back:.0f} s"
        return (
            f"{clients} clients x {args.size_mb} MB ({ok} answered 200): baseline {baseline:.0f} MiB, "
            f"peak {peak:.0f} MiB, {args.after:.0f} s after the last left {rss:.0f} MiB "
            f"({rss - baseline:+.0f}); back within {WITHIN} MiB: {came_back}"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(home, ignore_errors=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this process holds 2 sockets per client
    upstream = Upstream(stream_body(int(args.size_mb * 1e6)))
    server = await upstream.start()
    try:
        for clients in args.clients:
            print(await one_round(clients, args, upstream), flush=True)
    finally:
        server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--size-mb", type=float, default=18.0)
    parser.add_argument("--hold", type=float, default=15.0, help="seconds the clients stall before they leave")
    parser.add_argument("--after", type=float, default=60.0, help="seconds to watch RSS after they left")
    asyncio.run(main(parser.parse_args()))
