"""Scripted switching: `ccm providers enable|disable NAME`, `ccm router set SLOT MODEL`.

Each edits one key through the surgical writer (config.save: the rest of the file stays byte for byte),
validates before writing, and asks a running proxy to reload (it would also see the file within 2 s).
A name that is not configured is one line on stderr with the nearest name, and the file is not touched.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import admin, common
from cli.listing import providers_app
from cli.options import ConfigOpt
from config.errors import CcmError
from config.load import load_config, nearest
from config.save import ROUTER_SLOTS, ConfigDocument
from config.schema import Config

router_app = typer.Typer(help="Change the router's slots from a script.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="The provider's name in the config.", show_default=False)]


def _unknown(kind: str, name: str, known: list[str], path: object) -> CcmError:
    guess = nearest(name, known)
    return CcmError(
        f"{kind} '{name}' is not in {path} (configured: {', '.join(known) or 'none'})",
        hint=f"did you mean '{guess}'?" if guess else None,
    )


def _switch(name: str, enabled: bool, config: str | None) -> None:
    path = common.writable_config(config)
    cfg = load_config(path).config
    provider = cfg.provider(name)
    if provider is None:
        raise _unknown("provider", name, [p.name for p in cfg.providers], path)
    word = "enabled" if enabled else "disabled"
    if provider.enabled == enabled:
        common.echo(f"provider {provider.name} is already {word} in {path}")
        return
    ConfigDocument.edit(path, lambda doc: doc.set_provider_value(provider.name, "enabled", enabled))
    common.echo(f"provider {provider.name} {word} in {path}")
    admin.reload_if_running(path)


@providers_app.command("enable")
def enable(name: NameArg, config: ConfigOpt = None) -> None:
    """Turn a provider on (saved; a running proxy reloads and closes its circuit)."""
    _switch(name, True, config)


@providers_app.command("disable")
def disable(name: NameArg, config: ConfigOpt = None) -> None:
    """Turn a provider off: its mappings are skipped (saved; a running proxy reloads)."""
    _switch(name, False, config)


def _target(value: str, cfg: Config, path: object) -> str:
    """A configured model's name as the config spells it, or `provider,model` with a configured provider."""
    if "," in value:
        provider_name, model = (part.strip() for part in value.split(",", 1))
        provider = cfg.provider(provider_name)
        if provider is None:
            raise _unknown("provider", provider_name, [p.name for p in cfg.providers], path)
        if not model:
            raise CcmError(f"'{value}' names no model after the ','")
        return f"{provider.name},{model}"
    model_cfg = cfg.model(value)
    if model_cfg is None:
        raise _unknown("model", value, cfg.model_names, path)
    return model_cfg.name


@router_app.command("set")
def set_slot(
    slot: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROUTER_SLOTS)}.", show_default=False)],
    model: Annotated[str, typer.Argument(help="A configured model, or provider,model.", show_default=False)],
    config: ConfigOpt = None,
) -> None:
    """Point a router slot at a model (saved; a running proxy reloads)."""
    path = common.writable_config(config)
    key = slot.strip().lower().replace("-", "_")
    if key not in ROUTER_SLOTS:
        guess = nearest(key, ROUTER_SLOTS)
        raise CcmError(
            f"'{slot}' is not a router slot (slots: {', '.join(ROUTER_SLOTS)})",
            hint=f"did you mean '{guess}'?" if guess else None,
        )
    cfg = load_config(path).config
    value = _target(model, cfg, path)
    if cfg.router.slots().get(key) == value:
        common.echo(f"router.{key} is already {value} in {path}")
        return
    ConfigDocument.edit(path, lambda doc: doc.set_value("router", key, value))
    common.echo(f"router.{key} = {value} in {path}")
    admin.reload_if_running(path)
