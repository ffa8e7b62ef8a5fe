"""Fixtures for the TUI tests: a sample config with comments, a fixed clock and time zone, a real proxy.

The autouse fixtures of tests/conftest.py already give each test its own CCM_HOME and an in-memory
keyring, so whatever the TUI stores in "the keyring" lands in `memory_keyring.store`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ccm import pidfile
from config import paths
from tests.e2e.harness import InProcessProxy, free_port, spawn_server, terminate, wait_healthy
from tests.fakes.upstream import FakeUpstream
from tests.tui.helpers import NOW, SAMPLE
from tui.app import CcmApp


@pytest.fixture(autouse=True)
def fixed_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """UTC for every test, so clock times on screen (and in snapshots) do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def home_as_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME = the test's tmp folder, so paths on screen read `~/ccm-home/config.toml` in every run."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def config_path(isolated_env: Path) -> Path:
    """The sample config written to $CCM_HOME/config.toml (where `ccm tui` looks by default)."""
    path = isolated_env / "config.toml"
    path.write_text(SAMPLE)
    return path


@pytest.fixture
def make_app(config_path: Path) -> Callable[..., CcmApp]:
    """A CcmApp on the sample config with a fixed clock (uptimes and expiries do not move)."""

    def make(path: Path | None = None, **kw: Any) -> CcmApp:
        return CcmApp(path or config_path, clock=lambda: NOW, **kw)

    return make


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A scriptable fake provider on 127.0.0.1."""
    with FakeUpstream() as up:
        yield up


class RunningProxy:
    """A real proxy the TUI finds as a user's would: through $CCM_HOME/ccm.pid."""

    def __init__(self, url: str, config: Path, stop: Callable[[], None]) -> None:
        self.url = url
        self.config = config
        self._stop = stop
        self.stopped = False

    def stop(self) -> None:
        """Stop it the way a crash would look to the TUI: the pid file's lock goes away."""
        if not self.stopped:
            self.stopped = True
            self._stop()


@pytest.fixture
def proxy_in_thread(isolated_env: Path) -> Iterator[Callable[[Path], RunningProxy]]:
    """The real app under Hypercorn in a thread (fast), plus a locked pid file pointing at it, the way
    `python -m ccm serve` writes one."""
    started: list[RunningProxy] = []

    def start(config: Path) -> RunningProxy:
        proxy = InProcessProxy(config).start()
        fd = pidfile.acquire(
            paths.pid_path(),
            {
                "pid": 4242,
                "host": "127.0.0.1",
                "port": proxy.port,
                "url": proxy.url,
                "config": str(config.resolve()),
                "started_at": NOW - 75,
                "version": "test",
            },
        )

        def stop() -> None:
            pidfile.release(paths.pid_path(), fd)
            proxy.stop()

        running = RunningProxy(proxy.url, config, stop)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def proxy_process(isolated_env: Path) -> Iterator[Callable[[Path], RunningProxy]]:
    """`python -m ccm serve` as a real subprocess in this test's CCM_HOME (it writes the pid file)."""
    procs = []

    def start(config: Path) -> RunningProxy:
        port = free_port()
        proc = spawn_server(isolated_env, "--config", str(config), "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc=proc)
        procs.append(proc)
        return RunningProxy(url, config, lambda: terminate(proc))

    yield start
    for proc in procs:
        terminate(proc)


#: The in-thread proxy's loop ends while the request stream the TUI followed is still suspended in the
#: server (Quart's ASGI handler, the admin stream's Queue.get); Python reports those coroutines when
#: they are collected. Server-side shutdown noise, not the TUI's: ignored by name, nothing broader.
_SERVER_SHUTDOWN_NOISE = (
    "ignore:Exception ignored in. <coroutine object ASGIHTTPConnection:pytest.PytestUnraisableExceptionWarning",
    "ignore:Exception ignored in. <coroutine object Queue.get:pytest.PytestUnraisableExceptionWarning",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/tui/" in str(item.path).replace("\\", "/"):
            for spec in _SERVER_SHUTDOWN_NOISE:
                item.add_marker(pytest.mark.filterwarnings(spec))
