"""The edge's rules, written once for every route: the lean Messages path (ccm.serve.edge) and the Quart app
(ccm.serve.quart_app) alike. Framework-free: ccm.serve.edge answers a refusal before either sees the request.

In this order, the first that applies answers (an Anthropic error):

    400  both content-length and transfer-encoding     the connection is closed after the answer
    403  a web page's request (ccm.api.browser)         unless it carries the router key (a client key
                                                        lifts the Host check on /v1/* only)
    403  the admin API (/api/*, /metrics) while ccm     whatever the key: set server.api_key first
         serves beyond loopback with no router key
    405  a method the endpoint does not take            the lean endpoints; Quart routes say it themselves
    403  a client key on the admin API                   only the router key opens /api/*, /metrics
    401  no router key where one is needed              /v1/*, /api/* but /api/hello, /metrics; on /v1/*
                                                        a [[clients]] key serves too

admit() also says who is calling (a Caller: the operator, a client, or nobody), once per request: the edge
passes it on in the headers (forwarded: CLIENT_HEADER, the key's own header parts consumed).

Body limits (413, 408), 404, 405 and 500 answers take their wording from here too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ccm.api.browser import is_loopback
from ccm.api.browser import refusal as browser_refusal
from ccm.auth.callers import OPERATOR, digest
from ccm.serve.state import Snapshot

UNAUTHORIZED = "invalid or missing router key (server.api_key)"
UNAUTHORIZED_CLIENTS = (
    "invalid or missing key: send your client key (or the router key) as x-api-key or Authorization: Bearer"
)
CLIENT_NOT_ADMIN = (
    "a client key does not open the admin API (/api/*, /metrics): only the router key (server.api_key) does"
)
CLIENT_HEADER = "x-ccm-client"
"""Set by the edge alone (a request's own is dropped): the [[clients]] name that sent the request."""
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


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a request, as the edge identified it (once per request).

    `client`: a [[clients]] name, or None for the operator (the router key) and when no key is needed;
    `keyed`: it carried the router key or a client key; `consumed`: the (header, value) parts that carried
    a key, which never go further (not to a passthrough provider, not to a log)."""

    client: str | None = None
    keyed: bool = False
    consumed: tuple[tuple[str, str], ...] = ()

    @property
    def operator(self) -> bool:
        return self.keyed and self.client is None


NOBODY = Caller()
_KEY_HEADERS = ("x-ccm-key", "x-api-key", "authorization")
"""Where a key may come, in precedence order: the first that carries a known key names the caller."""


def identify(snapshot: Snapshot, headers: HeaderLookup) -> Caller:
    """The caller a request's keys name (x-ccm-key, then x-api-key, then Authorization: Bearer). Every
    part that carries a known key is consumed, whoever it names; a header that came twice (joined_headers:
    "a, b") is judged part by part, so a stale key beside the right one is no reason to refuse."""
    owners = snapshot.key_owners
    if not owners:
        return NOBODY
    owner: str | None = None
    consumed: list[tuple[str, str]] = []
    for name in _KEY_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        for part in value.split(", ") if ", " in value else (value,):
            token = part.strip()
            if name == "authorization":
                if token[:7].lower() != "bearer ":
                    continue
                token = token[7:].strip()
            found = owners.get(digest(token))  # a keyed digest: the lookup's timing reveals nothing (ccm.auth.callers)
            if found is None:
                continue
            consumed.append((name, part))
            if owner is None:
                owner = found
    if owner is None:
        return NOBODY
    return Caller(None if owner == OPERATOR else owner, True, tuple(consumed))


def authorized(snapshot: Snapshot, headers: HeaderLookup) -> bool:
    """When server.api_key is set, clients must send it (or a [[clients]] key) as x-ccm-key, x-api-key or
    Authorization: Bearer (with a passthrough provider Claude Code's own login travels in Authorization, the
    key in x-ccm-key). `headers`: lower-case names (ccm.serve.edge's), or Quart's case-insensitive ones."""
    return not snapshot.router_key or identify(snapshot, headers).keyed


def forwarded(headers: dict[str, str], caller: Caller) -> dict[str, str]:
    """The headers the endpoints see: without the parts that carried a key, without a CLIENT_HEADER the
    request brought itself, and with CLIENT_HEADER naming the client the edge identified."""
    if not caller.consumed and CLIENT_HEADER not in headers:
        return headers
    out = dict(headers)
    out.pop(CLIENT_HEADER, None)
    for name, part in caller.consumed:
        value = out.get(name)
        if value is None:
            continue
        kept = [p for p in value.split(", ") if p != part] if value != part else []
        if kept:
            out[name] = ", ".join(kept)
        else:
            del out[name]
    if caller.client is not None:
        out[CLIENT_HEADER] = caller.client
    return out


def client_of(headers: Mapping[str, str]) -> str | None:
    """The [[clients]] name the edge put on a request (forwarded), or None for the operator or no key."""
    return headers.get(CLIENT_HEADER)


def is_admin(path: str) -> bool:
    return path.startswith("/api/") or path == "/metrics"


def needs_key(path: str) -> bool:
    """Claude Code's /api/hello probe carries no key, and /health never needs one."""
    return path.startswith("/v1/") or (is_admin(path) and path != "/api/hello")


def unread(refusal: Refusal, headers: Mapping[str, str]) -> Refusal:
    """A refusal answered before the request's body was read says `connection: close`: the server may
    close the connection once it has answered (the body still coming in), and a client that sent its next
    request on it meanwhile would get no answer at all."""
    has_body = headers.get("content-length", "0").strip() not in ("", "0") or "transfer-encoding" in headers
    if not has_body or refusal.headers.get("connection") == "close":
        return refusal
    return dataclasses.replace(refusal, headers={**refusal.headers, "connection": "close"})


def admit(
    snapshot: Snapshot,
    headers: Mapping[str, str],
    scope: Mapping[str, Any],
    listen_host: str,
    methods: tuple[str, ...] | None = None,
) -> Refusal | Caller:
    """The edge's answer to a request it must not serve (the table above), or the Caller to serve it for.

    `headers`: joined_headers'; `listen_host`: the address ccm listens on; `methods`: those the endpoint
    takes, when the edge answers it itself."""
    if "content-length" in headers and "transfer-encoding" in headers:
        return Refusal(400, "invalid_request_error", BOTH_LENGTHS, {"connection": "close"})
    caller = identify(snapshot, headers)
    path = scope["path"]
    server = scope.get("server") or ("", 0)
    listening = (listen_host, server[0])
    origin, fetch_site = headers.get("origin"), headers.get("sec-fetch-site")
    page = browser_refusal(origin, headers.get("host"), listening, fetch_site=fetch_site)
    # The router key lifts every browser check; a client key only the Host check, and only on /v1/*
    # (a team reaches the gateway under names ccm cannot know; a web page still cannot drive it).
    if page is not None and not caller.operator:
        host_only = (
            caller.keyed and path.startswith("/v1/") and browser_refusal(origin, None, listening, fetch_site) is None
        )
        if not host_only:
            return Refusal(403, "permission_error", page)
    if is_admin(path) and not snapshot.router_key and not is_loopback(listen_host):
        return Refusal(403, "permission_error", ADMIN_FROM_ANOTHER_MACHINE)
    if methods is not None and scope["method"] not in methods:
        return not_allowed(scope["method"], path, methods)
    if needs_key(path):
        if caller.client is not None and is_admin(path):
            return Refusal(403, "permission_error", CLIENT_NOT_ADMIN)
        if snapshot.router_key and not caller.keyed:
            message = UNAUTHORIZED_CLIENTS if snapshot.config.clients else UNAUTHORIZED
            return Refusal(401, "authentication_error", message)
    return caller
