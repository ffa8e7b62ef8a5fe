"""Upstream error answers -> Anthropic error types with the upstream's message."""

from __future__ import annotations

import pytest

from ccm.providers.openai import ADAPTER


@pytest.mark.parametrize(
    ("status", "body", "error_type", "message"),
    [
        (
            401,
            b'{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}',
            "authentication_error",
            "Incorrect API key provided",
        ),
        (
            404,
            b'{"error": {"message": "The model `gpt-9` does not exist", "code": "model_not_found"}}',
            "not_found_error",
            "The model `gpt-9` does not exist",
        ),
        (429, b'{"error": {"message": "Rate limit reached"}}', "rate_limit_error", "Rate limit reached"),
        (500, b'{"error": "server blew up"}', "api_error", "server blew up"),
        (502, b"<html>Bad Gateway</html>", "api_error", "<html>Bad Gateway</html>"),
        (503, b'{"detail": "Service Unavailable"}', "api_error", "Service Unavailable"),
        (529, b"", "overloaded_error", "HTTP 529 with an empty body"),
        (402, b'{"error": {"message": "Insufficient credits"}}', "billing_error", "Insufficient credits"),
        (403, b'[{"error": {"message": "forbidden region"}}]', "permission_error", "forbidden region"),
        (
            422,
            b'{"detail": [{"msg": "field required", "loc": ["body", "model"]}]}',
            "invalid_request_error",
            "field required",
        ),
        (
            400,
            b'{"error": {"message": "This model\'s maximum context length is 128000 tokens.", "code": "context_length_exceeded"}}',
            "invalid_request_error",
            "prompt is too long: This model's maximum context length is 128000 tokens.",
        ),
        (400, b'{"error": {"message": "max_tokens is too large"}}', "invalid_request_error", "max_tokens is too large"),
    ],
)
def test_parse_error(status: int, body: bytes, error_type: str, message: str) -> None:
    error = ADAPTER.parse_error(status, {}, body)
    assert (error.status, error.error_type, error.message) == (status, error_type, message)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "3"}, "3"), ({"retry-after-ms": "1500"}, "2"), ({}, None), ({"retry-after-ms": "x"}, None)],
)
def test_retry_after_is_passed_on(headers: dict[str, str], expected: str | None) -> None:
    assert ADAPTER.parse_error(429, headers, b"{}").retry_after == expected


def test_openai_reset_headers_are_a_retry_after_for_a_429_only() -> None:
    from ccm.translate.openai.errors import retry_after

    headers = {"x-ratelimit-reset-requests": "1m30s", "x-ratelimit-reset-tokens": "250ms"}
    assert retry_after(headers, 429) == "90"
    assert retry_after({"x-ratelimit-reset-tokens": "1.2s"}, 429) == "2"
    assert retry_after(headers, 500) is None  # OpenAI sends them on every answer: a 500 backs off instead
    assert retry_after({"x-ratelimit-reset-requests": "soon"}, 429) is None
    assert retry_after({"retry-after": "7", **headers}, 429) == "7"
