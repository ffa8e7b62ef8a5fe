"""Small HTTP pieces every route shares: JSON and Anthropic-error responses, and the router-key check."""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from quart import Response, request

from ccm.state import Snapshot
from ccm.wire import error_body


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status=status, headers=headers, content_type="application/json")


def anthropic_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(error_type, message), status, headers)


def authorized(snapshot: Snapshot) -> bool:
    """When server.api_key is set, clients must send it as x-ccm-key, x-api-key or Authorization: Bearer
    (with a passthrough provider Claude Code's own login travels in Authorization, the key in x-ccm-key)."""
    expected = snapshot.router_key
    if not expected:
        return True
    offered = [request.headers.get("x-ccm-key") or "", request.headers.get("x-api-key") or ""]
    auth = request.headers.get("authorization") or ""
    if auth.lower().startswith("bearer "):
        offered.append(auth[7:].strip())
    # Either header may carry it (Claude Code sends one or the other; a stale one beside it is no reason
    # to refuse). compare_digest on every candidate: no early exit that times which one matched.
    return any([hmac.compare_digest(given.encode(), expected.encode()) for given in offered])
