"""`ccm models add NAME` on a terminal with no --map: pick each mapping's provider, then its model from the
provider's own list where its API has one (asked with the provider's credential), else typed by hand.

The list comes from the running proxy when it serves this config (GET /api/providers/NAME/models: it holds
every kind of login, OAuth and Google's included); with no proxy, an API-key or keyless provider is asked
directly. Any failure to list just means the model is typed instead.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import typer

from cli import admin, common
from config import secrets
from config.errors import CcmError
from config.schema import Config, ProviderConfig

SHOWN = 40
"""Models listed at most (a long list is narrowed by typing part of a name)."""


def fetch_models(cfg: Config, provider: ProviderConfig) -> list[str] | None:
    """The provider's model ids, or None when its API has no list or did not answer."""
    info = common.running()
    if info is not None and cfg.path is not None and admin.serves(info, cfg.path):
        try:
            status, data = admin.call(
                "GET", f"/api/providers/{quote(provider.name, safe='')}/models", info=info, timeout=40
            )
        except CcmError:
            return None
        models = data.get("models") if status == 200 and isinstance(data, dict) else None
        return [str(m) for m in models] if isinstance(models, list) else None
    if provider.auth_type != "apikey":
        return None  # an OAuth or Google login is the proxy's to use
    return asyncio.run(_direct(provider, cfg.server.timeouts.connect_timeout_ms / 1000))


async def _direct(provider: ProviderConfig, connect_s: float) -> list[str] | None:
    import httpx  # ~60 ms with the provider modules: only the interactive picker pays it

    from ccm.api.provider_check import list_models
    from ccm.auth.credentials import api_key

    key, _ = secrets.provider_key(provider.name, provider.api_key, provider.key_env)
    if key is None and not provider.spec.key_optional:
        return None
    async with httpx.AsyncClient(trust_env=True) as client:
        return await list_models(client, provider, api_key(key), connect_s=connect_s)


def _choose(prompt: str, choices: list[str], default: int | None = None) -> str:
    """A number from the list or a name typed out (an exact match, else the only one containing it)."""
    while True:
        answer = str(typer.prompt(prompt, default=str(default) if default else None)).strip()
        if answer.isdigit() and 1 <= int(answer) <= len(choices):
            return choices[int(answer) - 1]
        exact = [c for c in choices if c.lower() == answer.lower()]
        if exact:
            return exact[0]
        partial = [c for c in choices if answer.lower() in c.lower()]
        if len(partial) == 1:
            return partial[0]
        if partial:
            for number, choice in enumerate(partial[:SHOWN], start=1):
                common.echo(f"  {number}) {choice}")
            choices = partial
            continue
        return answer


def _pick_provider(cfg: Config) -> ProviderConfig:
    enabled = [p for p in cfg.providers if p.enabled] or list(cfg.providers)
    if not enabled:
        raise CcmError("the config has no provider yet", hint="`ccm providers add NAME --type TYPE` first")
    common.echo("Providers:")
    for number, p in enumerate(enabled, start=1):
        common.echo(f"  {number}) {p.name} ({p.provider_type})")
    while True:
        name = _choose("Provider", [p.name for p in enabled], default=1)
        provider = cfg.provider(name)
        if provider is not None:
            return provider
        common.echo(f"No provider named {name!r}: type a number from 1 to {len(enabled)}, or a name.")


def _pick_model(cfg: Config, provider: ProviderConfig) -> str:
    common.echo(f"Asking {provider.name} for its models...")
    models = fetch_models(cfg, provider)
    if not models:
        common.echo(f"{provider.name} gave no model list: type the model's name as {provider.name} knows it.")
        while True:
            typed = str(typer.prompt("Model")).strip()
            if typed:
                return typed
    for number, model in enumerate(models[:SHOWN], start=1):
        common.echo(f"  {number}) {model}")
    if len(models) > SHOWN:
        common.echo(f"  ... {len(models) - SHOWN} more: type part of a name to narrow the list")
    return _choose("Model (number or name)", models)


def ask_chain(cfg: Config) -> list[tuple[str, str]]:
    """Mappings in failover order, asked one by one until the person says no more."""
    chain: list[tuple[str, str]] = []
    while True:
        provider = _pick_provider(cfg)
        chain.append((provider.name, _pick_model(cfg, provider)))
        if not common.confirm("Add a fallback mapping (tried when this one fails)?", default=False):
            return chain
