"""`ccm code` with a stand-in `claude` on PATH, and `ccm env`."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CCM, Cli, wait_for

FAKE_CLAUDE = r"""
import http.client, json, os, sys, time
from pathlib import Path

out = Path(os.environ["FAKE_CLAUDE_DIR"]) / (os.environ.get("FAKE_CLAUDE_NAME") or str(os.getpid()))
url = os.environ.get("ANTHROPIC_BASE_URL", "")
health = None
try:
    conn = http.client.HTTPConnection(url.split("://", 1)[1], timeout=5)
    conn.request("GET", "/health")
    health = json.loads(conn.getresponse().read())
except Exception as exc:
    health = repr(exc)
record = {
    "argv": sys.argv[1:],
    "env": {k: os.environ.get(k) for k in
            ("ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "NO_PROXY", "no_proxy",
             "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_DEFAULT_HAIKU_MODEL", "ANTHROPIC_SMALL_FAST_MODEL",
             "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY", "CLAUDE_CODE_AUTO_COMPACT_WINDOW",
             "CLAUDE_CODE_MAX_CONTEXT_TOKENS")},
    "stdin": sys.stdin.read() if os.environ.get("FAKE_CLAUDE_STDIN") else None,
    "health": health,
    "pid": os.getpid(),
}
out.with_suffix(".tmp").write_text(json.dumps(record))
out.with_suffix(".tmp").rename(out.with_suffix(".json"))
wait = os.environ.get("FAKE_CLAUDE_WAIT")
while wait and not Path(wait).exists():
    time.sleep(0.02)
sys.exit(int(os.environ.get("FAKE_CLAUDE_EXIT", "0")))
"""


@pytest.fixture
def claude(cli: Cli, tmp_path: Path) -> Path:
    """A stand-in `claude` that records argv, env, stdin and /health into FAKE_CLAUDE_DIR/<name>.json."""
    records = tmp_path / "records"
    records.mkdir()
    cli.write_program("claude", FAKE_CLAUDE)
    cli.env["FAKE_CLAUDE_DIR"] = str(records)
    return records


def record(records: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((records / f"{name}.json").read_text()))


def test_code_passes_everything_through(cli: Cli, claude: Path, write_config: Any, port: int) -> None:
    write_config()
    args = ["-p", "hi there", "--model", "up,some-model", "--output-format", "json", "--", "-x"]
    result = cli.run(
        "code",
        *args,
        input="from stdin\n",
        env={
            "FAKE_CLAUDE_NAME": "one",
            "FAKE_CLAUDE_EXIT": "7",
            "FAKE_CLAUDE_STDIN": "1",
            "ANTHROPIC_API_KEY": "sk-must-not-leak",
            "NO_PROXY": "corp.example",
        },
    )
    assert result.returncode == 7, result.stderr
    seen = record(claude, "one")
    assert seen["argv"] == args
    assert seen["stdin"] == "from stdin\n"
    assert seen["env"] == {
        "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}",
        "ANTHROPIC_AUTH_TOKEN": "ccm",
        "ANTHROPIC_API_KEY": None,
        "NO_PROXY": "corp.example,127.0.0.1,localhost",
        "no_proxy": None,
        "ANTHROPIC_CUSTOM_HEADERS": None,
        # router.background is set: titles and haiku subagents go there (cli.claude_session)
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "claude-haiku-5-5",
        "ANTHROPIC_SMALL_FAST_MODEL": "claude-haiku-5-5",
        "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1",
        "CLAUDE_CODE_AUTO_COMPACT_WINDOW": None,  # main-actual's window is unknown
        "CLAUDE_CODE_MAX_CONTEXT_TOKENS": None,
    }
    assert seen["health"]["status"] == "ok"  # the proxy answered while claude ran
    assert "started the proxy" in result.stderr
    assert not cli.running()  # ccm code started it, the last session stopped it
    assert list((cli.home / "sessions").glob("*.session")) == []


def test_code_dash_dash_help_reaches_claude(cli: Cli, claude: Path, write_config: Any) -> None:
    write_config()
    cli.ok("code", "--", "--help", env={"FAKE_CLAUDE_NAME": "help"})
    assert record(claude, "help")["argv"] == ["--help"]
    cli.ok("--debug", "code", "--debug", "-p", "x", env={"FAKE_CLAUDE_NAME": "debug"})  # claude's own --debug too
    assert record(claude, "debug")["argv"] == ["--debug", "-p", "x"]
    assert "Run Claude Code through the proxy" in cli.ok("code", "--help")


def test_code_leaves_a_proxy_it_did_not_start(cli: Cli, claude: Path, write_config: Any) -> None:
    write_config()
    cli.ok("start")
    pid = cli.pid_info()["pid"]  # type: ignore[index]
    result = cli.run("code", env={"FAKE_CLAUDE_NAME": "x"})
    assert result.returncode == 0 and "started the proxy" not in result.stderr
    assert cli.running() and cli.pid_info()["pid"] == pid  # type: ignore[index]
    cli.ok("stop")


def _session(cli: Cli, name: str, release: Path) -> subprocess.Popen[str]:
    env = {**cli.env, "FAKE_CLAUDE_NAME": name, "FAKE_CLAUDE_WAIT": str(release)}
    return subprocess.Popen([str(CCM), "code", name], env=env, stdin=subprocess.DEVNULL, text=True)


def test_two_sessions_share_the_proxy_and_the_last_stops_it(
    cli: Cli, claude: Path, write_config: Any, tmp_path: Path
) -> None:
    write_config()
    release_a = tmp_path / "release-a"
    a = _session(cli, "a", release_a)
    try:
        wait_for(lambda: (claude / "a.json").exists(), timeout=20)
        pid = cli.pid_info()["pid"]  # type: ignore[index]
        b = cli.run("code", "b", env={"FAKE_CLAUDE_NAME": "b", "FAKE_CLAUDE_EXIT": "3"})
        assert b.returncode == 3
        assert "started the proxy" not in b.stderr  # b reused a's proxy
        assert record(claude, "b")["env"]["ANTHROPIC_BASE_URL"] == record(claude, "a")["env"]["ANTHROPIC_BASE_URL"]
        assert cli.running() and cli.pid_info()["pid"] == pid  # type: ignore[index]  # a still uses it
        release_a.touch()
        assert a.wait(timeout=20) == 0
        assert not cli.running()  # a was the last one out
    finally:
        release_a.touch()
        a.kill()
        a.wait()


def test_a_crashed_session_does_not_keep_the_proxy(cli: Cli, claude: Path, write_config: Any, tmp_path: Path) -> None:
    write_config()
    release = tmp_path / "release"
    crashed = _session(cli, "crashed", release)
    try:
        wait_for(lambda: (claude / "crashed.json").exists(), timeout=20)
        assert len(list((cli.home / "sessions").glob("*.session"))) == 1
        crashed.send_signal(signal.SIGKILL)  # its claude child lives on, orphaned
        crashed.wait(timeout=10)
        assert cli.running()
        cli.ok("code", env={"FAKE_CLAUDE_NAME": "next"})
        assert not cli.running()  # the killed session's lock was free: it did not count
        assert list((cli.home / "sessions").glob("*.session")) == []
    finally:
        release.touch()  # lets the orphaned stand-in exit
        crashed.kill()
        crashed.wait()


def test_missing_claude_is_one_line(cli: Cli, write_config: Any) -> None:
    write_config()
    line = cli.fails("code", "-p", "x", env={"PATH": str(cli.bin_dir)})
    assert "Claude Code (`claude`) was not found on PATH" in line
    assert "npm install -g @anthropic-ai/claude-code" in line
    assert not cli.running()


def test_claude_that_cannot_run_is_one_line(cli: Cli, write_config: Any) -> None:
    write_config()
    (cli.bin_dir / "claude").write_text("not a program")
    (cli.bin_dir / "claude").chmod(0o755)
    result = cli.run("code", env={"PATH": str(cli.bin_dir)})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # after the "started the proxy" note
    assert "cannot run" in line and "Exec format error" in line
    assert not cli.running()  # the session that started the proxy stopped it on the way out


def test_code_when_the_proxy_cannot_start(cli: Cli, claude: Path, write_config: Any, port: int) -> None:
    write_config()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        line = cli.fails("code", env={"FAKE_CLAUDE_NAME": "never"})
    assert "is in use by another program" in line
    assert not (claude / "never.json").exists()
    assert list((cli.home / "sessions").glob("*.session")) == []


ROUTER_KEY_CONFIG = '[server]\napi_key = "$CCM_TEST_ROUTER_KEY"\n'


def test_router_key_reaches_claude(cli: Cli, claude: Path, write_config: Any) -> None:
    path = write_config()
    path.write_text(path.read_text().replace("[server]\n", ROUTER_KEY_CONFIG))
    cli.ok("code", env={"FAKE_CLAUDE_NAME": "k", "CCM_TEST_ROUTER_KEY": "router-secret-123"})
    assert record(claude, "k")["env"]["ANTHROPIC_AUTH_TOKEN"] == "router-secret-123"


@pytest.mark.parametrize(
    ("shell", "expected"),
    [
        (
            "bash",
            [
                "export ANTHROPIC_BASE_URL='{url}'",
                "export ANTHROPIC_AUTH_TOKEN='ccm'",
                "unset ANTHROPIC_API_KEY",
                "export NO_PROXY='corp,127.0.0.1,localhost'",
                "export CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY='1'",
                "export ANTHROPIC_DEFAULT_HAIKU_MODEL='claude-haiku-5-5'",
                "export ANTHROPIC_SMALL_FAST_MODEL='claude-haiku-5-5'",
            ],
        ),
        (
            "fish",
            [
                "set -gx ANTHROPIC_BASE_URL '{url}'",
                "set -gx ANTHROPIC_AUTH_TOKEN 'ccm'",
                "set -e ANTHROPIC_API_KEY",
                "set -gx NO_PROXY 'corp,127.0.0.1,localhost'",
                "set -gx CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY '1'",
                "set -gx ANTHROPIC_DEFAULT_HAIKU_MODEL 'claude-haiku-5-5'",
                "set -gx ANTHROPIC_SMALL_FAST_MODEL 'claude-haiku-5-5'",
            ],
        ),
        (
            "powershell",
            [
                "$env:ANTHROPIC_BASE_URL = '{url}'",
                "$env:ANTHROPIC_AUTH_TOKEN = 'ccm'",
                "Remove-Item Env:ANTHROPIC_API_KEY -ErrorAction SilentlyContinue",
                "$env:NO_PROXY = 'corp,127.0.0.1,localhost'",
                "$env:CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY = '1'",
                "$env:ANTHROPIC_DEFAULT_HAIKU_MODEL = 'claude-haiku-5-5'",
                "$env:ANTHROPIC_SMALL_FAST_MODEL = 'claude-haiku-5-5'",
            ],
        ),
    ],
)
def test_env_shells(cli: Cli, write_config: Any, port: int, shell: str, expected: list[str]) -> None:
    write_config()
    result = cli.run("env", "--shell", shell, env={"NO_PROXY": "corp"})
    assert result.returncode == 0
    url = f"http://127.0.0.1:{port}"
    assert result.stdout.splitlines() == [line.format(url=url) for line in expected]
    assert "the proxy is not running" in result.stderr


def test_env_is_evaluable_and_uses_the_running_proxy(cli: Cli, write_config: Any) -> None:
    path = write_config()
    path.write_text(path.read_text().replace("[server]\n", ROUTER_KEY_CONFIG))
    cli.ok("start", env={"CCM_TEST_ROUTER_KEY": "k-1"})
    url = f"http://127.0.0.1:{cli.pid_info()['port']}"  # type: ignore[index]
    assert "$CCM_TEST_ROUTER_KEY" in cli.ok("env", env={"SHELL": "/bin/zsh"})  # a reference, not the value
    script = f'eval "$({CCM} env --shell bash)"; echo "$ANTHROPIC_BASE_URL|$ANTHROPIC_AUTH_TOKEN|${{ANTHROPIC_API_KEY-unset}}"'
    env = {**cli.env, "ANTHROPIC_API_KEY": "x", "CCM_TEST_ROUTER_KEY": "k-1"}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == f"{url}|k-1|unset"
    cli.ok("stop")
    assert "unknown shell 'tcsh'" in cli.fails("env", "--shell", "tcsh")


PASSTHROUGH = """
[[providers]]
name = "claude"
provider_type = "anthropic"
auth_type = "passthrough"
"""


def test_code_with_a_passthrough_provider_leaves_claude_codes_login_alone(
    cli: Cli, claude: Path, write_config: Any
) -> None:
    """Claude Pro/Max: Claude Code must send its own login, so neither token variable reaches it (even when
    the user's shell sets them); the router key travels as x-ccm-key in ANTHROPIC_CUSTOM_HEADERS."""
    path = write_config()
    path.write_text(path.read_text().replace("[server]\n", ROUTER_KEY_CONFIG) + PASSTHROUGH)
    env = {
        "FAKE_CLAUDE_NAME": "pt",
        "CCM_TEST_ROUTER_KEY": "k-2",
        "ANTHROPIC_AUTH_TOKEN": "stale",
        "ANTHROPIC_API_KEY": "sk-stale",
        "ANTHROPIC_CUSTOM_HEADERS": "x-team: blue",
    }
    result = cli.run("code", "-p", "hi", env=env)
    assert result.returncode == 0, result.stderr
    seen = record(claude, "pt")["env"]
    assert seen["ANTHROPIC_AUTH_TOKEN"] is None and seen["ANTHROPIC_API_KEY"] is None
    assert seen["ANTHROPIC_CUSTOM_HEADERS"] == "x-team: blue\nx-ccm-key: k-2"
    lines = cli.ok("env", "--shell", "bash", env={"CCM_TEST_ROUTER_KEY": "k-2"}).splitlines()
    assert "unset ANTHROPIC_AUTH_TOKEN" in lines and "unset ANTHROPIC_API_KEY" in lines
    assert 'export ANTHROPIC_CUSTOM_HEADERS="x-ccm-key: $CCM_TEST_ROUTER_KEY"' in lines
    cli.ok("stop")


def test_env_says_when_the_router_key_variable_is_unset(cli: Cli, write_config: Any) -> None:
    path = write_config()
    path.write_text(path.read_text().replace("[server]\n", ROUTER_KEY_CONFIG))
    result = cli.run("env", "--shell", "bash")
    assert result.returncode == 0
    assert "$CCM_TEST_ROUTER_KEY is not set here" in result.stderr
    assert "$CCM_TEST_ROUTER_KEY is not set" not in cli.run("env", env={"CCM_TEST_ROUTER_KEY": "k"}).stderr


def test_code_and_env_size_a_session_on_a_model_claude_code_does_not_know(
    cli: Cli, claude: Path, write_config: Any
) -> None:
    """`ccm code --model claude-via-ccm/main`: Claude Code would assume 1,000,000 tokens; it is told the
    window of the model ccm serves (its mapping's context_window). The user's own haiku value wins."""
    path = write_config()
    path.write_text(
        path.read_text().replace(
            'actual_model = "main-actual"', 'actual_model = "main-actual"\ncontext_window = 128000'
        )
    )
    env = {"FAKE_CLAUDE_NAME": "sized", "ANTHROPIC_SMALL_FAST_MODEL": "mine"}
    cli.ok("code", "-p", "hi", "--model", "claude-via-ccm/main", env=env)
    seen = record(claude, "sized")["env"]
    assert seen["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] == "128000" and seen["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] is None
    assert (seen["ANTHROPIC_SMALL_FAST_MODEL"], seen["ANTHROPIC_DEFAULT_HAIKU_MODEL"]) == ("mine", "claude-haiku-5-5")
    # Without --model the session is on a Claude name (1M in Claude Code's catalog): compact at 128k.
    lines = cli.ok("env", "--shell", "bash").splitlines()
    assert "export CLAUDE_CODE_AUTO_COMPACT_WINDOW='128000'" in lines
    assert not any("CLAUDE_CODE_MAX_CONTEXT_TOKENS" in line for line in lines)
