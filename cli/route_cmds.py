"""`ccm route explain`: which rule fires, the routed model and its provider chain, for one request.

The decision comes from ccm.routing.route/resolve, the functions the proxy runs, so what this prints is
what the proxy puts in its x-ccm-route / x-ccm-model headers. The per-rule lines are route()'s own trace
(RoutingDecision.trace), the same for the text and the JSON, so the two can never disagree.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from ccm.routing import BYTES_PER_TOKEN, has_web_search, resolve, route
from cli import common
from cli.options import ConfigOpt, JsonOpt
from config.catalog import BUILT_WIRES
from config.errors import CcmError, RoutingError

app = typer.Typer(help="See how a request would be routed.", no_args_is_help=True)


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
                "as_asked": a.as_asked,
            }
            for a in resolve(decision.model, cfg, decision.original_model)
        ]
    except RoutingError as exc:
        error = exc
    result = {
        "config": str(cfg.path),
        "original_model": decision.original_model,
        "auto_mapped_to": decision.auto_mapped_to,
        "rule": decision.rule,
        "model": decision.model,
        "body_size": size,
        "estimated_tokens": decision.estimated_tokens,
        "subagent_model": decision.subagent_model,
        "chain": chain,
        "rules": [
            {"rule": c.rule, "verdict": c.verdict, "matched": c.matched, "reason": c.reason} for c in decision.trace
        ],
        "headers": {"x-ccm-route": decision.rule, "x-ccm-model": decision.model}
        | ({"x-ccm-provider": chain[0]["provider"], "x-ccm-actual-model": chain[0]["actual_model"]} if chain else {}),
        "error": error.message if error else None,
    }
    if json_out:
        common.echo(json.dumps(result, indent=2))
    else:
        _print(result)
    if error is not None:
        raise CcmError(error.message, hint=f"the proxy would answer {error.status} {error.error_type}")


_LABELS = {"fires": "FIRES", "no": "no", "skip": "skip"}


def _print(result: dict[str, Any]) -> None:
    echo = common.echo
    echo(f"config   {result['config']}")
    echo(
        f"request  model {result['original_model']!r}, {result['body_size']:,} bytes "
        f"(~{result['estimated_tokens']:,} tokens)"
    )
    if result["auto_mapped_to"]:
        echo(f"auto-map {result['original_model']!r} -> {result['auto_mapped_to']!r} (matches auto_map_regex)")
    echo("rules    (in order; the first that holds fires)")
    for check in result["rules"]:
        verdict, rule, reason = check["verdict"], check["rule"], check["reason"]
        if verdict == "not reached":
            echo(f"  -      {rule:<13} not reached")
        else:
            echo(f"  {_LABELS[verdict]:<6} {rule:<13} {reason}")
    echo(f"route    {result['rule']} -> {result['model']}")
    if result["chain"]:
        echo("chain    (tried in this order; the next takes over when one fails)")
        for n, item in enumerate(result["chain"], start=1):
            note = "" if item["wire_supported"] else f", {item['wire']} format not built yet: fails over"
            clamp = f", max_tokens clamped to {item['max_output_tokens']}" if item["max_output_tokens"] else ""
            asked = ' (actual_model "*": the name asked for)' if item["as_asked"] else ""
            echo(f"  {n}. {item['provider']} / {item['actual_model']}{asked}{note}{clamp}")
    echo(f"headers  x-ccm-route: {result['rule']}, x-ccm-model: {result['model']}")
