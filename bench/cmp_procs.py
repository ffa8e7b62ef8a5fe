"""The process half of bench/compare.py: install, configure, start, pin, measure and stop the proxies.

Each proxy gets a throwaway home (ccm: `CCM_HOME`; claude-code-router: `HOME`, so its
`~/.claude-code-router/` with its pid file and logs never touches the user's), a free port, and one
core (`sched_setaffinity` in the child before exec, so every thread it starts stays there).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cmp_table import CCR_VERSION

ROOT = Path(__file__).resolve().parent.parent
CCR_PACKAGE = "@musistudio/claude-code-router"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin_load_here() -> None:
    """Keep this process (the load client) on the first core, as bench/compare.py does: the proxy is on
    the last, and a client beside it would be measured as the proxy's own time."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, {cores[0]})


def pinned(core: int | None) -> Callable[[], None] | None:
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})


def clean_env(**extra: str) -> dict[str, str]:
    """No proxy variables (the fake upstream is on 127.0.0.1) and none of ccm's or Anthropic's own."""
    drop = ("CCM_", "ANTHROPIC_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)
    return env


def install_ccr(cache: Path) -> Path:
    """claude-code-router from npm into `cache` (reused when that version is already there): its cli.js."""
    package = cache / "node_modules" / CCR_PACKAGE
    cli = package / "dist" / "cli.js"
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        version = None
    if version != CCR_VERSION or not cli.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            raise SystemExit("claude-code-router needs node and npm on PATH (Node 20+), or run with --skip-ccr")
        cache.mkdir(parents=True, exist_ok=True)
        print(f"installing {CCR_PACKAGE}@{CCR_VERSION} into {cache} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(cache), f"{CCR_PACKAGE}@{CCR_VERSION}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return cli


def ccm_config(upstream_port: int, port: int, resilience: bool) -> str:
    """One openai-compatible provider to the fake upstream; "off" turns retries and the breaker off."""
    failover = (
        "max_retries = 1\ncircuit_failures = 5\n" if resilience else "max_retries = 0\ncircuit_failures = 1000000\n"
    )
    return f"""[server]
host = "127.0.0.1"
port = {port}
log_level = "warning"

[failover]
{failover}
[router]
default = "bench"

[[providers]]
name = "fake"
provider_type = "openai-compatible"
base_url = "http://127.0.0.1:{upstream_port}/v1"
api_key = "bench-key-123456"

[[models]]
name = "bench"

[[models.mappings]]
provider = "fake"
actual_model = "m"
priority = 1
"""


def ccr_config(upstream_port: int, port: int) -> dict[str, object]:
    return {
        "LOG": False,
        "HOST": "127.0.0.1",
        "PORT": port,
        "NON_INTERACTIVE_MODE": True,
        "API_TIMEOUT_MS": 600000,
        "Providers": [
            {
                "name": "fake",
                "api_base_url": f"http://127.0.0.1:{upstream_port}/v1/chat/completions",
                "api_key": "bench-key-123456",
                "models": ["m"],
            }
        ],
        "Router": {"default": "fake,m"},
    }


@dataclass
class ProxySpec:
    """How to run one proxy: argv and env for a home made by `prepare`."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    health: str  # a GET path that answers 200 once it serves, or "" (then the first POST decides)
    home: Path  # removed when the proxy stops
    cwd: Path = ROOT  # `python -m ccm` imports ccm from here


def compile_sources(root: Path = ROOT) -> None:
    """Byte-compile the checkout's packages, as `pip install .` does for an installed ccm: with
    PYTHONDONTWRITEBYTECODE set (some CI images and sandboxes set it) every spawn would otherwise compile
    ccm from source again, ~0.1 s that no installed copy ever pays."""
    packages = [str(root / name) for name in ("ccm", "config")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True, stdout=subprocess.DEVNULL)


#: What `python -m ccm serve` must import before it can answer, whatever ccm's own code does: its HTTP
#: server, the upstream client's API and transport, and the event loop.
LIBRARIES = ("aiohttp", "httpx", "hypercorn.asyncio", "hypercorn.config", "uvloop")


def library_floor(core: int | None) -> float:
    """Seconds from exec to exit of a Python that only imports LIBRARIES, on the proxy's core: the part of
    ccm's startup row that belongs to its dependencies on this machine (ccm's own code is the rest)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import " + ", ".join(LIBRARIES)], check=True, env=clean_env(), preexec_fn=pinned(core)
    )
    return time.perf_counter() - started


def ccm_spec(upstream_port: int, resilience: bool, root: Path = ROOT, env: dict[str, str] | None = None) -> ProxySpec:
    """ccm from the source tree `root` (another checkout, for a before/after in one run), with `env` added."""
    home = Path(tempfile.mkdtemp(prefix="ccm-bench-home-"))
    port = free_port()
    config = home / "config.toml"
    config.write_text(ccm_config(upstream_port, port, resilience))
    argv = [sys.executable, "-m", "ccm", "serve", "--config", str(config), "--port", str(port)]
    extra = {"CCM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PYTHONPATH": str(root)}
    return ProxySpec("ccm", argv, clean_env(**extra, **(env or {})), port, "/health", home, root)


def ccr_spec(cli: Path, upstream_port: int) -> ProxySpec:
    home = Path(tempfile.mkdtemp(prefix="ccr-bench-home-"))
    port = free_port()
    (home / ".claude-code-router").mkdir()
    (home / ".claude-code-router" / "config.json").write_text(json.dumps(ccr_config(upstream_port, port), indent=2))
    # `ccr start` serves in its own process (it writes that pid to ~/.claude-code-router/.claude-code-router.pid);
    # `ccr stop` is a SIGTERM to that pid, which is what `Proxy.stop` sends.
    return ProxySpec("CCR", ["node", str(cli), "start"], clean_env(HOME=str(home), CI="true"), port, "", home)


class Proxy:
    """A running proxy process (its own session, so stopping it stops everything it started)."""

    def __init__(self, spec: ProxySpec, core: int | None) -> None:
        self.spec = spec
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            spec.argv,
            env=spec.env,
            cwd=str(spec.cwd),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=pinned(core),
            start_new_session=True,
        )

    def wait_ready(self, probe: Callable[[int], bool], deadline_s: float = 60.0) -> float:
        """Seconds from exec to the first 200 of `probe` (polled, never a fixed sleep)."""
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.stderr else ""
                raise RuntimeError(f"{self.spec.name} exited with {self.proc.returncode}: {err}")
            if probe(self.spec.port):
                return time.perf_counter() - self.started
            time.sleep(0.005)
        self.stop()
        raise TimeoutError(f"{self.spec.name} did not answer within {deadline_s} s")

    def rss_mib(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) summed over the process and its descendants, in MiB."""
        rss = hwm = 0
        for pid in tree(self.proc.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
        return rss / 1024, hwm / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.spec.home, ignore_errors=True)


def tree(pid: int) -> list[int]:
    """The pid and its descendants, from /proc/PID/task/*/children."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def http_ok(port: int, raw: bytes, timeout: float = 2.0) -> bool:
    """One blocking request on a fresh connection: True on a 200 (connection refused is False)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(raw)
            return sock.recv(12)[9:12] == b"200"
    except OSError:
        return False


def get_bytes(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n".encode()
