"""`GET /v1/models` and `GET /v1/models/{id}`: the configured [[models]] names, for Claude Code and OpenAI clients.

One answer for both kinds of client: Anthropic's List Models shape (items `type`, `id`, `display_name`,
`created_at`, `max_input_tokens`, `max_tokens`; the list's `data`, `has_more`, `first_id`, `last_id`)
with OpenAI's fields beside it (each item's `object: "model"`, `created`, `owned_by`; the list's
`object: "list"`). Provider names and actual models are never listed: the names are what a client may ask
for. Claude Code's gateway discovery (2.1.329, 2.1.332) asks `GET /v1/models?limit=1000` at start and
keeps only ids containing "claude" or "anthropic", so a name without either is listed a second time as
`claude-via-ccm/NAME` (ccm.routing removes that prefix). Sizes come from ccm.limits (a mapping's
`context_window`, else the catalog); null where unknown.

Errors: Anthropic's shape when the request looks like an Anthropic client's (`anthropic-version` or
`x-api-key`), else OpenAI's `{"error": {"message", "type", "param", "code"}}`. The release date of a
configured name is unknown: `created_at` is the epoch, as Anthropic's API does for an unknown date.

Framework-free (ccm.serve.edge serves it past Quart, so Claude Code's start-up probe never builds Quart).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import orjson

from ccm.api import openai_errors
from ccm.api.guard import Refusal
from ccm.dispatch.attempt import Result
from ccm.limits import model_limits
from ccm.routing import VIA_PREFIX
from ccm.serve.state import Snapshot
from config.schema import Config

PREFIX = "/v1/models"
EPOCH = "1970-01-01T00:00:00Z"
MAX_LIMIT = 1000


def serves(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def refused(headers: Mapping[str, str], refusal: Refusal) -> Result:
    """The edge's refusal (ccm.api.guard: browser, method, key) in the shape of the client that asked."""
    result = _error(_anthropic(headers), refusal.status, refusal.error_type, refusal.message)
    result.headers.update(refusal.headers)
    return result


def answer(snapshot: Snapshot, headers: Mapping[str, str], path: str, query: str, client: str | None = None) -> Result:
    """The whole endpoint, once the edge let the request through (ccm.api.guard.admit); `client`: the
    [[clients]] name that asked (None: the operator, or no key), which sees only what its globs allow."""
    anthropic = _anthropic(headers)
    items = listed(snapshot.config, client)
    if path.rstrip("/") != PREFIX:
        wanted = path[len(PREFIX) + 1 :]
        found = next((item for item in items if item["id"].lower() == wanted.lower()), None)
        if found is None:
            message = f"model '{wanted}' is not configured (GET /v1/models lists them)"
            return _error(anthropic, 404, "not_found_error", message, "model")
        return _json(found)
    page = _page(items, query)
    if isinstance(page, str):
        return _error(anthropic, 400, "invalid_request_error", page, page.split(":", 1)[0])
    return _json(page)


def listed(config: Config, client: str | None = None) -> list[dict[str, Any]]:
    """Every configured model name the caller may use (a client: those its globs allow), each followed by
    its `claude-via-ccm/` alias when Claude Code's discovery would drop the plain name."""
    out: list[dict[str, Any]] = []
    allowed = config.client(client) if client is not None else None
    for model in config.models:
        if allowed is not None and not allowed.allows(model.name):
            continue
        window, output = model_limits(config, model.name)
        out.append(_item(model.name, model.name, window, output))
        lowered = model.name.lower()
        if "claude" not in lowered and "anthropic" not in lowered:
            out.append(_item(VIA_PREFIX + model.name, model.name, window, output))
    return out


def _item(model_id: str, display: str, window: int | None, output: int | None) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display,
        "created_at": EPOCH,
        "max_input_tokens": window,
        "max_tokens": output,
        "object": "model",
        "created": 0,
        "owned_by": "ccm",
    }


def _page(items: list[dict[str, Any]], query: str) -> dict[str, Any] | str:
    """Anthropic's cursor paging (`limit` 1-1000, `after_id`, `before_id`); without `limit`, every item
    (OpenAI's list has no paging). A problem is returned as its message, naming the field first."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    limit = len(items) or 1
    if "limit" in params:
        raw = params["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            return f"limit: must be an integer from 1 to {MAX_LIMIT}, not {raw!r}"
        limit = int(raw)
    ids = [item["id"].lower() for item in items]
    start, end = 0, len(items)
    for key in ("after_id", "before_id"):
        if key in params:
            cursor = params[key].lower()
            if cursor not in ids:
                return f"{key}: no model {params[key]!r} in the list"
            if key == "after_id":
                start = ids.index(cursor) + 1
            else:
                end = ids.index(cursor)
    window = items[start:end]
    data = window[-limit:] if "before_id" in params and "after_id" not in params else window[:limit]
    return {
        "object": "list",
        "data": data,
        "has_more": len(data) < len(window),
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
    }


def _anthropic(headers: Mapping[str, str]) -> bool:
    return "anthropic-version" in headers or "x-api-key" in headers


def _json(data: Any) -> Result:
    return Result(200, {"content-type": "application/json"}, orjson.dumps(data))


def _error(anthropic: bool, status: int, error_type: str, message: str, param: str | None = None) -> Result:
    headers = {"content-type": "application/json"}
    if status == 405:
        headers["allow"] = "GET, HEAD"
    if not anthropic:
        return openai_errors.error_result(status, error_type, message, headers, param)
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    return Result(status, headers, orjson.dumps(body))
