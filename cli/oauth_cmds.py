"""`ccm oauth login|list|refresh|logout`: ChatGPT Plus/Pro logins; Claude and Gemini explained.

They work with no proxy running (the keyring directly). While a proxy runs, refresh and logout go through
its admin API (/api/oauth/tokens/...): the refresh token rotates, so only one process may ever spend it.
A login happens here either way (it spends nothing), and then the proxy is told to read the new token.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli import admin, common, tables
from cli.options import ConfigOpt, JsonOpt
from config.errors import CcmError
from config.load import nearest
from config.schema import Config, ProviderConfig

if TYPE_CHECKING:
    from ccm.auth.oauth.tokens import Token

app = typer.Typer(
    help="Subscription logins: ChatGPT Plus/Pro (OAuth). Claude Pro/Max uses Claude Code's own login.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The provider's name in the config.", show_default=False)]


def _provider(cfg: Config, name: str) -> ProviderConfig:
    provider = cfg.provider(name)
    if provider is None:
        raise _unknown(cfg, name)
    return provider


def _unknown(cfg: Config, name: str) -> CcmError:
    known = [p.name for p in cfg.providers]
    guess = nearest(name, known)
    return CcmError(
        f"provider '{name}' is not in {cfg.path} (configured: {', '.join(known) or 'none'})",
        hint=f"did you mean '{guess}'?" if guess else None,
    )


@app.command()
def login(
    name: NameArg,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Open no browser and serve no callback: paste the redirect URL.")
    ] = False,
    device: Annotated[bool, typer.Option("--device", help="Log in with a device code (for SSH sessions).")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Claude: switch the provider to passthrough.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Log in to ChatGPT Plus/Pro for a provider (browser; --no-browser or --device over SSH)."""
    path = common.config_path(config)
    provider = _provider(common.load(path).config, name)
    from ccm.auth.oauth import local

    kind = local.login_kind(provider)
    if kind == "claude":
        _offer_passthrough(provider, path, yes)
        return
    if kind == "google":
        common.echo(local.GEMINI_WHY.format(name=provider.name))
        raise CcmError(f"ccm does not log in to Google for '{provider.name}'", hint=f"`ccm keys set {provider.name}`")
    if kind == "none":
        raise CcmError(f"provider type {provider.provider_type!r} has no OAuth login", hint="use `ccm keys set`")
    if kind == "apikey":
        raise CcmError(
            f"provider '{provider.name}' uses an API key",
            hint=f'set auth_type = "oauth" for it in {path} to use ChatGPT Plus/Pro',
        )
    from ccm.auth.oauth import tokens

    token = _run_login(no_browser, device, provider.name)
    tid = tokens.token_id(provider)
    where = tokens.save(tid, token)
    from config import secrets

    place = "the OS keyring" if where == "keyring" else f"{secrets.store().file.path} (mode 0600, no OS keyring)"
    account = f" (account {secrets.mask(token.account_id)})" if token.account_id else ""
    common.echo(f"Logged in to {provider.name}{account}; the token is in {place}, valid {_when(token.expires_at)}.")
    info = common.running()
    if info is not None:
        try:
            admin.call("POST", "/api/oauth/tokens/reload", {"provider_id": tid}, info=info)
            common.note("ccm: the running proxy uses the new login now")
        except CcmError as exc:
            common.note(f"ccm: could not tell the running proxy ({exc.message}); `ccm restart` picks the login up")


def _no_browser(name: str, why: str) -> CcmError:
    return CcmError(
        f"no browser to open on this machine ({why})",
        hint=f"`ccm oauth login {name} --device` (a code to enter on any device) or `--no-browser` (paste the "
        "redirect URL from a browser elsewhere)",
    )


def browser_missing() -> str | None:
    """Why no browser can open here, or None when one may: a Linux session without a display (SSH, a
    container) has none, unless $BROWSER names one (a text browser, a script)."""
    if os.environ.get("BROWSER"):
        return None
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no DISPLAY or WAYLAND_DISPLAY, and no $BROWSER"
    return None


def _run_login(no_browser: bool, device: bool, name: str) -> Token:
    import asyncio  # deferred with httpx (~90 ms): only a login pays them

    import httpx

    from ccm.auth.oauth import flow

    async def run() -> Token:
        async with httpx.AsyncClient() as client:
            if device:

                def show(url: str, code: str) -> None:
                    common.echo(f"Open {url} on any device and enter the code {code}.")
                    common.echo("Waiting for you to approve (15 minutes; Ctrl-C to stop)...")

                return await flow.device_login(client, show)
            missing = None if no_browser else browser_missing()
            if missing:  # said at once: the callback would wait 5 minutes for a browser that never comes
                raise _no_browser(name, missing)
            login = flow.BrowserLogin.start(serve=not no_browser)
            try:
                common.echo("Open this URL in a browser to log in to ChatGPT:")
                common.echo(f"  {login.url}")
                if no_browser:
                    common.echo(
                        "After you approve, the browser goes to a localhost page that does not load: copy the "
                        "whole URL from its address bar and paste it here (or just the code)."
                    )
                    return await login.finish(client, flow.code_from_paste(_read_paste(), login.state))
                if not await asyncio.to_thread(_open_browser, login.url):
                    raise _no_browser(name, "opening one failed")
                common.echo("Waiting for the browser (5 minutes; Ctrl-C to stop)...")
                return await login.finish(client)
            finally:
                login.close()

    return asyncio.run(run())


def _open_browser(url: str) -> bool:
    import webbrowser

    try:
        return bool(webbrowser.open(url))
    except webbrowser.Error:
        return False


def _read_paste() -> str:
    if sys.stdin.isatty():
        return str(typer.prompt("Redirect URL or code", default="", show_default=False))
    return sys.stdin.readline()


def _offer_passthrough(provider: ProviderConfig, path: Path, yes: bool) -> None:
    from ccm.auth.oauth.local import CLAUDE_WHY

    common.echo(CLAUDE_WHY)
    if provider.auth_type == "passthrough":
        common.echo(f"{provider.name} already uses Claude Code's own login: run `claude /login` in Claude Code.")
        return
    question = f'Set {provider.name} to auth_type = "passthrough" in {path}?'
    if not (yes or common.confirm(question, default=True)):
        common.echo("Nothing changed.")
        return
    from config.save import ConfigDocument

    doc = ConfigDocument.load(path)
    entry = next(p for p in doc.providers() if str(p.get("name", "")).lower() == provider.name.lower())
    fields = {k: v for k, v in entry.items() if k != "oauth_provider"}
    doc.upsert_provider(provider.name, {**fields, "auth_type": "passthrough"})
    info = common.running()
    if info is not None and info.config and Path(info.config).resolve() != path.resolve():
        common.note(f"ccm: writing {path}, but the running proxy serves {info.config}")
    doc.save()
    common.echo(f'Set {provider.name} to auth_type = "passthrough" in {path}. Next: `claude /login`, then `ccm code`.')
    admin.reload_if_running(path)


def _when(epoch: object) -> str:
    if not isinstance(epoch, int | float):
        return "-"
    left = epoch - time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))
    if left <= 0:
        return f"until {stamp} (expired)"
    return f"until {stamp} (in {int(left // 3600)}h {int(left % 3600 // 60):02d}m)"


def _local_tokens(config: str | None) -> list[dict[str, Any]]:
    """Without a proxy: the tokens of the config's oauth providers, straight from the keyring."""
    from ccm.auth.oauth import local

    path = common.config_path(config)
    return local.views(common.load(path).config) if path.exists() else []


@app.command("list")
def list_tokens(json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The OAuth tokens: status and expiry (never the tokens)."""
    info = common.running() if not config else None
    if info is not None:
        status, data = admin.call("GET", "/api/oauth/tokens", info=info)
        if status != 200 or not isinstance(data, dict):
            raise CcmError(f"the proxy could not list OAuth tokens: {admin.error_message(data, status)}")
        rows: list[dict[str, Any]] = [t for t in data.get("tokens") or [] if isinstance(t, dict)]
    else:
        rows = _local_tokens(config)
    if json_out:
        common.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        common.echo("No OAuth tokens yet (`ccm oauth login NAME`).")
        return
    tables.print_table(
        ["Provider", "Status", "Expires", "Account"],
        [
            [
                str(t.get("provider", "")),
                str(t.get("status", "")),
                _when(t.get("expires_at")),
                str(t.get("account_id") or ""),
            ]
            for t in rows
        ],
    )


def _configured(name: str, config: str | None) -> ProviderConfig | None:
    """The provider of that name in the config the command works on, or None."""
    path = common.config_path(config)
    return common.load(path).config.provider(name) if path.exists() else None


def _not_configured(name: str, config: str | None) -> CcmError:
    path = common.config_path(config)
    if not path.exists():
        return CcmError(f"provider '{name}' is not configured ({path} does not exist)")
    return _unknown(common.load(path).config, name)


def _without_oauth(provider: ProviderConfig, action: str) -> CcmError:
    """An API-key provider: `ccm oauth login` would not help either, so say what it is."""
    return CcmError(
        f"provider '{provider.name}' does not use OAuth (its auth_type is {provider.auth_type}): "
        f"there is no token to {action}"
    )


def _post(action: str, name: str) -> dict[str, object]:
    status, data = admin.call("POST", f"/api/oauth/tokens/{action}", {"provider_id": name}, timeout=40.0)
    if status != 200:
        raise CcmError(admin.error_message(data, status))
    return data if isinstance(data, dict) else {}


@app.command()
def refresh(name: NameArg, config: ConfigOpt = None) -> None:
    """Refresh a provider's OAuth token now (through the running proxy when there is one)."""
    from ccm.auth.oauth import tokens

    provider = _configured(name, config)
    if provider is None:
        raise _not_configured(name, config)
    if provider.auth_type != "oauth":
        raise _without_oauth(provider, "refresh")
    if common.running() is not None:
        view = _post("refresh", name).get("token")
        expires = view.get("expires_at") if isinstance(view, dict) else None
    else:
        expires = _refresh_here(tokens.token_id(provider), name)
    common.echo(f"Refreshed the OAuth token of {name}; valid {_when(expires)}.")


def _refresh_here(tid: str, name: str) -> float:
    import asyncio

    from ccm.auth.credentials import CredentialError
    from ccm.auth.oauth import local, tokens

    if tokens.load(tid) is None:
        raise CcmError(f"no OAuth token for provider '{name}'", hint=f"`ccm oauth login {name}`")
    try:
        return asyncio.run(local.refresh(tid, name)).expires_at
    except CredentialError as exc:
        raise CcmError(exc.message) from None


@app.command()
def logout(name: NameArg, config: ConfigOpt = None) -> None:
    """Forget a provider's OAuth token (through the running proxy when there is one)."""
    from ccm.auth.oauth import tokens

    provider = _configured(name, config)
    if provider is None or provider.auth_type != "oauth":
        # The proxy holds no token for these: one left from an earlier setup is deleted here, by its id.
        tid = tokens.token_id(provider) if provider is not None else name
        if not tokens.delete(tid):
            raise _not_configured(name, config) if provider is None else _without_oauth(provider, "delete")
        why = "no provider of that name is configured" if provider is None else "the provider no longer uses OAuth"
        common.echo(f"Deleted the OAuth token stored as '{tid}' ({why}).")
        return
    if common.running() is not None:
        _post("delete", name)
    elif not tokens.delete(tokens.token_id(provider)):
        raise CcmError(f"no OAuth token for provider '{name}'")
    common.echo(f"Logged out of {name} (its OAuth token is deleted).")
