"""Record what a real Claude Code sends, as tests/fixtures/claude-code keeps it.

    python -m tests.tools.record_claude_code --claude .cache/claude-code-newest/.../claude \\
        --capture print-tool --names main-request-with-tools,tool-result-followup --suffix=-2.1.332 \\
        --out tests/fixtures/claude-code

Claude Code runs against a recording fake Anthropic server on 127.0.0.1 (it plays one tool turn: Bash
`echo hello-from-tool-$((6*7))`, then text), with a throwaway HOME and project, in print mode (`-p`) or,
with --interactive, in its TUI under a pseudo-terminal (the prompt is typed; the session title request only
happens there). Each `POST /v1/messages` is written as NAME.json (the body, pretty-printed) and
NAME.headers.json (method, path, headers in wire order and case, body_bytes of the original), named from
--names in order (else CAPTURE-N); `sequences/CAPTURE<suffix>.json` lists every request. Sanitized as the
fixtures README says: HOME /home/user, the project /home/user/project, port 13456, device_id zeros, the
kernel Linux 6.8.0-generic. Never point it at a real key: the server is a fake and the key `test-key`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fakes.anthropic_sse import tool_use_stream
from tests.fakes.scenarios import AgentTurn, anthropic_tool_output
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_stream

PORT = 13456
THINKING = "The user wants me to act; I will do what the script says."
"""A signed thinking block before the tool call, as the fixtures' fake sent: the follow-up replays it."""
BASE_ENV = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",
}


def answer(turn: AgentTurn) -> Reply:
    """The fake model: count_tokens a number, a title its JSON, /v1/models an empty list, else the tool turn."""

    def reply(rec: Received) -> Reply:
        if rec.method != "POST":
            return Reply(200, json={"data": []}) if rec.path.startswith("/v1/models") else Reply(200, body=b"")
        if rec.path.startswith("/v1/messages/count_tokens"):
            return Reply(200, json={"input_tokens": 7})
        body = rec.json or {}
        if (body.get("output_config") or {}).get("format"):  # the session title: JSON as the schema says
            return Reply.stream(anthropic_stream('{"title": "Echo a marker"}', model=turn.model))
        output = anthropic_tool_output(body)
        if output is None:
            return Reply.stream(tool_use_stream(turn.tool, turn.tool_input, model=turn.model, thinking=THINKING))
        return Reply.stream(anthropic_stream(turn.final_text(output), model=turn.model))

    return Reply(handler=reply)


def sanitize(text: str, home: Path, project: Path, port: int) -> str:
    slug = re.sub(r"[^A-Za-z0-9]", "-", str(project))
    for real, fake in ((str(project), "/home/user/project"), (str(home), "/home/user"), (slug, "-home-user-project")):
        text = text.replace(real, fake)
    text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{PORT}")
    text = re.sub(r'(device_id\\*":\\*")[0-9a-f]{64}', lambda m: m.group(1) + "0" * 64, text)
    return re.sub(r"Linux \d+\.\d+\.\d+[^\s\"\\]*", "Linux 6.8.0-generic", text)


def run_print(claude: str, args: list[str], prompt: str, env: dict[str, str], cwd: Path) -> int:
    done = subprocess.run(
        [claude, "-p", prompt, *args], env=env, cwd=cwd, capture_output=True, timeout=180, check=False
    )
    return done.returncode


def run_interactive(claude: str, args: list[str], prompt: str, env: dict[str, str], cwd: Path, up: FakeUpstream) -> int:
    """The TUI under a pseudo-terminal: type the prompt, wait for the turn's last request, then leave."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: Claude Code in its own terminal
        os.chdir(cwd)
        os.execve(claude, [claude, *args], env)
    deadline = time.monotonic() + 90
    typed = False
    started = time.monotonic()
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            with contextlib.suppress(OSError):
                os.read(fd, 65536)
        if not typed and time.monotonic() - started > 4:  # the TUI draws, then reads keys
            os.write(fd, prompt.encode())
            time.sleep(0.3)
            os.write(fd, b"\r")
            typed = True
        finished = [r for r in up.received if anthropic_tool_output(r.json or {}) is not None]
        if finished:
            time.sleep(1.0)
            break
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--claude", required=True, help="the claude binary")
    parser.add_argument("--out", required=True, type=Path, help="where NAME.json files go")
    parser.add_argument("--capture", default="print-tool", help="the capture's name (sequences/CAPTURE.json)")
    parser.add_argument("--names", default="", help="comma-separated fixture names for the POSTs, in order")
    parser.add_argument("--suffix", default="", help="appended to every name, e.g. -2.1.332")
    parser.add_argument("--prompt", default="Please run: echo hello-from-tool")
    parser.add_argument("--interactive", action="store_true", help="the TUI in a pseudo-terminal, not -p")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for Claude Code (repeatable)")
    parser.add_argument("args", nargs="*", help="more Claude Code arguments (after --)")
    opts = parser.parse_args(argv)
    turn = AgentTurn()
    with tempfile.TemporaryDirectory(prefix="ccm-record-") as scratch, FakeUpstream() as up:
        home, project = Path(scratch) / "home", Path(scratch) / "project"
        project.mkdir(parents=True)
        home.mkdir()
        trust = {str(project): {"hasTrustDialogAccepted": True, "hasCompletedProjectOnboarding": True}}
        approved = {"approved": ["test-key"]}  # the TUI would ask whether to use this key (its last 20 characters)
        state = {"hasCompletedOnboarding": True, "projects": trust, "customApiKeyResponses": approved}
        (home / ".claude.json").write_text(json.dumps(state))
        up.script(answer(turn))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", **BASE_ENV}
        env |= {"ANTHROPIC_BASE_URL": up.url, "ANTHROPIC_API_KEY": "test-key", "NO_PROXY": "127.0.0.1,localhost"}
        env["TERM"] = "xterm-256color" if opts.interactive else "dumb"
        if not opts.interactive:
            env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
        env |= dict(item.split("=", 1) for item in opts.env)
        args = opts.args if opts.interactive else ["--output-format", "json", *opts.args]
        started = time.monotonic()
        if opts.interactive:
            rc = run_interactive(opts.claude, args, opts.prompt, env, project, up)
        else:
            rc = run_print(opts.claude, args, opts.prompt, env, project)
        write(opts, up.received, home, project, up.port, rc, round(time.monotonic() - started, 2))
    return 0


def write(
    opts: argparse.Namespace, received: list[Received], home: Path, project: Path, port: int, rc: int, took: float
) -> None:
    names = [n for n in opts.names.split(",") if n]
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "sequences").mkdir(exist_ok=True)
    summary: list[dict[str, Any]] = []
    posts = 0
    for seq, rec in enumerate(received, start=1):
        body: Any = json.loads(sanitize(rec.body.decode(), home, project, port)) if rec.body else None
        item: dict[str, Any] = {"seq": seq, "method": rec.method, "path": rec.path, "body_bytes": len(rec.body)}
        if isinstance(body, dict):
            item |= {"model": body.get("model"), "max_tokens": body.get("max_tokens"), "body_keys": list(body)}
            item["anthropic_beta"] = rec.headers.get("anthropic-beta")
        if rec.method == "POST" and rec.path.startswith("/v1/messages") and "count_tokens" not in rec.path:
            posts += 1
            name = (names[posts - 1] if posts <= len(names) else f"{opts.capture}-{posts}") + opts.suffix
            headers = [[k, sanitize(v, home, project, port)] for k, v in rec.wire_headers]
            meta = {"method": rec.method, "path": rec.path, "headers": headers, "body_bytes": len(rec.body)}
            (opts.out / f"{name}.json").write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
            (opts.out / f"{name}.headers.json").write_text(json.dumps(meta, indent=2) + "\n")
            item["fixture"] = name
        summary.append(item)
    capture = {"capture": opts.capture, "interactive": opts.interactive, "claude_exit_code": rc, "elapsed_s": took}
    capture["requests"] = summary
    path = opts.out / "sequences" / f"{opts.capture}{opts.suffix}.json"
    path.write_text(json.dumps(capture, indent=2) + "\n")
    print(f"{len(summary)} requests, {posts} written; {path}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
