"""The GenAI client metrics, `gen_ai.client.token.usage` and `gen_ai.client.operation.duration`, kept as
cumulative histograms by ccm and sent through the SDK's OTLP/HTTP metric exporter (ccm.observe.otel's
thread calls `export` every OTEL_METRIC_EXPORT_INTERVAL ms, 60 s by default, and once more at shutdown).

Why not the SDK's own instruments: a `Histogram.record` costs about 20 µs on our machine (a Measurement
object, attribute hashing, view matching, under locks), three per request; here a measurement is a
bisect and a few additions, all on one thread. What is sent is the SDK's own data model (MetricsData) through
its own exporter, so the wire format, endpoint and OTEL_EXPORTER_OTLP_HEADERS are the SDK's.
"""

from __future__ import annotations

import bisect
import logging
import time
from dataclasses import dataclass, field

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

log = logging.getLogger("ccm.observe.otel")

TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
"""gen_ai.client.token.usage's advised boundaries (the GenAI metrics conventions)."""
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
"""gen_ai.client.operation.duration's advised boundaries, seconds."""
TOKENS = ("gen_ai.client.token.usage", "{token}", "Tokens used per request by type (input counts cached input too)")
DURATION = ("gen_ai.client.operation.duration", "s", "Whole request time")

Labels = tuple[tuple[str, str], ...]


@dataclass(slots=True)
class _Series:
    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, value: float) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.n += 1
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value


class GenAiMetrics:
    """See the module docstring. Used from one thread only (ccm.observe.otel's)."""

    def __init__(self, endpoint: str | None, resource: Resource, scope: InstrumentationScope) -> None:
        self._exporter = OTLPMetricExporter(endpoint=endpoint)
        self._resource, self._scope = resource, scope
        self._started = time.time_ns()
        self._tokens: dict[Labels, _Series] = {}
        self._durations: dict[Labels, _Series] = {}

    def record(self, labels: Labels, seconds: float, tokens: tuple[int, int] | None) -> None:
        """One request: its duration, and (when a provider answered) its input and output tokens."""
        series = self._durations.get(labels)
        if series is None:
            series = self._durations[labels] = _Series(DURATION_BUCKETS)
        series.add(seconds)
        if tokens is None:
            return
        for kind, count in zip(("input", "output"), tokens, strict=True):
            key = (*labels, ("gen_ai.token.type", kind))
            series = self._tokens.get(key)
            if series is None:
                series = self._tokens[key] = _Series(TOKEN_BUCKETS)
            series.add(count)

    def collect(self) -> MetricsData:
        now = time.time_ns()
        metrics = [
            self._metric(meta, table, now)
            for meta, table in ((DURATION, self._durations), (TOKENS, self._tokens))
            if table
        ]
        scope = ScopeMetrics(scope=self._scope, metrics=metrics, schema_url="")
        return MetricsData(resource_metrics=[ResourceMetrics(self._resource, [scope], schema_url="")])

    def _metric(self, meta: tuple[str, str, str], table: dict[Labels, _Series], now: int) -> Metric:
        name, unit, description = meta
        points = [
            HistogramDataPoint(
                attributes=dict(labels),
                start_time_unix_nano=self._started,
                time_unix_nano=now,
                count=series.n,
                sum=series.total,
                bucket_counts=list(series.counts),
                explicit_bounds=list(series.bounds),
                min=series.low,
                max=series.high,
            )
            for labels, series in table.items()
        ]
        return Metric(name, description, unit, Histogram(points, AggregationTemporality.CUMULATIVE))

    def export(self) -> None:
        data = self.collect()
        if not data.resource_metrics[0].scope_metrics[0].metrics:
            return
        try:
            self._exporter.export(data)
        except Exception:  # the collector's trouble is never the proxy's
            log.warning("OpenTelemetry: exporting metrics failed", exc_info=True)

    def shutdown(self) -> None:
        self._exporter.shutdown()
