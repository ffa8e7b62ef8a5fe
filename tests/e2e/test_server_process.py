"""`python -m ccm serve` as a real subprocess: pid file and lock, refusals, graceful drain, secrets from
the 0600 file fallback, and import hygiene (the proxy never imports textual or typer)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from ccm import pidfile
from tests.e2e.harness import (
    ROOT,
    anthropic_provider,
    free_port,
    make_config,
    server_env,
    spawn_server,
    terminate,
    wait_healthy,
)
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / "config.toml"
    path.write_text(text)
    return path


def test_serve_creates_default_config_writes_pid_and_stops_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    proc = spawn_server(home, "--create-config", "--port", str(port))
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
        assert health["pid"] == proc.pid
        assert (home / "config.toml").exists()
        info = pidfile.running(home / "ccm.pid")
        assert info is not None and info.pid == proc.pid and info.port == port
    finally:
        assert terminate(proc) == 0
    assert not (home / "ccm.pid").exists()
    assert "serving" in (home / "ccm.log").read_text()


def test_missing_config_without_create_is_one_line(tmp_path: Path) -> None:
    proc = spawn_server(tmp_path / "home", "--port", str(free_port()))
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert err.decode().strip().count("\n") == 0 and "config file not found" in err.decode()


def test_bad_ports_are_refused_by_the_one_port_check(tmp_path: Path) -> None:
    """The server and the CLI share config.paths.checked_port: the same words for a flag and $CCM_PORT."""
    home = tmp_path / "home"
    for args, env, says in (
        (["--port", "70000"], {}, "ccm: --port must be between 1 and 65535, not 70000"),
        ([], {"CCM_PORT": "http"}, "ccm: CCM_PORT must be a port number, not 'http'"),
    ):
        proc = spawn_server(home, "--create-config", *args, **env)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 1 and err.decode().strip() == says


def test_invalid_config_is_refused_with_file_and_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home, "[router]\ndefault = 'm'\n[server]\nport = 99999\n")
    proc = spawn_server(home)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert "config.toml:4: server.port: must be between 1 and 65535" in err.decode()
    assert "Traceback" not in err.decode()


def test_already_running_and_port_taken(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    first = spawn_server(home, "--create-config", "--port", str(port))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc=first)
        second = spawn_server(home, "--port", str(free_port()))
        _, err = second.communicate(timeout=20)
        assert second.returncode == 3 and "already running" in err.decode()
        other_home = tmp_path / "other"
        third = spawn_server(other_home, "--create-config", "--port", str(port))
        _, err = third.communicate(timeout=20)
        assert third.returncode == 1
        assert f"port {port} on 127.0.0.1 is in use by another program" in err.decode()
        assert not (other_home / "ccm.pid").exists()
    finally:
        terminate(first)


def test_stale_pid_file_does_not_block_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "ccm.pid").write_text(json.dumps({"pid": 999999, "port": 1, "url": "http://x"}))
    assert pidfile.running(home / "ccm.pid") is None
    port = free_port()
    proc = spawn_server(home, "--create-config", "--port", str(port))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
        assert pidfile.running(home / "ccm.pid").pid == proc.pid  # type: ignore[union-attr]
    finally:
        terminate(proc)


def test_sigterm_drains_a_stream_in_flight(tmp_path: Path) -> None:
    with FakeUpstream() as up:
        up.script(Reply.stream(anthropic_stream("draining nicely", pieces=6), delay=0.3))
        home = tmp_path / "home"
        port = free_port()
        write_config(home, make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}, server={"port": port}))
        proc = spawn_server(home)
        wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
        got: dict[str, bytes] = {}

        def stream() -> None:
            body = {"model": "m", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "q"}]}
            with httpx.stream(
                "POST", f"http://127.0.0.1:{port}/v1/messages", json=body, trust_env=False, timeout=30
            ) as response:
                got["body"] = b"".join(response.iter_bytes())

        thread = threading.Thread(target=stream)
        thread.start()
        while not up.received:
            threading.Event().wait(0.01)
        assert terminate(proc) == 0
        thread.join(timeout=30)
    assert b"message_stop" in got["body"]


def test_keys_from_the_file_fallback_reach_the_server(tmp_path: Path) -> None:
    """A key stored by another process (keyring unusable -> secrets.json, 0600) is used by the server."""
    home = tmp_path / "home"
    store = "from config import secrets; s = secrets.store(); print(s.set('provider:up', 'sk-from-the-file-1234'))"
    out = subprocess.run(
        [sys.executable, "-c", store], env=server_env(home), capture_output=True, text=True, cwd=str(ROOT), check=True
    )
    assert out.stdout.strip() == "file"
    assert (home / "secrets.json").stat().st_mode & 0o777 == 0o600
    with FakeUpstream() as up:
        up.script(Reply(200, json=anthropic_message()))
        port = free_port()
        provider = {"name": "up", "provider_type": "anthropic-compatible", "base_url": up.url}
        write_config(home, make_config([provider], {"m": [("up", "x")]}, server={"port": port}))
        proc = spawn_server(home)
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
            body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
            assert httpx.post(f"http://127.0.0.1:{port}/v1/messages", json=body, trust_env=False).status_code == 200
            assert up.received[0].headers["x-api-key"] == "sk-from-the-file-1234"
        finally:
            terminate(proc)
    log = (home / "ccm.log").read_text()
    assert "no usable OS keyring" in log and "sk-from-the-file-1234" not in log


def _loaded_after(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`."""
    probe = f"{code}; import sys; print(','.join(sorted(m for m in {modules!r} if m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=str(ROOT), check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_proxy_process_never_imports_textual_or_typer() -> None:
    code = "import ccm.serve.app, ccm.serve.main, ccm.dispatch.failover, ccm.providers.anthropic"
    assert _loaded_after(code, ("textual", "typer")) == []


def test_server_api_key_var_unset_is_fatal(tmp_path: Path, upstreams: Callable[[], FakeUpstream]) -> None:
    home = tmp_path / "home"
    write_config(
        home,
        make_config(
            [anthropic_provider("up", "http://127.0.0.1:9")],
            {"m": [("up", "x")]},
            server={"api_key": "$CCM_TEST_ROUTER_KEY", "port": free_port()},
        ),
    )
    proc = spawn_server(home)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 1 and "CCM_TEST_ROUTER_KEY is not set" in err.decode()


def test_sigterm_ends_live_request_feeds_at_once(tmp_path: Path) -> None:
    """A TUI following /api/requests/stream must not hold a stop for the whole 30 s drain."""
    import time

    home = tmp_path / "home"
    port = free_port()
    proc = spawn_server(home, "--create-config", "--port", str(port))
    wait_healthy(f"http://127.0.0.1:{port}", proc=proc)
    ended: dict[str, float] = {}
    connected = threading.Event()

    def follow() -> None:
        with httpx.stream(
            "GET", f"http://127.0.0.1:{port}/api/requests/stream", trust_env=False, timeout=40
        ) as response:
            for _ in response.iter_bytes():
                connected.set()  # the feed's first bytes (": connected") arrived
        ended["at"] = time.monotonic()

    thread = threading.Thread(target=follow)
    thread.start()
    assert connected.wait(timeout=10)
    started = time.monotonic()
    assert terminate(proc) == 0
    stopped = time.monotonic() - started
    thread.join(timeout=10)
    assert stopped < 5, f"stop took {stopped:.1f} s with a feed open"
    assert "at" in ended


def test_log_level_applies_on_reload(tmp_path: Path) -> None:
    """server.log_level changed in the file takes effect without a restart (the request lines are info)."""
    with FakeUpstream() as up:
        up.script(Reply(200, json=anthropic_message()))
        home = tmp_path / "home"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        config = {"m": [("up", "x")]}

        def text(level: str) -> str:
            return make_config([anthropic_provider("up", up.url)], config, server={"port": port, "log_level": level})

        write_config(home, text("info"))
        proc = spawn_server(home)
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
        try:
            wait_healthy(url, proc=proc)
            assert httpx.post(f"{url}/v1/messages", json=body, trust_env=False).status_code == 200
            write_config(home, text("warning"))
            assert httpx.post(f"{url}/api/config/reload", trust_env=False).status_code == 200
            assert httpx.post(f"{url}/v1/messages", json=body, trust_env=False).status_code == 200
            write_config(home, text("info"))
            assert httpx.post(f"{url}/api/config/reload", trust_env=False).status_code == 200
            assert httpx.post(f"{url}/v1/messages", json=body, trust_env=False).status_code == 200
        finally:
            terminate(proc)
    lines = [line for line in (home / "ccm.log").read_text().splitlines() if " -> m via up/x: 200 " in line]
    assert len(lines) == 2, lines  # the request made under "warning" left no info line


def test_a_websocket_request_is_refused_and_the_server_serves_on(tmp_path: Path) -> None:
    """ccm serves no websocket: the upgrade gets a real HTTP refusal from the app, and the next request is
    served as before."""
    import socket

    home = tmp_path / "home"
    port = free_port()
    proc = spawn_server(home, "--create-config", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc=proc)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 403"), head[:200]  # refused: ccm has no websocket route
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    finally:
        assert terminate(proc) == 0
    assert "Traceback" not in (home / "ccm.log").read_text()
