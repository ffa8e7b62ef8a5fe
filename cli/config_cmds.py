"""`ccm config init|show|validate|path|edit`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from cli import common
from cli.options import ConfigOpt, JsonOpt
from config import paths, secrets
from config.errors import CcmError, ConfigError
from config.load import LoadResult, parse_config
from config.view import masked_view

app = typer.Typer(help="Create, show, check and edit the config file.", no_args_is_help=True)


@app.command()
def init(
    config: ConfigOpt = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", metavar="NAME", help="subscriptions, apikeys, cost or full (asked when not given)."),
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            metavar="NAME=VALUE",
            help="A provider's API key, stored in the keyring (repeatable). Beware: shells keep history.",
        ),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", metavar="N", min=1, max=paths.MAX_PORT, help="The proxy's port.")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ask nothing: defaults and flags only.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing config (kept as .bak).")] = False,
) -> None:
    """Write a config from a preset (wizard); keys are typed hidden and kept in the OS keyring.

    Presets: [bold]subscriptions[/bold] (Claude Pro/Max through Claude Code's login, then ChatGPT), [bold]apikeys[/bold]
    (Anthropic then OpenAI), [bold]cost[/bold] (cheap primary, quality fallback), [bold]full[/bold]
    (every provider type, commented). Scripted: [bold]ccm config init --preset apikeys --yes[/bold].
    """
    from cli import wizard

    wizard.init(common.config_path(config), preset, key or [], port, yes, force)


def effective(result: LoadResult) -> dict[str, Any]:
    """The config with defaults filled in and every secret masked (the proxy's /api/config/json shape)."""
    cfg = result.config
    keys: dict[str, tuple[str | None, str | None]] = {}
    for p in cfg.providers:
        if p.auth_type == "apikey":
            keys[p.name.lower()] = secrets.provider_key(p.name, p.api_key, p.key_env)
    return {**masked_view(cfg, keys), "warnings": [str(w) for w in result.warnings]}


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


@app.command()
def show(
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the effective config: defaults filled in, secrets masked, where each key comes from."""
    data = effective(common.load(config))
    if json_out:
        common.echo(json.dumps(data, indent=2))
        return
    import tomlkit  # ~25 ms, only here

    warnings = data.pop("warnings")
    path = data.pop("path")
    common.echo(f"# {path} (effective values; secrets masked; empty router slots are skipped)")
    for warning in warnings:
        common.echo(f"# warning: {warning}")
    body = _drop_none(data)
    body["router"] = {k: v for k, v in body["router"].items() if v != ""}
    sys.stdout.write(tomlkit.dumps(_as_config(body)))


#: What a provider's view adds to its config keys: what ccm derived, shown as a comment (not a config key).
DERIVED = ("wire", "wire_supported", "key", "key_source")


def _as_config(body: dict[str, Any]) -> Any:
    """The view as a config file that loads as it reads: no empty tables, and each provider's derived
    facts (its wire, the key found and where) in a comment under it instead of keys no schema has."""
    import tomlkit

    doc = tomlkit.document()
    for name, value in body.items():
        if value in ({}, []):
            continue
        if name != "providers":
            doc.add(name, value)
            continue
        providers = tomlkit.aot()
        for provider in value:
            table = tomlkit.table()
            derived = {key: provider.pop(key, None) for key in DERIVED}
            for key, item in provider.items():
                if item != {}:
                    table.add(key, item)
            table.add(tomlkit.comment(_derived_words(derived)))
            providers.append(table)
        doc.add(name, providers)
    return doc


def _derived_words(derived: dict[str, Any]) -> str:
    wire = f"wire {derived['wire']}" + ("" if derived["wire_supported"] else " (not built)")
    if derived["key"]:
        return f"{wire} · key {derived['key']} from {derived['key_source']}"
    return f"{wire} · no key" if derived["key_source"] == "missing" else wire


@app.command()
def validate(config: ConfigOpt = None) -> None:
    """Check the config: each problem on one line as file:line: key: message. Exit 0 valid, 1 not."""
    path = common.config_path(config)
    try:
        result = common.load(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"ccm: {path} is not valid ({count} problem{'s' if count != 1 else ''})", file=sys.stderr)
        if exc.hint:
            print(f"ccm: {exc.hint}", file=sys.stderr)
        raise typer.Exit(1) from None
    if result.refused:  # loadable (old configs keep working), but wrong: an error here
        for problem in result.refused:
            print(problem, file=sys.stderr)
        count = len(result.refused)
        print(f"ccm: {path} is not valid ({count} problem{'s' if count != 1 else ''})", file=sys.stderr)
        raise typer.Exit(1)
    for warning in [*result.warnings, *result.advice]:
        print(f"{warning} (warning)", file=sys.stderr)
    cfg = result.config
    var = secrets.env_reference(cfg.server.api_key)
    if var and not os.environ.get(var):
        print(
            f"{path}: server.api_key: ${var} is not set in this shell; `ccm start` refuses to start without it "
            "(warning)",
            file=sys.stderr,
        )
    from ccm.auth import adc

    for provider in cfg.providers:
        adc_problem = adc.check(provider) if provider.enabled and provider.auth_type == "adc" else None
        if adc_problem:
            print(f"{path}: providers.{provider.name}: {adc_problem} (warning)", file=sys.stderr)
    common.echo(
        f"{path} is valid: {common.plural(len(cfg.providers), 'provider')}, {common.plural(len(cfg.models), 'model')}"
    )


@app.command("path")
def path_cmd(
    config: ConfigOpt = None,
    all_files: Annotated[bool, typer.Option("--all", help="List every file ccm uses.")] = False,
) -> None:
    """Print the config file's path ([bold]--all[/bold]: every file under $CCM_HOME too)."""
    path = common.config_path(config)
    if not all_files:
        common.echo(str(path))
        return
    rows = [
        ("config", path),
        ("backup", path.with_name(path.name + ".bak")),
        ("home", paths.ccm_home()),
        ("pid", paths.pid_path()),
        ("log", paths.log_path()),
        ("output", paths.out_path()),
        ("secrets", paths.secrets_path()),
        ("requests", paths.requests_path()),
        ("sessions", paths.ccm_home() / "sessions"),
    ]
    for label, item in rows:
        common.echo(f"{label:<9} {item}{'' if item.exists() else '  (absent)'}")


def _editor() -> list[str]:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(editor)


def _save_edit(path: Path, text: str, original: str, copy: Path) -> None:
    """Save the edited text unless the file changed while the editor was open (another ccm command or
    the TUI saved it): then the edit is kept beside it, never written over the other change."""
    from config.save import write_unchanged

    try:
        write_unchanged(path, text, original)
    except ConfigError:
        kept = path.with_name(path.name + ".edited")
        os.replace(copy, kept)
        raise CcmError(
            f"{path} changed while you edited it (saved by another ccm command or the TUI); nothing was written",
            hint=f"your edit is in {kept}: merge it into the file, or run `ccm config edit` again",
        ) from None


@app.command()
def edit(config: ConfigOpt = None) -> None:
    """Open the config in $VISUAL/$EDITOR; it is saved only once valid, and a running proxy reloads.

    The edit happens on a copy: an invalid file never replaces the good one (you are offered to edit
    again). Without --config, this is the file the running proxy serves.
    """
    path = common.config_path(config)
    if not path.exists():
        raise CcmError(f"no config at {path}", hint="create one with `ccm config init`")
    with open(path, encoding="utf-8", newline="") as src:  # newline="": CRLF files stay CRLF
        original = src.read()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.edit-", suffix=".toml", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(original)
        while True:
            try:
                code = subprocess.call([*_editor(), str(tmp)])
            except FileNotFoundError:
                raise CcmError(f"editor not found: {_editor()[0]}", hint="set $EDITOR") from None
            if code != 0:
                raise CcmError(f"the editor exited with code {code}; {path} is unchanged")
            with open(tmp, encoding="utf-8", newline="") as edited:
                text = edited.read()
            if text == original:
                common.echo(f"No changes; {path} is unchanged.")
                return
            try:
                result = parse_config(text, path)
            except ConfigError as exc:
                for problem in exc.problems:
                    print(problem, file=sys.stderr)
                if common.confirm("The config is not valid. Edit it again?", default=True):
                    continue
                common.echo(f"Discarded the edit; {path} is unchanged.")
                raise typer.Exit(1) from None
            break
        _save_edit(path, text, original, tmp)
        for warning in result.warnings:
            print(f"{warning} (warning)", file=sys.stderr)
        common.echo(f"Saved {path} (previous version in {path.name}.bak).")
    finally:
        tmp.unlink(missing_ok=True)
    from cli import admin

    admin.reload_if_running(path)
