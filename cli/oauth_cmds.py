"""`ccm oauth login|list|refresh|logout`: OAuth tokens for subscription providers, via the running proxy.

The proxy owns the tokens (it refreshes them while serving), so these commands go through its admin API
(/api/oauth/tokens...) instead of touching the keyring behind its back.
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from cli import admin, common, tables
from cli.options import JsonOpt
from config.errors import CcmError

app = typer.Typer(help="OAuth logins for subscriptions (Claude Pro/Max, ChatGPT Plus/Pro).", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="The provider's name in the config.", show_default=False)]


@app.command()
def login(name: NameArg) -> None:
    """Log in to a subscription provider in the browser (arrives in a later release)."""
    raise CcmError(
        f"OAuth login flows arrive in a later release; '{name}' cannot log in yet",
        hint="use an API key meanwhile: `ccm keys set NAME`",
    )


def _when(epoch: object) -> str:
    if not isinstance(epoch, (int, float)):
        return "-"
    left = epoch - time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))
    if left <= 0:
        return f"{stamp} (expired)"
    return f"{stamp} (in {int(left // 3600)}h {int(left % 3600 // 60):02d}m)"


@app.command("list")
def list_tokens(json_out: JsonOpt = False) -> None:
    """The OAuth tokens the running proxy holds: status and expiry (never the tokens)."""
    status, data = admin.call("GET", "/api/oauth/tokens")
    if status != 200 or not isinstance(data, dict):
        raise CcmError(f"the proxy could not list OAuth tokens: {admin.error_message(data, status)}")
    tokens = data.get("tokens") or []
    if json_out:
        common.echo(json.dumps(tokens, indent=2))
        return
    if not tokens:
        common.echo("No OAuth tokens yet (`ccm oauth login NAME`).")
        return
    tables.print_table(
        ["Provider", "Status", "Expires"],
        [[str(t.get("provider", "")), str(t.get("status", "")), _when(t.get("expires_at"))] for t in tokens],
    )


def _post(action: str, name: str) -> None:
    status, data = admin.call("POST", f"/api/oauth/tokens/{action}", {"provider": name})
    if status != 200:
        raise CcmError(admin.error_message(data, status))


@app.command()
def refresh(name: NameArg) -> None:
    """Refresh a provider's OAuth token now."""
    _post("refresh", name)
    common.echo(f"Refreshed the OAuth token of {name}.")


@app.command()
def logout(name: NameArg) -> None:
    """Forget a provider's OAuth token."""
    _post("delete", name)
    common.echo(f"Logged out of {name} (its OAuth token is deleted).")
