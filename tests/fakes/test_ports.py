"""A port chosen for a proxy (and released until the proxy binds it) is never taken by a fake upstream:
otherwise the fake would answer the proxy's health check and spend its scripted replies on it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.fakes import otlp_collector, raw, upstream
from tests.fakes.ports import HANDED_OUT, Bound, bind_apart, free_port


def test_free_ports_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50 and set(ports) <= HANDED_OUT


def test_a_server_bound_to_a_promised_port_is_closed_and_bound_again() -> None:
    promised = free_port()
    offered = iter([promised, promised, 1])  # what three binds to port 0 might get
    closed: list[int] = []
    assert bind_apart(lambda: next(offered), lambda port: port, closed.append) == 1
    assert closed == [promised, promised]


@pytest.mark.parametrize("make", ["upstream", "raw", "collector"])
def test_every_fake_server_binds_apart(monkeypatch: pytest.MonkeyPatch, make: str) -> None:
    """Each kind of fake server the e2e tests start beside proxies takes its port through bind_apart."""
    module = {"upstream": upstream, "raw": raw, "collector": otlp_collector}[make]
    calls: list[object] = []

    def spy(bind: Callable[[], Bound], port_of: Callable[[Bound], int], close: Callable[[Bound], None]) -> Bound:
        calls.append(bind)
        return bind_apart(bind, port_of, close)

    monkeypatch.setattr(module, "bind_apart", spy)
    server = {"upstream": upstream.FakeUpstream, "raw": lambda: raw.RawUpstream(lambda conn: None)}.get(
        make, otlp_collector.Collector
    )()
    with server:  # started and stopped, so that nothing is left listening
        assert len(calls) == 1
