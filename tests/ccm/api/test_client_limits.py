"""ClientLimits on a clock the test moves: each limit admits on what was spent before, refuses with the
right status and retry-after, and resets when its window or UTC day/month ends."""

from __future__ import annotations

import datetime

from ccm.api.client_limits import ClientLimits
from ccm.observe.requestlog import RequestRecord
from config.schema import ClientConfig

NOON = datetime.datetime(2026, 3, 31, 12, 0, tzinfo=datetime.UTC).timestamp()


class Clock:
    def __init__(self, now: float = NOON) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record(client: str, tokens: int = 0, usd: float | None = None) -> RequestRecord:
    return RequestRecord(
        id=1,
        time=0,
        model="m",
        route="default",
        routed_model="m",
        provider="p",
        actual_model="x",
        status=200,
        input_tokens=tokens,
        cost_usd=usd,
        client=client,
    )


def test_rpm_counts_admitted_requests_over_a_sliding_minute() -> None:
    clock = Clock()
    limits = ClientLimits(clock)
    client = ClientConfig("a", rpm=2)
    assert limits.admit(client, 20_000) is None
    clock.now += 10
    assert limits.admit(client, 20_000) is None
    clock.now += 5
    refusal = limits.admit(client, 20_000)
    assert refusal is not None and refusal.status == 429 and refusal.error_type == "rate_limit_error"
    assert refusal.headers["retry-after"] == "45"  # the first one leaves the minute in 45 s
    assert "2 requests per minute (rpm)" in refusal.message
    assert limits.admit(client, 20_000) is not None  # a refusal is not counted, and still refused
    clock.now += 45
    assert limits.admit(client, 20_000) is None


def test_tpm_admits_on_what_was_spent_before_and_charges_after() -> None:
    clock = Clock()
    limits = ClientLimits(clock)
    client = ClientConfig("a", tpm=100)
    assert limits.admit(client, 20_000) is None
    limits.observe(record("a", tokens=70))
    clock.now += 20
    assert limits.admit(client, 20_000) is None  # 70 < 100: admitted, and may cross the limit
    limits.observe(record("a", tokens=70))
    clock.now += 1
    refusal = limits.admit(client, 20_000)
    assert refusal is not None and refusal.status == 429
    assert "100 tokens per minute (tpm)" in refusal.message and "140 tokens in the last minute" in refusal.message
    assert refusal.headers["retry-after"] == "39"  # then the first 70 age out: 70 < 100
    clock.now += 39
    assert limits.admit(client, 20_000) is None


def test_a_daily_budget_far_from_its_reset_is_a_403_naming_the_reset() -> None:
    clock = Clock()
    limits = ClientLimits(clock)
    client = ClientConfig("a", daily_tokens=1000)
    limits.observe(record("a", tokens=1000))
    refusal = limits.admit(client, 20_000)
    assert refusal is not None and refusal.status == 403 and refusal.error_type == "permission_error"
    assert "daily budget of 1,000 tokens (daily_tokens)" in refusal.message
    assert "2026-04-01T00:00:00Z" in refusal.message
    clock.now = datetime.datetime(2026, 3, 31, 23, 59, 50, tzinfo=datetime.UTC).timestamp()
    near = limits.admit(client, 20_000)  # 10 s from the reset: worth waiting for
    assert near is not None and near.status == 429 and near.headers["retry-after"] == "10"
    clock.now += 10
    assert limits.admit(client, 20_000) is None  # a new UTC day


def test_a_monthly_budget_resets_with_the_utc_month() -> None:
    clock = Clock()
    limits = ClientLimits(clock)
    client = ClientConfig("a", monthly_usd=5)
    limits.observe(record("a", usd=3.0))
    assert limits.admit(client, 20_000) is None
    limits.observe(record("a", usd=2.5))
    refusal = limits.admit(client, 20_000)
    assert refusal is not None and refusal.status == 403
    assert "monthly budget of $5" in refusal.message and "2026-04-01T00:00:00Z" in refusal.message
    clock.now = datetime.datetime(2026, 4, 1, 0, 0, 1, tzinfo=datetime.UTC).timestamp()
    assert limits.admit(client, 20_000) is None


def test_clients_are_counted_apart_and_unlimited_ones_not_at_all() -> None:
    limits = ClientLimits(Clock())
    a, b = ClientConfig("a", rpm=1), ClientConfig("b", rpm=1)
    assert limits.admit(a, 20_000) is None
    assert limits.admit(b, 20_000) is None
    assert limits.admit(a, 20_000) is not None
    free = ClientConfig("free")
    assert all(limits.admit(free, 20_000) is None for _ in range(100))


def test_rebuild_charges_this_months_records_of_limited_clients() -> None:
    clock = Clock()
    limits = ClientLimits(clock)
    clients = [ClientConfig("a", daily_tokens=100, monthly_usd=10, rpm=2), ClientConfig("b")]
    last_month = datetime.datetime(2026, 2, 28, 12, tzinfo=datetime.UTC).timestamp()
    yesterday = NOON - 86400
    records = [
        {"time": last_month, "client": "a", "input_tokens": 500, "cost_usd": 50.0},
        {"time": yesterday, "client": "a", "input_tokens": 500, "cost_usd": 4.0},
        {"time": NOON - 3600, "client": "a", "input_tokens": 60, "output_tokens": 50, "cost_usd": 1.0},
        {"time": NOON - 10, "client": "A", "input_tokens": 1, "cost_usd": 0.5},
        {"time": NOON - 5, "client": "b", "input_tokens": 999},
        {"time": "garbage", "client": "a"},
        {"time": NOON - 1, "client": "a", "kind": "count_tokens", "input_tokens": 999},
        {"time": NOON - 7200, "client": "a", "kind": "chat_completions", "input_tokens": 1},  # OpenAI clients
        {"time": NOON - 7300, "client": "a", "kind": "responses", "input_tokens": 1},
    ]
    assert limits.rebuild(records, clients) == 5
    daily = limits.admit(ClientConfig("a", daily_tokens=100), 20_000)
    assert daily is not None and "daily" in daily.message  # 113 tokens today
    monthly = limits.admit(ClientConfig("a", monthly_usd=5.5), 20_000)
    assert monthly is not None and "$5.50" in monthly.message  # 4 + 1 + 0.5 this month
    rpm = limits.admit(ClientConfig("a", rpm=1), 20_000)
    assert rpm is not None and "rpm" in rpm.message  # one request in the last minute
