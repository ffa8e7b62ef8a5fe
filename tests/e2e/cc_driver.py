"""One Claude Code agent turn through the real proxy, all in one network namespace: `python -m
tests.e2e.cc_driver SPEC.json` prints a JSON report (the last line of stdout) for the test to judge.

Why a driver process: Claude Code runs in a fresh network namespace (`unshare -n`) so that it can reach
nothing but loopback, and a new namespace has its own 127.0.0.1. The fake upstream and the proxy must
listen on *that* loopback, so this script starts inside the namespace, brings `lo` up, and starts them
there: the fake upstream in a thread, the proxy as `python -m ccm serve` (mode "proxy") or through
`ccm code` (mode "ccm-code", which starts and stops the proxy itself), then Claude Code with a hard timeout.
Mode "ccm-code-tui" runs `ccm code` with Claude Code's interactive TUI in a pseudo-terminal, types the
prompt, and waits for the session title request and the turn (the title is asked for only there).

SPEC keys: work (a scratch folder), claude (binary), claude_dir (folder for PATH), wire ("anthropic" or
"openai"), mode, prompt, args (Claude Code arguments after the prompt), auth ("api-key" or
"auth-token"), timeout (seconds), netns (bring lo up first), and optionally broken (a status that a
first-priority provider answers with, so the proxy must fail over), provider_type (the Anthropic-format
provider's catalog type) and strict (what that host refuses, as tests.fakes.strict_anthropic words it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.harness import ROOT, free_port, make_config, server_env, spawn_server, terminate, wait_healthy
from tests.fakes.anthropic_sse import tool_use_stream
from tests.fakes.scenarios import AgentTurn, anthropic_tool_output, openai_tool_output
from tests.fakes.strict_anthropic import StrictHost, guarding
from tests.fakes.upstream import FakeUpstream, Received, Reply
from tests.tools.record_claude_code import answer as recorded_model

UPSTREAM_KEY = "test-upstream-key"
ACTUAL_MODEL = "fake-actual-model"
ROUTED_MODEL = "fake-model"
BACKGROUND_MODEL = "fake-background"
BACKGROUND_ACTUAL = "fake-cheap-model"
PROMPT_GLYPH = "❯".encode()
"""Claude Code's input line: once drawn, the TUI reads keys."""
BROKEN_PROVIDER = "fake-broken"
ROUTER_KEY = "router-key-for-claude-code-0123"
OAT = "sk-ant-oat01-fake-" + "a" * 40
"""The access token of the fake Claude Pro/Max login seeded into ~/.claude/.credentials.json."""


def loopback_up() -> None:
    """`ip link set lo up` without iproute2: SIOCGIFFLAGS, set IFF_UP, SIOCSIFFLAGS (struct ifreq, 40 bytes)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        got = fcntl.ioctl(sock, siocgifflags, struct.pack("16sh22x", b"lo", 0))
        flags = struct.unpack("16sh22x", got)[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh22x", b"lo", flags | iff_up))


def claude_env(spec: dict[str, Any], home: Path) -> dict[str, str]:
    """A small, explicit environment: nothing of the developer's (keys, proxies, config dirs) leaks in."""
    env = {
        "PATH": f"{spec['claude_dir']}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "SHELL": "/bin/bash" if Path("/bin/bash").exists() else "/bin/sh",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_PROXY": "127.0.0.1,localhost",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
    }
    for name in ("USER", "LOGNAME", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def seed_home(home: Path, project: Path | None = None) -> None:
    """A throwaway HOME whose ~/.claude.json says onboarding is done (the TUI needs it; -p does not mind)
    and, for the TUI, that the project folder is trusted (else it asks first)."""
    home.mkdir(parents=True, exist_ok=True)
    state: dict[str, Any] = {"hasCompletedOnboarding": True}
    if project is not None:
        state["projects"] = {str(project): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}}
    (home / ".claude.json").write_text(json.dumps(state))


def seed_login(home: Path) -> None:
    """A Claude Pro/Max login as `claude /login` leaves it: Claude Code then sends its own bearer."""
    folder = home / ".claude"
    folder.mkdir(parents=True, exist_ok=True)
    login = {
        "claudeAiOauth": {
            "accessToken": OAT,
            "refreshToken": "sk-ant-ort01-fake-" + "b" * 40,
            "expiresAt": int((time.time() + 7 * 86400) * 1000),
            "scopes": ["user:inference", "user:profile", "user:sessions:claude_code"],
            "subscriptionType": "max",
        }
    }
    path = folder / ".credentials.json"
    path.write_text(json.dumps(login))
    path.chmod(0o600)


def write_subscription_config(path: Path, port: int, claude_url: str, openai_url: str) -> None:
    """Claude (passthrough) first, an OpenAI-format provider second, a router key set."""
    providers = [
        {"name": "claude", "provider_type": "anthropic", "auth_type": "passthrough", "base_url": claude_url},
        {**provider("openai", openai_url), "api_key": UPSTREAM_KEY},
    ]
    mappings = [("claude", ACTUAL_MODEL), ("fake-openai", ACTUAL_MODEL)]
    text = make_config(providers, {ROUTED_MODEL: mappings}, server={"port": port, "api_key": ROUTER_KEY})
    path.write_text(text)


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict[str, Any]:
    """Run to completion or kill its whole process group at the deadline (tools it started included)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    result: Any = None
    with contextlib.suppress(ValueError):
        result = json.loads(stdout)
    return {
        "rc": proc.returncode,
        "timed_out": timed_out,
        "elapsed_s": round(time.monotonic() - started, 2),
        "stdout": stdout[-4000:],
        "stderr": stderr[-4000:],
        "json": result,
    }


def summarize(rec: Received, wire: str) -> dict[str, Any]:
    """What a test needs of one upstream request (bodies are ~50 KB)."""
    body = rec.json if rec.body else {}
    output = anthropic_tool_output(body) if wire == "anthropic" else openai_tool_output(body)
    return {
        "method": rec.method,
        "path": rec.path,
        "model": body.get("model"),
        "stream": body.get("stream"),
        "tools": [t.get("name") or t.get("function", {}).get("name") for t in body.get("tools") or []],
        "roles": [m.get("role") for m in body.get("messages") or []],
        "tool_output": output,
        "authorization": rec.headers.get("authorization"),
        "x-api-key": rec.headers.get("x-api-key"),
        "anthropic-beta": rec.headers.get("anthropic-beta"),
        "router_key_seen": ROUTER_KEY in json.dumps(rec.headers),
        "title": bool((body.get("output_config") or {}).get("format")),
    }


def provider(wire: str, url: str) -> dict[str, Any]:
    if wire == "anthropic":
        return {"name": "fake-anthropic", "provider_type": "anthropic-compatible", "base_url": url}
    return {"name": "fake-openai", "provider_type": "openai-compatible", "base_url": f"{url}/v1"}


def ccm_command() -> list[str]:
    """The installed `ccm` console script of this Python (its venv's bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "ccm"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "import sys; from cli.entry import main; sys.exit(main())"]


def stop_leftover_proxy(ccm_home: Path) -> int | None:
    """SIGTERM a proxy still recorded in $CCM_HOME/ccm.pid (ccm code should have stopped it); its pid."""
    try:
        pid = int(json.loads((ccm_home / "ccm.pid").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        return pid
    return None


def write_config(
    path: Path, port: int, wire: str, url: str, broken_url: str | None, provider_type: str | None = None
) -> None:
    """The routed model maps to the fake model's provider, behind a failing one when `broken_url` is set."""
    good = {**provider(wire, url), "api_key": UPSTREAM_KEY}
    if provider_type:
        good["provider_type"] = provider_type
    providers, mappings = [good], [(good["name"], ACTUAL_MODEL)]
    if broken_url is not None:
        broken = {**provider("anthropic", broken_url), "name": BROKEN_PROVIDER, "api_key": UPSTREAM_KEY}
        providers.insert(0, broken)
        mappings.insert(0, (BROKEN_PROVIDER, "broken-model"))
    path.write_text(make_config(providers, {ROUTED_MODEL: mappings}, server={"port": port}))


def through_proxy(spec: dict[str, Any], env: dict[str, str], config: Path, port: int, cwd: Path) -> dict[str, Any]:
    """`python -m ccm serve` on the config, Claude Code pointed at it, then the proxy's request log."""
    url = f"http://127.0.0.1:{port}"
    if spec["auth"] == "api-key":
        env["ANTHROPIC_API_KEY"] = "test-key"
    else:
        env["ANTHROPIC_AUTH_TOKEN"] = "test-token"
    env["ANTHROPIC_BASE_URL"] = url
    proxy = spawn_server(config.parent, "--config", str(config), "--port", str(port))
    report: dict[str, Any] = {}
    try:
        wait_healthy(url, 20, proxy)
        report["claude"] = run([spec["claude"], "-p", spec["prompt"], *spec["args"]], env, cwd, spec["timeout"])
        with httpx.Client(trust_env=False, timeout=5) as client:
            report["requests"] = client.get(f"{url}/api/requests?limit=20").json()
    finally:
        report["proxy_rc"] = terminate(proxy)
        report["proxy_stderr"] = proxy.stderr.read().decode(errors="replace")[-2000:] if proxy.stderr else ""
    return report


def through_ccm_code(spec: dict[str, Any], env: dict[str, str], ccm_home: Path, cwd: Path) -> dict[str, Any]:
    """`ccm code -p ...`: it finds the config in CCM_HOME, starts the proxy, runs `claude` from PATH."""
    env |= {k: v for k, v in server_env(ccm_home).items() if k in ("CCM_HOME", "PYTHON_KEYRING_BACKEND")}
    env["PYTHONPATH"] = str(ROOT)
    claude = run([*ccm_command(), "code", "-p", spec["prompt"], *spec["args"]], env, cwd, spec["timeout"])
    return {"claude": claude, "leftover_proxy": stop_leftover_proxy(ccm_home), "journal": journal(ccm_home)}


def journal(ccm_home: Path) -> list[dict[str, Any]]:
    """The proxy's persisted request log ($CCM_HOME/requests.jsonl): what it routed, after it stopped."""
    path = ccm_home / "requests.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def run_tui(argv: list[str], env: dict[str, str], cwd: Path, prompt: str, timeout: float, done: Any) -> dict[str, Any]:
    """Run a TUI in a pseudo-terminal: type `prompt` once its input line is drawn, wait for `done()`, then
    SIGTERM it (`ccm code` passes it on to Claude Code and stops its proxy) and wait for it to leave."""
    started = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:  # the child: its own session and terminal
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    screen = b""
    typed_at: float | None = None
    finished = False
    deadline = started + timeout

    def drain(wait: float) -> None:
        nonlocal screen
        if select.select([fd], [], [], wait)[0]:
            with contextlib.suppress(OSError):
                screen += os.read(fd, 65536)

    while time.monotonic() < deadline and not finished:
        before = len(screen)
        drain(0.2)
        quiet = len(screen) == before
        if typed_at is None and PROMPT_GLYPH in screen and quiet:  # drawn, and done drawing
            os.write(fd, prompt.encode())
            os.write(fd, b"\r")
            typed_at = time.monotonic()
        finished = typed_at is not None and done()
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    status: int | None = None
    leave_by = time.monotonic() + 30
    while status is None and time.monotonic() < leave_by:
        drain(0.1)
        ended, code = os.waitpid(pid, os.WNOHANG)
        status = os.waitstatus_to_exitcode(code) if ended else None
    if status is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    os.close(fd)
    text = screen.decode(errors="replace")
    return {
        "rc": status,
        "timed_out": not finished,
        "typed_after_s": None if typed_at is None else round(typed_at - started, 2),
        "elapsed_s": round(time.monotonic() - started, 2),
        "screen": text[-3000:],
    }


def tui(spec: dict[str, Any], report: dict[str, Any], home: Path, project: Path, ccm_home: Path) -> int:
    """`ccm code` with Claude Code's TUI: a background slot is configured, so the session title (Claude
    Code's small/fast model, which `ccm code` sets to its haiku) must reach it."""
    seed_home(home, project)
    with FakeUpstream() as upstream:
        upstream.script(recorded_model(AgentTurn()))
        good = {**provider("anthropic", upstream.url), "api_key": UPSTREAM_KEY}
        models = {ROUTED_MODEL: [(good["name"], ACTUAL_MODEL)], BACKGROUND_MODEL: [(good["name"], BACKGROUND_ACTUAL)]}
        router = {"background": BACKGROUND_MODEL}
        text = make_config([good], models, router=router, server={"port": free_port()})  # type: ignore[arg-type]
        (ccm_home / "config.toml").write_text(text)
        env = claude_env(spec, home)
        env.pop("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC")  # the title is non-essential traffic
        env["TERM"] = "xterm-256color"
        env |= {k: v for k, v in server_env(ccm_home).items() if k in ("CCM_HOME", "PYTHON_KEYRING_BACKEND")}
        env["PYTHONPATH"] = str(ROOT)

        def titled_and_answered() -> bool:
            bodies = [rec.json or {} for rec in upstream.received if rec.method == "POST"]
            title = any((b.get("output_config") or {}).get("format") for b in bodies)
            return title and any(b.get("model") == ACTUAL_MODEL for b in bodies)

        report["claude"] = run_tui(
            [*ccm_command(), "code"], env, project, spec["prompt"], spec["timeout"], titled_and_answered
        )
        report["upstream"] = [summarize(rec, "anthropic") for rec in upstream.received if rec.method == "POST"]
    report["journal"] = journal(ccm_home)
    report["leftover_proxy"] = stop_leftover_proxy(ccm_home)
    log = ccm_home / "ccm.log"
    report["proxy_log"] = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    print(json.dumps(report))
    return 0


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    if spec["netns"]:
        loopback_up()
    work, wire = Path(spec["work"]), spec["wire"]
    home, project, ccm_home = work / "home", work / "project", work / "ccm-home"
    seed_home(home)
    project.mkdir(parents=True, exist_ok=True)
    ccm_home.mkdir(mode=0o700, parents=True, exist_ok=True)
    turn = AgentTurn()
    # The interfaces this process (and so Claude Code) can use: just "lo" in a fresh namespace.
    interfaces = [name for _, name in socket.if_nameindex()]
    report: dict[str, Any] = {"spec": spec, "final_text": turn.final_text(), "interfaces": interfaces}
    if spec.get("subscription"):
        return subscription(spec, turn, report, home, project, ccm_home)
    if spec["mode"] == "ccm-code-tui":
        return tui(spec, report, home, project, ccm_home)
    broken_status = spec.get("broken")
    with FakeUpstream() as upstream, FakeUpstream() as broken:
        reply = turn.anthropic() if wire == "anthropic" else turn.openai()
        if spec.get("strict"):
            reply = guarding(reply, StrictHost(set(spec["strict"])))
        upstream.script(reply)
        broken.script(Reply.error(broken_status or 500, "fake outage", "overloaded_error"))
        config, port = ccm_home / "config.toml", free_port()
        write_config(config, port, wire, upstream.url, broken.url if broken_status else None, spec.get("provider_type"))
        env = claude_env(spec, home)
        if spec["mode"] == "proxy":
            report |= through_proxy(spec, env, config, port, project)
        else:
            report |= through_ccm_code(spec, env, ccm_home, project)
        report["upstream"] = [summarize(rec, wire) for rec in upstream.received]
        report["broken_upstream"] = [summarize(rec, "anthropic") for rec in broken.received]
    log = ccm_home / "ccm.log"
    report["proxy_log"] = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    print(json.dumps(report))
    return 0


def subscription(
    spec: dict[str, Any], turn: AgentTurn, report: dict[str, Any], home: Path, project: Path, ccm_home: Path
) -> int:
    """Claude Code logged in to Pro/Max, through `ccm code`: its first request reaches the fake Anthropic
    with its own bearer; the tool result meets the plan's limit (429) and the session goes on elsewhere."""
    seed_login(home)

    def claude(rec: Received) -> Reply:
        if not rec.path.startswith("/v1/messages") or rec.path.startswith("/v1/messages/count_tokens"):
            return Reply.error(404, "only /v1/messages", "not_found_error")
        if anthropic_tool_output(rec.json) is None:
            return Reply.stream(tool_use_stream(turn.tool, turn.tool_input, model=turn.model))
        claim = {"anthropic-ratelimit-unified-representative-claim": "five_hour", "retry-after": "3600"}
        return Reply.error(429, "This request would exceed your rate limit", "rate_limit_error", headers=claim)

    with FakeUpstream() as anthropic_up, FakeUpstream() as openai_up:
        anthropic_up.script(Reply(handler=claude))
        openai_up.script(turn.openai())
        write_subscription_config(ccm_home / "config.toml", free_port(), anthropic_up.url, openai_up.url)
        env = claude_env(spec, home)
        report |= through_ccm_code(spec, env, ccm_home, project)
        report["upstream"] = [summarize(rec, "anthropic") for rec in anthropic_up.received]
        report["second_upstream"] = [summarize(rec, "openai") for rec in openai_up.received]
    log = ccm_home / "ccm.log"
    report["proxy_log"] = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
