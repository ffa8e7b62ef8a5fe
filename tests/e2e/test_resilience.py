"""Retries, backoff, Retry-After, the deadline, circuit breakers and load balancing, through the real proxy
against fake upstreams."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, openai_completion

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}
FAST = {"max_retries": 2, "backoff_ms": 1, "max_backoff_ms": 5, "circuit_failures": 1000}


def config(urls: list[str], failover: dict[str, Any], strategy: str = "priority", **kw: Any) -> str:
    providers = [anthropic_provider(f"p{i}", url) for i, url in enumerate(urls, start=1)]
    text = make_config(
        providers,
        {"m": [(f"p{i}", f"model-{i}") for i in range(1, len(urls) + 1)]},
        server={"timeouts": {"api_timeout_ms": 3000, "connect_timeout_ms": 1000}},
        failover=failover,
    )
    text += f'\n[load_balancing]\nstrategy = "{strategy}"\n'
    for key, value in kw.items():
        text = text.replace(key, value)
    return text


def post(p: InProcessProxy, **headers: str) -> httpx.Response:
    return httpx.post(f"{p.url}/v1/messages", json=BODY, headers=headers, trust_env=False, timeout=30)


@pytest.mark.parametrize(
    "failure",
    [
        Reply.error(429, "slow down", "rate_limit_error"),
        Reply.error(500, "boom"),
        Reply.error(502, "bad gateway"),
        Reply.error(503, "unavailable"),
        Reply.error(504, "gateway timeout", "timeout_error"),
        Reply.error(529, "overloaded", "overloaded_error"),
        Reply.error(408, "request timeout", "timeout_error"),
        Reply(drop=True),
    ],
    ids=["429", "500", "502", "503", "504", "529", "408", "dropped"],
)
def test_retryable_failures_retry_the_same_mapping(failure: Reply, upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    up.script(failure, Reply(200, json=anthropic_message("second try")))
    p = proxy(config([up.url], FAST))
    response = post(p)
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "second try"
    assert (response.headers["x-ccm-attempts"], response.headers["x-ccm-retries"]) == ("2", "1")
    assert len(up.received) == 2


@pytest.mark.parametrize("status", [401, 402, 403, 404, 409])
def test_key_and_request_problems_fail_over_without_retry(status: int, upstreams: Up, proxy: Px) -> None:
    bad, good = upstreams(), upstreams()
    bad.script(Reply.error(status, "no"))
    good.script(Reply(200, json=anthropic_message("other")))
    p = proxy(config([bad.url, good.url], FAST))
    response = post(p)
    assert response.json()["content"][0]["text"] == "other"
    assert len(bad.received) == 1 and response.headers["x-ccm-retries"] == "0"


def test_retry_after_is_honoured_and_a_long_one_is_not_waited_for(upstreams: Up, proxy: Px) -> None:
    short, long_, good = upstreams(), upstreams(), upstreams()
    short.script(
        Reply.error(429, "wait", "rate_limit_error", headers={"retry-after": "0.4"}),
        Reply(200, json=anthropic_message("after")),
    )
    p = proxy(config([short.url], {**FAST, "backoff_ms": 0}))
    started = time.perf_counter()
    assert post(p).json()["content"][0]["text"] == "after"
    assert time.perf_counter() - started >= 0.4  # it waited for Retry-After, not the (zero) backoff
    long_.script(Reply.error(429, "wait long", "rate_limit_error", headers={"retry-after": "120"}))
    good.script(Reply(200, json=anthropic_message("elsewhere")))
    q = proxy(config([long_.url, good.url], FAST))
    started = time.perf_counter()
    response = post(q)
    assert response.json()["content"][0]["text"] == "elsewhere" and time.perf_counter() - started < 5
    assert len(long_.received) == 1  # a 120 s reset is not waited for: failed over at once
    only = proxy(config([long_.url], FAST))
    response = post(only)
    assert response.status_code == 429 and "retry-after" not in response.headers  # longer than the cap
    assert "resets in 1" in response.json()["error"]["message"]


def test_backoff_stays_within_its_bounds(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    up.script(Reply.error(503, "a"), Reply.error(503, "b"), Reply(200, json=anthropic_message("third")))
    p = proxy(config([up.url], {**FAST, "backoff_ms": 100, "max_backoff_ms": 150}))
    started = time.perf_counter()
    assert post(p).json()["content"][0]["text"] == "third"
    assert time.perf_counter() - started < 0.1 + 0.15 + 1.0  # two waits of at most 100 and 150 ms


def test_the_deadline_bounds_the_whole_search(upstreams: Up, proxy: Px) -> None:
    slow = upstreams()
    slow.script(Reply(200, json=anthropic_message("late"), stall=3))
    p = proxy(config([slow.url, slow.url, slow.url], {"max_retries": 0, "deadline_ms": 700}))
    started = time.perf_counter()
    response = post(p)
    assert response.status_code == 504 and response.json()["error"]["type"] == "timeout_error"
    assert "deadline" in response.json()["error"]["message"] and time.perf_counter() - started < 2.5


def test_breaker_opens_skips_probes_and_closes(upstreams: Up, proxy: Px) -> None:
    flaky, good = upstreams(), upstreams()
    flaky.script(Reply.error(503, "down"))
    good.script(Reply(200, json=anthropic_message("healthy")))
    settings = {"max_retries": 0, "circuit_failures": 2, "circuit_cooldown_ms": 400}
    p = proxy(config([flaky.url, good.url], settings))
    for _ in range(2):
        assert post(p).headers["x-ccm-attempts"] == "2"  # flaky fails, good answers
    assert len(flaky.received) == 2
    for _ in range(3):  # open: skipped, not an attempt
        response = post(p)
        assert response.headers["x-ccm-attempts"] == "1" and response.headers["x-ccm-provider"] == "p2"
    assert len(flaky.received) == 2
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(flaky.received) == 2:  # half-open after the cooldown: one probe
        post(p)
        time.sleep(0.05)
    assert len(flaky.received) == 3
    flaky.script(Reply(200, json=anthropic_message("recovered")))
    deadline = time.monotonic() + 5  # the failed probe doubled the cooldown; the next probe succeeds
    while time.monotonic() < deadline and post(p).headers["x-ccm-provider"] != "p1":
        time.sleep(0.05)
    assert post(p).headers["x-ccm-provider"] == "p1"  # closed again


def test_when_every_circuit_is_open_the_last_resort_is_still_tried(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    up.script(Reply.error(503, "down"), Reply.error(503, "down"), Reply(200, json=anthropic_message("back")))
    p = proxy(config([up.url], {"max_retries": 0, "circuit_failures": 1, "circuit_cooldown_ms": 60000}))
    assert post(p).status_code == 503
    assert post(p).status_code == 503  # open, but the only mapping: tried anyway
    assert post(p).json()["content"][0]["text"] == "back"


def _served(p: InProcessProxy, n: int, **headers: str) -> Counter[str]:
    return Counter(post(p, **headers).headers["x-ccm-provider"] for _ in range(n))


def _equal(urls: list[str], strategy: str, weights: list[int] | None = None) -> str:
    text = config(urls, {"max_retries": 0}, strategy)
    for i in range(1, len(urls) + 1):
        text = text.replace(f"priority = {i}\n", "priority = 1\n" + (f"weight = {weights[i - 1]}\n" if weights else ""))
    return text


def test_round_robin_and_weighted_split_equal_priorities(upstreams: Up, proxy: Px) -> None:
    a, b = upstreams(), upstreams()
    for up, text in ((a, "a"), (b, "b")):
        up.script(Reply(200, json=anthropic_message(text)))
    rr = proxy(_equal([a.url, b.url], "round-robin"))
    assert _served(rr, 10) == Counter({"p1": 5, "p2": 5})
    weighted = proxy(_equal([a.url, b.url], "weighted", [3, 1]))
    split = _served(weighted, 200)
    assert 120 <= split["p1"] <= 180 and split["p1"] + split["p2"] == 200  # ~150 / 50


def test_latency_prefers_the_faster_and_sessions_stick(upstreams: Up, proxy: Px) -> None:
    fast, slow = upstreams(), upstreams()
    fast.script(Reply(200, json=anthropic_message("fast")))
    slow.script(Reply(200, json=anthropic_message("slow"), stall=0.05))
    p = proxy(_equal([slow.url, fast.url], "latency"))
    _served(p, 4)  # both get measured
    split = _served(p, 40)
    assert split["p2"] >= 34  # the faster one, but for the 5% exploration
    rr = proxy(_equal([slow.url, fast.url], "round-robin"))
    sticky = _served(rr, 6, **{"x-claude-code-session-id": "s-1"})
    assert len(sticky) == 1  # one session, one provider


def test_passthrough_of_a_400_from_anthropic_but_failover_on_a_translated_one(upstreams: Up, proxy: Px) -> None:
    ant, oai, good = upstreams(), upstreams(), upstreams()
    ant.script(Reply.error(400, "messages: bad", "invalid_request_error"))
    p = proxy(config([ant.url, good.url], FAST).replace('"anthropic-compatible"', '"anthropic"', 1))
    response = post(p)
    assert response.status_code == 400 and len(good.received) == 0
    oai.script(Reply.error(400, "this provider's own limit"))
    good.script(Reply(200, json=anthropic_message("translated wire failed over")))
    text = make_config(
        [
            {"name": "o", "provider_type": "openai-compatible", "base_url": oai.url + "/v1", "api_key": "k"},
            anthropic_provider("g", good.url),
        ],
        {"m": [("o", "x"), ("g", "y")]},
        failover=FAST,
    )
    q = proxy(text)
    assert post(q).json()["content"][0]["text"] == "translated wire failed over"


def test_a_transient_failure_wins_over_a_later_key_problem(upstreams: Up, proxy: Px) -> None:
    busy = upstreams()
    busy.script(Reply.error(529, "overloaded", "overloaded_error"))
    text = make_config(
        [
            anthropic_provider("busy", busy.url),
            {"name": "nokey", "provider_type": "anthropic", "api_key": "$CCM_TEST_UNSET_KEY"},
        ],
        {"m": [("busy", "x"), ("nokey", "y")]},
        failover={"max_retries": 0},
    )
    p = proxy(text)
    response = post(p)
    assert response.status_code == 529  # Claude Code retries a 529; a 403 would ask the user to log in
    assert "no API key" in response.json()["error"]["message"]


def test_openai_wire_retries_too(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    up.script(Reply.error(503, "busy"), Reply(200, json=openai_completion("ok")))
    text = make_config(
        [{"name": "o", "provider_type": "openai-compatible", "base_url": up.url + "/v1", "api_key": "k"}],
        {"m": [("o", "x")]},
        failover=FAST,
    )
    response = post(proxy(text))
    assert response.json()["content"][0]["text"] == "ok" and response.headers["x-ccm-retries"] == "1"


def test_a_reload_that_changes_the_provider_closes_its_circuit(upstreams: Up, proxy: Px) -> None:
    down, good = upstreams(), upstreams()
    down.script(Reply.error(503, "down"))
    good.script(Reply(200, json=anthropic_message("fine")))
    settings = {"max_retries": 0, "circuit_failures": 1, "circuit_cooldown_ms": 600000}
    p = proxy(config([down.url, good.url], settings))
    post(p)
    assert post(p).headers["x-ccm-attempts"] == "1"  # p1's circuit is open: skipped
    generation = httpx.get(f"{p.url}/health", trust_env=False).json()["generation"]
    p.write_config(config([good.url, good.url], settings))  # p1 now points elsewhere
    deadline = time.monotonic() + 5
    while httpx.get(f"{p.url}/health", trust_env=False).json()["generation"] == generation:
        assert time.monotonic() < deadline, "the reload never happened"
        time.sleep(0.05)
    assert post(p).headers["x-ccm-provider"] == "p1"
