"""OpenTelemetry export: a SERVER span per request with one CLIENT child per attempt, and the GenAI client
metrics, over OTLP/HTTP (protobuf) to the collector a team already runs.

Imported only when it is configured (ccm.serve.app's `telemetry_endpoint`: OTEL_EXPORTER_OTLP_ENDPOINT,
else `[telemetry] otlp_endpoint`) and the `otel` extra is installed: a ccm without it never loads the SDK
and starts as fast as before. Written against opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http
1.45 (tests/e2e/test_otel.py exports to a real collector on 127.0.0.1 and decodes what arrives).

The spans are made from each finished request's record (a request log sink) with the times the request
and its attempts had, off the request's path on a thread of their own, written as OTLP bytes and sent in
batches through the SDK's exporter (ccm.observe.otel_wire says why not through the SDK's tracer: CPU).
Attributes follow the GenAI semantic conventions
(https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): `gen_ai.operation.name` "chat",
`gen_ai.provider.name` (the vendor), `gen_ai.request.model` (what the client asked for; on an attempt,
the model sent), `gen_ai.response.model` (the actual model that answered), `server.address`, the token
usage (`gen_ai.usage.input_tokens` counts all input, cached included), and ccm's own `ccm.provider.name`
(the configured provider) and `ccm.client.name` ([[clients]], "-" for the router key). The endpoint's
headers come from OTEL_EXPORTER_OTLP_HEADERS as the exporter reads them; OTEL_SERVICE_NAME names the service.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ccm import __version__
from ccm.observe.otel_metrics import GenAiMetrics, Labels
from ccm.observe.otel_wire import CLIENT, SERVER, SpanSender, SpanWriter
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
_ANSWERED = ("ok", "passed_through")
_METRIC_KEYS = frozenset(
    {
        "gen_ai.operation.name",
        "gen_ai.provider.name",
        "gen_ai.request.model",
        "gen_ai.response.model",
        "server.address",
        "error.type",
        "ccm.client.name",
    }
)


def vendor(provider: ProviderConfig) -> str:
    return VENDORS.get(provider.provider_type, provider.provider_type)


@functools.lru_cache(maxsize=256)
def host_of(base_url: str) -> str:
    """The host of a provider's base URL (server.address); cached: the same few URLs every request."""
    return urlsplit(base_url).hostname or ""


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


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name) or default))
    except ValueError:
        log.warning("OpenTelemetry: %s is not a whole number; using %d", name, default)
        return default


class Telemetry:
    """The spans and the GenAI metrics of one proxy process. `observe` (the request log's sink, on the event
    loop) only queues the record: its spans and measurements are made on a thread of this class's own, a
    batch at a time (in one tight loop: a quarter of the CPU the same work cost done request by request on
    the event loop, bench/otel_cpu.py), and sent from there every OTEL_BSP_SCHEDULE_DELAY ms (5 s), when
    about OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans (512) wait, and at shutdown. Beyond OTEL_BSP_MAX_QUEUE_SIZE
    (2048) spans waiting, requests are dropped and counted, as the SDK's batch processor does. Metrics go
    every OTEL_METRIC_EXPORT_INTERVAL ms (60 s)."""

    def __init__(self, base_url: str | None, config: Callable[[], Config]) -> None:
        """`base_url`: the OTLP/HTTP base (`/v1/traces` and `/v1/metrics` appended), or None to let the
        exporters read OTEL_EXPORTER_OTLP_ENDPOINT (and the per-signal variables) themselves."""
        self._config = config
        name = os.environ.get("OTEL_SERVICE_NAME") or "ccm"
        resource = Resource.create({"service.name": name, "service.version": __version__})
        scope = InstrumentationScope("ccm", __version__)
        batch = _setting("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)
        self._sender = SpanSender(f"{base_url}/v1/traces" if base_url else None, resource, scope, batch)
        self.metrics = GenAiMetrics(f"{base_url}/v1/metrics" if base_url else None, resource, scope)
        self._writer = SpanWriter()
        self._random = random.Random()
        self._delay = _setting("OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000
        self._metrics_every = _setting("OTEL_METRIC_EXPORT_INTERVAL", 60_000) / 1000
        self._wake_at = max(1, batch // 2)  # two spans or more a request
        self._limit = max(self._wake_at, _setting("OTEL_BSP_MAX_QUEUE_SIZE", 2048) // 2)
        self._pending: list[tuple[RequestRecord, Config]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="ccm-otel", daemon=True)
        self._thread.start()

    def observe(self, record: RequestRecord) -> None:
        """The request log's sink: the record (and the config it was served on) is queued, nothing more."""
        item = (record, self._config())
        with self._lock:
            if len(self._pending) >= self._limit:
                self.dropped += 1
                return
            self._pending.append(item)
            full = len(self._pending) >= self._wake_at
        if full:
            self._wake.set()

    def _run(self) -> None:
        next_metrics = time.monotonic() + self._metrics_every
        while not self._stopping:
            self._wake.wait(min(self._delay, max(0.0, next_metrics - time.monotonic())))
            self._wake.clear()
            self._flush()
            if time.monotonic() >= next_metrics:
                self.metrics.export()
                next_metrics = time.monotonic() + self._metrics_every

    def _flush(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
        if not items:
            return
        spans: list[bytes] = []
        for record, config in items:
            try:
                spans += self._spans_of(record, config)
            except Exception:  # one odd record must not stop the export of the others
                log.exception("OpenTelemetry: no spans for request %d", record.id)
        self._sender.send(spans)

    def _spans_of(self, record: RequestRecord, config: Config) -> list[bytes]:
        """A request's span, one span per attempt; and its two GenAI measurements."""
        end = int(record.time * 1e9)
        start = end - record.latency_ms * 1_000_000
        provider = config.provider(record.provider) if record.provider and record.provider != "local" else None
        attributes = _request_attributes(record, provider)
        failed = str(record.status) if record.status >= 400 else None
        if failed is not None:
            attributes.append(("error.type", failed))
        bits = self._random.getrandbits
        trace, parent = bits(128), bits(64)
        write = self._writer.span
        error = record.outcome if failed is not None else None
        spans = [write(trace, parent, None, f"chat {record.model}", SERVER, (start, end), attributes, error)]
        for attempt, times in zip(record.attempts, attempt_times(record, start, end), strict=True):
            child, failure = _attempt(attempt, record, config)
            spans.append(write(trace, bits(64), parent, f"chat {attempt.model}", CLIENT, times, child, failure))
        labels: Labels = tuple((k, str(v)) for k, v in attributes if k in _METRIC_KEYS)
        inputs = record.input_tokens + record.cache_read_tokens + record.cache_write_tokens
        self.metrics.record(labels, record.latency_ms / 1000, (inputs, record.output_tokens) if provider else None)
        return spans

    def shutdown(self) -> None:
        """Make and send what is left, then stop (blocking: call it from a thread)."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)
        try:
            self._flush()
            self.metrics.export()
        finally:
            self._sender.shutdown()
            self.metrics.shutdown()
        if self.dropped:
            log.warning(
                "OpenTelemetry: %d requests had no spans (the collector was slower than they came)", self.dropped
            )


def _request_attributes(record: RequestRecord, provider: ProviderConfig | None) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", record.model),
        ("ccm.client.name", record.client),
    ]
    if provider is None:
        return out
    out += [
        ("gen_ai.provider.name", vendor(provider)),
        ("gen_ai.response.model", record.actual_model or ""),
        ("server.address", host_of(provider.effective_base_url)),
        ("ccm.provider.name", provider.name),
        ("gen_ai.usage.input_tokens", record.input_tokens + record.cache_read_tokens + record.cache_write_tokens),
        ("gen_ai.usage.output_tokens", record.output_tokens),
        ("gen_ai.usage.cache_read.input_tokens", record.cache_read_tokens),
        ("gen_ai.usage.cache_creation.input_tokens", record.cache_write_tokens),
    ]
    return out


def _attempt(attempt: AttemptRecord, record: RequestRecord, config: Config) -> tuple[list[tuple[str, Any]], str | None]:
    """An attempt span's attributes, and its error (None when it answered)."""
    out: list[tuple[str, Any]] = [
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.request.model", attempt.model),
        ("ccm.provider.name", attempt.provider),
        ("ccm.client.name", record.client),
    ]
    provider = config.provider(attempt.provider)
    if provider is not None:
        out += [("gen_ai.provider.name", vendor(provider)), ("server.address", host_of(provider.effective_base_url))]
    if attempt.outcome in _ANSWERED and (attempt.status or 200) < 400:
        out.append(("gen_ai.response.model", attempt.model))
        return out, None
    out += [
        ("error.type", str(attempt.status) if attempt.status is not None else attempt.outcome),
        ("http.response.status_code", attempt.status or 0),
    ]
    return out, attempt.outcome
