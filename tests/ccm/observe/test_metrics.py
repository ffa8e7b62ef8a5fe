"""ccm.observe.metrics: a scripted mix of records gives exact counters, in the JSON and in the Prometheus text."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from ccm.observe.metrics import Histogram, Metrics, cost_usd, rate_limit_claim
from ccm.observe.requestlog import AttemptRecord, RequestRecord

CONFIGURED = {"glm": "glm", "main": "main"}


def rec(
    provider: str | None,
    status: int = 200,
    *,
    route: str = "default",
    model: str = "main",
    attempts: list[AttemptRecord] | None = None,
    latency_ms: int = 100,
    ttft_ms: int | None = 50,
    tokens: tuple[int, int, int, int] = (0, 0, 0, 0),
    cost: float | None = None,
) -> RequestRecord:
    if attempts is None:
        attempts = [AttemptRecord(provider, "actual", "ok", status, latency_ms)] if provider else []
    return RequestRecord(
        id=0,
        time=0.0,
        model="claude-x",
        route=route,
        routed_model=model,
        provider=provider,
        actual_model="actual" if provider else None,
        status=status,
        attempts=attempts,
        latency_ms=latency_ms,
        ttft_ms=ttft_ms,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_read_tokens=tokens[2],
        cache_write_tokens=tokens[3],
        cost_usd=cost,
    )


def scripted() -> Metrics:
    m = Metrics(lambda name: CONFIGURED.get(name.lower()), started_at=1000.0)
    # 1. a clean answer from zai
    m.observe(rec("zai", tokens=(10, 20, 30, 40), cost=0.5, latency_ms=200, ttft_ms=80))
    # 2. zai retried once (429), then failed over to openrouter which answered
    m.observe(
        rec(
            "openrouter",
            model="GLM",  # spelled otherwise: the label is the configured name
            attempts=[
                AttemptRecord("zai", "glm-4.6", "retried", 429, 5),
                AttemptRecord("zai", "glm-4.6", "failed_over", 503, 7),
                AttemptRecord("openrouter", "z-ai/glm-4.6", "ok", 200, 300),
            ],
            tokens=(1, 2, 0, 0),
            latency_ms=400,
            ttft_ms=None,
        )
    )
    # 3. a 400 passed through from zai
    m.observe(rec("zai", 400, attempts=[AttemptRecord("zai", "actual", "passed_through", 400, 3)], ttft_ms=None))
    # 4. everything failed
    m.observe(rec(None, 502, attempts=[AttemptRecord("zai", "actual", "failed_over", 502, 1)], ttft_ms=None))
    # 5. explicit provider,model, and an unknown routed name
    m.observe(rec("zai", route="explicit", model="zai,glm-4.6", tokens=(5, 0, 0, 0)))
    m.observe(rec(None, 404, model="no-such-model", attempts=[], ttft_ms=None))
    m.count_tokens("default", "main", "zai")
    m.count_tokens("default", "main", "local")
    return m


def test_scripted_mix_gives_exact_json_counters() -> None:
    snap = scripted().snapshot({"zai": ("open", 1234.5), "idle": ("closed", None)})
    assert snap["started_at"] == 1000.0
    assert snap["requests"] == {
        "total": 6,
        "by_status": {"200": 3, "400": 1, "404": 1, "502": 1},
        "by_route": {"default": 5, "explicit": 1},
        "by_model": {"explicit": 1, "glm": 1, "main": 3, "other": 1},
        "by_provider": {"none": 2, "openrouter": 1, "zai": 3},
    }
    zai = snap["providers"]["zai"]
    assert set(zai) == {
        "requests",
        "attempts",
        "retries",
        "failovers",
        "errors",
        "latency_ms",
        "ttft_ms",
        "tokens",
        "cost_usd",
        "circuit",
        "circuit_until",
    }
    assert set(zai["latency_ms"]) == set(zai["ttft_ms"]) == {"p50", "p95", "p99"}
    assert {k: zai[k] for k in ("requests", "attempts", "retries", "failovers", "errors")} == {
        "requests": 3,  # 1, 3 (the passed-through 400 counts for zai) and 5
        "attempts": 6,  # 1, 2 twice, 3, 4, 5
        "retries": 1,
        "failovers": 2,
        "errors": 2,  # retried + the 400 answer (the 2 failovers are failovers, not errors)
    }
    assert zai["tokens"] == {"input": 15, "output": 20, "cache_read": 30, "cache_write": 40}
    assert zai["cost_usd"] == 0.5
    assert (zai["circuit"], zai["circuit_until"]) == ("open", 1234.5)
    assert snap["providers"]["openrouter"]["requests"] == 1
    assert snap["providers"]["openrouter"]["circuit"] == "closed"
    assert snap["providers"]["idle"]["requests"] == 0  # a configured provider with no traffic is listed
    assert snap["tokens"] == {"input": 16, "output": 22, "cache_read": 30, "cache_write": 40}
    assert snap["cost_usd"] == 0.5
    assert set(snap) == {
        "started_at",
        "requests",
        "providers",
        "tokens",
        "cost_usd",
        "request_log",
    }  # the documented shape, exactly
    # Latency: only answered requests (1 and 5 for zai: 200 ms and 100 ms), quantiles from buckets.
    assert zai["latency_ms"]["p50"] is not None and 75 <= zai["latency_ms"]["p50"] <= 200
    assert snap["providers"]["openrouter"]["ttft_ms"] == {"p50": None, "p95": None, "p99": None}


def families(text: bytes) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text.decode())}


def samples(fams: dict[str, Any], family: str, suffix: str = "") -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in fams[family].samples
        if s.name == family + suffix or (not suffix and s.name == family)
    }


def test_prometheus_text_parses_with_design_names_and_labels() -> None:
    fams = families(scripted().prometheus({"zai": ("open", 1234.5), "openrouter": ("half_open", None)}))
    assert set(fams) == {
        "ccm_requests",
        "ccm_upstream_attempts",
        "ccm_request_duration_seconds",
        "ccm_time_to_first_token_seconds",
        "ccm_tokens",
        "ccm_cost_usd",
        "ccm_count_tokens",
        "ccm_request_log_dropped",
        "ccm_circuit_state",
    }
    requests = samples(fams, "ccm_requests", "_total")
    nobody = ("client", "-")  # the router key's, or no key's: every per-request series names its client
    assert requests[(nobody, ("model", "main"), ("provider", "zai"), ("route", "default"), ("status", "200"))] == 1
    assert (
        requests[(nobody, ("model", "glm"), ("provider", "openrouter"), ("route", "default"), ("status", "200"))] == 1
    )
    assert requests[(nobody, ("model", "explicit"), ("provider", "zai"), ("route", "explicit"), ("status", "200"))] == 1
    assert sum(requests.values()) == 6
    attempts = samples(fams, "ccm_upstream_attempts", "_total")
    assert attempts[(("outcome", "retried"), ("provider", "zai"))] == 1
    assert attempts[(("outcome", "failed_over"), ("provider", "zai"))] == 2
    assert attempts[(("outcome", "passed_through"), ("provider", "zai"))] == 1
    tokens = samples(fams, "ccm_tokens", "_total")
    assert tokens[(nobody, ("kind", "cache_write"), ("model", "main"), ("provider", "zai"))] == 40
    assert samples(fams, "ccm_cost_usd", "_total") == {(nobody, ("model", "main"), ("provider", "zai")): 0.5}
    assert sum(samples(fams, "ccm_count_tokens", "_total").values()) == 2
    assert samples(fams, "ccm_circuit_state") == {
        (("provider", "openrouter"),): 1,
        (("provider", "zai"),): 2,
    }
    counts = samples(fams, "ccm_request_duration_seconds", "_count")
    assert counts == {(nobody, ("provider", "openrouter")): 1, (nobody, ("provider", "zai")): 2}
    buckets = [s for s in fams["ccm_request_duration_seconds"].samples if s.name.endswith("_bucket")]
    inf = [s.value for s in buckets if s.labels["le"] == "+Inf" and s.labels["provider"] == "zai"]
    assert inf == [2]


def test_memory_is_flat_whatever_the_number_of_requests() -> None:
    m = Metrics()
    for i in range(5000):
        m.observe(rec("zai", latency_ms=i % 3000, ttft_ms=i % 700))
    stats = m.providers["zai"]
    assert stats.latency.n == 5000 and len(stats.latency.counts) == len(stats.ttft.counts) < 30
    assert len(m.requests) == 1


@given(st.lists(st.floats(min_value=0.001, max_value=700), min_size=1, max_size=200))
def test_histogram_quantiles_stay_in_the_bucket_of_the_true_value(values: list[float]) -> None:
    h = Histogram()
    for v in values:
        h.add(v)
    assert h.n == len(values) and math.isclose(h.total, sum(values))
    for q in (0.5, 0.95, 0.99):
        got = h.quantile(q)
        assert got is not None
        true = sorted(values)[max(0, math.ceil(q * len(values)) - 1)]
        from ccm.observe.metrics import BUCKETS

        # the estimate and the true value share a bucket (or the estimate is the last bound)
        def bucket(x: float) -> int:
            return next((i for i, b in enumerate(BUCKETS) if x <= b), len(BUCKETS))

        assert bucket(got) == bucket(true) or got == BUCKETS[-1]


@dataclass
class Prices:
    price_in: float | None = None
    price_out: float | None = None
    price_cache_read: float | None = None
    price_cache_write: float | None = None


def test_cost_from_prices_per_million() -> None:
    assert cost_usd(1_000_000, 1_000_000, 0, 0, Prices(0.6, 2.2)) == pytest.approx(2.8)
    # cache reads and writes at their own prices, else at the input price
    assert cost_usd(0, 0, 1_000_000, 1_000_000, Prices(1.0, 2.0, 0.1, 1.25)) == pytest.approx(1.35)
    assert cost_usd(0, 0, 1_000_000, 1_000_000, Prices(1.0, 2.0)) == pytest.approx(2.0)
    assert cost_usd(500, 0, 0, 0, Prices(price_out=3.0)) == 0  # input unpriced: free, output priced
    assert cost_usd(10, 10, 0, 0, Prices()) is None  # no prices: no cost, not zero
    assert cost_usd(10, 10, 0, 0, None) is None


def test_rate_limit_claim_names_the_limit() -> None:
    assert rate_limit_claim({"anthropic-ratelimit-unified-representative-claim": "five_hour"}) == "five_hour"
    assert rate_limit_claim({"retry-after": "3"}) is None


def test_per_request_series_carry_the_client() -> None:
    m = Metrics()
    for client, cost in (("alice", 0.25), ("bob", 0.5), ("alice", 0.25)):
        record = rec("zai", tokens=(10, 5, 0, 0), cost=cost)
        record.client = client
        m.observe(record)
    fams = families(m.prometheus({}))
    requests = samples(fams, "ccm_requests", "_total")
    assert {dict(k)["client"]: v for k, v in requests.items()} == {"alice": 2, "bob": 1}
    tokens = samples(fams, "ccm_tokens", "_total")
    assert {(dict(k)["client"], dict(k)["kind"]): v for k, v in tokens.items()} == {
        ("alice", "input"): 20,
        ("alice", "output"): 10,
        ("bob", "input"): 10,
        ("bob", "output"): 5,
    }
    cost = samples(fams, "ccm_cost_usd", "_total")
    assert {dict(k)["client"]: v for k, v in cost.items()} == {"alice": 0.5, "bob": 0.5}
    for family in ("ccm_request_duration_seconds", "ccm_time_to_first_token_seconds"):
        counts = samples(fams, family, "_count")
        assert {dict(k)["client"]: v for k, v in counts.items()} == {"alice": 2, "bob": 1}
    assert m.snapshot()["providers"]["zai"]["requests"] == 3  # the JSON stays per provider
