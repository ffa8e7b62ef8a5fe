"""The circuit breaker and the balancer are pure state machines: tested with a fake clock and a seeded rng."""

from __future__ import annotations

import random
import time
from collections import Counter

from ccm.dispatch.balance import Balancer
from ccm.dispatch.breaker import Breakers
from ccm.routing import Candidate
from config.schema import FailoverConfig, ProviderConfig, spec_for

SETTINGS = FailoverConfig(circuit_failures=3, circuit_cooldown_ms=1000)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_n_consecutive_failures_then_one_probe_then_doubles() -> None:
    clock = Clock()
    b = Breakers(clock)
    for _ in range(2):
        b.failure("zai", SETTINGS)
    assert b.available("zai") and b.states()["zai"][0] == "closed"
    b.failure("zai", SETTINGS)
    assert not b.available("zai") and b.states()["zai"][0] == "open"
    clock.now += 1.01
    assert b.states()["zai"][0] == "half_open"
    assert b.available("zai")  # the probe
    assert not b.available("zai")  # only one at a time
    b.failure("zai", SETTINGS)  # the probe failed: open for twice as long
    clock.now += 1.5
    assert not b.available("zai")
    clock.now += 0.6
    assert b.available("zai")
    b.success("zai")
    assert b.states()["zai"][0] == "closed" and b.available("zai")


def test_a_success_resets_the_count_and_a_long_429_opens_for_its_reset() -> None:
    clock = Clock()
    b = Breakers(clock)
    b.failure("p", SETTINGS)
    b.failure("p", SETTINGS)
    b.success("p")
    b.failure("p", SETTINGS)
    assert b.available("p")
    b.failure("q", SETTINGS, open_for_s=120)
    assert not b.available("q")
    clock.now += 119
    assert not b.available("q")
    clock.now += 2
    assert b.available("q")
    b.failure("r", SETTINGS, open_for_s=10_000)
    until = b.states()["r"][1]
    assert until is not None and abs(until - time.time() - 300) < 1  # at most 5 minutes
    b.reset("r")
    assert b.available("r")


def _attempts(*weights: int, priority: int = 1) -> list[Candidate]:
    return [
        Candidate(ProviderConfig(f"p{i}", "openai", spec_for("openai")), f"m{i}", None, priority, w)
        for i, w in enumerate(weights, start=1)
    ]


def test_strategies_reorder_only_equal_priorities() -> None:
    first = _attempts(1, 1, priority=1)
    second = _attempts(1, priority=2)
    second[0] = Candidate(second[0].provider, "late", None, 2, 1)
    bal = Balancer(random.Random(1))
    orders = [tuple(a.actual_model for a in bal.order(first + second, "round-robin")) for _ in range(4)]
    assert orders == [("m1", "m2", "late"), ("m2", "m1", "late")] * 2
    assert [a.actual_model for a in bal.order(first + second, "priority")] == ["m1", "m2", "late"]


def test_weighted_draws_in_proportion_and_zero_is_last() -> None:
    bal = Balancer(random.Random(7))
    firsts = Counter(bal.order(_attempts(3, 1, 0), "weighted")[0].actual_model for _ in range(4000))
    assert 2800 <= firsts["m1"] <= 3200 and firsts["m3"] == 0


def test_latency_prefers_lower_p50_and_explores_a_little() -> None:
    bal = Balancer(random.Random(3))
    slow, fast = _attempts(1, 1)
    for _ in range(10):
        bal.answered(None, slow, 200.0)
        bal.answered(None, fast, 20.0)
    firsts = Counter(bal.order([slow, fast], "latency")[0].actual_model for _ in range(2000))
    assert firsts["m2"] > 1900 and firsts["m1"] > 0


def test_a_session_sticks_until_its_mapping_fails() -> None:
    bal = Balancer(random.Random(5))
    a, b = _attempts(1, 1)
    bal.answered("s", b, 10.0)
    assert all(bal.order([a, b], "round-robin", "s")[0] is b for _ in range(5))
    bal.failed("s", b)
    assert {bal.order([a, b], "round-robin", "s")[0].actual_model for _ in range(4)} == {"m1", "m2"}
