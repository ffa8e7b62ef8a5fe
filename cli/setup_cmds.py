"""Scripted setup without editing TOML: `ccm providers add|remove`, `ccm models add|remove`, `ccm router unset`.

Each command edits the file through the surgical writer (config.save: comments and the rest of the file
stay as written), validates before writing, and asks a running proxy that serves that file to reload.
A provider's key never goes into the file: it is read as one line on stdin (hidden on a terminal) and
stored in the keyring, or named as an environment variable with `--key-env`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cli import admin, common
from cli.listing import models_app, providers_app
from cli.options import ConfigOpt
from cli.switch_cmds import NameArg, _unknown, router_app
from config import secrets
from config.catalog import CATALOG, ProviderSpec, lookup
from config.errors import CcmError
from config.load import load_config, nearest
from config.save import ROUTER_SLOTS, ConfigDocument
from config.schema import Config, key_env

_AUTH_TYPES = ("apikey", "oauth", "passthrough", "adc")


def _spec(provider_type: str) -> ProviderSpec:
    spec = lookup(provider_type)
    if spec is None:
        guess = nearest(provider_type, CATALOG)
        raise CcmError(
            f"unknown provider type {provider_type!r} (types: {', '.join(CATALOG)})",
            hint=f"did you mean '{guess}'?" if guess else None,
        )
    return spec


def _takes_key(spec: ProviderSpec, auth_type: str) -> bool:
    return auth_type == "apikey" and spec.auth != "google-adc"


def _read_key(name: str, optional: bool) -> str | None:
    """One line on stdin (`printf %s "$KEY" | ccm providers add ...`), hidden on a terminal; None when empty."""
    if sys.stdin.isatty():
        skip = "Enter: none, it needs no key" if optional else f"Enter to skip: `ccm keys set {name}` later"
        value = typer.prompt(f"API key for {name} (hidden; {skip})", default="", hide_input=True, show_default=False)
    else:
        value = sys.stdin.readline()
    return common.clean_key(str(value)) or None


def _apply(path: Path, change: Callable[[ConfigDocument], object]) -> Config:
    """Apply `change` to the file as it is now, validate and write, under the config's lock: a save by
    another command or the TUI since this one read the file is kept (ConfigError, file untouched, when
    the edit would make it invalid)."""
    return ConfigDocument.edit(path, change).config


@providers_app.command("add")
def provider_add(
    name: NameArg,
    provider_type: Annotated[
        str, typer.Option("--type", "-t", metavar="TYPE", help="A catalog type (see the README's table).")
    ],
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", metavar="URL", help="Overrides the catalog's URL (required for *-compatible)."),
    ] = None,
    key_env_var: Annotated[
        str | None,
        typer.Option(
            "--key-env", metavar="VAR", help='Read the key from $VAR (writes api_key = "$VAR"; nothing is asked).'
        ),
    ] = None,
    auth_type: Annotated[
        str | None,
        typer.Option("--auth-type", metavar="T", help="apikey, oauth, passthrough or adc (default: the type's)."),
    ] = None,
    project_id: Annotated[str | None, typer.Option("--project-id", metavar="P", help="vertex-ai: the project.")] = None,
    location: Annotated[str | None, typer.Option("--location", metavar="L", help="vertex-ai: the location.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Add a provider; its key is read as one line on stdin (hidden on a terminal) and kept in the keyring."""
    path = common.writable_config(config)
    cfg = load_config(path).config
    if "," in name or not name.strip():
        raise CcmError(f"a provider name must be non-empty and have no ',' (it selects `provider,model`): {name!r}")
    existing = cfg.provider(name)
    if existing is not None:
        raise CcmError(
            f"provider '{existing.name}' is already in {path}", hint=f"`ccm providers remove {existing.name}` first"
        )
    spec = _spec(provider_type)
    auth = auth_type.strip().lower().replace("api_key", "apikey") if auth_type else None
    if auth is not None and auth not in _AUTH_TYPES:
        raise CcmError(f"--auth-type must be one of {', '.join(_AUTH_TYPES)}, not {auth_type!r}")
    var = key_env_var.strip().lstrip("$") if key_env_var else None
    if var is not None and secrets.env_reference(f"${var}") is None:
        raise CcmError(f"--key-env takes a variable name such as ZAI_API_KEY, not {key_env_var!r}")
    if spec.base_url is None and not base_url:
        raise CcmError(f"--base-url is required for type {spec.type}", hint="the server's URL")
    fields = {
        "provider_type": spec.type,
        "auth_type": auth,
        "base_url": base_url,
        "api_key": f"${var}" if var else None,
        "project_id": project_id,
        "location": location,
    }
    doc = ConfigDocument.load(path)
    doc.upsert_provider(name, fields)
    flags = {
        "base_url": ("--base-url", base_url),
        "auth_type": ("--auth-type", auth_type),
        "api_key": ("--key-env", key_env_var),
        "project_id": ("--project-id", project_id),
        "location": ("--location", location),
    }
    common.check_edit(doc, flags)  # a bad --base-url or --auth-type is said before a key is asked for
    effective = auth or ("adc" if spec.auth == "google-adc" else "apikey")
    key = _read_key(name, spec.key_optional) if _takes_key(spec, effective) and not var else None
    _apply(path, lambda fresh: fresh.upsert_provider(name, fields))  # the file as it is after the prompt
    common.echo(f"Added provider {name} ({spec.type}) to {path}.")
    if key:
        where = secrets.store().set(secrets.key_name(name), key)
        place = "the OS keyring" if where == "keyring" else f"{secrets.store().file.path} (mode 0600, no OS keyring)"
        common.echo(f"Stored its key ({secrets.mask(key)}) in {place}.")
    elif _takes_key(spec, effective) and not var and not spec.key_optional:
        common.note(f"ccm: no key for {name} yet: `ccm keys set {name}`, or set {key_env(name)}")
    if effective == "oauth":
        common.echo(f"Log in with `ccm oauth login {name}`.")
    admin.reload_if_running(path)


def _users(cfg: Config, provider: str) -> list[str]:
    """What names a provider: models whose mappings use it and router slots written `provider,model`."""
    low = provider.lower()
    out = [f"model {m.name}" for m in cfg.models if any(x.provider.lower() == low for x in m.mappings)]
    for slot, value in cfg.router.slots().items():
        if value and "," in value and value.split(",", 1)[0].strip().lower() == low:
            out.append(f"router.{slot} ({value})")
    return out


@providers_app.command("remove")
def provider_remove(name: NameArg, config: ConfigOpt = None) -> None:
    """Remove a provider (refused while a model or a router slot uses it); its stored key is kept."""
    path = common.writable_config(config)
    cfg = load_config(path).config
    provider = cfg.provider(name)
    if provider is None:
        raise _unknown("provider", name, [p.name for p in cfg.providers], path)
    users = _users(cfg, provider.name)
    if users:
        raise CcmError(
            f"provider '{provider.name}' is used by {', '.join(users)}",
            hint="remove those mappings or change those slots first",
        )
    _apply(path, lambda doc: doc.delete_provider(provider.name))
    common.echo(f"Removed provider {provider.name} from {path}.")
    if secrets.store().get(secrets.key_name(provider.name)):
        common.note(f"ccm: its stored key is kept: `ccm keys delete {provider.name}` removes it")
    admin.reload_if_running(path)


def parse_map(value: str, cfg: Config, path: Path) -> tuple[str, str]:
    """`PROVIDER:ACTUAL`, split on the first ':' (so `local:qwen3:32b` works); the provider as configured."""
    provider_name, sep, actual = value.partition(":")
    if not sep or not provider_name.strip() or not actual.strip():
        raise CcmError(f"--map takes PROVIDER:MODEL (e.g. zai:glm-4.6), not {value!r}")
    provider = cfg.provider(provider_name.strip())
    if provider is None:
        raise _unknown("provider", provider_name.strip(), [p.name for p in cfg.providers], path)
    return provider.name, actual.strip()


@models_app.command("add")
def model_add(
    name: Annotated[str, typer.Argument(help="The model's name (what Claude Code or a router slot asks for).")],
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            "-m",
            metavar="PROVIDER:MODEL",
            help="A mapping, tried in the order given (repeatable); none on a terminal: asked, with the provider's list.",
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Add a model and its failover chain (--map PROVIDER:MODEL, in priority order)."""
    path = common.writable_config(config)
    cfg = load_config(path).config
    if "," in name or not name.strip():
        raise CcmError(f"a model name must be non-empty and have no ',' (it selects `provider,model`): {name!r}")
    existing = cfg.model(name)
    if existing is not None:
        raise CcmError(
            f"model '{existing.name}' is already in {path}", hint=f"`ccm models remove {existing.name}` first"
        )
    if maps:
        chain = [parse_map(value, cfg, path) for value in maps]
    elif sys.stdin.isatty() and sys.stdout.isatty():
        from cli import model_picker

        chain = model_picker.ask_chain(cfg)
    else:
        raise CcmError("no mapping given", hint="add --map PROVIDER:MODEL (repeatable, in failover order)")
    mappings = [{"provider": p, "actual_model": m, "priority": i} for i, (p, m) in enumerate(chain, start=1)]
    doc = ConfigDocument.load(path)
    doc.upsert_model(name, mappings)
    common.check_edit(doc, {"provider": ("--map", maps), "actual_model": ("--map", maps)})
    _apply(path, lambda fresh: fresh.upsert_model(name, mappings))
    steps = " -> ".join(f"{p}/{m}" for p, m in chain)
    common.echo(f"Added model {name} ({steps}) to {path}.")
    admin.reload_if_running(path)


@models_app.command("remove")
def model_remove(
    name: Annotated[str, typer.Argument(help="The model's name in the config.", show_default=False)],
    config: ConfigOpt = None,
) -> None:
    """Remove a model (refused while a router slot names it)."""
    path = common.writable_config(config)
    cfg = load_config(path).config
    model = cfg.model(name)
    if model is None:
        raise _unknown("model", name, cfg.model_names, path)
    slots = [slot for slot, value in cfg.router.slots().items() if value and value.lower() == model.name.lower()]
    if slots:
        fix = "`ccm router set SLOT OTHER`" + ("" if slots == ["default"] else " or `ccm router unset SLOT`")
        raise CcmError(
            f"model '{model.name}' is {', '.join(f'router.{s}' for s in slots)}",
            hint=f"point it elsewhere first: {fix}",
        )
    _apply(path, lambda doc: doc.delete_model(model.name))
    common.echo(f"Removed model {model.name} from {path}.")
    admin.reload_if_running(path)


@router_app.command("unset")
def unset_slot(
    slot: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROUTER_SLOTS[1:])}.", show_default=False)],
    config: ConfigOpt = None,
) -> None:
    """Clear a router slot: its requests go to router.default again (default itself cannot be unset)."""
    path = common.writable_config(config)
    key = slot.strip().lower().replace("-", "_")
    if key == "default":
        raise CcmError(
            "router.default cannot be unset: every request falls back to it", hint="`ccm router set default MODEL`"
        )
    if key not in ROUTER_SLOTS:
        guess = nearest(key, ROUTER_SLOTS[1:])
        raise CcmError(
            f"'{slot}' is not a router slot (slots: {', '.join(ROUTER_SLOTS[1:])})",
            hint=f"did you mean '{guess}'?" if guess else None,
        )
    doc = ConfigDocument.load(path)
    if doc.get_table("router").get(key) in (None, ""):
        common.echo(f"router.{key} is not set in {path}")
        return
    _apply(path, lambda fresh: fresh.set_value("router", key, None))
    common.echo(f"router.{key} unset in {path} (its requests go to router.default)")
    admin.reload_if_running(path)
