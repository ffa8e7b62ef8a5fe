"""Attempt spans' times from a request record: failed attempts one after another from the request's start,
the answering one from `ms` before the first token to the end of the answer, all inside the request."""

from __future__ import annotations

from ccm.observe.otel import attempt_times
from ccm.observe.requestlog import AttemptRecord, RequestRecord

MS = 1_000_000


def record(attempts: list[AttemptRecord], ttft_ms: int | None) -> RequestRecord:
    return RequestRecord(
        id=1,
        time=0,
        model="m",
        route="default",
        routed_model="m",
        provider=None,
        actual_model=None,
        status=200,
        attempts=attempts,
        latency_ms=2000,
        ttft_ms=ttft_ms,
    )


def test_failed_then_answered() -> None:
    attempts = [
        AttemptRecord("a", "x", "retried", 503, 100),
        AttemptRecord("a", "x", "failed_over", 503, 150),
        AttemptRecord("b", "y", "ok", 200, 300),
    ]
    times = attempt_times(record(attempts, ttft_ms=900), 0, 2000 * MS)
    assert times == [(0, 100 * MS), (100 * MS, 250 * MS), (600 * MS, 2000 * MS)]


def test_all_failed_and_unknown_times_stay_inside_the_request() -> None:
    attempts = [AttemptRecord("a", "x", "failed_over", 502, 5000), AttemptRecord("b", "y", "failed_over", None, 0)]
    times = attempt_times(record(attempts, ttft_ms=None), 0, 2000 * MS)
    assert times == [(0, 2000 * MS), (2000 * MS, 2000 * MS)]
    passed = [AttemptRecord("a", "x", "passed_through", 400, 0)]
    assert attempt_times(record(passed, ttft_ms=None), 0, 2000 * MS) == [(0, 2000 * MS)]
