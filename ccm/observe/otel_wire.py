"""The one place ccm changes how opentelemetry-exporter-otlp-proto-http sends spans (read against 1.45.2).

Why: through the SDK (a ReadableSpan per span, its batch processor, its encoder building every attribute
anew as protobuf objects behind a chain of isinstance checks) a request's two spans cost about 190 µs of
CPU here, an eighth of a small request's whole CPU (bench/otel_cpu.py). ccm's spans are finished when they
are made and their attributes repeat (operation, vendor, model, client, host), so `SpanWriter` writes each
span's OTLP protobuf bytes at once (each (key, string value) attribute encoded once and reused) and
`SpanSender` sends them, one ExportTraceServiceRequest per batch, through the exporter's own HTTP client (`OTLPSpanExporter._client.export(bytes)`: the endpoint,
OTEL_EXPORTER_OTLP_HEADERS, timeout, compression and retries as the SDK does them).

The bytes are the SDK's own encoding of the same spans: tests/ccm/observe/test_otel_wire.py decodes both
with opentelemetry-proto and compares them, and fails when the library moves (a new field the SDK sets,
the exporter's client gone). Tags below are (field number << 3 | wire type) from opentelemetry-proto's
trace.proto, common.proto and resource.proto.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

log = logging.getLogger("ccm.observe.otel")

SERVER, CLIENT = 2, 3
"""Span.SpanKind in OTLP (SPAN_KIND_SERVER, SPAN_KIND_CLIENT)."""
ERROR = 2
"""Status.StatusCode.STATUS_CODE_ERROR."""
MAX_CACHED = 4096
"""String attributes kept encoded; bounded by the config (models, providers, clients), and by this."""

_KV_KEY, _KV_VALUE = b"\x0a", b"\x12"
_STRING, _BOOL, _INT, _DOUBLE = b"\x0a", b"\x10", b"\x18", b"\x21"
_TRACE_ID, _SPAN_ID, _PARENT, _NAME, _KIND = b"\x0a\x10", b"\x12\x08", b"\x22\x08", b"\x2a", b"\x30"
_START, _END, _ATTRIBUTE, _STATUS = b"\x39", b"\x41", b"\x4a", b"\x7a"
_STATUS_MESSAGE, _STATUS_CODE = b"\x12", b"\x18"
_FLAGS = b"\x85\x01" + struct.pack("<I", 0x100)
"""Span.flags (16, fixed32) = SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK: the SDK sets it on every span."""
_SCOPE, _SPANS, _SCOPE_NAME, _SCOPE_VERSION = b"\x0a", b"\x12", b"\x0a", b"\x12"
_RESOURCE, _SCOPE_SPANS, _RESOURCE_SPANS, _RESOURCE_ATTRIBUTE = b"\x0a", b"\x12", b"\x0a", b"\x0a"
_SMALL = [bytes((n,)) for n in range(0x80)]
_U64 = struct.Struct("<Q")


def _varint(n: int) -> bytes:
    if 0 <= n < 0x80:
        return _SMALL[n]
    if n < 0:  # int64, two's complement (never for ccm's counts; kept for the format's sake)
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, its length, its bytes."""
    return tag + _varint(len(payload)) + payload


def _value(value: Any) -> bytes:
    """An AnyValue's bytes, as the SDK encodes the types ccm uses."""
    if isinstance(value, str):
        return _field(_STRING, value.encode())
    if isinstance(value, bool):
        return _BOOL + _varint(int(value))
    if isinstance(value, int):
        return _INT + _varint(value)
    return _DOUBLE + struct.pack("<d", float(value))


def _pair(key: str, value: Any) -> bytes:
    return _field(_KV_KEY, key.encode()) + _field(_KV_VALUE, _value(value))


def _int_prefixes(key: str) -> list[bytes]:
    """For each length n of a varint (1 to 10 bytes): the bytes of the attribute field `key` = an int_value
    that come before its n-byte varint (the field's tag and length, the key, the AnyValue's tag and length)."""
    name = _field(_KV_KEY, key.encode())
    out = [b""]
    for n in range(1, 11):
        value = _KV_VALUE + _varint(1 + n) + _INT  # AnyValue{int_value}: its tag and n varint bytes
        pair = name + value
        out.append(_ATTRIBUTE + _varint(len(pair) + n) + pair)
    return out


class SpanWriter:
    """One finished span to its OTLP bytes (a Span message's), from plain values."""

    def __init__(self) -> None:
        self._attributes: dict[tuple[str, str], bytes] = {}
        self._int_prefixes: dict[str, list[bytes]] = {}

    def attribute(self, key: str, value: Any) -> bytes:
        """One attribute field of a Span; a string one encoded once and kept, an integer one from its key's
        encoded prefix (its lengths depend only on the length of the value's varint)."""
        kind = type(value)
        if kind is int and value >= 0:
            number = _varint(value)
            prefixes = self._int_prefixes.get(key)
            if prefixes is None:
                prefixes = self._int_prefixes[key] = _int_prefixes(key)
            return prefixes[len(number)] + number
        if kind is not str:
            return _field(_ATTRIBUTE, _pair(key, value))
        cached = self._attributes.get((key, value))
        if cached is None:
            if len(self._attributes) >= MAX_CACHED:
                self._attributes.clear()
            cached = self._attributes[(key, value)] = _field(_ATTRIBUTE, _pair(key, value))
        return cached

    def span(
        self,
        trace_id: int,
        span_id: int,
        parent_id: int | None,
        name: str,
        kind: int,
        times: tuple[int, int],
        attributes: Iterable[tuple[str, Any]],
        error: str | None = None,
    ) -> bytes:
        """`error`: the status description of a failed span (its status code ERROR); None: UNSET."""
        attribute = self.attribute
        status = b"" if error is None else _field(_STATUS_MESSAGE, error.encode()) + _STATUS_CODE + _SMALL[ERROR]
        return b"".join(
            [
                _TRACE_ID + trace_id.to_bytes(16, "big"),
                _SPAN_ID + span_id.to_bytes(8, "big"),
                _PARENT + parent_id.to_bytes(8, "big") if parent_id is not None else b"",
                _field(_NAME, name.encode()),
                _KIND + _SMALL[kind],
                _START + _U64.pack(times[0]),
                _END + _U64.pack(times[1]),
                *[attribute(key, value) for key, value in attributes],
                _STATUS + _varint(len(status)) + status,
                _FLAGS,
            ]
        )


def export_request(resource: Resource, scope: InstrumentationScope, spans: Iterable[bytes]) -> bytes:
    """An ExportTraceServiceRequest's bytes: one resource, one instrumentation scope, these spans."""
    scope_bytes = _field(_SCOPE_NAME, scope.name.encode()) + (
        _field(_SCOPE_VERSION, scope.version.encode()) if scope.version else b""
    )
    scope_spans = _field(_SCOPE, scope_bytes) + b"".join(_field(_SPANS, span) for span in spans)
    attributes = b"".join(_field(_RESOURCE_ATTRIBUTE, _pair(k, v)) for k, v in resource.attributes.items())
    return _field(_RESOURCE_SPANS, _field(_RESOURCE, attributes) + _field(_SCOPE_SPANS, scope_spans))


class SpanSender:
    """Sends spans' bytes, OTEL_BSP_MAX_EXPORT_BATCH_SIZE (512) at a time, one ExportTraceServiceRequest each,
    through the exporter's own HTTP client (see the module docstring). Blocking: ccm calls it from its
    OpenTelemetry thread (ccm.observe.otel)."""

    def __init__(self, endpoint: str | None, resource: Resource, scope: InstrumentationScope, batch: int) -> None:
        self._exporter = OTLPSpanExporter(endpoint=endpoint)
        self._client = self._exporter._client
        self._resource, self._scope, self._batch = resource, scope, batch

    def send(self, spans: list[bytes]) -> None:
        for first in range(0, len(spans), self._batch):
            batch = spans[first : first + self._batch]
            try:
                result = self._client.export(export_request(self._resource, self._scope, batch))
            except Exception:  # the collector's trouble is never the proxy's
                log.warning("OpenTelemetry: exporting %d spans failed", len(batch), exc_info=True)
                continue
            if not result.success:
                log.warning(
                    "OpenTelemetry: exporting %d spans failed (%s)", len(batch), result.error or result.status_code
                )

    def shutdown(self) -> None:
        self._exporter.shutdown()  # type: ignore[no-untyped-call]
