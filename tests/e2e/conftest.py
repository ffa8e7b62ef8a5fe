"""Fixtures for end-to-end tests: fake upstreams and a real proxy in-process (thread) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def upstreams() -> Iterator[Callable[[], FakeUpstream]]:
    """A factory of started fake upstreams, all stopped after the test."""
    started: list[FakeUpstream] = []

    def make() -> FakeUpstream:
        up = FakeUpstream().start()
        started.append(up)
        return up

    yield make
    for up in started:
        up.stop()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Callable[[str], InProcessProxy]]:
    """Start the real proxy (Quart + Hypercorn in a thread) on a config text; stopped after the test."""
    running: list[InProcessProxy] = []

    def start(config_text: str) -> InProcessProxy:
        path = tmp_path / f"config-{len(running)}.toml"
        path.write_text(config_text)
        p = InProcessProxy(path).start()
        running.append(p)
        return p

    yield start
    for p in running:
        p.stop()
