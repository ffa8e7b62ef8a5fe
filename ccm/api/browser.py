"""Browsers cannot drive the proxy.

With no router key (the default), any web page the user opens could POST to 127.0.0.1:13456/v1/messages
and spend the user's provider keys, or delete an OAuth token; a DNS-rebinding page (a name of the
attacker's that resolves to 127.0.0.1) could even read /api/config/json. Browsers send `Origin` on such
cross-site requests, `Sec-Fetch-Site` (other than `none` for what the user typed, `same-origin` for a
page of the same server) on every fetch, even where they leave `Origin` out, and always the page's own
name as `Host`; Claude Code, the CLI and the TUI send neither header and a loopback `Host`. So a request
with an `Origin`, a `Sec-Fetch-Site` from another site, or for a `Host` ccm does not serve, is refused
unless it carries the router key (https://developer.mozilla.org/docs/Web/HTTP/Headers/Sec-Fetch-Site).

`/health` is guarded too: it never needs the key, but a rebinding page could use it to fingerprint the
proxy (version, pid, config path); nothing that polls it (ccm's CLI, Docker or systemd health checks)
sends an `Origin` or a foreign `Host`.

When ccm listens beyond loopback (Docker, a team gateway), clients reach it under names ccm cannot know,
so any `Host` is accepted there (and `ccm start` warns when no router key is set); `Origin` and
`Sec-Fetch-Site` still are not.

    reason = refusal(headers.get("origin"), headers.get("host"), listen_hosts, fetch_site=headers.get("sec-fetch-site"))
    if reason and not carries_router_key: -> 403 permission_error
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

__all__ = ["LOOPBACK_NAMES", "host_name", "is_loopback", "refusal"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


@functools.lru_cache(maxsize=256)
def is_loopback(host: str) -> bool:
    """localhost, or an IP address in 127.0.0.0/8 or ::1 (`[::1]` brackets allowed).

    Cached: every request asks it of the same few names, and parsing the address was 2% of a small
    request's time (bench/profile.py)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
        return (getattr(address, "ipv4_mapped", None) or address).is_loopback  # ::ffff:127.0.0.1 too
    except ValueError:
        return False


def host_name(host: str) -> str:
    """The name in a Host header, without its port: `[::1]:13456` -> `::1`, `LocalHost.:80` -> `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


_SAME_SITE = frozenset({"none", "same-origin"})


def refusal(
    origin: str | None, host: str | None, listen_hosts: Iterable[str], fetch_site: str | None = None
) -> str | None:
    """Why a request must carry the router key to be served, or None.

    `listen_hosts`: the address ccm listens on and the one the connection arrived on; when one of them is
    not loopback, ccm serves beyond this machine and any Host is accepted."""
    if origin is not None:
        return _from_a_page(f"Origin: {origin[:80]}")
    if fetch_site is not None and fetch_site.strip().lower() not in _SAME_SITE:
        return _from_a_page(f"Sec-Fetch-Site: {fetch_site[:40]}")
    if not host:
        return None  # HTTP/1.0 without Host: no browser sends that
    listening = [h for h in listen_hosts if h]
    if any(not is_loopback(h) for h in listening):
        return None  # 0.0.0.0, a LAN address, a container's: served beyond this machine
    name = host_name(host)
    if is_loopback(name) or name in {host_name(h) for h in listening}:
        return None  # an IP literal cannot be rebound; `localhost` never resolves to an attacker
    return (
        f"ccm refuses requests for host '{name[:80]}' (only 127.0.0.1, localhost and [::1] are served; "
        "a DNS-rebinding web page looks like this); send the router key (server.api_key) to allow it"
    )


def _from_a_page(evidence: str) -> str:
    return (
        f"ccm refuses requests from web pages ({evidence}): a page could spend your provider keys; "
        "send the router key (server.api_key) to allow it"
    )
