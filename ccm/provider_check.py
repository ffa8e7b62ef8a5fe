"""The provider check behind `POST /api/providers/{name}/test` (and so `ccm providers list --check`,
`ccm models list --check` and the TUI's test): one cheap real request with the provider's own
credential and headers.

    result = await check_provider(client, provider, credential, model="glm-4.6", connect_s=10.0)
    result.as_dict()  -> {"ok": True, "status": 200, "latency_ms": 42, "message": "ok", "url": "..."}

The model list is asked first where the API has one; a server without it (404/405, e.g. a llama.cpp or
z.ai endpoint) gets a 1-token request for a model mapped to it instead. A keyless credential sends no
auth header (local servers); a passthrough provider is checked for reachability only, since the login
it forwards is Claude Code's own and not ccm's (any answer below 500 passes, a 401 included).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import orjson

from ccm.credentials import Credential
from ccm.providers.anthropic import auth_headers
from config.catalog import BUILT_WIRES
from config.schema import ProviderConfig

_ANTHROPIC_VERSION = "2023-06-01"
_NO_LIST = (404, 405)
"""Statuses that mean "this server has no model list": fall back to a 1-token request."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    status: int | None
    latency_ms: int
    message: str
    url: str | None = None
    """The last URL asked (failures name it, so a wrong base_url shows)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _headers(provider: ProviderConfig, credential: Credential) -> dict[str, str]:
    headers = dict(provider.headers)
    if provider.wire == "anthropic":
        headers["anthropic-version"] = _ANTHROPIC_VERSION
    if credential.kind != "passthrough":
        headers.update(auth_headers(provider.spec.auth, credential.secret))
    return headers


def _ping(provider: ProviderConfig, model: str) -> tuple[str, bytes]:
    """The 1-token request: its URL and body."""
    body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
    path = "/v1/messages" if provider.wire == "anthropic" else "/chat/completions"
    return provider.url(path), orjson.dumps(body)


def _models_url(provider: ProviderConfig) -> str:
    return provider.url("/v1/models" if provider.wire == "anthropic" else "/models")


def _failure(
    message: str, status: int | None = None, started: float | None = None, url: str | None = None
) -> CheckResult:
    latency = 0 if started is None else round((time.perf_counter() - started) * 1000)
    return CheckResult(False, status, latency, message, url)


async def check_provider(
    client: httpx.AsyncClient,
    provider: ProviderConfig,
    credential: Credential,
    *,
    model: str | None,
    connect_s: float,
) -> CheckResult:
    """Check one provider with a ready credential; `model` is one mapped to it (for the 1-token request)."""
    if provider.wire not in BUILT_WIRES:
        return _failure(f"the {provider.wire} wire format is not supported yet")
    headers = _headers(provider, credential)
    timeout = httpx.Timeout(connect_s, read=30.0)
    started = time.perf_counter()
    url = _models_url(provider)
    try:
        response = await client.get(url, headers=headers, timeout=timeout)
        if response.status_code in _NO_LIST and credential.kind != "passthrough":
            if not model:
                return _failure(
                    f"{url}: no model list ({response.status_code}), and no model maps to this provider to try",
                    response.status_code,
                    started,
                    url,
                )
            url, body = _ping(provider, model)
            post_headers = {**headers, "content-type": "application/json"}
            response = await client.post(url, content=body, headers=post_headers, timeout=timeout)
    except (httpx.HTTPError, UnicodeEncodeError) as exc:
        if isinstance(exc, httpx.LocalProtocolError | UnicodeEncodeError):
            return _failure("the API key or a header has a character HTTP cannot send", None, started, url)
        return _failure(f"{url}: connection failed ({type(exc).__name__})", None, started, url)
    latency = round((time.perf_counter() - started) * 1000)
    status = response.status_code
    if credential.kind == "passthrough":
        ok = status < 500
        message = "reachable (it forwards Claude Code's own login)" if ok else f"{url}: {_reason(response)}"
        return CheckResult(ok, status, latency, message, url)
    if 200 <= status < 300:
        return CheckResult(True, status, latency, "ok", url)
    return CheckResult(False, status, latency, f"{response.request.method} {url}: {_reason(response)}", url)


def _reason(response: httpx.Response) -> str:
    """The upstream's own error message where it sent one, else its body's start."""
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return str(data["message"])
    text = " ".join(response.text.split())[:200]
    return text or response.reason_phrase or f"HTTP {response.status_code}"
