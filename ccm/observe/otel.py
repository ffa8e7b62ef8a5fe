"""OpenTelemetry export: a SERVER span per request with one CLIENT child per attempt, and the GenAI client
metrics, over OTLP/HTTP (protobuf) to the collector a team already runs.

Imported only when it is configured (`configured()` in ccm.serve.app reads OTEL_EXPORTER_OTLP_ENDPOINT, else
`[telemetry] otlp_endpoint`) and the `otel` extra is installed: a ccm without it never loads the SDK (its
start-up stays as it was). Written against opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http
1.45 (tests/e2e/test_otel.py exports to a real collector on 127.0.0.1 and decodes what arrives).

The spans are made from each finished request's record (a request log sink), with the times the request
and its attempts really had (`start_time`/`end_time`): the hot path creates nothing, and one request costs
a few span objects handed to the SDK's batch processor, which encodes and sends them from its own thread.
Attributes follow the GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): `gen_ai.operation.name` "chat",
`gen_ai.provider.name` (the vendor), `gen_ai.request.model` (what the client asked for),
`gen_ai.response.model` (the actual model that answered), `server.address`, the token usage
(`gen_ai.usage.input_tokens` counts all input, cached included), plus ccm's own `ccm.provider.name` (the
configured provider) and `ccm.client.name` ([[clients]], "-" for the router key). The endpoint's headers
come from OTEL_EXPORTER_OTLP_HEADERS, as the exporter reads them; OTEL_SERVICE_NAME names the service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

from ccm import __version__
from ccm.observe.requestlog import AttemptRecord, RequestRecord
from config.schema import Config, ProviderConfig

log = logging.getLogger("ccm.observe.otel")

#: gen_ai.provider.name: the semantic conventions' well-known values where one fits, else the catalog type.
VENDORS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openai-responses": "openai",
    "gemini": "gcp.gemini",
    "vertex-ai": "gcp.vertex_ai",
    "deepseek": "deepseek",
    "deepseek-anthropic": "deepseek",
    "groq": "groq",
}
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
"""gen_ai.client.token.usage's advised boundaries (the GenAI metrics conventions)."""
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
"""gen_ai.client.operation.duration's advised boundaries, seconds."""
_ANSWERED = ("ok", "passed_through")


def attempt_times(record: RequestRecord, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) in ns of each attempt. The record keeps each attempt's time to its outcome (`ms`) and
    the request's time to its first token: the attempt that answered began `ms` before that first token and
    lasts as long as the answer; the attempts before it ran one after another from the request's start
    (a retry's backoff wait, which the record does not keep, shows as part of the next attempt's span)."""
    out: list[tuple[int, int]] = []
    cursor = start
    for attempt in record.attempts:
        took = max(0, attempt.ms) * 1_000_000
        if attempt.outcome in _ANSWERED and record.ttft_ms is not None:
            began = max(cursor, min(end, start + (record.ttft_ms - attempt.ms) * 1_000_000))
            out.append((began, end))
            cursor = end
            continue
        began = min(cursor, end)
        finished = end if attempt.outcome in _ANSWERED else min(end, began + took)
        out.append((began, finished))
        cursor = finished
    return out


def vendor(provider: ProviderConfig | None) -> str | None:
    if provider is None:
        return None
    return VENDORS.get(provider.provider_type, provider.provider_type)


class Telemetry:
    """The tracer and meter of one proxy process; `observe` is the request log's sink, `shutdown` flushes."""

    def __init__(self, base_url: str | None, config: Callable[[], Config]) -> None:
        """`base_url`: the OTLP/HTTP base (`/v1/traces` and `/v1/metrics` appended), or None to let the
        exporters read OTEL_EXPORTER_OTLP_ENDPOINT (and the per-signal variables) themselves."""
        self._config = config
        name = os.environ.get("OTEL_SERVICE_NAME") or "ccm"
        resource = Resource.create({"service.name": name, "service.version": __version__})
        traces = f"{base_url}/v1/traces" if base_url else None
        metrics = f"{base_url}/v1/metrics" if base_url else None
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
        reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=metrics))
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
        self._tracer = self.tracer_provider.get_tracer("ccm", __version__)
        meter = self.meter_provider.get_meter("ccm", __version__)
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Tokens used per request, by type (input counts cached input too)",
            explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
        )
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="Whole request time",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )

    def observe(self, record: RequestRecord) -> None:
        """One finished request: its span, its attempts' spans, and the two GenAI instruments."""
        config = self._config()
        end = int(record.time * 1e9)
        start = end - record.latency_ms * 1_000_000
        answering = config.provider(record.provider) if record.provider else None
        common: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": record.model,
            "ccm.client.name": record.client,
        }
        attributes = {**common, **self._answer_attributes(record, answering)}
        span = self._tracer.start_span(
            f"chat {record.model}", kind=SpanKind.SERVER, start_time=start, attributes=attributes
        )
        if record.status >= 400:
            span.set_status(Status(StatusCode.ERROR, record.outcome))
        parent = set_span_in_context(span)
        for attempt, (began, finished) in zip(record.attempts, attempt_times(record, start, end), strict=True):
            self._attempt_span(attempt, record, config, parent, began, finished, common)
        span.end(end_time=end)
        self._measure(record, attributes)

    @staticmethod
    def _answer_attributes(record: RequestRecord, provider: ProviderConfig | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "http.response.status_code": record.status,
            "ccm.route": record.route,
            "ccm.model": record.routed_model,
            "ccm.outcome": record.outcome,
        }
        if record.status >= 400:
            out["error.type"] = str(record.status)
        if provider is not None:
            out["gen_ai.provider.name"] = vendor(provider)
            out["ccm.provider.name"] = provider.name
            out["server.address"] = urlsplit(provider.effective_base_url).hostname or ""
        if record.actual_model and record.provider != "local":
            out["gen_ai.response.model"] = record.actual_model
        if record.provider:
            out["gen_ai.usage.input_tokens"] = (
                record.input_tokens + record.cache_read_tokens + record.cache_write_tokens
            )
            out["gen_ai.usage.output_tokens"] = record.output_tokens
            out["gen_ai.usage.cache_read.input_tokens"] = record.cache_read_tokens
            out["gen_ai.usage.cache_creation.input_tokens"] = record.cache_write_tokens
        return out

    def _attempt_span(
        self,
        attempt: AttemptRecord,
        record: RequestRecord,
        config: Config,
        parent: Context,
        began: int,
        finished: int,
        common: dict[str, Any],
    ) -> None:
        provider = config.provider(attempt.provider)
        answered = attempt.outcome in _ANSWERED
        attributes: dict[str, Any] = {
            **common,
            "gen_ai.request.model": attempt.model,
            "ccm.provider.name": attempt.provider,
            "ccm.attempt.outcome": attempt.outcome,
        }
        if provider is not None:
            attributes["gen_ai.provider.name"] = vendor(provider)
            attributes["server.address"] = urlsplit(provider.effective_base_url).hostname or ""
        if attempt.status is not None:
            attributes["http.response.status_code"] = attempt.status
        if answered and attempt.status is not None and attempt.status < 400:
            attributes["gen_ai.response.model"] = attempt.model
            attributes["gen_ai.usage.input_tokens"] = (
                record.input_tokens + record.cache_read_tokens + record.cache_write_tokens
            )
            attributes["gen_ai.usage.output_tokens"] = record.output_tokens
        span = self._tracer.start_span(
            f"chat {attempt.model}", context=parent, kind=SpanKind.CLIENT, start_time=began, attributes=attributes
        )
        if not answered or (attempt.status or 0) >= 400:
            attributes_error = str(attempt.status) if attempt.status is not None else attempt.outcome
            span.set_attribute("error.type", attributes_error)
            span.set_status(Status(StatusCode.ERROR, attempt.outcome))
        span.end(end_time=finished)

    def _measure(self, record: RequestRecord, attributes: dict[str, Any]) -> None:
        keys = ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model")
        labels = {
            k: attributes[k] for k in (*keys, "server.address", "ccm.client.name", "error.type") if k in attributes
        }
        self._duration.record(record.latency_ms / 1000, labels)
        if record.provider and record.provider != "local":
            inputs = record.input_tokens + record.cache_read_tokens + record.cache_write_tokens
            self._tokens.record(inputs, {**labels, "gen_ai.token.type": "input"})
            self._tokens.record(record.output_tokens, {**labels, "gen_ai.token.type": "output"})

    def shutdown(self) -> None:
        """Flush what is left and stop the exporters' threads (blocking: call it from a thread)."""
        for provider in (self.tracer_provider, self.meter_provider):
            try:
                provider.shutdown()
            except Exception:  # a collector gone at shutdown must not keep the proxy from stopping
                log.warning("OpenTelemetry: the last export failed at shutdown", exc_info=True)
