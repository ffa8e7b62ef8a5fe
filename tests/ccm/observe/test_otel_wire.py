"""ccm's span bytes are the SDK's own encoding, once decoded, and go out through the exporter's own HTTP
client: both fail here when opentelemetry-exporter-otlp-proto-http (read at 1.45.2) moves."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ccm.observe.otel_wire import CLIENT, SERVER, SpanSender, SpanWriter, export_request
from tests.fakes.otlp_collector import Collector

RESOURCE = Resource.create({"service.name": "ccm", "service.version": "9.9.9"})
SCOPE = InstrumentationScope("ccm", "9.9.9")
TRACE, SERVER_ID, CLIENT_ID = 0x1234567890ABCDEF1234567890ABCDEF, 0x1111111111111111, 0x2222222222222222
SERVER_ATTRIBUTES = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 130, "ccm.client.name": "alice"}
CLIENT_ATTRIBUTES = {"ccm.provider.name": "pa", "http.response.status_code": 503, "error.type": "503", "big": 1 << 40}


def sdk_spans() -> list[ReadableSpan]:
    server = SpanContext(TRACE, SERVER_ID, False, TraceFlags(TraceFlags.SAMPLED))
    client = SpanContext(TRACE, CLIENT_ID, False, TraceFlags(TraceFlags.SAMPLED))
    common = {"resource": RESOURCE, "instrumentation_scope": SCOPE}
    return [
        ReadableSpan(
            "chat m",
            server,
            None,
            attributes=SERVER_ATTRIBUTES,
            kind=SpanKind.SERVER,
            status=Status(StatusCode.UNSET),
            start_time=1_000,
            end_time=9_000,
            **common,
        ),
        ReadableSpan(
            "chat a-model",
            client,
            server,
            attributes=CLIENT_ATTRIBUTES,
            kind=SpanKind.CLIENT,
            status=Status(StatusCode.ERROR, "failed_over"),
            start_time=2_000,
            end_time=3_000,
            **common,
        ),
    ]


def ccm_spans(writer: SpanWriter) -> list[bytes]:
    return [
        writer.span(TRACE, SERVER_ID, None, "chat m", SERVER, (1_000, 9_000), SERVER_ATTRIBUTES.items()),
        writer.span(
            TRACE,
            CLIENT_ID,
            SERVER_ID,
            "chat a-model",
            CLIENT,
            (2_000, 3_000),
            CLIENT_ATTRIBUTES.items(),
            "failed_over",
        ),
    ]


def decoded(data: bytes) -> ExportTraceServiceRequest:
    message = ExportTraceServiceRequest()
    message.ParseFromString(data)
    return message


def test_the_encoding_is_the_sdks() -> None:
    theirs = decoded(encode_spans(sdk_spans()).SerializePartialToString())
    writer = SpanWriter()
    assert decoded(export_request(RESOURCE, SCOPE, ccm_spans(writer))) == theirs
    assert decoded(export_request(RESOURCE, SCOPE, ccm_spans(writer))) == theirs  # encoded attributes reused


def test_spans_go_out_through_the_exporters_own_client() -> None:
    with Collector() as collector:
        sender = SpanSender(f"{collector.url}/v1/traces", RESOURCE, SCOPE, batch=1)
        assert callable(sender._client.export)  # the exporter's own HTTP client, what SpanSender sends with
        sender.send(ccm_spans(SpanWriter()))  # one request per span (batch=1)
        sender.shutdown()
        assert len(collector.headers) == 2
    assert [s.name for s in collector.spans] == ["chat m", "chat a-model"]
    assert collector.spans[1].parent_id == collector.spans[0].span_id and collector.spans[1].error
