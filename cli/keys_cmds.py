"""`ccm keys set|delete|list`: provider API keys in the OS keyring (or the 0600 file when there is none)."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated

import typer

from cli import admin, common, tables
from cli.options import ConfigOpt, JsonOpt
from config import secrets
from config.errors import CcmError, ConfigError
from config.load import nearest
from config.schema import Config, ProviderConfig

app = typer.Typer(help="Provider API keys, kept in the OS keyring (never in the config file).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="The provider's name in the config.", show_default=False)]


def _config(explicit: str | None) -> Config | None:
    """The config when there is one; keys may be stored before a config exists."""
    path = common.config_path(explicit)
    if not path.exists():
        return None
    return common.load(path).config


def _canonical(name: str, cfg: Config | None, force: bool) -> str:
    """The provider's name as the config spells it (keys are looked up by that exact name)."""
    if cfg is None:
        return name
    provider = cfg.provider(name)
    if provider is not None:
        return provider.name
    if force:
        return name
    known = [p.name for p in cfg.providers]
    guess = nearest(name, known)
    hint = f"did you mean '{guess}'? " if guess else ""
    raise CcmError(
        f"provider '{name}' is not in {cfg.path} (configured: {', '.join(known) or 'none'})",
        hint=f"{hint}pass --force to store the key anyway",
    )


def _read_key(name: str) -> str:
    if sys.stdin.isatty():
        value = typer.prompt(f"API key for {name} (input hidden)", hide_input=True, default="", show_default=False)
    else:
        value = sys.stdin.readline()  # `printf %s "$KEY" | ccm keys set zai`
    value = common.clean_key(str(value))
    if not value:
        raise CcmError("no key given; nothing stored")
    return value


@app.command("set")
def set_key(
    name: NameArg,
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Store even if NAME is not a configured provider.")] = False,
) -> None:
    """Store a provider's API key (typed hidden, or one line on stdin); a running proxy reloads."""
    try:
        cfg = _config(config)
    except ConfigError:
        if not force:
            raise
        cfg = None
    canonical = _canonical(name, cfg, force)
    value = _read_key(canonical)
    where = secrets.store().set(secrets.key_name(canonical), value)
    place = "the OS keyring" if where == "keyring" else f"{secrets.store().file.path} (mode 0600, no OS keyring)"
    common.echo(f"Stored the key for {canonical} ({secrets.mask(value)}) in {place}.")
    provider = cfg.provider(canonical) if cfg is not None else None
    if cfg is not None and provider is not None:
        _say_what_wins(provider, cfg)
    admin.reload_if_running()


def _say_what_wins(provider: ProviderConfig, cfg: Config) -> None:
    """The config's literal api_key or a set $VAR outranks the stored key: say so, and how to change it."""
    if provider.auth_type != "apikey" or not provider.api_key:
        return
    var = secrets.env_reference(provider.api_key)
    if var is None:
        common.note(
            f"ccm: but {cfg.path} writes api_key for {provider.name}, and that key wins; remove that line to "
            "use the stored one"
        )
    elif os.environ.get(var):
        common.note(
            f'ccm: but {cfg.path} has api_key = "${var}" for {provider.name} and ${var} is set here, so that '
            f"wins while it is set; unset {var} or remove that line to use the stored key"
        )


@app.command("delete")
def delete_key(name: NameArg, config: ConfigOpt = None) -> None:
    """Remove a provider's stored API key; a running proxy reloads."""
    try:
        cfg = _config(config)
    except ConfigError:
        cfg = None
    canonical = _canonical(name, cfg, force=True)
    if not secrets.store().delete(secrets.key_name(canonical)):
        raise CcmError(f"no key stored for '{canonical}'")
    common.echo(f"Deleted the stored key for {canonical}.")
    admin.reload_if_running()


@app.command("list")
def list_keys(
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Each configured provider's key, masked, and where it comes from (config file, $VAR, keyring, secrets.json)."""
    cfg = common.load(config).config
    rows: list[dict[str, str | None]] = []
    for p in cfg.providers:
        if p.auth_type != "apikey":
            rows.append({"provider": p.name, "type": p.provider_type, "key": None, "source": p.auth_type})
            continue
        value, source = secrets.provider_key(p.name, p.api_key, p.key_env)
        rows.append(
            {
                "provider": p.name,
                "type": p.provider_type,
                "key": secrets.mask(value) if value else None,
                "source": source,
            }
        )
    if json_out:
        common.echo(json.dumps(rows, indent=2))
        return

    def described(row: dict[str, str | None]) -> str:
        if row["source"] == "missing":
            return f"missing: `ccm keys set {row['provider']}`"
        if row["source"] == "oauth":
            return f"OAuth: `ccm oauth login {row['provider']}`"
        if row["source"] == "passthrough":
            return "Claude Code's own login (`claude /login`)"
        return str(row["source"])

    tables.print_table(
        ["Provider", "Type", "Key", "Source"],
        [[str(r["provider"]), str(r["type"]), r["key"] or "", described(r)] for r in rows],
        title=f"Keys for {cfg.path}",
    )
