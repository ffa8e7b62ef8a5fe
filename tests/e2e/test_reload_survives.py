"""A config file that breaks the loader in an unexpected way (here: arrays nested deeper than the TOML
parser's recursion allows) is refused like any invalid file; the watcher keeps watching and applies the
next good file."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"


def wait_generation(p: InProcessProxy, generation: int, deadline: float = 3.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if p.generation() >= generation:
            return
        time.sleep(0.02)
    raise AssertionError(f"config generation {generation} not reached within {deadline} s")


def test_unexpected_loader_error_is_refused_and_watching_goes_on(
    upstreams: Up, proxy: Px, caplog: pytest.LogCaptureFixture
) -> None:
    up = upstreams()
    good = make_config([anthropic_provider("up", up.url)], {"m": [("up", "a")]})
    p = proxy(good)
    p.write_config(DEEP)
    refused = httpx.post(f"{p.url}/api/config/reload", trust_env=False)
    assert refused.status_code == 422
    assert refused.json()["status"] == "invalid"
    p.write_config(DEEP + "# the watcher meets this one\n")
    end = time.monotonic() + 3
    while caplog.text.count("config reload refused") < 2:  # the API's refusal, then the watcher's
        assert time.monotonic() < end, "the watcher never refused the bad file"
        time.sleep(0.02)
    p.write_config(make_config([anthropic_provider("up", up.url)], {"m2": [("up", "b")]}))
    wait_generation(p, 2)
    assert p.generation() == 2
