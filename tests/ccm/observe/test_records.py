"""ccm.observe.records: the dispatcher's Done becomes one RequestRecord (outcome, attempts, cost, time to first token)."""

from __future__ import annotations

import pytest

from ccm.dispatch.relay import Done
from ccm.observe.records import mapping_for, request_outcome, to_record
from ccm.observe.requestlog import AttemptRecord, RequestRecord
from ccm.translate.anthropic import Usage
from config.load import parse_config

CONFIG = parse_config(
    """
[router]
default = "m"

[[providers]]
name = "Zai"
provider_type = "z.ai"

[[models]]
name = "M"

[[models.mappings]]
provider = "zai"
actual_model = "glm"
price_in = 1.0
price_out = 4.0
price_cache_read = 0.1
"""
).config


def record(done: Done, route: str = "default", routed: str = "m", started: float | None = None) -> RequestRecord:
    return to_record(
        done,
        record_id=1,
        time=0.0,
        body={"model": "claude-x"},
        route=route,
        routed_model=routed,
        latency_ms=500,
        config=CONFIG,
        started=started,
    )


@pytest.mark.parametrize(
    ("done", "outcome"),
    [
        (Done(200, 1, "zai", "glm"), "ok"),
        (Done(400, 1, "zai", "glm"), "passed_through"),
        (Done(502, 1, "zai", "glm"), "cut"),
        (Done(499, 1, "zai", "glm"), "client_left"),
        (Done(503, 2), "failed"),
        (Done(404, 0), "not_served"),
    ],
)
def test_outcome(done: Done, outcome: str) -> None:
    assert request_outcome(done) == outcome


def test_cost_from_the_answering_mapping_and_cache_fields() -> None:
    done = Done(200, 1, "ZAI", "glm", Usage(1_000_000, 1_000_000, 1_000_000, 10))
    r = record(done)
    assert r.cost_usd == pytest.approx(1.0 + 4.0 + 0.1 + 10 / 1e6)
    assert (r.cache_read_tokens, r.cache_write_tokens) == (1_000_000, 10)
    assert r.attempts == [AttemptRecord("ZAI", "glm", "ok", 200, 500)]
    assert record(done, route="explicit", routed="zai,glm").cost_usd is None
    assert mapping_for(CONFIG, "m", "zai", "other-model") is None


def test_the_dispatchers_attempts_win_over_the_inferred_one() -> None:
    tried = [AttemptRecord("zai", "glm", "retried", 429, 3), AttemptRecord("zai", "glm", "ok", 200, 90)]
    r = record(Done(200, 2, "zai", "glm", tried=tried, retries=1, rate_limit="five_hour"))
    assert (r.attempts, r.retries, r.rate_limit) == (tried, 1, "five_hour")
    # without them: the chain's first mappings, the earlier ones failed over (status and time unknown)
    assert record(Done(503, 2)).attempts == [AttemptRecord("Zai", "glm", "failed_over", 503, 0)]
    assert record(Done(404, 0)).attempts == []


def test_time_to_first_token() -> None:
    done = Done(200, 1, "zai", "glm")
    assert record(done, started=done.at - 0.123).ttft_ms == 123
    assert record(Done(200, 1, "zai", "glm", ttft_ms=7), started=0.0).ttft_ms == 7
    assert record(Done(502, 1, "zai", "glm"), started=0.0).ttft_ms is None


def test_a_star_mapping_prices_the_name_it_sent() -> None:
    """`actual_model = "*"` answered as claude-opus-5-5: its prices apply."""
    config = parse_config(
        '[router]\ndefault = "c"\n[[providers]]\nname = "a"\nprovider_type = "anthropic"\n'
        '[[models]]\nname = "c"\n[[models.mappings]]\nprovider = "a"\nactual_model = "*"\nprice_in = 5\nprice_out = 25\n'
    ).config
    found = mapping_for(config, "c", "a", "claude-opus-5-5")
    assert found is not None and found.price_in == 5
