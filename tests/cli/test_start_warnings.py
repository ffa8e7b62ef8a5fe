"""`ccm start` says, one line each on stderr, what the proxy cannot do (a routed provider with no key or
login), and `--foreground` prints the serving line and those warnings on stderr (journald, Docker)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CCM, Cli, wait_for
from tests.cli.test_server_cmds import health
from tests.e2e.harness import make_config

EXPECTED = [
    "ccm: warning: provider 'zai' has no API key: run `ccm keys set zai` or set ZAI_API_KEY",
    "ccm: warning: provider 'lm' has no API key: run `ccm keys set lm` or set LM_STUDIO_KEY",
]


def write(cli: Cli, port: int) -> Path:
    providers = [
        {"name": "zai", "provider_type": "z.ai"},
        {
            "name": "lm",
            "provider_type": "openai-compatible",
            "base_url": "http://127.0.0.1:9/v1",
            "api_key": "$LM_STUDIO_KEY",
        },
        {"name": "ollama", "provider_type": "openai-compatible", "base_url": "http://127.0.0.1:9/v1"},
        {"name": "claude", "provider_type": "anthropic", "auth_type": "passthrough"},
        {"name": "unused", "provider_type": "z.ai"},  # no model maps to it: the router never uses it
    ]
    models: dict[str, Any] = {"main": [("zai", "glm"), ("lm", "q"), ("ollama", "q"), ("claude", "c")]}
    path = cli.home / "config.toml"
    path.write_text(make_config(providers, models, server={"port": port}))
    return path


def warnings(stderr: str) -> list[str]:
    """The warnings, without the one that depends on who else uses the machine running the tests."""
    lines = stderr.splitlines()
    return [line for line in lines if line.startswith("ccm: warning:") and "other accounts on this" not in line]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="runs a process as another account")
def test_start_says_when_other_accounts_of_this_machine_can_use_a_keyless_proxy(cli: Cli, port: int) -> None:
    """On loopback without server.api_key every local account can use the proxy: said when another one
    is active (here a process of uid 4242), not said once a router key is set."""
    other = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: (os.setgid(4242), os.setuid(4242)))
    try:
        write(cli, port)
        result = cli.run("start")
        cli.ok("stop")
        (line,) = [w for w in result.stderr.splitlines() if "other accounts on this" in w]
        assert "(uid 4242)" in line and "set server.api_key" in line
        path = cli.home / "config.toml"
        path.write_text(path.read_text().replace("[server]\n", '[server]\napi_key = "router-key-0123456789"\n', 1))
        result = cli.run("start")
        cli.ok("stop")
        assert "other accounts" not in result.stderr
    finally:
        other.kill()
        other.wait()


def test_start_warns_about_each_routed_provider_without_a_key(cli: Cli, port: int) -> None:
    write(cli, port)
    result = cli.run("start")
    assert result.returncode == 0, result.stderr
    assert f"running at http://127.0.0.1:{port}" in result.stdout
    assert warnings(result.stderr) == EXPECTED
    # The proxy itself logged every enabled provider with no key once at start, the unused one included.
    log = wait_for(lambda: (text := (cli.home / "ccm.log").read_text()).count("has no API key") >= 3 and text)
    for line in EXPECTED:
        assert log.count(line.removeprefix("ccm: warning: ")) == 1
    assert "provider 'unused' has no API key" in log
    assert "'ollama' has no" not in log and "'claude' has no" not in log
    cli.ok("stop")


def test_status_shows_the_missing_keys_the_proxy_sees_until_one_is_set(cli: Cli, port: int) -> None:
    """What the proxy logged at start stays visible in `ccm status` (text and --json), as the proxy
    resolved the keys in its own environment; a key set (the proxy reloads) clears its line."""
    write(cli, port)
    cli.ok("start")
    missing = [line.removeprefix("ccm: warning: ") for line in EXPECTED] + [
        "provider 'unused' has no API key: run `ccm keys set unused` or set UNUSED_API_KEY"
    ]
    assert sorted(json.loads(cli.ok("status", "--json"))["config_warnings"]) == sorted(missing)
    shown = [line.split(None, 1)[1] for line in cli.ok("status").splitlines() if line.strip().startswith("warning ")]
    assert sorted(shown) == sorted(missing)
    cli.ok("keys", "set", "zai", input="zai-key-0123456789\n")
    assert sorted(json.loads(cli.ok("status", "--json"))["config_warnings"]) == sorted(missing[1:])
    cli.ok("stop")


def test_start_with_every_key_set_is_quiet(cli: Cli, port: int) -> None:
    write(cli, port)
    result = cli.run("start", env={"ZAI_API_KEY": "sk-zai-123456", "LM_STUDIO_KEY": "lm-123456"})
    assert result.returncode == 0 and warnings(result.stderr) == []
    cli.ok("stop")


def test_foreground_prints_the_serving_line_and_warnings_on_stderr(cli: Cli, port: int) -> None:
    write(cli, port)
    child = subprocess.Popen([str(CCM), "start", "--foreground"], env=cli.env, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: health(port), timeout=15)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=15)
        assert child.returncode == 0
    finally:
        child.kill()
        child.wait()
    assert warnings(err) == EXPECTED
    serving = [line for line in err.splitlines() if " serving " in line]
    assert len(serving) == 1 and f"serving http://127.0.0.1:{port} with config" in serving[0]


def test_code_warns_when_it_starts_the_proxy(cli: Cli, port: int, tmp_path: Path) -> None:
    from tests.cli.test_code import FAKE_CLAUDE

    write(cli, port)
    (tmp_path / "records").mkdir()
    cli.write_program("claude", FAKE_CLAUDE)
    result = cli.run("code", env={"FAKE_CLAUDE_DIR": str(tmp_path / "records"), "FAKE_CLAUDE_NAME": "w"})
    assert result.returncode == 0, result.stderr
    assert "started the proxy" in result.stderr and warnings(result.stderr) == EXPECTED
    cli.ok("start")  # a proxy already running: `ccm code` starts nothing and says nothing more
    again = cli.run("code", env={"FAKE_CLAUDE_DIR": str(tmp_path / "records"), "FAKE_CLAUDE_NAME": "w2"})
    assert again.returncode == 0 and warnings(again.stderr) == []
    cli.ok("stop")
