"""`ccm codex [CODEX ARGS...]`: run the Codex CLI through the proxy, as `ccm code` runs Claude Code.

It starts the proxy when none runs and registers a session (cli.sessions: a proxy `ccm code` or `ccm codex`
started stops when the last session leaves), then runs `codex` with every argument untouched, after these
config overrides, which Codex applies to this run only:

    -c model_provider=ccm
    -c 'model_providers.ccm={name="ccm", base_url="<url>/v1", env_key="CCM_CODEX_KEY", wire_api="responses"}'
    -c 'model="<router.default>"'            unless the arguments pick one (-m/--model)
    -c model_context_window=<N>              the largest window the model's requests can reach, when known
    -c 'model_catalog_json="<file>"'         ccm's models as Codex's model list (cli.codex_catalog)

and `CCM_CODEX_KEY` set to the router key (or `ccm` when there is none). The user's own Codex setup is left
alone: `CODEX_HOME` is never set, `~/.codex/config.toml` is never written, and Codex keeps its own login for
its own provider. cli.main hands `ccm codex ...` here before click parses anything.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import typer

from cli import claude_env, claude_session, code_cmd, codex_catalog, common
from config.errors import CcmError, ConfigError
from config.load import load_config
from config.schema import Config

INSTALL_HINT = "install the Codex CLI with `npm install -g @openai/codex`, or put `codex` on PATH"
KEY_VARIABLE = "CCM_CODEX_KEY"
PROVIDER = "ccm"


def _find_codex() -> str:
    found = shutil.which("codex")
    if found is None:
        raise CcmError("the Codex CLI (`codex`) was not found on PATH", hint=INSTALL_HINT)
    return found


def model_argument(args: list[str]) -> str | None:
    """The model a `codex` command line picks: `-m X`, `--model X`, `--model=X` (before a `--`)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg in ("-m", "--model") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
        if arg.startswith("-m") and len(arg) > 2 and not arg.startswith("-m="):
            return arg[2:]
    return None


def _toml(value: str) -> str:
    """A TOML string (JSON's escapes are TOML's basic-string escapes)."""
    return json.dumps(value)


def overrides(url: str, model: str | None, window: int | None, catalog: Path | None) -> list[str]:
    """The `-c` arguments that point Codex at ccm for this run."""
    provider = (
        f"model_providers.{PROVIDER}={{name={_toml(PROVIDER)}, base_url={_toml(url.rstrip('/') + '/v1')}, "
        f'env_key="{KEY_VARIABLE}", wire_api="responses"}}'
    )
    out = ["-c", f"model_provider={PROVIDER}", "-c", provider]
    if model:
        out += ["-c", f"model={_toml(model)}"]
    if window:
        out += ["-c", f"model_context_window={window}"]
    if catalog is not None:
        out += ["-c", f"model_catalog_json={_toml(str(catalog))}"]
    return out


def child_env(base: dict[str, str], token: claude_env.Token) -> dict[str, str]:
    """Codex's environment: the key for ccm, and loopback kept off any HTTP proxy. CODEX_HOME as it was."""
    env = dict(base)
    env[KEY_VARIABLE] = token.value or claude_env.DEFAULT_TOKEN
    env["NO_PROXY"] = claude_env.no_proxy(base.get("NO_PROXY"))
    if "no_proxy" in base:
        env["no_proxy"] = claude_env.no_proxy(base.get("no_proxy"))
    return env


def _config(config_file: str) -> Config | None:
    try:
        return load_config(config_file).config
    except ConfigError as exc:
        common.note(f"ccm: {config_file} cannot be read now ({exc.problems[0]}): Codex gets no model from it")
        return None


def run_codex(args: list[str]) -> int:
    """The whole of `ccm codex`: returns the exit code to leave with."""
    codex = _find_codex()
    session, url, token, config_file = code_cmd._enter("ccm codex")
    catalog: Path | None = None
    try:
        if token.variable and not token.value:
            raise CcmError(f"server.api_key is ${token.variable}, but {token.variable} is not set in this shell")
        config = _config(config_file)
        asked = model_argument(args)
        model = asked or (config.router.default if config is not None else None)
        window = claude_session.reachable_window(config, model) if config is not None and model else None
        if config is not None and config.models:
            found, why = codex_catalog.template(codex, config)
            if found is not None:
                catalog = codex_catalog.write(config, found)
            else:
                common.note(f"ccm: Codex gets no model list from ccm: {why}")
        argv = [codex, *overrides(url, None if asked else model, window, catalog), *args]
        return code_cmd._run_claude(argv, child_env(dict(os.environ), token), INSTALL_HINT)
    finally:
        if catalog is not None:
            catalog.unlink(missing_ok=True)
        code_cmd._leave(session)


def codex(ctx: typer.Context) -> None:
    """Run the Codex CLI through the proxy (started if needed); every argument goes to `codex`.

    Example: [bold]ccm codex exec "fix the tests" -m glm-4.6[/bold]. Codex's own help:
    [bold]ccm codex -- --help[/bold]. Exits with Codex's exit code.
    """
    raise typer.Exit(run_codex(list(ctx.args)))


def register(app: typer.Typer) -> None:
    app.command(
        rich_help_panel="Codex CLI",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        options_metavar="[OPTIONS] [CODEX ARGS]...",  # what cli.main passes on, shown in the usage line
    )(codex)
