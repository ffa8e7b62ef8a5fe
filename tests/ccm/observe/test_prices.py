"""The price table as ccm reads it (genai-prices 0.2.x): these figures fail when the library moves."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccm.observe.prices import price_records, table_cost
from ccm.observe.requestlog import RequestRecord
from config.catalog import CATALOG, PRICE_TABLE_PROVIDERS


def test_anthropic_list_price_with_cache_tokens() -> None:
    # $3 in, $15 out, $0.30 cache read, $3.75 cache write per million; ccm's input excludes the cached tokens
    cost = table_cost("anthropic", "claude-sonnet-4-5", 1000, 500, 2000, 400)
    assert cost == pytest.approx((1000 * 3 + 500 * 15 + 2000 * 0.3 + 400 * 3.75) / 1e6)


@pytest.mark.parametrize(
    ("ptype", "model", "price_in", "price_out"),
    [("openai", "gpt-4o", 2.5, 10.0), ("z.ai", "glm-4.6", 0.6, 2.2), ("deepseek", "deepseek-chat", 0.27, 1.1)],
)
def test_known_models(ptype: str, model: str, price_in: float, price_out: float) -> None:
    assert table_cost(ptype, model, 1_000_000, 1_000_000, 0, 0, at=NOON) == pytest.approx(price_in + price_out)


#: A request at noon UTC and one at 20:00 UTC (inside DeepSeek's 16:30-00:30 off-peak window).
NOON = datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp()
EVENING = datetime(2026, 6, 1, 20, tzinfo=UTC).timestamp()


def test_a_price_is_the_one_at_the_time_of_the_request() -> None:
    """The table's hour-dependent prices are read at the record's time, not when the journal prices it:
    the same answer costs half at 20:00 UTC on DeepSeek, and the same all day on OpenAI."""
    peak = table_cost("deepseek", "deepseek-chat", 1_000_000, 1_000_000, 0, 0, at=NOON)
    off_peak = table_cost("deepseek", "deepseek-chat", 1_000_000, 1_000_000, 0, 0, at=EVENING)
    assert peak is not None and off_peak == pytest.approx(peak / 2)
    assert table_cost("openai", "gpt-4o", 1000, 0, 0, 0, at=NOON) == table_cost(
        "openai", "gpt-4o", 1000, 0, 0, 0, at=EVENING
    )
    record = RequestRecord(1, EVENING, "m", "default", "m", "p", "deepseek-chat", 200, input_tokens=1_000_000)
    record.price_key = ("deepseek", "deepseek-chat")
    price_records([record])
    assert record.cost_usd == pytest.approx(0.27 / 2)
    # Asked at 16:20 UTC (peak), answered at 16:40 (off-peak): the price when it was asked.
    asked_at_peak = RequestRecord(
        2, EVENING - 3.3 * 3600, "m", "default", "m", "p", "deepseek-chat", 200, input_tokens=1_000_000
    )
    asked_at_peak.latency_ms = 20 * 60 * 1000
    asked_at_peak.price_key = ("deepseek", "deepseek-chat")
    price_records([asked_at_peak])
    assert asked_at_peak.cost_usd == pytest.approx(0.27)


def test_a_failing_listener_of_priced_records_costs_nothing_else() -> None:
    records = [RequestRecord(n, NOON, "m", "default", "m", "p", "gpt-4o", 200, input_tokens=1000) for n in range(2)]
    for record in records:
        record.price_key = ("openai", "gpt-4o")

    def broken(_: RequestRecord) -> None:
        raise RuntimeError("a listener's bug")

    price_records(records, broken)
    assert all(r.cost_usd is not None and r.price_key is None for r in records)


def test_unknown_model_or_type_has_no_price() -> None:
    assert table_cost("openai", "no-such-model-xyz", 10, 10, 0, 0) is None
    assert table_cost("openai-compatible", "llama3", 10, 10, 0, 0) is None


def test_every_mapped_type_is_a_catalog_type() -> None:
    assert set(PRICE_TABLE_PROVIDERS) <= set(CATALOG)


def test_price_records_fills_in_and_tells() -> None:
    record = RequestRecord(1, 0.0, "m", "default", "m", "p", "gpt-4o", 200, input_tokens=1000, output_tokens=100)
    record.price_key = ("openai", "gpt-4o")
    told: list[RequestRecord] = []
    price_records([record], told.append)
    assert record.pricing == "table" and record.cost_usd == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert told == [record] and record.price_key is None
    assert "price_key" not in record.as_dict()
