"""The Quart app behind ccm.serve.edge's lean endpoints: the admin API (ccm.api.admin), /metrics, and Anthropic-style
answers for everything else (404, 405, 408, 413, 500, worded by ccm.api.guard).

Built on the first request that needs it (ccm.serve.edge says why), and reached only through the edge, which
has already refused what ccm.api.guard refuses. Quart defaults that would cut long answers (a 60 s
RESPONSE_TIMEOUT) or refuse Claude Code's large bodies (16 MiB) are overridden.
"""

from __future__ import annotations

from quart import Quart, Response, request

from ccm.api import guard
from ccm.api.admin import register_admin
from ccm.api.quart_json import refusal_response
from ccm.serve.services import Services


def build_quart(services: Services, max_body: int, body_timeout: float) -> Quart:
    app = Quart("ccm")
    app.config.update(RESPONSE_TIMEOUT=None, BODY_TIMEOUT=body_timeout, MAX_CONTENT_LENGTH=max_body)

    @app.errorhandler(413)
    async def too_large(_: Exception) -> Response:
        return refusal_response(guard.unread(guard.too_large(max_body), _headers()))

    @app.errorhandler(408)
    async def too_slow(_: Exception) -> Response:
        return refusal_response(guard.unread(guard.body_too_slow(body_timeout), _headers()))

    @app.errorhandler(404)
    async def not_found(_: Exception) -> Response:
        return refusal_response(guard.not_found(request.method, request.path))

    @app.errorhandler(405)
    async def not_allowed(error: Exception) -> Response:
        allow = getattr(error, "valid_methods", None) or ()
        return refusal_response(guard.not_allowed(request.method, request.path, allow))

    @app.errorhandler(500)
    async def internal_error(error: Exception) -> Response:
        # Quart logged the traceback; the client still gets an Anthropic error, not an HTML page.
        return refusal_response(guard.failed(getattr(error, "original_exception", None) or error))

    register_admin(app, services)
    return app


def _headers() -> dict[str, str]:
    """The request's headers as ccm.api.guard reads them: names in lower case."""
    return {name.lower(): value for name, value in request.headers.items()}
