"""`ccm start|stop|restart|status|logs` against the real server (`python -m ccm serve`)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cli import process
from tests.cli.conftest import CCM, Cli, free_port, wait_for


def health(port: int) -> dict[str, Any] | None:
    return process.health(f"http://127.0.0.1:{port}")


def test_start_status_stop(cli: Cli, write_config: Any, port: int) -> None:
    config = write_config()
    out = cli.ok("start")
    url = f"http://127.0.0.1:{port}"
    assert f"running at {url}" in out
    # the shell setup is `ccm env`'s alone: start names the command, so it cannot show a part of it
    assert '  eval "$(ccm env)"' in out and "ANTHROPIC_" not in out
    info = cli.pid_info()
    assert info is not None and health(port)["pid"] == info["pid"]  # type: ignore[index]

    status = json.loads(cli.ok("status", "--json"))
    assert status["running"] is True and status["healthy"] is True
    assert status["pid"] == info["pid"] and status["url"] == url
    assert status["config"] == str(config) and status["uptime_s"] >= 0
    text = cli.ok("status")
    assert f"running at {url}" in text and str(config) in text and "health   ok" in text

    assert f"stopped ccm (pid {info['pid']})" in cli.ok("stop")
    assert not cli.running() and not cli.pid_file.exists()
    assert health(port) is None
    stopped = cli.run("status", "--json")
    assert stopped.returncode == 1
    assert json.loads(stopped.stdout) == {
        "running": False,
        "pid": None,
        "url": None,
        "config": str(config),
        "uptime_s": None,
        "version": None,
        "healthy": False,
    }
    assert cli.run("status").stdout.startswith("ccm is not running")
    assert cli.ok("stop").strip() == "ccm is not running"


def test_start_creates_the_default_config_when_missing(cli: Cli, port: int) -> None:
    out = cli.ok("start", "--port", str(port), env={"SHELL": "/usr/bin/fish"})
    assert f"http://127.0.0.1:{port}" in out
    assert "  ccm env | source" in out  # in the user's shell's own syntax
    assert (cli.home / "config.toml").read_text().startswith("# ccm config")
    cli.ok("stop")


def test_refuses_when_already_running(cli: Cli, write_config: Any) -> None:
    write_config()
    cli.ok("start")
    line = cli.fails("start")
    pid = cli.pid_info()["pid"]  # type: ignore[index]
    port = cli.pid_info()["port"]  # type: ignore[index]
    assert line == (
        f"ccm: the proxy is already running at http://127.0.0.1:{port}, pid {pid} (`ccm stop` or `ccm restart` first)"
    )
    cli.ok("stop")


def test_a_port_held_by_another_ccm_names_it(cli: Cli, write_config: Any, port: int, tmp_path: Path) -> None:
    """Another ccm (another CCM_HOME) on the port: its /health says so, with its pid and config."""
    config = write_config()
    other = tmp_path / "other-home"
    other.mkdir()
    (other / "config.toml").write_text(config.read_text())
    cli.ok("start", env={"CCM_HOME": str(other)})
    try:
        pid = json.loads((other / "ccm.pid").read_text())["pid"]
        assert cli.fails("start") == (
            f"ccm: port {port} on 127.0.0.1 is in use by another ccm (pid {pid}, config {other / 'config.toml'}); "
            "pick another with --port"
        )
    finally:
        cli.ok("stop", env={"CCM_HOME": str(other)})


def test_refuses_a_port_in_use(cli: Cli, write_config: Any, port: int) -> None:
    write_config()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        line = cli.fails("start")
    assert line == f"ccm: port {port} on 127.0.0.1 is in use by another program; pick another with --port"
    assert not cli.running()


def test_a_bad_config_is_reported_before_spawning(cli: Cli, write_config: Any, port: int) -> None:
    write_config(f'[server]\nport = {port}\n\n[router]\ndefault = "nowhere"\n')
    line = cli.fails("start")
    assert "config.toml:5: router.default: names model 'nowhere'" in line
    assert not (cli.home / "ccm.out").exists()


def test_child_dying_before_health_shows_its_words(cli: Cli, write_config: Any, port: int) -> None:
    write_config()
    config = cli.home / "config.toml"
    config.write_text(config.read_text().replace("[server]\n", '[server]\napi_key = "$CCM_TEST_UNSET_KEY"\n'))
    line = cli.fails("start")
    assert "CCM_TEST_UNSET_KEY" in line and "is not set" in line
    assert not cli.running()


def test_stale_pid_file_is_reported_and_cleaned(cli: Cli, write_config: Any) -> None:
    write_config()
    stale = {"pid": 999999, "host": "127.0.0.1", "port": 1, "url": "http://127.0.0.1:1", "config": "x"}
    cli.pid_file.write_text(json.dumps(stale))
    status = cli.run("status")
    assert status.returncode == 1 and "stale pid file of pid 999999" in status.stdout
    assert "removed a stale pid file" in cli.ok("stop")
    assert not cli.pid_file.exists()
    cli.pid_file.write_text(json.dumps(stale))
    cli.ok("start")  # a stale file does not block a start
    assert cli.pid_info()["pid"] != 999999  # type: ignore[index]
    cli.ok("stop")


def test_restart_keeps_the_config_file_and_takes_a_new_port(cli: Cli, write_config: Any, port: int) -> None:
    other = cli.home / "other.toml"
    other.write_text(write_config().read_text())
    cli.ok("start", "--config", str(other))
    first = cli.pid_info()
    new_port = free_port()
    other.write_text(other.read_text().replace(f"port = {port}", f"port = {new_port}"))
    out = cli.ok("restart")
    second = cli.pid_info()
    assert first and second and second["pid"] != first["pid"]
    assert second["config"] == str(other) and second["port"] == new_port
    assert f":{new_port}" in out
    cli.ok("stop")
    assert "ccm" in cli.ok("restart", "--port", str(port))  # restart of a stopped proxy starts it
    assert cli.pid_info()["port"] == port  # type: ignore[index]
    cli.ok("stop")


def test_restart_with_an_invalid_config_keeps_the_running_proxy(cli: Cli, write_config: Any, port: int) -> None:
    config = write_config()
    cli.ok("start")
    first = cli.pid_info()
    config.write_text(config.read_text() + "\n[router]\ndefault = 'x'\n")  # mid-edit: a second [router]
    line = cli.fails("restart")
    assert "config.toml" in line and "not valid TOML" in line
    assert cli.running() and cli.pid_info() == first  # nothing was stopped
    assert health(port) is not None


def test_logs(cli: Cli, write_config: Any) -> None:
    line = cli.fails("logs")
    assert "no log yet" in line
    write_config()
    cli.ok("start")
    cli.ok("stop")
    out = cli.ok("logs", "-n", "2")
    assert len(out.splitlines()) == 2 and "ccm stopped" in out


def test_logs_follow_across_rotation(cli: Cli) -> None:
    log = cli.home / "ccm.log"
    log.write_text("old 1\nold 2\nold 3\n")
    follower = subprocess.Popen(
        [str(CCM), "logs", "-f", "-n", "1"], stdout=subprocess.PIPE, text=True, env=cli.env, bufsize=1
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "old 3\n"
        with log.open("a") as fh:
            fh.write("new 1\n")
        assert follower.stdout.readline() == "new 1\n"
        with log.open("a") as fh:  # the last line before the rename still shows up
            fh.write("before rotation\n")
        log.rename(cli.home / "ccm.log.1")
        log.write_text("after rotation\n")
        assert follower.stdout.readline() == "before rotation\n"
        assert follower.stdout.readline() == "after rotation\n"
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=10) == 130  # README, "Exit codes": 130 interrupted (Ctrl-C)
    finally:
        follower.kill()
        follower.wait()


def test_foreground_runs_the_server_in_this_process(cli: Cli, write_config: Any, port: int) -> None:
    write_config()
    child = subprocess.Popen([str(CCM), "start", "--foreground"], env=cli.env, stderr=subprocess.PIPE)
    try:
        answer = wait_for(lambda: health(port), timeout=15)
        assert answer["pid"] == child.pid  # exec'd: same process, so signals reach the server directly
        assert cli.pid_info()["pid"] == child.pid  # type: ignore[index]
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=15) == 0
    finally:
        child.kill()
        child.wait()


HOLDER = """
import json, os, signal, sys, time
from pathlib import Path
from ccm import pidfile
signal.signal(signal.SIGTERM, signal.SIG_IGN)
fd = pidfile.acquire(Path(sys.argv[1]), {"pid": os.getpid(), "host": "127.0.0.1", "port": 1,
     "url": "http://127.0.0.1:1", "config": "", "started_at": time.time(), "version": "0"})
print("ready", flush=True)
time.sleep(60)
"""


def test_stop_kills_a_server_that_ignores_sigterm(tmp_path: Path, isolated_env: Path) -> None:
    """process.stop waits for the drain, then SIGKILLs and removes the file the dead server could not."""
    from ccm import pidfile
    from config import paths

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(paths.pid_path())], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "ready\n"
        info = pidfile.running(paths.pid_path())
        assert info is not None and info.pid == holder.pid
        started = time.monotonic()
        assert process.stop(info, grace_s=0.5) is False
        assert time.monotonic() - started < 5
        assert holder.wait(timeout=5) == -signal.SIGKILL
        assert not paths.pid_path().exists()
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_port_problem(host: str) -> None:
    port = free_port()
    assert process.port_problem(host, port) is None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        assert "is in use by another program" in (process.port_problem("127.0.0.1", port) or "")
    assert "cannot resolve host" in (process.port_problem("no-such-host.invalid", port) or "")


def test_env_overrides_port(cli: Cli, write_config: Any) -> None:
    write_config()
    port = free_port()
    out = cli.ok("start", env={"CCM_PORT": str(port)})
    assert f"http://127.0.0.1:{port}" in out
    cli.ok("stop")
    assert "CCM_PORT must be a port number" in cli.fails("start", env={"CCM_PORT": "x"})
    assert "CCM_PORT must be between 1 and 65535" in cli.fails("start", env={"CCM_PORT": "70000"})
