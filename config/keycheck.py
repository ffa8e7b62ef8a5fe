"""Which providers cannot authenticate, said before a request finds out.

A provider with no key, or whose `api_key = "$VAR"` names an unset variable, is not fatal: the proxy
logs it once at start (and again when a reload changes it), `ccm start` warns about it, and a request
that reaches it fails over with the same message. "No key needed" and "missing" differ only on the
key-optional types (local servers): there an explicit `api_key = "$VAR"` whose variable is unset is a
missing key, because the user asked for one. Passthrough providers carry Claude Code's own login, and
OAuth and ADC providers have their own checks: none of them ever has a missing API key.

    missing = missing_keys(config, keys)          # {"zai": "provider 'zai' has no API key: ..."}
    for line in start_warnings(config, keys):     # what `ccm start` prints, one line each
        ...
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from config import secrets
from config.schema import Config, ProviderConfig

__all__ = ["login_problem", "missing_key", "missing_keys", "resolve_keys", "routed_providers", "start_warnings"]


def resolve_keys(config: Config) -> dict[str, str | None]:
    """Provider name (lower-case) -> its API key from config / $VAR / keyring / NAME_API_KEY, or None.

    May block on the OS keyring: the proxy calls it from a thread."""
    keys: dict[str, str | None] = {}
    for provider in config.providers:
        if provider.auth_type == "oauth":
            keys[provider.name.lower()] = None
            continue
        value, _source = secrets.provider_key(provider.name, provider.api_key, provider.key_env)
        # A key pasted with a trailing newline or space (a CRLF .env file) works instead of failing.
        keys[provider.name.lower()] = value.strip() if value else None
    return keys


def missing_key(provider: ProviderConfig, resolved: str | None) -> str | None:
    """The message for an API-key provider that needs a key and has none; None when it has one or needs none."""
    if provider.auth_type != "apikey" or resolved:
        return None
    var = secrets.env_reference(provider.api_key)
    if provider.spec.key_optional and var is None:
        return None  # a keyless local server (a literal key would have resolved)
    return f"provider '{provider.name}' has no API key: run `ccm keys set {provider.name}` or set {var or provider.key_env}"


def missing_keys(config: Config, keys: Mapping[str, str | None]) -> dict[str, str]:
    """Provider name (lower-case) -> message, for every provider whose key is missing (enabled or not)."""
    out: dict[str, str] = {}
    for provider in config.providers:
        message = missing_key(provider, keys.get(provider.name.lower()))
        if message:
            out[provider.name.lower()] = message
    return out


def login_problem(provider: ProviderConfig) -> str | None:
    """An OAuth provider with no stored token (`oauth:<id>`), as `ccm start` warns about it."""
    if provider.auth_type != "oauth":
        return None
    token_id = provider.oauth_provider or provider.name
    value, _where = secrets.store().lookup(f"oauth:{token_id}")
    if value:
        return None
    return f"provider '{provider.name}' has no login: run `ccm oauth login {provider.name}`"


def routed_providers(config: Config) -> list[ProviderConfig]:
    """The enabled providers some model maps to, in file order: the ones the router can send a request to."""
    mapped = {m.provider.lower() for model in config.models for m in model.mappings}
    return [p for p in config.providers if p.enabled and p.name.lower() in mapped]


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def start_warnings(config: Config, keys: Mapping[str, str | None], host: str | None = None) -> list[str]:
    """What `ccm start` warns about: routed providers with no key or login, and an open proxy with no key."""
    lines: list[str] = []
    for provider in routed_providers(config):
        problem = missing_key(provider, keys.get(provider.name.lower())) or login_problem(provider)
        if problem:
            lines.append(problem)
    listen = host or config.server.host
    if is_loopback(listen):
        return lines
    if not config.server.api_key:
        lines.append(
            f"the proxy listens on {listen}, beyond this machine, and server.api_key is not set: anyone who "
            "can reach it can spend your provider keys (set server.api_key)"
        )
    for provider in routed_providers(config):
        if provider.auth_type in ("oauth", "passthrough"):
            what = "serves one ChatGPT login" if provider.auth_type == "oauth" else "forwards Claude Pro/Max logins"
            lines.append(
                f"the proxy listens on {listen}, beyond this machine, and provider '{provider.name}' {what}: a "
                "subscription is one person's, not a team's (use API keys on a shared gateway)"
            )
    return lines
