"""Error answers of the Responses wire: the ChatGPT plan's usage limit with its reset, and OpenAI's shapes."""

from __future__ import annotations

import time

import orjson
import pytest

from ccm.providers.responses import ADAPTER
from ccm.translate.responses.errors import reset_seconds, usage_reset


def parse(status: int, body: object, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return ADAPTER.parse_error(status, headers or {}, content)


def test_usage_limit_reached_in_seconds() -> None:
    err = parse(
        429,
        {
            "error": {
                "type": "usage_limit_reached",
                "message": "The usage limit has been reached",
                "plan_type": "plus",
                "resets_in_seconds": 3725,
            }
        },
    )
    assert (err.status, err.error_type, err.retry_after) == (429, "rate_limit_error", "3725")
    assert err.message.startswith("ChatGPT usage limit reached (plus plan), resets in 1h 2m")
    assert "The usage limit has been reached" in err.message


def test_usage_limit_reached_at_an_epoch() -> None:
    at = int(time.time()) + 300
    err = parse(
        429, {"error": {"type": "usage_limit_reached", "message": "limit", "resets_at": at}}, {"retry-after": "1"}
    )
    assert err.retry_after is not None and 295 <= int(err.retry_after) <= 301  # the reset wins over the header
    assert "resets in 5 min" in err.message or "resets in 4 min" in err.message


def test_rate_limit_try_again_in_the_message_and_headers() -> None:
    assert (
        parse(429, {"error": {"type": "rate_limit_exceeded", "message": "Please try again in 1.2s."}}).retry_after
        == "2"
    )
    assert parse(429, {"error": {"message": "slow down"}}, {"retry-after": "7"}).retry_after == "7"
    assert parse(429, {"error": {"message": "try again in 500ms"}}, {"retry-after-ms": "3000"}).retry_after == "3"


@pytest.mark.parametrize(
    ("status", "body", "error_type", "text"),
    [
        (400, {"detail": "Unsupported parameter: max_output_tokens"}, "invalid_request_error", "max_output_tokens"),
        (400, {"detail": "Instructions are required"}, "invalid_request_error", "Instructions are required"),
        (401, {"error": {"message": "bad token", "code": "token_expired"}}, "authentication_error", "bad token"),
        (403, b"<html>cloudflare</html>", "permission_error", "cloudflare"),
        (404, {"detail": "Not Found"}, "not_found_error", "Not Found"),
        (500, b"", "api_error", "HTTP 500"),
        (
            400,
            {
                "error": {
                    "message": "Your input exceeds the context window of this model (maximum context length is 272000)",
                    "code": "context_length_exceeded",
                }
            },
            "invalid_request_error",
            "prompt is too long",
        ),
    ],
)
def test_other_bodies(status: int, body: object, error_type: str, text: str) -> None:
    err = parse(status, body)
    assert err.status == status and err.error_type == error_type and text in err.message
    assert err.retry_after is None


def test_reset_helpers() -> None:
    assert reset_seconds({"resets_in_seconds": "12.2"}) == 13
    assert reset_seconds({"resets_at": 2_000_000_000_000}, now=1_999_999_990) == 10  # milliseconds
    assert reset_seconds({"message": "nothing"}) is None
    assert usage_reset({"resets_in_seconds": 30}) == "resets in 30 s"
    assert usage_reset({}) == ""
