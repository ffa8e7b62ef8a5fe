"""Helpers to run the real proxy for tests: in a thread (in-process, real Hypercorn on 127.0.0.1) or as
a `python -m ccm serve` subprocess, plus a small config builder."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import tomlkit

from tests.fakes.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def wait_healthy(url: str, deadline_s: float = 10.0, proc: subprocess.Popen[bytes] | None = None) -> dict[str, Any]:
    """Poll /health until it answers 200, or fail at the deadline (never a fixed sleep)."""
    end = time.monotonic() + deadline_s
    last: Exception | None = None
    with httpx.Client(trust_env=False, timeout=1.0) as client:
        while time.monotonic() < end:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                response = client.get(f"{url}/health")
                if response.status_code == 200:
                    return dict(response.json())
            except httpx.HTTPError as exc:
                last = exc
            time.sleep(0.02)
    raise TimeoutError(f"{url}/health did not answer within {deadline_s} s ({last})")


def make_config(
    providers: Iterable[dict[str, Any]],
    models: dict[str, list[tuple[str, str] | tuple[str, str, int]]],
    router: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
    failover: dict[str, Any] | None = None,
) -> str:
    """Config TOML from plain data: models map a name to [(provider, actual_model[, max_output_tokens])].

    `failover` is laid over one try per mapping and a breaker that never opens, so a test of failover order
    sees exactly the attempts it scripted (a burst with a flaky upstream must not open its circuit by chance);
    the tests of retries and the breaker name the keys they mean."""
    doc: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 13456, **(server or {})},
        "failover": {"max_retries": 0, "circuit_failures": 1_000_000, **(failover or {})},
        "router": {"default": next(iter(models)), **(router or {})},
        "providers": [{"enabled": True, **p} for p in providers],
        "models": [
            {
                "name": name,
                "mappings": [
                    {
                        "provider": m[0],
                        "actual_model": m[1],
                        "priority": i + 1,
                        **({"max_output_tokens": m[2]} if len(m) > 2 else {}),
                    }  # type: ignore[misc]
                    for i, m in enumerate(maps)
                ],
            }
            for name, maps in models.items()
        ],
    }
    return tomlkit.dumps(doc)


def anthropic_provider(
    name: str, url: str, key: str = "key-" + "x" * 12, ptype: str = "anthropic-compatible", **extra: Any
) -> dict[str, Any]:
    return {"name": name, "provider_type": ptype, "base_url": url, "api_key": key, **extra}


@dataclass
class InProcessProxy:
    """The real app under a real Hypercorn, in a background thread with its own event loop."""

    config_path: Path
    port: int = 0

    def start(self) -> InProcessProxy:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        from ccm.serve import hypercorn_fixes
        from ccm.serve.app import create_app

        hypercorn_fixes.install()  # as `ccm serve` does: hung-up clients are closed at once
        self.port = self.port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(self.config_path)
        cfg = Config()
        cfg.bind = [f"127.0.0.1:{self.port}"]
        cfg.accesslog = None
        cfg.graceful_timeout = 2
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()

        async def main() -> None:
            await serve(self.app, cfg, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(main(),), daemon=True)
        self._thread.start()
        wait_healthy(self.url)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def write_config(self, text: str) -> None:
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)

    def generation(self) -> int:
        return int(httpx.get(f"{self.url}/health", trust_env=False).json()["generation"])


def server_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCM_", "ANTHROPIC_"))}
    env.update(
        CCM_HOME=str(home),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def spawn_server(home: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ccm", "serve", *args],
        env=server_env(home, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(ROOT),
    )


def terminate(proc: subprocess.Popen[bytes], timeout: float = 40) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
