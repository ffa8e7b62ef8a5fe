"""The Vertex adapter: URLs per location, Claude on Vertex (rawPredict body and beta flags), the
remembered beta refusals, and errors in both shapes."""

from __future__ import annotations

import orjson
import pytest

from ccm.providers.base import RequestContext
from ccm.providers.registry import adapter_for
from ccm.providers.vertex import ADAPTER, drop_betas, rejected_betas
from tests.fakes.upstream import anthropic_message
from tests.translate.gemini_helpers import gemini_ctx

BODY = {"model": "x", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "hi"}]}
REFUSAL = (
    b'{"type":"error","error":{"type":"invalid_request_error","message":"Unexpected value(s) '
    b"`prompt-caching-scope-2026-01-05`, `context-1m-2025-08-07` for the `anthropic-beta` header. Please consult "
    b'our documentation at docs.claude.com or try again without the header."}}'
)


def claude_ctx(
    model: str = "claude-sonnet-4-5@20250929", location: str | None = None, name: str = "vx"
) -> RequestContext:
    ctx = gemini_ctx(model, provider_type="vertex-ai", base_url=None, project_id="proj", location=location, name=name)
    ctx.client_headers = {
        "anthropic-beta": "oauth-2025-04-20,context-1m-2025-08-07,fine-grained-tool-streaming-2025-05-14"
    }
    return ctx


def test_registered() -> None:
    assert adapter_for("vertex") is ADAPTER and adapter_for("gemini") is not None


@pytest.mark.parametrize(
    ("location", "host"),
    [
        (None, "https://aiplatform.googleapis.com/v1/projects/proj/locations/global"),
        ("europe-west4", "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com/v1/projects/proj/locations/eu"),
    ],
)
def test_claude_body_and_url(location: str | None, host: str) -> None:
    request = ADAPTER.build(dict(BODY), claude_ctx(location=location))
    assert request.url == f"{host}/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict"
    sent = orjson.loads(request.body)
    assert "model" not in sent and sent["anthropic_version"] == "vertex-2023-10-16" and sent["stream"] is True
    assert request.headers["anthropic-beta"] == "context-1m-2025-08-07,fine-grained-tool-streaming-2025-05-14"
    assert request.headers["authorization"] == "Bearer gm-key" and "anthropic-version" not in request.headers


def test_refused_betas_are_read_and_remembered_per_provider_and_model() -> None:
    assert rejected_betas(400, REFUSAL) == ["prompt-caching-scope-2026-01-05", "context-1m-2025-08-07"]
    assert rejected_betas(400, b'{"error": {"message": "other"}}') == []
    assert rejected_betas(429, REFUSAL) == []
    drop_betas("memo", "claude-opus-4-1@20250805", rejected_betas(400, REFUSAL))
    remembered = ADAPTER.build(dict(BODY), claude_ctx("claude-opus-4-1@20250805", name="memo"))
    assert remembered.headers["anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14"
    other = ADAPTER.build(dict(BODY), claude_ctx("claude-opus-4-1@20250805", name="other"))
    assert "context-1m-2025-08-07" in other.headers["anthropic-beta"]


def test_ccm_thinking_is_removed_before_claude_sees_it() -> None:
    from ccm.translate.signature import sign_thinking

    body = {
        **BODY,
        "messages": [
            {"role": "user", "content": "a"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "g", "signature": sign_thinking("g")},
                    {"type": "text", "text": "b"},
                ],
            },
            {"role": "user", "content": "c"},
        ],
    }
    sent = orjson.loads(ADAPTER.build(body, claude_ctx()).body)
    assert sent["messages"][1]["content"] == [{"type": "text", "text": "b"}]


def test_claude_answers_and_errors_are_anthropic_ones() -> None:
    ctx = claude_ctx()
    ADAPTER.build({**BODY, "stream": False}, ctx)
    message = ADAPTER.translate_message(orjson.dumps(anthropic_message("hi")), "application/json", ctx)
    assert message["content"] == [{"type": "text", "text": "hi"}]
    err = ADAPTER.parse_error(400, {}, REFUSAL)
    assert err.error_type == "invalid_request_error" and "Unexpected value(s)" in err.message
    google = b'{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "10s"}]}}'
    limited = ADAPTER.parse_error(429, {}, google)
    assert limited.error_type == "rate_limit_error" and limited.retry_after == "10"
    assert ADAPTER.parse_error(429, {}, google, ctx).retry_after == "10"


def test_gemini_models_on_vertex_use_the_gemini_translator() -> None:
    ctx = gemini_ctx("gemini-2.5-flash", provider_type="vertex-ai", base_url=None, project_id="proj", stream=False)
    request = ADAPTER.build(dict(BODY), ctx)
    assert request.url.endswith("/locations/global/publishers/google/models/gemini-2.5-flash:generateContent")
    assert "contents" in orjson.loads(request.body)


def test_no_project_is_a_failed_attempt_that_says_so() -> None:
    from ccm.providers.base import InvalidUpstream

    ctx = gemini_ctx("gemini-2.5-flash", provider_type="vertex-ai", base_url=None, project_id=None)
    with pytest.raises(InvalidUpstream, match="no project_id"):
        ADAPTER.build(dict(BODY), ctx)
