"""The edge's rules, written once for every route: the lean Messages path (ccm.serve.edge) and the Quart app
(ccm.serve.quart_app) alike. Framework-free: ccm.serve.edge answers a refusal before either sees the request.

In this order, the first that applies answers (an Anthropic error):

    400  both content-length and transfer-encoding     the connection is closed after the answer
    403  a web page's request (ccm.api.browser)         unless it carries the router key
    403  the admin API (/api/*, /metrics) while ccm     whatever the key: set server.api_key first
         serves beyond loopback with no router key
    405  a method the endpoint does not take            the lean endpoints; Quart routes say it themselves
    401  no router key where one is needed              /v1/*, /api/* but /api/hello, /metrics

Body limits (413, 408), 404, 405 and 500 answers take their wording from here too.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ccm.api.browser import is_loopback
from ccm.api.browser import refusal as browser_refusal
from ccm.serve.state import Snapshot

UNAUTHORIZED = "invalid or missing router key (server.api_key)"
ADMIN_FROM_ANOTHER_MACHINE = "set server.api_key to use the admin API from another machine"
BOTH_LENGTHS = (
    "a request may not carry both content-length and transfer-encoding (RFC 9112 section 6.1); the connection is closed"
)


class HeaderLookup(Protocol):
    """A case-insensitive `get`: ccm.serve.edge's lower-cased dict, or a Quart request's Headers."""

    def get(self, key: str, /) -> str | None: ...


@dataclass(frozen=True)
class Refusal:
    """An answer the edge gives instead of serving: status, Anthropic error type, message, extra headers."""

    status: int
    error_type: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def too_large(max_body: int) -> Refusal:
    return Refusal(413, "request_too_large", f"request body is larger than {max_body // 2**20} MiB")


def body_too_slow(seconds: float) -> Refusal:
    return Refusal(408, "timeout_error", f"the request body did not arrive within {seconds:g} s")


def not_allowed(method: str, path: str, allow: Iterable[str] = ()) -> Refusal:
    headers = {"allow": ", ".join(allow)} if allow else {}
    return Refusal(405, "invalid_request_error", f"method {method} not allowed on {path}", headers)


def not_found(method: str, path: str) -> Refusal:
    return Refusal(404, "not_found_error", f"no such endpoint: {method} {path}")


def failed(error: BaseException) -> Refusal:
    """A bug in ccm: the client gets an Anthropic error naming the exception's type, never its text (it may
    quote a header value, and so a key)."""
    return Refusal(500, "api_error", f"ccm failed to handle this request ({type(error).__name__})")


def joined_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers as ccm passes them on: lower-case names, a repeated one as one comma list (RFC 9110
    5.3), so two anthropic-beta lines are both kept. The lean path and the Quart routes both use it."""
    out: dict[str, str] = {}
    for key, value in pairs:
        name = key.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def authorized(snapshot: Snapshot, headers: HeaderLookup) -> bool:
    """When server.api_key is set, clients must send it as x-ccm-key, x-api-key or Authorization: Bearer
    (with a passthrough provider Claude Code's own login travels in Authorization, the key in x-ccm-key).
    `headers`: lower-case names (ccm.serve.edge's), or Quart's case-insensitive ones."""
    expected = snapshot.router_key
    if not expected:
        return True
    offered: list[str] = []
    for name in ("x-ccm-key", "x-api-key"):
        value = headers.get(name) or ""
        offered.append(value)
        if ", " in value:  # the header came twice (joined_headers): each copy is a candidate
            offered += value.split(", ")
    for auth in (headers.get("authorization") or "").split(", "):
        if auth[:7].lower() == "bearer ":
            offered.append(auth[7:].strip())
    # Either header may carry it (Claude Code sends one or the other; a stale one beside it is no reason
    # to refuse). compare_digest on every candidate: no early exit that times which one matched.
    return any([hmac.compare_digest(given.encode(), expected.encode()) for given in offered])


def is_admin(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


def needs_key(path: str) -> bool:
    """Claude Code's /api/hello probe carries no key, and /health never needs one."""
    return path.startswith("/v1/") or (is_admin(path) and path != "/api/hello")


def refuse(
    snapshot: Snapshot,
    headers: Mapping[str, str],
    scope: Mapping[str, Any],
    listen_host: str,
    methods: tuple[str, ...] | None = None,
) -> Refusal | None:
    """The edge's answer to a request it must not serve (the table above), or None to serve it.

    `headers`: joined_headers'; `listen_host`: the address ccm listens on; `methods`: those the endpoint
    takes, when the edge answers it itself."""
    if "content-length" in headers and "transfer-encoding" in headers:
        return Refusal(400, "invalid_request_error", BOTH_LENGTHS, {"connection": "close"})
    server = scope.get("server") or ("", 0)
    page = browser_refusal(
        headers.get("origin"), headers.get("host"), (listen_host, server[0]), fetch_site=headers.get("sec-fetch-site")
    )
    if page is not None and not (snapshot.router_key and authorized(snapshot, headers)):
        return Refusal(403, "permission_error", page)
    path = scope["path"]
    if is_admin(path) and not snapshot.router_key and not is_loopback(listen_host):
        return Refusal(403, "permission_error", ADMIN_FROM_ANOTHER_MACHINE)
    if methods is not None and scope["method"] not in methods:
        return not_allowed(scope["method"], path, methods)
    if needs_key(path) and not authorized(snapshot, headers):
        return Refusal(401, "authentication_error", UNAUTHORIZED)
    return None
