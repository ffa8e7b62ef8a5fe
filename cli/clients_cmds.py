"""`ccm clients add|remove|list`: a team's way in, each client its own key, model globs and limits.

A client's key is read hidden from the terminal (or as one line on stdin, for scripts) and stored in the
OS keyring as `client:NAME` (the 0600 file when there is none), never in the config file and never shown
again; `--key-env VAR` writes `api_key = "$VAR"` instead (containers). The [[clients]] entry is written
with the surgical writer (comments kept), validated first, and a running proxy reloads.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from cli import admin, common, tables
from cli.options import ConfigOpt, JsonOpt
from config import secrets
from config.errors import CcmError
from config.load import load_config, nearest
from config.save import ConfigDocument
from config.schema import CLIENT_NAME, ClientConfig, Config

app = typer.Typer(
    help="Clients of a shared proxy: each its own key (kept in the keyring), model globs and limits.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The client's name (letters, digits, ._@-).", show_default=False)]
MIN_KEY = 16
"""A client key shorter than this is refused: it is a password for spending the team's provider keys."""


def _read_key(name: str) -> str:
    if sys.stdin.isatty():
        value = typer.prompt(f"Key for client {name} (input hidden)", hide_input=True, default="", show_default=False)
        again = typer.prompt("Once more (input hidden)", hide_input=True, default="", show_default=False)
        if str(again).strip() != str(value).strip():
            raise CcmError("the two keys differ; nothing stored")
    else:
        value = sys.stdin.readline()  # `printf %s "$KEY" | ccm clients add alice`
    key = common.clean_key(str(value))
    if not key:
        raise CcmError(
            "no key given; nothing stored", hint='type the key, or pipe it in: printf %s "$KEY" | ccm clients add NAME'
        )
    if len(key) < MIN_KEY:
        raise CcmError(
            f"a client key must be at least {MIN_KEY} characters; nothing stored", hint="e.g. `openssl rand -hex 24`"
        )
    return key


def _taken_by(key: str, name: str, cfg: Config) -> str | None:
    """Who else holds this key (the router key, another client), so the proxy would not tell them apart."""
    if cfg.server.api_key and secrets.interpolate(cfg.server.api_key) == key:
        return "the router key (server.api_key)"
    for other in cfg.clients:
        if other.name.lower() != name.lower() and secrets.client_key(other.name, other.api_key)[0] == key:
            return f"client '{other.name}'"
    return None


@app.command("add")
def add(
    name: NameArg,
    models: Annotated[
        list[str] | None,
        typer.Option("--models", "-m", metavar="GLOB", help="A model glob it may use (repeat); none: every model."),
    ] = None,
    rpm: Annotated[int | None, typer.Option("--rpm", min=1, metavar="N", help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=1, metavar="N", help="Tokens per minute.")] = None,
    daily_tokens: Annotated[
        int | None, typer.Option("--daily-tokens", min=1, metavar="N", help="Tokens per UTC day.")
    ] = None,
    monthly_usd: Annotated[
        float | None,
        typer.Option("--monthly-usd", min=0.01, metavar="USD", help="USD per UTC month (priced mappings only)."),
    ] = None,
    key_env: Annotated[
        str | None,
        typer.Option(
            "--key-env", metavar="VAR", help='Read the key from $VAR (writes api_key = "$VAR"); no key asked.'
        ),
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a client of that name (and its key).")] = False,
    config: ConfigOpt = None,
) -> None:
    """Add a client: its key typed hidden (or one line on stdin), stored in the keyring; a running proxy reloads."""
    if not CLIENT_NAME.match(name):
        raise CcmError(
            f"a client's name is 1-64 letters, digits or ._@- (starting with a letter or digit), not {name!r}"
        )
    path = common.writable_config(config)
    cfg = load_config(path).config
    existing = cfg.client(name)
    if existing is not None and not replace:
        raise CcmError(f"client '{existing.name}' is already in {path}", hint="pass --replace to change it")
    if not cfg.server.api_key:
        raise CcmError(
            "clients need server.api_key: the operator's router key, the one key that opens the admin API",
            hint='set it first: api_key = "$CCM_API_KEY" under [server]',
        )
    if key_env is not None and secrets.env_reference(f"${key_env}") is None:
        raise CcmError(f"--key-env takes a variable name such as ALICE_CCM_KEY, not {key_env!r}")
    canonical = existing.name if existing is not None else name
    fields: dict[str, Any] = {
        "api_key": f"${key_env}" if key_env else None,
        "models": list(models) if models else None,
        "rpm": rpm,
        "tpm": tpm,
        "daily_tokens": daily_tokens,
        "monthly_usd": monthly_usd,
    }
    doc = ConfigDocument.load(path)
    doc.upsert_client(canonical, fields)
    flags = {
        "models": ("--models", models),
        "api_key": ("--key-env", key_env),
        **{key: (f"--{key.replace('_', '-')}", fields[key]) for key in ("rpm", "tpm", "daily_tokens", "monthly_usd")},
    }
    common.check_edit(doc, flags)  # an invalid entry never reaches the file, nor its key the keyring
    where = None
    if key_env is None:
        key = _read_key(canonical)
        other = _taken_by(key, canonical, cfg)
        if other is not None:
            raise CcmError(f"that key is already {other}'s; give client '{canonical}' a key of its own")
        where = secrets.store().set(secrets.client_key_name(canonical), key)
    elif existing is not None:
        secrets.store().delete(secrets.client_key_name(canonical))  # the variable wins from now on
    ConfigDocument.edit(path, lambda fresh: fresh.upsert_client(canonical, fields))  # the file after the prompt
    place = {"keyring": "the OS keyring", "file": f"{secrets.store().file.path} (mode 0600, no OS keyring)"}
    source = f"${key_env}" if key_env else place[where or "keyring"]
    common.echo(f"{'Replaced' if existing else 'Added'} client {canonical} in {path}; its key: {source}.")
    admin.reload_if_running()


@app.command("remove")
def remove(name: NameArg, config: ConfigOpt = None) -> None:
    """Remove a client and its stored key; a running proxy reloads (its key stops working at once)."""
    path = common.writable_config(config)
    cfg = load_config(path).config
    client = cfg.client(name)
    if client is None:
        known = [c.name for c in cfg.clients]
        guess = nearest(name, known)
        raise CcmError(
            f"client '{name}' is not in {path} (configured: {', '.join(known) or 'none'})",
            hint=f"did you mean '{guess}'?" if guess else None,
        )
    ConfigDocument.edit(path, lambda doc: doc.delete_client(client.name))
    secrets.store().delete(client.secret_name)
    common.echo(f"Removed client {client.name} from {path} (and its stored key).")
    admin.reload_if_running()


def _limits(client: ClientConfig) -> str:
    parts = [
        f"{label} {value:,}"
        for label, value in (("rpm", client.rpm), ("tpm", client.tpm), ("daily_tokens", client.daily_tokens))
        if value is not None
    ]
    if client.monthly_usd is not None:
        parts.append(f"monthly_usd ${client.monthly_usd:g}")
    return ", ".join(parts) or "none"


@app.command("list")
def list_clients(config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Each client: its model globs, its limits and where its key comes from (the key masked, never shown)."""
    cfg = common.load(config).config
    rows: list[dict[str, Any]] = []
    for client in cfg.clients:
        value, source = secrets.client_key(client.name, client.api_key)
        rows.append(
            {
                "name": client.name,
                "models": list(client.models),
                "rpm": client.rpm,
                "tpm": client.tpm,
                "daily_tokens": client.daily_tokens,
                "monthly_usd": client.monthly_usd,
                "key": secrets.mask(value, prefix=False) if value else None,
                "source": source,
            }
        )
    if json_out:
        common.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        common.echo(f"No clients in {cfg.path}: add one with `ccm clients add NAME`.")
        return
    by_name = {c.name: c for c in cfg.clients}
    tables.print_table(
        ["Client", "Models", "Limits", "Key", "Source"],
        [
            [
                str(r["name"]),
                ", ".join(r["models"]) or "all",
                _limits(by_name[r["name"]]),
                r["key"] or "",
                "missing: `ccm clients add NAME --replace`" if r["source"] == "missing" else str(r["source"]),
            ]
            for r in rows
        ],
        title=f"Clients of {cfg.path}",
    )
