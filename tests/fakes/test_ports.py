"""A port chosen for a proxy (and released until the proxy binds it) is never taken by a fake upstream:
otherwise the fake would answer the proxy's health check and spend its scripted replies on it."""

from __future__ import annotations

from tests.fakes.ports import HANDED_OUT, bind_apart, free_port
from tests.fakes.upstream import FakeUpstream


def test_free_ports_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == 50 and set(ports) <= HANDED_OUT


def test_a_server_bound_to_a_promised_port_is_closed_and_bound_again() -> None:
    promised = free_port()
    offered = iter([promised, promised, 1])  # what three binds to port 0 might get
    closed: list[int] = []
    assert bind_apart(lambda: next(offered), lambda port: port, closed.append) == 1
    assert closed == [promised, promised]


def test_a_fake_upstream_never_takes_a_promised_port() -> None:
    with FakeUpstream() as up:
        assert up.port not in HANDED_OUT
