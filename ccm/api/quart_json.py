"""Quart responses shared by the admin API and Quart's own routes: JSON, and Anthropic-style errors.

Kept apart from ccm.api.guard (framework-free) so that a proxy serving only Claude Code's traffic never imports
Quart: ccm.serve.edge's lean path answers that traffic, and Quart is built on the first other request.
"""

from __future__ import annotations

from typing import Any

import orjson
from quart import Response

from ccm.api.guard import Refusal
from ccm.translate.anthropic import error_body


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status=status, headers=headers, content_type="application/json")


def anthropic_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(error_type, message), status, headers)


def refusal_response(refusal: Refusal) -> Response:
    return anthropic_error(refusal.status, refusal.error_type, refusal.message, refusal.headers or None)
