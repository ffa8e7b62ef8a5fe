"""Small HTTP pieces every route shares, framework-free: request headers as ccm reads them, the router-key
check and the browser check (Quart's responses are in ccm.api.quart_json, so the lean path never imports it)."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ccm.api.browser import refusal
from ccm.serve.state import Snapshot


class HeaderLookup(Protocol):
    """A case-insensitive `get`: ccm.serve.edge's lower-cased dict, or a Quart request's Headers."""

    def get(self, key: str, /) -> str | None: ...


def joined_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Request headers as ccm passes them on: lower-case names, a repeated one as one comma list (RFC 9110
    5.3), so two anthropic-beta lines are both kept. The lean path and the Quart routes both use it."""
    out: dict[str, str] = {}
    for key, value in pairs:
        name = key.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


UNAUTHORIZED = "invalid or missing router key (server.api_key)"


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


def browser_refusal(snapshot: Snapshot, headers: HeaderLookup, scope: Mapping[str, Any]) -> str | None:
    """Why this request must be refused as a web page's (ccm/api/browser.py), or None: the router key lifts it."""
    server = scope.get("server") or ("", 0)
    why = refusal(headers.get("origin"), headers.get("host"), (snapshot.config.server.host, server[0]))
    if why is None or (snapshot.router_key and authorized(snapshot, headers)):
        return None
    return why
