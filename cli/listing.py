"""`ccm providers list` and `ccm models list`: what the config offers, and with --check what answers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from cli import admin, common, tables
from cli.options import ConfigOpt, JsonOpt
from config import secrets
from config.catalog import BUILT_WIRES
from config.errors import CcmError
from config.schema import Config

providers_app = typer.Typer(help="The providers in the config.", no_args_is_help=True)
models_app = typer.Typer(help="The models in the config and their failover chains.", no_args_is_help=True)

CheckOpt = Annotated[
    bool, typer.Option("--check", help="Ask the running proxy to test each provider (a cheap real request).")
]


def check_all(cfg: Config) -> dict[str, dict[str, Any]]:
    """POST /api/providers/{name}/test for every enabled provider, in parallel; results by lower-case name."""
    info = common.require_running()
    if cfg.path is None or cfg.path.resolve() != Path(info.config).resolve():
        common.note(f"ccm: checking through the running proxy, which serves {info.config}")

    def one(name: str) -> tuple[str, dict[str, Any]]:
        try:
            status, data = admin.call("POST", f"/api/providers/{quote(name, safe='')}/test", info=info, timeout=90)
        except admin.RouterKeyRefused:
            raise
        except CcmError as exc:
            return name, {"ok": False, "status": None, "latency_ms": 0, "message": exc.message}
        if status != 200 or not isinstance(data, dict):
            return name, {"ok": False, "status": status, "latency_ms": 0, "message": admin.error_message(data, status)}
        return name, data

    names = [p.name for p in cfg.providers if p.enabled]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
        return {name.lower(): result for name, result in pool.map(one, names)}


def _check_text(result: dict[str, Any] | None) -> str:
    if result is None:
        return "-"
    if result.get("ok"):
        return f"ok ({result.get('latency_ms', 0)} ms)"
    status = result.get("status")
    message = " ".join(str(result.get("message") or "").split())[:120]
    return f"FAIL{f' {status}' if status else ''}: {message}"


_LOGIN_LABELS = {"oauth": "OAuth", "passthrough": "Claude Code's login"}


@providers_app.command("list")
def providers_list(config: ConfigOpt = None, check: CheckOpt = False, json_out: JsonOpt = False) -> None:
    """Each provider: type, wire format, base URL, key (masked); --check tests each through the proxy."""
    cfg = common.load(config).config
    checks = check_all(cfg) if check else {}
    rows: list[dict[str, Any]] = []
    for p in cfg.providers:
        value, source = (
            secrets.provider_key(p.name, p.api_key, p.key_env) if p.auth_type == "apikey" else (None, p.auth_type)
        )
        rows.append(
            {
                "name": p.name,
                "provider_type": p.provider_type,
                "wire": p.wire,
                "wire_supported": p.wire in BUILT_WIRES,
                "enabled": p.enabled,
                "auth_type": p.auth_type,
                "base_url": secrets.shown_url(p.effective_base_url),
                "key": secrets.mask(value) if value else None,
                "key_source": source,
                **({"check": checks.get(p.name.lower())} if check else {}),
            }
        )
    if json_out:
        common.echo(json.dumps(rows, indent=2))
    else:
        headers = ["Name", "Type", "Format", "Enabled", "Base URL", "Key"] + (["Check"] if check else [])
        table: list[list[str]] = []
        for r in rows:
            fmt = r["wire"] + ("" if r["wire_supported"] else " (not built yet)")
            key = (
                _LOGIN_LABELS[r["auth_type"]]
                if r["auth_type"] in _LOGIN_LABELS
                else (f"{r['key']} ({r['key_source']})" if r["key"] else "missing")
            )
            line = [r["name"], r["provider_type"], fmt, "yes" if r["enabled"] else "no", r["base_url"], key]
            if check:
                line.append(_check_text(r["check"]) if r["enabled"] else "disabled")
            table.append(line)
        tables.print_table(headers, table, title=f"Providers in {cfg.path}")
    if check and any(r["enabled"] and not (r["check"] or {}).get("ok") for r in rows):
        raise typer.Exit(1)


def _slots_by_model(cfg: Config) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for slot, value in cfg.router.slots().items():
        if value:
            out.setdefault(value.lower(), []).append(slot)
    return out


@models_app.command("list")
def models_list(config: ConfigOpt = None, check: CheckOpt = False, json_out: JsonOpt = False) -> None:
    """Each model with its mapping chain in priority order and the router slots that use it."""
    cfg = common.load(config).config
    checks = check_all(cfg) if check else {}
    slots = _slots_by_model(cfg)
    rows: list[dict[str, Any]] = []
    for m in cfg.models:
        chain = []
        for x in m.mappings:
            provider = cfg.provider(x.provider)
            item: dict[str, Any] = {
                "provider": x.provider,
                "actual_model": x.actual_model,
                "priority": x.priority,
                "max_output_tokens": x.max_output_tokens,
                "enabled": bool(provider and provider.enabled),
            }
            if check:
                item["check"] = checks.get(x.provider.lower())
            chain.append(item)
        rows.append({"name": m.name, "router": slots.get(m.name.lower(), []), "mappings": chain})
    if json_out:
        common.echo(json.dumps(rows, indent=2))
    else:
        _print_models(cfg, rows, check)
    if check and any(item["enabled"] and not (item["check"] or {}).get("ok") for r in rows for item in r["mappings"]):
        raise typer.Exit(1)


def _print_models(cfg: Config, rows: list[dict[str, Any]], check: bool) -> None:
    def step(n: int, item: dict[str, Any]) -> str:
        text = f"{n}. {item['provider']} / {item['actual_model']}"
        if item["max_output_tokens"]:
            text += f" (max {item['max_output_tokens']} out)"
        if not item["enabled"]:
            text += " (disabled)"
        elif check:
            text += f"  [{_check_text(item['check'])}]"
        return text

    tables.print_table(
        ["Model", "Chain (tried in order)", "Router slots"],
        [
            [r["name"], "\n".join(step(n, item) for n, item in enumerate(r["mappings"], 1)), ", ".join(r["router"])]
            for r in rows
        ],
        title=f"Models in {cfg.path}",
    )
