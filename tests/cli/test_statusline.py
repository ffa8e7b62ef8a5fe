"""`ccm statusline`: Claude Code's status JSON in, one line out (route, provider and model of the session's
last request, today's cost, open circuits), with or without a running proxy, exit 0 whatever happens, and
answered before typer is imported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import anthropic
import pytest

from tests.cli.conftest import CONFIG, Cli, wait_for
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

STATUS = json.dumps({"session_id": "sess-1", "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet"}})


def _record(session: str, when: float, **extra: Any) -> str:
    base = {
        "time": when,
        "route": "think",
        "routed_model": "deep",
        "provider": "up",
        "actual_model": "deep-actual",
        "status": 200,
        "cost_usd": 0.25,
        "session": session,
    }
    return json.dumps({**base, **extra}) + "\n"


def test_the_fast_path_never_imports_typer(cli: Cli) -> None:
    probe = (
        "import io, sys; sys.argv = ['ccm', 'statusline']; sys.stdin = io.StringIO('{}');"
        "from cli.entry import main; main();"
        "print(sorted(m for m in ('typer', 'click', 'rich', 'httpx', 'keyring', 'tomlkit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=cli.env, check=True)
    assert out.stdout.splitlines()[-1] == "[]", out.stdout


def test_without_a_proxy_the_journal_answers(cli: Cli) -> None:
    now = time.time()
    (cli.home / "requests.jsonl").write_text(
        _record("sess-1", now - 3 * 86400, cost_usd=9.0)  # days ago: not today's cost
        + _record("sess-1", now - 5)
        + _record("other", now - 1, route="default", routed_model="main", actual_model="main-actual")
    )
    result = cli.run("statusline", input=STATUS)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.count("\n") == 1
    assert result.stdout.strip() == "ccm think → deep · up/deep-actual · today $0.50 · proxy stopped"


def test_any_error_is_still_one_line_and_exit_0(cli: Cli) -> None:
    (cli.home / "requests.jsonl").write_text('garbage\n{"time": "x"}\n[1, 2]\n')
    for stdin in ("not json", "", "[]", '{"session_id": 5}'):
        result = cli.run("statusline", input=stdin)
        assert result.returncode == 0 and result.stdout.count("\n") == 1, result
        assert result.stdout.startswith("ccm"), result.stdout
        assert "Traceback" not in result.stderr


def test_with_a_proxy_it_asks_the_proxy(cli: Cli, write_config: Any, port: int) -> None:
    with FakeUpstream() as up:
        up.script(Reply(200, json=anthropic_message("hi")), Reply.error(503, "down"))
        text = CONFIG.format(port=port, base_url=up.url) + "\n[failover]\nmax_retries = 0\ncircuit_failures = 1\n"
        write_config(text)
        cli.ok("start")
        client = anthropic.Anthropic(
            base_url=f"http://127.0.0.1:{port}",
            api_key="client",
            max_retries=0,
            default_headers={"x-claude-code-session-id": "sess-1"},
        )
        client.messages.create(model="main", max_tokens=5, messages=[{"role": "user", "content": "q"}])

        def shown(status: str = STATUS) -> str:
            return cli.ok("statusline", input=status).strip()

        # The first admin call builds the proxy's admin app (slower than the statusline waits): the journal
        # answers meanwhile, and the proxy once it is warm; both give the same line.
        wait_for(lambda: shown().startswith("ccm default → main · up/main-actual · today $"), timeout=20)
        assert "proxy stopped" not in shown() and "circuit open" not in shown()
        assert shown(json.dumps({"session_id": "another"})).startswith("ccm: no request yet in this session")
        with pytest.raises(anthropic.APIStatusError):
            client.messages.create(model="main", max_tokens=5, messages=[{"role": "user", "content": "q"}])
        line = wait_for(lambda: (text := shown()).endswith("circuit open: up") and text, timeout=20)
        assert line.startswith("ccm default → main · failed (503)"), line
