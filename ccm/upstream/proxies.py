"""The forward proxy for each upstream URL, from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY.

Read once when the client is made (the environment of a running proxy does not change), with the rules
of Python's urllib, which httpx's `trust_env` follows too: the lower-case names win, NO_PROXY lists hosts
or domain suffixes (`*` for all). aiohttp can tunnel through an http:// or https:// proxy; a proxy it
cannot use (socks5://, a malformed URL) is named in one line at start and in every attempt that needs it.
"""

from __future__ import annotations

import base64
import logging
import urllib.parse
import urllib.request
from dataclasses import dataclass

import httpx

log = logging.getLogger("ccm.upstream")

_USABLE = ("http", "https")


class ProxyUnusable(httpx.ProxyError):
    """A proxy setting ccm cannot use: the message names the variable and what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """A forward proxy: its URL without credentials, and the header that carries them (Basic, as curl and
    httpx send the user and password of `http://user:pass@host:port`)."""

    url: str
    headers: dict[str, str] | None


class Proxies:
    def __init__(self) -> None:
        self._env = urllib.request.getproxies_environment()
        self._for: dict[tuple[str, str], tuple[Proxy | None, str | None]] = {}
        self.problems: dict[str, str] = {}
        for scheme, value in self._env.items():
            if scheme == "no":
                continue
            problem = _problem(value)
            if problem:
                self.problems[scheme] = f"{scheme.upper()}_PROXY={_safe(value)}: {problem}"
                log.warning("%s", self.problems[scheme])

    def for_url(self, url: httpx.URL) -> Proxy | None:
        """The proxy URL for `url`, or None to connect directly. ProxyUnusable when the one it should use
        cannot be used."""
        key = (url.scheme, url.host)
        if key not in self._for:
            env = self._env
            bypass = not env or urllib.request.proxy_bypass_environment(url.host, env)  # type: ignore[attr-defined]  # public, not in typeshed
            scheme = url.scheme if url.scheme in env else "all"
            found = None if bypass else env.get(scheme)
            problem = self.problems.get(scheme) if found else None
            self._for[key] = (_proxy(found) if found and not problem else None, problem)
        proxy, problem = self._for[key]
        if problem:
            raise ProxyUnusable(problem)
        return proxy


def _proxy(value: str) -> Proxy:
    parsed = urllib.parse.urlsplit(value if "://" in value else f"http://{value}")
    if parsed.username is None:
        return Proxy(parsed.geturl(), None)
    raw = urllib.parse.unquote_to_bytes(parsed.username) + b":" + urllib.parse.unquote_to_bytes(parsed.password or "")
    netloc = parsed.netloc.rpartition("@")[2]
    return Proxy(
        parsed._replace(netloc=netloc).geturl(), {"Proxy-Authorization": "Basic " + base64.b64encode(raw).decode()}
    )


def _problem(value: str) -> str | None:
    if not value:
        return None
    text = value if "://" in value else f"http://{value}"
    try:
        parsed = urllib.parse.urlsplit(text)
        parsed.port  # noqa: B018  # raises on a port that is not a number
    except ValueError as exc:
        return f"not a proxy URL ({exc})"
    if parsed.scheme not in _USABLE:
        return f"{parsed.scheme}:// proxies are not supported (use an http:// or https:// proxy)"
    if not parsed.hostname:
        return "no host in the proxy URL"
    return None


def _safe(value: str) -> str:
    """The proxy URL without its password, for a log line."""
    try:
        parsed = urllib.parse.urlsplit(value if "://" in value else f"http://{value}")
    except ValueError:
        return "(unparsable)"
    if parsed.password is None:
        return value
    netloc = f"{parsed.username}:***@{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")
    return parsed._replace(netloc=netloc).geturl()
