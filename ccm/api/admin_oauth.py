"""The admin API's OAuth routes: log in (authorize + exchange), list, refresh, delete, reload tokens.

While a proxy runs, the CLI and the TUI refresh and delete through these routes, so only the proxy's
TokenManager ever spends a refresh token (it rotates: two refreshers would log the user out). Tokens are
listed masked and never returned whole. Bodies as claude-code-mux's: `{oauth_type}` for authorize,
`{code, verifier, provider_id, oauth_type}` for exchange (plus optional `state` and `redirect_uri`),
`{provider_id}` for the rest (`{provider}` is accepted too).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
from quart import Quart, Response, request

from ccm.api.quart_json import anthropic_error as _error
from ccm.api.quart_json import json_response as _json
from ccm.auth.credentials import CredentialError
from ccm.auth.oauth import flow, tokens
from ccm.auth.oauth.callback import redirect_uri
from ccm.auth.redact import redact
from ccm.serve.services import Services
from config.schema import Config

OPENAI_TYPES = ("openai", "openai-codex", "chatgpt", "codex")
REFUSED_TYPES = {
    "anthropic": "ccm does not log in to Claude: Anthropic allows Pro/Max credentials only inside Claude Code. "
    'Set the provider\'s auth_type = "passthrough" and log in with `claude /login`',
    "gemini": "ccm does not log in to Google: the Gemini CLI's login serves Code Assist licences only and "
    "Google forbids its use by other tools. Use a Gemini API key (`ccm keys set NAME`) or vertex-ai with ADC",
}


async def _body() -> dict[str, Any]:
    try:
        data = orjson.loads(await request.get_data())
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _name(body: dict[str, Any]) -> str:
    return str(body.get("provider_id") or body.get("provider") or "").strip()


def _token_id(config: Config, name: str) -> str:
    """A provider's token id (its `oauth_provider`, else its name), or `name` itself when no provider has it."""
    provider = config.provider(name)
    return tokens.token_id(provider) if provider is not None else name


async def _named(config: Config) -> tuple[str, str] | Response:
    """The provider a token route is about, and its token id; a 400 when the body names none."""
    name = _name(await _body())
    if not name:
        return _error(400, "invalid_request_error", 'the body needs {"provider_id": NAME}')
    return name, _token_id(config, name)


def _refused_type(oauth_type: str) -> str | None:
    kind = oauth_type.lower()
    if kind.startswith(("anthropic", "claude")):
        return REFUSED_TYPES["anthropic"]
    if kind.startswith("gemini") or kind.startswith("google"):
        return REFUSED_TYPES["gemini"]
    return None if kind in OPENAI_TYPES or not kind else f"unknown oauth_type {oauth_type!r} (ccm logs in to openai)"


def _code(raw: str, state: str | None) -> str:
    """The code from what a user pasted: a redirect URL (state checked when given) or the bare code."""
    if state:
        return flow.code_from_paste(raw, state)
    if "://" in raw:
        return parse_qs(urlsplit(raw).query).get("code", [""])[0]
    return raw.strip()


def register_oauth(app: Quart, services: Services) -> None:
    _register_login(app, services)
    _register_tokens(app, services)


def _register_login(app: Quart, services: Services) -> None:
    """The login's two steps: authorize (a URL to open) and exchange (the pasted code for a token)."""

    @app.post("/api/oauth/authorize")
    async def oauth_authorize() -> Response:
        body = await _body()
        refused = _refused_type(str(body.get("oauth_type") or "openai"))
        if refused:
            return _error(400, "invalid_request_error", refused)
        login = flow.BrowserLogin.start(serve=False)  # the caller pastes the redirect into /exchange
        return _json(
            {
                "auth_url": login.url,
                "verifier": login.pkce.verifier,
                "state": login.state,
                "redirect_uri": login.redirect,
                "oauth_type": "openai",
            }
        )

    @app.post("/api/oauth/exchange")
    async def oauth_exchange() -> Response:
        body = await _body()
        refused = _refused_type(str(body.get("oauth_type") or "openai"))
        name, code, verifier = _name(body), str(body.get("code") or ""), str(body.get("verifier") or "")
        if refused:
            return _error(400, "invalid_request_error", refused)
        if not (name and code and verifier):
            return _error(400, "invalid_request_error", 'the body needs {"code", "verifier", "provider_id"}')
        tid = _token_id(services.holder.current.config, name)
        try:
            token = await flow.exchange(
                services.client,
                _code(code, body.get("state")),
                verifier,
                str(body.get("redirect_uri") or redirect_uri(flow.CALLBACK_PORTS[0])),
            )
        except flow.LoginError as exc:
            return _error(400, "invalid_request_error", redact(exc.message, code, verifier))
        await asyncio.to_thread(tokens.save, tid, token)
        services.oauth.adopt(tid, token)
        services.fresh_start(name)
        return _json({"status": "ok", "token": tokens.view(tid, token)})


def _register_tokens(app: Quart, services: Services) -> None:
    """The tokens' life after a login: list, refresh, delete, and reload after a login elsewhere."""
    holder = services.holder

    @app.get("/api/oauth/tokens")
    async def oauth_tokens() -> Response:
        config = holder.current.config
        names = {tokens.token_id(p): None for p in config.providers if p.auth_type == "oauth"}
        found = await asyncio.to_thread(lambda: [(tid, tokens.load(tid)) for tid in names])
        return _json({"tokens": [tokens.view(tid, token) for tid, token in found if token is not None]})

    @app.post("/api/oauth/tokens/refresh")
    async def oauth_refresh() -> Response:
        named = await _named(holder.current.config)
        if isinstance(named, Response):
            return named
        name, tid = named
        if await asyncio.to_thread(tokens.load, tid) is None:
            return _error(404, "not_found_error", f"no OAuth token for provider '{name}' (`ccm oauth login {name}`)")
        try:
            token = await services.oauth.refresh_now(tid, name)
            services.fresh_start(name)
        except CredentialError as exc:  # never 401 here: that status means "wrong router key" to our clients
            return _error(
                502 if exc.transient else 400,
                "api_error" if exc.transient else "invalid_request_error",
                redact(exc.message),
            )
        return _json({"status": "refreshed", "token": tokens.view(tid, token)})

    @app.post("/api/oauth/tokens/delete")
    async def oauth_delete() -> Response:
        named = await _named(holder.current.config)
        if isinstance(named, Response):
            return named
        name, tid = named
        removed = await asyncio.to_thread(tokens.delete, tid)
        services.oauth.drop(tid)
        if not removed:
            return _error(404, "not_found_error", f"no OAuth token for provider '{name}'")
        return _json({"status": "deleted", "provider": tid})

    @app.post("/api/oauth/tokens/reload")
    async def oauth_reload() -> Response:
        named = await _named(holder.current.config)
        if isinstance(named, Response):
            return named
        name, tid = named
        services.oauth.drop(tid)
        services.fresh_start(name)
        return _json({"status": "reloaded", "provider": tid})
