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

from ccm.auth.credentials import Credential
from ccm.auth.redact import redact
from ccm.providers.base import RequestContext, UpstreamRequest
from ccm.providers.registry import adapter_for
from ccm.routing import Candidate
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


#: Where each wire lists its models (a 1-token request where none is listed, or the server has none).
_MODEL_LISTS = {"anthropic": "/v1/models", "openai": "/models", "responses": "/models", "gemini": "/models"}
CHATGPT_CLIENT_VERSION = "0.124.0"
"""The ChatGPT backend lists models only for a Codex client this recent (`client_version`; an older one
gets no list), as the Codex CLI (https://github.com/openai/codex) asks for them."""


def _ping(provider: ProviderConfig, credential: Credential, model: str) -> UpstreamRequest:
    """The 1-token request, built by the provider's own adapter: its URL, auth, headers and body, as a
    real request would have them, on every wire."""
    adapter = adapter_for(provider.wire)
    assert adapter is not None
    body = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
    ctx = RequestContext(Candidate(provider, model), credential, {}, requested_model=model)
    return adapter.build(body, ctx)


def _list_headers(ping: UpstreamRequest) -> dict[str, str]:
    return {k: v for k, v in ping.headers.items() if k.lower() not in ("content-type", "accept")}


def _models_url(provider: ProviderConfig) -> str | None:
    path = _MODEL_LISTS.get(provider.wire)
    if path is None:
        return None
    url = provider.url(path)
    if provider.wire == "responses" and provider.auth_type == "oauth":
        url += f"?client_version={CHATGPT_CLIENT_VERSION}"
    return url


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
    if provider.wire not in BUILT_WIRES or adapter_for(provider.wire) is None:
        return _failure(f"the {provider.wire} wire format is not supported yet")
    ping = _ping(provider, credential, model or "ping")
    timeout = httpx.Timeout(connect_s, read=30.0)
    started = time.perf_counter()
    url = _models_url(provider) or ping.url
    try:
        status = None
        if _models_url(provider) is not None:
            response = await client.get(url, headers=_list_headers(ping), timeout=timeout)
            status = response.status_code
        if status is None or (status in _NO_LIST and credential.kind != "passthrough"):
            if not model:
                return _failure(
                    f"{url}: no model list ({status}), and no model maps to this provider to try", status, started, url
                )
            url = ping.url
            response = await client.post(url, content=ping.body, headers=ping.headers, timeout=timeout)
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


async def list_models(
    client: httpx.AsyncClient, provider: ProviderConfig, credential: Credential, *, connect_s: float
) -> list[str] | None:
    """The model ids the provider's API lists, with its own credential (for a person picking a model);
    None when the API has no list or does not give it."""
    url = _models_url(provider)
    if url is None or credential.kind == "passthrough" or adapter_for(provider.wire) is None:
        return None
    headers = _list_headers(_ping(provider, credential, "ping"))
    try:
        response = await client.get(url, headers=headers, timeout=httpx.Timeout(connect_s, read=30.0))
    except (httpx.HTTPError, UnicodeEncodeError):
        return None
    if response.status_code != 200:
        return None
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return model_ids(data)


def model_ids(data: Any) -> list[str] | None:
    """Ids from a model list: `data[].id` (Anthropic, OpenAI), `models[].name` (Gemini) or `models[].slug`
    (ChatGPT), sorted; None when the shape is none of these."""
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        items = data.get("models") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None
    ids = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        value = item.get("id") or item.get("slug") or item.get("name")
        if isinstance(value, str) and value:
            ids.add(value.removeprefix("models/"))
    return sorted(ids)


def _reason(response: httpx.Response) -> str:
    """The upstream's own error message where it sent one, else its body's start; redacted (it may quote
    the key it was sent)."""
    return redact(_raw_reason(response))


def _raw_reason(response: httpx.Response) -> str:
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
