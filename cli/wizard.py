"""`ccm config init`: write a first config from a preset, asking for keys (hidden) on the way.

Presets are TOML files shipped as package data (config/presets/*.toml), so what the wizard writes is a
readable, commented file, not something generated on the fly. Every question has a flag, so
`ccm config init --preset apikeys --key anthropic=... --yes` runs without a terminal. An existing config
is never replaced without a yes (interactive) or `--force` (scripted), and the old one is kept as `.bak`.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

import typer

from cli import common
from config import preset_order, secrets
from config.errors import CcmError
from config.save import ConfigDocument
from config.schema import key_env

PRESETS = preset_order.PRESETS
DEFAULT_PRESET = preset_order.DEFAULT


def preset(name: str) -> preset_order.Preset:
    for item in PRESETS:
        if item.name == name.lower():
            return item
    names = ", ".join(p.name for p in PRESETS)
    raise CcmError(f"unknown preset {name!r}; choose one of {names}")


def _key_providers(text: str) -> list[tuple[str, str]]:
    """(name, env var) of each active provider that authenticates with an API key."""
    out = []
    for item in tomllib.loads(text).get("providers", []):
        if str(item.get("auth_type", "apikey")).lower() in ("apikey", "api_key") and item.get("provider_type") not in (
            "vertex-ai",
        ):
            name = str(item["name"])
            out.append((name, key_env(name)))
    return out


def _providers_with_auth(text: str, auth_type: str) -> list[str]:
    return [str(p["name"]) for p in tomllib.loads(text).get("providers", []) if p.get("auth_type") == auth_type]


def _ask_secret(prompt: str) -> str:
    """Hidden input on a terminal; a plain line from stdin otherwise (scripts, pipes)."""
    if sys.stdin.isatty():
        return common.clean_key(str(typer.prompt(prompt, default="", hide_input=True, show_default=False)))
    sys.stderr.write(prompt + ": ")
    sys.stderr.flush()
    return common.clean_key(sys.stdin.readline())


def _choose_preset() -> preset_order.Preset:
    common.echo("Pick a preset:")
    for number, item in enumerate(PRESETS, start=1):
        common.echo(f"  {number}) {item.title}: {item.summary}")
    default = next(i for i, p in enumerate(PRESETS, start=1) if p.name == DEFAULT_PRESET)
    while True:
        answer = str(typer.prompt("Preset", default=str(default))).strip().lower()
        if answer.isdigit() and 1 <= int(answer) <= len(PRESETS):
            return PRESETS[int(answer) - 1]
        try:
            return preset(answer)
        except CcmError:
            common.echo(f"Type a number from 1 to {len(PRESETS)}, or a preset name.")


def _parse_keys(pairs: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:  # no NAME=: it may well be the key itself, so it is not repeated
            raise CcmError("--key takes NAME=VALUE, e.g. --key zai=KEY (one has no '='; not shown, it may be a key)")
        if not name.strip() or not value.strip():
            raise CcmError(f"--key takes NAME=VALUE, not {name.strip() + '=' if name.strip() else '=…'!r}")
        keys[name.strip().lower()] = value.strip()
    return keys


def init(
    path: Path,
    preset_name: str | None,
    key_pairs: list[str],
    port: int | None,
    yes: bool,
    force: bool,
) -> None:
    """The whole wizard; see the module docstring."""
    keys = _parse_keys(key_pairs)
    interactive = not yes
    named = preset(preset_name) if preset_name else None  # an unknown preset is the first thing to hear of
    if path.exists() and not force:
        if not interactive:
            raise CcmError(
                f"a config already exists at {path}", hint="pass --force to replace it; the old one is kept as .bak"
            )
        common.echo(f"There is already a config at {path}.")
        if not common.confirm(f"Replace it? The current one is kept as {path.name}.bak", default=False):
            common.echo("Left it unchanged.")
            return
    chosen = named or (_choose_preset() if interactive else preset(DEFAULT_PRESET))
    doc = ConfigDocument(chosen.text(), path)
    if port is not None:
        doc.set_value("server", "port", port)
    doc.validate()  # a broken preset is our bug; say so before asking for keys
    asked = _key_providers(doc.text)
    unknown = sorted(set(keys) - {name.lower() for name, _ in asked})
    if unknown:
        names = ", ".join(name for name, _ in asked) or "none"
        shown = ", ".join(n if len(n) < 20 else secrets.mask(n) for n in unknown)  # a base64 key= is no name
        raise CcmError(f"--key names {shown}, not a provider of this preset (its providers: {names})")
    to_store: list[tuple[str, str]] = []
    for name, env_var in asked:
        value = keys.get(name.lower())
        if value is None and interactive:
            existing = secrets.store().get(secrets.key_name(name))
            if existing:
                fallback = f"Enter keeps the stored {secrets.mask(existing)}"
            elif os.environ.get(env_var):
                fallback = f"Enter to use ${env_var} from your environment"
            else:
                fallback = f"Enter to skip: `ccm keys set {name}` later, or set {env_var}"
            value = _ask_secret(f"API key for {name} (hidden; {fallback})") or None
        if value:
            to_store.append((name, value))
    result = doc.save()  # validates, writes atomically, keeps the old file as .bak
    places = {secrets.store().set(secrets.key_name(name), value) for name, value in to_store}
    written = result.config
    common.echo(
        f"Wrote {path} ({chosen.title.lower()}: {common.plural(len(written.providers), 'provider')}, "
        f"{common.plural(len(written.models), 'model')})."
    )
    if to_store:
        where = "the OS keyring" if places == {"keyring"} else f"{secrets.store().file.path} (mode 0600)"
        names = ", ".join(name for name, _ in to_store)
        common.echo(f"Stored {common.plural(len(to_store), 'key')} in {where}: {names}.")
    missing = [name for name, env_var in asked if name not in {n for n, _ in to_store} and not _has_key(name, env_var)]
    for name in missing:
        common.echo(f"No key yet for {name}: `ccm keys set {name}`, or set {key_env(name)}.")
    for name in _providers_with_auth(doc.text, "passthrough"):
        common.echo(f"{name} uses Claude Code's own login: run `claude /login` in Claude Code if you have not.")
    for name in _providers_with_auth(doc.text, "oauth"):
        common.echo(f"Log in to {name}: `ccm oauth login {name}`.")
    common.echo("Next: `ccm code` starts the proxy and Claude Code through it.")
    from cli import admin

    admin.reload_if_running(path)


def _has_key(name: str, env_var: str) -> bool:
    return bool(os.environ.get(env_var) or secrets.store().get(secrets.key_name(name)))
