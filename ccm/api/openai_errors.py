"""Errors in OpenAI's shape, for the clients that read it: `{"error": {"message", "type", "param", "code"}}`.

One place for every endpoint an OpenAI client reaches (`/v1/chat/completions`, `/v1/responses`, and
`GET /v1/models` when the caller is not an Anthropic client). The official `openai` SDK picks its error
class by status alone (401 AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 429
RateLimitError, 5xx InternalServerError), so the status is ccm's as everywhere; `type` and `code` follow
what api.openai.com sends where a client reads them (Codex reads `code: "context_length_exceeded"` to
compact, `invalid_api_key` is what a wrong key gets).

    body = openai_error(404, "not_found_error", "model 'x' is not configured", param="model")
    result = refused(refusal)                 # the edge's refusal (ccm.api.guard)
    result = reshaped(result)                 # an Anthropic-shaped error Result from dispatch, reshaped
"""

from __future__ import annotations

from typing import Any

import orjson

from ccm.api.guard import Refusal
from ccm.dispatch.attempt import Result

#: status -> (type, code) where api.openai.com has its own words; other statuses keep ccm's error type.
_OPENAI: dict[int, tuple[str, str | None]] = {
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}
#: Anthropic's words for a prompt over the window (ccm.dispatch.window): OpenAI's code for it.
_TOO_LONG = "prompt is too long"


def openai_error(status: int, error_type: str, message: str, param: str | None = None) -> dict[str, Any]:
    """The body; `error_type` is ccm's (Anthropic's) type for the status, kept where OpenAI has no word."""
    kind, code = _OPENAI.get(status, (error_type, None))
    if status >= 500:
        kind = "server_error"
    if status == 400 and message.startswith(_TOO_LONG):
        code = "context_length_exceeded"
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_result(
    status: int, error_type: str, message: str, headers: dict[str, str] | None = None, param: str | None = None
) -> Result:
    """A whole error answer; a 400 that names a field (`messages.2.content: ...`) names it in `param`."""
    if param is None and status == 400:
        field = message.split(": ", 1)[0]
        param = field if field != message and " " not in field else None
    body = orjson.dumps(openai_error(status, error_type, message, param))
    return Result(status, {**(headers or {}), "content-type": "application/json"}, body)


def refused(refusal: Refusal) -> Result:
    """The edge's refusal (browser, method, key, body limits) for an OpenAI client."""
    result = error_result(refusal.status, refusal.error_type, refusal.message)
    result.headers.update(refusal.headers)
    return result


def reshaped(result: Result) -> Result:
    """An error that dispatch (or routing) answered in Anthropic's shape, in OpenAI's; its headers (x-ccm-*,
    retry-after) kept. Anything else is returned as it is."""
    if result.status < 400 or result.stream is not None:
        return result
    try:
        data = orjson.loads(result.body)
    except orjson.JSONDecodeError:
        return result
    error = data.get("error") if isinstance(data, dict) and data.get("type") == "error" else None
    if not isinstance(error, dict):
        return result
    kind, message = str(error.get("type") or "api_error"), str(error.get("message") or "")
    return error_result(result.status, kind, message, result.headers)
