"""`ccm route explain`: which rule fires, the routed model and its provider chain, for one request.

The decision comes from ccm.routing.route/resolve, the functions the proxy runs, so what this prints is
what the proxy puts in its x-ccm-route / x-ccm-model headers. The per-rule lines around it explain why
the other rules did not fire; they restate route()'s checks and are tested to agree with it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from ccm.routing import BYTES_PER_TOKEN, RoutingDecision, has_web_search, resolve, route
from cli import common
from cli.options import ConfigOpt, JsonOpt
from config.catalog import BUILT_WIRES
from config.errors import CcmError, RoutingError
from config.schema import Config

app = typer.Typer(help="See how a request would be routed.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class RuleCheck:
    rule: str
    matched: bool
    reason: str


def build_request(
    model: str | None,
    thinking: bool,
    web_search: bool,
    tokens: int | None,
    system: str | None,
    request: str | None,
) -> tuple[dict[str, Any], int]:
    """The request body to route and its size in bytes (what the proxy measures: the raw body's length)."""
    raw: bytes | None = None
    if request:
        try:
            raw = Path(request).expanduser().read_bytes()
        except OSError as exc:
            raise CcmError(f"cannot read {request}: {exc.strerror or exc}") from None
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise CcmError(f"{request} is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise CcmError(f"{request} must hold a JSON object (a /v1/messages request body)")
    elif model is None:
        raise CcmError(
            "give --model (or --request FILE.json)", hint="e.g. `ccm route explain --model claude-sonnet-4-5`"
        )
    else:
        body = {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": "hello"}]}
    changed = False
    if model is not None and body.get("model") != model:
        body["model"], changed = model, True
    if thinking:
        body["thinking"], changed = {"type": "enabled", "budget_tokens": 4000}, True
    if web_search and not has_web_search(body.get("tools")):
        tools: list[Any] = body["tools"] if isinstance(body.get("tools"), list) else []
        body["tools"], changed = [*tools, {"type": "web_search_20250305", "name": "web_search"}], True
    if system is not None:
        body["system"], changed = system, True
    if tokens is not None:
        size = math.ceil(tokens * BYTES_PER_TOKEN)  # ceil: the estimate comes back as exactly `tokens`
    elif raw is not None and not changed:
        size = len(raw)
    else:
        size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return body, size


def rule_checks(body: dict[str, Any], cfg: Config, decision: RoutingDecision) -> list[RuleCheck]:
    """Each rule in route()'s order with whether its condition holds, and why."""
    router = cfg.router
    original = decision.original_model
    checks = [
        RuleCheck(
            "explicit",
            "," in original,
            "the model is written provider,model" if "," in original else "the model is not written provider,model",
        )
    ]

    def slot(rule: str, value: str | None, holds: bool, yes: str, no: str) -> None:
        if not value:
            checks.append(RuleCheck(rule, False, f"skipped: router.{rule} is empty"))
        else:
            checks.append(RuleCheck(rule, holds, yes if holds else no))

    slot(
        "websearch",
        router.websearch,
        has_web_search(body.get("tools")),
        "the request offers the web_search tool",
        "no web_search tool in the request",
    )
    tagged = decision.subagent_model
    checks.append(
        RuleCheck(
            "subagent",
            bool(tagged),
            f"<CCM-SUBAGENT-MODEL>{tagged}</CCM-SUBAGENT-MODEL> in the system prompt"
            if tagged
            else "no <CCM-SUBAGENT-MODEL> tag in the system prompt",
        )
    )
    tokens, limit = decision.estimated_tokens, router.long_context_threshold
    slot(
        "long_context",
        router.long_context,
        tokens > limit,
        f"~{tokens:,} tokens > {limit:,}",
        f"~{tokens:,} tokens <= {limit:,}",
    )
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    slot("think", router.think, kind == "enabled", 'thinking.type is "enabled"', f"thinking is {kind or 'absent'}")
    slot(
        "background",
        router.background,
        bool(router.background_pattern.search(original)),
        f"{original!r} matches background_regex {router.background_regex}",
        f"{original!r} does not match background_regex {router.background_regex}",
    )
    checks.append(RuleCheck("default", True, "no other rule fired"))
    return checks


def _auto_mapped(decision: RoutingDecision, cfg: Config) -> str | None:
    original = decision.original_model
    if "," in original or cfg.model(original) is not None or not cfg.router.default:
        return None
    return cfg.router.default if cfg.router.auto_map.search(original) else None


@app.command()
def explain(
    model: Annotated[
        str | None, typer.Option("--model", "-m", metavar="MODEL", help="The model the client asks for.")
    ] = None,
    thinking: Annotated[bool, typer.Option("--thinking", help='With thinking.type = "enabled".')] = False,
    web_search: Annotated[bool, typer.Option("--web-search", help="Offering the web_search tool.")] = False,
    tokens: Annotated[
        int | None,
        typer.Option("--tokens", metavar="N", min=0, max=10**9, help="As big as N input tokens."),  # float-sized
    ] = None,
    system: Annotated[str | None, typer.Option("--system", metavar="TEXT", help="With this system prompt.")] = None,
    request: Annotated[
        str | None, typer.Option("--request", "-r", metavar="FILE.json", help="A real /v1/messages body.")
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Print the rule that fires, the routed model and its providers in priority order.

    Flags add to (or override) a [bold]--request[/bold] body. Exit 1 when the request cannot be routed
    (the proxy would answer 404).
    """
    cfg = common.load(config).config
    body, size = build_request(model, thinking, web_search, tokens, system, request)
    decision = route(body, cfg, body_size=size)
    checks = rule_checks(body, cfg, decision)
    error: RoutingError | None = None
    chain: list[dict[str, Any]] = []
    try:
        chain = [
            {
                "provider": a.provider.name,
                "actual_model": a.actual_model,
                "wire": a.provider.wire,
                "wire_supported": a.provider.wire in BUILT_WIRES,
                "max_output_tokens": a.max_output_tokens,
            }
            for a in resolve(decision.model, cfg)
        ]
    except RoutingError as exc:
        error = exc
    result = {
        "config": str(cfg.path),
        "original_model": decision.original_model,
        "auto_mapped_to": _auto_mapped(decision, cfg),
        "rule": decision.rule,
        "model": decision.model,
        "body_size": size,
        "estimated_tokens": decision.estimated_tokens,
        "subagent_model": decision.subagent_model,
        "chain": chain,
        "rules": [{"rule": c.rule, "matched": c.matched, "reason": c.reason} for c in checks],
        "headers": {"x-ccm-route": decision.rule, "x-ccm-model": decision.model}
        | ({"x-ccm-provider": chain[0]["provider"], "x-ccm-actual-model": chain[0]["actual_model"]} if chain else {}),
        "error": error.message if error else None,
    }
    if json_out:
        common.echo(json.dumps(result, indent=2))
    else:
        _print(result, checks)
    if error is not None:
        raise CcmError(error.message, hint=f"the proxy would answer {error.status} {error.error_type}")


def _print(result: dict[str, Any], checks: list[RuleCheck]) -> None:
    echo = common.echo
    echo(f"config   {result['config']}")
    echo(
        f"request  model {result['original_model']!r}, {result['body_size']:,} bytes "
        f"(~{result['estimated_tokens']:,} tokens)"
    )
    if result["auto_mapped_to"]:
        echo(f"auto-map {result['original_model']!r} -> {result['auto_mapped_to']!r} (matches auto_map_regex)")
    echo("rules    (in order; the first that holds fires)")
    reached = True
    for check in checks:
        if reached and check.rule == result["rule"]:
            echo(f"  FIRES  {check.rule:<13} {check.reason}")
            reached = False
        elif reached and check.reason.startswith("skipped: "):
            echo(f"  skip   {check.rule:<13} {check.reason.removeprefix('skipped: ')}")
        elif reached:
            echo(f"  no     {check.rule:<13} {check.reason}")
        else:
            echo(f"  -      {check.rule:<13} not reached")
    echo(f"route    {result['rule']} -> {result['model']}")
    if result["chain"]:
        echo("chain    (tried in this order; the next takes over when one fails)")
        for n, item in enumerate(result["chain"], start=1):
            note = "" if item["wire_supported"] else f", {item['wire']} format not built yet: fails over"
            clamp = f", max_tokens clamped to {item['max_output_tokens']}" if item["max_output_tokens"] else ""
            echo(f"  {n}. {item['provider']} / {item['actual_model']}{note}{clamp}")
    echo(f"headers  x-ccm-route: {result['rule']}, x-ccm-model: {result['model']}")
