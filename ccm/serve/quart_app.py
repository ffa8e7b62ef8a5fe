"""The Quart app behind ccm.serve.edge's lean endpoints: the admin API (ccm.api.admin), /metrics, and Anthropic-style
answers for everything else (404, 405, 413, 500).

Built on the first request that needs it (ccm.serve.edge says why). Quart defaults that would cut long
answers or refuse Claude Code's large bodies are overridden (FACTS.md section 3).
"""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, request

from ccm.api.admin import register_admin
from ccm.api.guard import authorized, browser_refusal
from ccm.api.quart_json import anthropic_error
from ccm.observe.metrics import Metrics
from ccm.observe.requestlog import RequestLog
from ccm.serve.state import ConfigHolder


def build_quart(
    holder: ConfigHolder, requests: RequestLog, state: dict[str, Any], metrics: Metrics, max_body: int
) -> Quart:
    app = Quart("ccm")
    app.config.update(RESPONSE_TIMEOUT=None, BODY_TIMEOUT=120, MAX_CONTENT_LENGTH=max_body)

    @app.errorhandler(413)
    async def too_large(_: Exception) -> Response:
        return anthropic_error(413, "request_too_large", f"request body is larger than {max_body // 2**20} MiB")

    @app.errorhandler(404)
    async def not_found(_: Exception) -> Response:
        return anthropic_error(404, "not_found_error", f"no such endpoint: {request.method} {request.path}")

    @app.errorhandler(405)
    async def not_allowed(_: Exception) -> Response:
        return anthropic_error(405, "invalid_request_error", f"method {request.method} not allowed on {request.path}")

    @app.errorhandler(500)
    async def internal_error(error: Exception) -> Response:
        # Quart logged the traceback; the client still gets an Anthropic error, not an HTML page. The
        # exception's text stays out of it (it may quote a header value, and so a key).
        original = getattr(error, "original_exception", None) or error
        return anthropic_error(500, "api_error", f"ccm failed to handle this request ({type(original).__name__})")

    @app.before_request
    async def refuse_browsers() -> Response | None:
        # Every route (ccm/api/browser.py says why); before the admin API's own key check.
        why = browser_refusal(holder.current, request.headers, request.scope)
        return None if why is None else anthropic_error(403, "permission_error", why)

    register_admin(app, holder, requests, state, authorized, metrics)
    return app
