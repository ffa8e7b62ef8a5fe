"""Which model serves a request: a pure function of the request body and the config.

Imports nothing heavy (the TUI and `ccm route explain` use it too). The order is DESIGN.md's:

    0 explicit "provider,model"   1 auto-map (a transform)   2 websearch   3 subagent tag
    4 long context                5 think                     6 background (original name)   7 default

    decision = route(body, config, body_size=len(raw))
    decision.rule, decision.model          -> "think", "kimi-k2-thinking"
    chain = resolve(decision, config)      -> [Attempt(provider, actual_model, max_output_tokens), ...]
"""

from __future__ import annotations

import re
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from typing import Any

from config.errors import RoutingError
from config.schema import Config, ProviderConfig

SUBAGENT_TAG = re.compile(r"<CCM-SUBAGENT-MODEL>\s*(.*?)\s*</CCM-SUBAGENT-MODEL>", re.S)

#: Bytes of request JSON per token, fitted on Claude Code's fixtures against a real tokenizer
#: (bench/calibrate_tokens.py). Deliberately a little low, so the estimate errs towards "long".
BYTES_PER_TOKEN = 3.4

Rule = str  # "explicit" | "websearch" | "subagent" | "long_context" | "think" | "background" | "default"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The outcome of routing one request.

    rule            which rule fired (the x-ccm-route header)
    model           the routed name: a [[models]] name, or "provider,model" (x-ccm-model)
    original_model  what the client asked for
    system          the system prompt with every subagent tag removed, or None when unchanged
    estimated_tokens the cheap input-size estimate used by the long-context rule
    """

    rule: Rule
    model: str
    original_model: str
    system: Any = None
    system_changed: bool = False
    estimated_tokens: int = 0
    subagent_model: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One mapping to try, in priority order."""

    provider: ProviderConfig
    actual_model: str
    max_output_tokens: int | None = None


def estimate_tokens(body_size: int) -> int:
    """Input tokens from the request's size in bytes: microseconds, no tokenizer."""
    return int(body_size / BYTES_PER_TOKEN)


def _strip_tags(system: Any) -> tuple[Any, str | None, bool]:
    """Remove every subagent tag from a string or block-list system prompt; return the first model named."""
    found: str | None = None
    if isinstance(system, str):
        if "<CCM-SUBAGENT-MODEL>" not in system:
            return system, None, False
        match = SUBAGENT_TAG.search(system)
        found = match.group(1) if match else None
        return SUBAGENT_TAG.sub("", system), found, True
    if isinstance(system, list):
        changed = False
        out: list[Any] = []
        for block in system:
            text = block.get("text") if isinstance(block, dict) else None
            if isinstance(text, str) and "<CCM-SUBAGENT-MODEL>" in text:
                match = SUBAGENT_TAG.search(text)
                if match and found is None:
                    found = match.group(1)
                out.append({**block, "text": SUBAGENT_TAG.sub("", text)})
                changed = True
            else:
                out.append(block)
        return (out if changed else system), found, changed
    return system, None, False


def has_web_search(tools: Any) -> bool:
    if not isinstance(tools, list):
        return False
    for tool in tools:
        if isinstance(tool, dict):
            kind = tool.get("type")
            if (isinstance(kind, str) and kind.startswith("web_search")) or tool.get("name") == "web_search":
                return True
    return False


def route(body: AbcMapping[str, Any], config: Config, *, body_size: int | None = None) -> RoutingDecision:
    """Decide the rule and routed model name for a parsed /v1/messages body (see module docstring)."""
    original = str(body.get("model") or "")
    router = config.router
    system, tagged, changed = _strip_tags(body.get("system"))
    tokens = estimate_tokens(body_size) if body_size is not None else 0

    def decide(rule: Rule, model: str) -> RoutingDecision:
        return RoutingDecision(rule, model, original, system if changed else None, changed, tokens, tagged)

    if "," in original:
        return decide("explicit", original)
    model = original
    if config.model(model) is None and router.auto_map.search(model) and router.default:
        model = router.default
    if router.websearch and has_web_search(body.get("tools")):
        return decide("websearch", router.websearch)
    if tagged:
        return decide("subagent", tagged)
    if router.long_context and tokens > router.long_context_threshold:
        return decide("long_context", router.long_context)
    thinking = body.get("thinking")
    if router.think and isinstance(thinking, dict) and thinking.get("type") == "enabled":
        return decide("think", router.think)
    if router.background and router.background_pattern.search(original):
        return decide("background", router.background)
    return decide("default", model)


def resolve(model: str, config: Config) -> list[Attempt]:
    """The attempts for a routed name, in priority order; RoutingError (404) when it cannot be served."""
    if "," in model:
        provider_name, actual = (part.strip() for part in model.split(",", 1))
        provider = config.provider(provider_name)
        if provider is None:
            known = ", ".join(p.name for p in config.providers) or "none"
            raise RoutingError(f"provider '{provider_name}' is not configured (configured providers: {known})")
        if not provider.enabled:
            raise RoutingError(f"provider '{provider.name}' is disabled in the config")
        return [Attempt(provider, actual)]
    entry = config.model(model)
    if entry is None:
        known = ", ".join(config.model_names) or "none"
        raise RoutingError(f"model '{model}' is not configured (configured models: {known})")
    attempts = []
    for mapping in entry.mappings:
        provider = config.provider(mapping.provider)
        if provider is not None and provider.enabled:
            attempts.append(Attempt(provider, mapping.actual_model, mapping.max_output_tokens))
    if not attempts:
        raise RoutingError(f"model '{entry.name}' has no mapping to an enabled provider")
    return attempts
