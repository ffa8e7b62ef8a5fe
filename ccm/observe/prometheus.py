"""The Prometheus side of ccm.observe.metrics: a collector over its counters, in a private registry.

A private CollectorRegistry (not prometheus_client's global one): nothing else in the process can add
metrics to ccm's page, and tests can build as many as they like. The collector reads the counters at
scrape time under their lock, so there is no second copy of any figure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from ccm.observe.metrics import CIRCUIT_VALUES, NONE, Circuits, Metrics


def exposition(metrics: Metrics, circuits: Circuits) -> bytes:
    """The text exposition format of every ccm metric (names and labels as the README's Metrics table lists)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(metrics, circuits))
    return bytes(generate_latest(registry))


class Collector:
    """Turns the counters into metric families at scrape time (no second copy of any figure)."""

    def __init__(self, metrics: Metrics, circuits: Circuits) -> None:
        self.metrics = metrics
        self.circuits = circuits

    def collect(self) -> Iterator[Any]:
        m = self.metrics
        with m.lock:
            requests = CounterMetricFamily(
                "ccm_requests",
                "Finished /v1/messages requests.",
                labels=("route", "model", "provider", "status", "client"),
            )
            for key, n in sorted(m.requests.items()):
                requests.add_metric(key, n)
            attempts = CounterMetricFamily(
                "ccm_upstream_attempts", "Upstream attempts by outcome.", labels=("provider", "outcome")
            )
            for pair, n in sorted(m.attempts.items()):
                attempts.add_metric(pair, n)
            duration = HistogramMetricFamily(
                "ccm_request_duration_seconds",
                "Whole request time, answered requests.",
                labels=("provider", "client"),
            )
            ttft = HistogramMetricFamily(
                "ccm_time_to_first_token_seconds", "Time to the first content event.", labels=("provider", "client")
            )
            for pair, series in sorted(m.durations.items()):
                if series.latency.n:
                    duration.add_metric(pair, series.latency.cumulative(), series.latency.total)
                if series.ttft.n:
                    ttft.add_metric(pair, series.ttft.cumulative(), series.ttft.total)
            tokens = CounterMetricFamily(
                "ccm_tokens", "Tokens by kind.", labels=("provider", "model", "kind", "client")
            )
            for labels, n in sorted(m.tokens.items()):
                tokens.add_metric(labels, n)
            cost = CounterMetricFamily(
                "ccm_cost_usd", "Cost from mapping prices, USD.", labels=("provider", "model", "client")
            )
            for cost_labels, usd in sorted(m.cost.items()):
                cost.add_metric(cost_labels, usd)
            counts = CounterMetricFamily(
                "ccm_count_tokens", "count_tokens calls.", labels=("route", "model", "provider")
            )
            for route_model_provider, n in sorted(m.count_tokens_calls.items()):
                counts.add_metric(route_model_provider, n)
            dropped = CounterMetricFamily(
                "ccm_request_log_dropped", "Records requests.jsonl could not take (a full disk)."
            )
            dropped.add_metric((), m.request_log_dropped)
            names = sorted(set(m.providers) | set(self.circuits))
        circuit = GaugeMetricFamily(
            "ccm_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", labels=("provider",)
        )
        for name in names:
            if name == NONE:
                continue
            state = self.circuits.get(name, ("closed", None))[0]
            circuit.add_metric((name,), CIRCUIT_VALUES.get(state, 0))
        yield from (requests, attempts, duration, ttft, tokens, cost, counts, dropped, circuit)
