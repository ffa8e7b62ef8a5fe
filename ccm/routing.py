"""Which model serves a request: a pure function of the request body and the config.

Imports nothing heavy (the TUI and `ccm route explain` use it too). The rules, in the order they are tried:

    0 explicit "provider,model"   1 auto-map (a transform)   2 websearch   3 subagent tag
    4 long context                5 think                     6 background (original name)   7 default

    decision = route(body, config, body_size=len(raw))
    decision.rule, decision.model          -> "think", "kimi-k2-thinking"
    decision.trace                         -> every rule in order: fires / no / skip / not reached, and why
    forwarded = decision.apply(body)       -> the body without subagent tags (model still the client's)
    chain = resolve(decision.model, config, decision.original_model)  -> [Candidate(provider, actual_model, ...)]

The name routed is the client's with two client-side decorations removed first: a trailing `[1m]` (Claude
Code's 1M-window selector, which it strips itself before sending; other clients may not) and the
`claude-via-ccm/` prefix under which GET /v1/models lists names Claude Code's model discovery would drop.

route() never raises: a body it cannot read routes by its defaults. resolve() raises RoutingError (404)
for a name that cannot be served.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ccm.media import media_tokens
from config.errors import RoutingError
from config.schema import Config, Mapping, ProviderConfig, RouterConfig

VIA_PREFIX = "claude-via-ccm/"
"""GET /v1/models lists a name without "claude"/"anthropic" under this prefix too (Claude Code keeps only
ids with one of those words); routing removes it before every rule."""
_ONE_M = re.compile(r"\[1m\]$", re.IGNORECASE)
TAG_OPEN = "<CCM-SUBAGENT-MODEL>"
SUBAGENT_TAG = re.compile(r"<CCM-SUBAGENT-MODEL>\s*(.*?)\s*</CCM-SUBAGENT-MODEL>", re.S)

#: Bytes of request JSON per input token. Measured by bench/calibrate_tokens.py on the 20 Claude Code
#: fixtures: compact body size / tokens of the text a model reads (system, messages, tools as JSON) under
#: Claude's published tokenizer (tokenizer.json of the `anthropic` 0.38.0 wheel): 4.06-4.34 on the 15
#: requests of 7k-20k tokens (median 4.22; 4.24 over all). 3.9 is the lowest x 0.97, rounded down, so
#: the estimate errs towards more tokens: that tokenizer predates Claude 3, whose own (not public) tends
#: to count more, and routing a borderline request to long_context is the safer mistake. The same ratio
#: fits system+messages+tools alone (4.05-4.32), which the local count_tokens estimate measures.
BYTES_PER_TOKEN = 3.9

Rule = Literal["explicit", "websearch", "subagent", "long_context", "think", "background", "default"]
RULES: tuple[Rule, ...] = ("explicit", "websearch", "subagent", "long_context", "think", "background", "default")
Verdict = Literal["fires", "no", "skip", "not reached"]


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule of one routing decision: whether it fired, did not hold, was skipped (empty slot) or came
    after the one that fired; and why. route() writes these as it decides, so `ccm route explain` (text
    and JSON) shows exactly what the proxy did."""

    rule: Rule
    verdict: Verdict
    reason: str

    @property
    def matched(self) -> bool:
        return self.verdict == "fires"


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The outcome of routing one request.

    rule              which rule fired (the x-ccm-route header)
    model             the routed name: a [[models]] name as configured, or "provider,model" (x-ccm-model)
    original_model    what the client asked for, without a trailing [1m] or the claude-via-ccm/ prefix: what
                      the rules read and what a mapping with actual_model = "*" sends
    system            the system prompt with every subagent tag removed (only when system_changed)
    messages          the messages with the tag removed from `role: "system"` messages (only when
                      messages_changed: Claude Code moves part of its system prompt there)
    estimated_tokens  the cheap input-size estimate the long-context rule used
    subagent_model    the model the first subagent tag named, if any (even when another rule won)
    auto_mapped_to    router.default when auto-map replaced the client's model name, else None
    trace             every rule in order with its verdict and reason (RuleCheck)

        forwarded = decision.apply(body)    # a shallow copy with system/messages replaced if changed
    """

    rule: Rule
    model: str
    original_model: str
    system: Any = None
    system_changed: bool = False
    estimated_tokens: int = 0
    subagent_model: str | None = None
    messages: Any = None
    messages_changed: bool = False
    auto_mapped_to: str | None = None
    trace: tuple[RuleCheck, ...] = ()

    def apply(self, body: AbcMapping[str, Any]) -> dict[str, Any]:
        """The body to forward: the client's, with every subagent tag removed (the model is not changed)."""
        out = dict(body)
        if self.system_changed:
            out["system"] = self.system
        if self.messages_changed:
            out["messages"] = self.messages
        return out


@dataclass(frozen=True, slots=True)
class Candidate:
    """One mapping a request may be sent to, in priority order (each try of it is an attempt)."""

    provider: ProviderConfig
    actual_model: str
    max_output_tokens: int | None = None
    priority: int = 0
    """The mapping's priority: load balancing reorders only candidates of equal priority."""
    weight: int = 1
    as_asked: bool = False
    """The mapping's actual_model is "*": actual_model is the name the client asked for."""
    context_window: int | None = None
    """The mapping's own `context_window` (the catalog's is looked up by ccm.dispatch.window)."""


def requested_name(model: str) -> str:
    """The client's model name as routing reads it: `claude-via-ccm/glm[1m]` -> `glm`."""
    name = _ONE_M.sub("", model.strip())
    if name[: len(VIA_PREFIX)].lower() == VIA_PREFIX:
        name = name[len(VIA_PREFIX) :]
    return name


def allows(mapping: Mapping, requested: str | None) -> bool:
    """Whether a mapping's `allow` globs admit the name asked for (no globs, or no name known: yes)."""
    if not mapping.allow or requested is None:
        return True
    name = requested.lower()
    return any(fnmatch.fnmatchcase(name, glob.lower()) for glob in mapping.allow)


def estimate_tokens(body_size: int) -> int:
    """Input tokens from the request's size in bytes: microseconds, no tokenizer."""
    return int(body_size / BYTES_PER_TOKEN)


def estimate_request(body: AbcMapping[str, Any], body_size: int, *, media: bool = True) -> int:
    """Input tokens of a request: its size without the base64 of images and documents, plus their own
    count (ccm.media). Walking the messages for them costs a few microseconds on Claude Code's bodies
    (less than searching the raw bytes for one); `media=False` skips it (the size alone)."""
    if not media:
        return estimate_tokens(body_size)
    data_bytes, tokens = media_tokens(body.get("messages"))
    return estimate_tokens(max(0, body_size - data_bytes)) + tokens


def body_size_of(body: AbcMapping[str, Any]) -> int:
    """The size of a body as Claude Code sends it (compact JSON, UTF-8), for callers without the raw bytes."""
    try:
        return len(orjson.dumps(body))
    except TypeError:  # not JSON-serialisable (a hand-built body): no estimate
        return 0


def _strip_text(text: str) -> tuple[str, str | None]:
    named = [name for name in SUBAGENT_TAG.findall(text) if name]
    return SUBAGENT_TAG.sub("", text), (named[0] if named else None)


def _strip_blocks(content: Any) -> tuple[Any, str | None, bool]:
    """Remove every tag from a string or a list of blocks; (new content, first model named, changed)."""
    if isinstance(content, str):
        if TAG_OPEN not in content:
            return content, None, False
        text, named = _strip_text(content)
        return text, named, text != content
    if not isinstance(content, list):
        return content, None, False
    found: str | None = None
    changed = False
    out: list[Any] = []
    for block in content:
        value = block.get("text") if isinstance(block, dict) else None
        if isinstance(value, str) and TAG_OPEN in value:
            new, named = _strip_text(value)
            if found is None and named:
                found = named
            if new != value:
                out.append({**block, "text": new})
                changed = True
                continue
        out.append(block)
    return (out if changed else content), found, changed


def _strip_messages(messages: Any) -> tuple[Any, str | None, bool]:
    """Remove tags from the `role: "system"` messages Claude Code puts inside `messages`."""
    if not isinstance(messages, list):
        return messages, None, False
    found: str | None = None
    out: list[Any] | None = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "system":
            continue
        content, named, changed = _strip_blocks(message.get("content"))
        if found is None and named:
            found = named
        if changed:
            if out is None:
                out = list(messages)
            out[i] = {**message, "content": content}
    return (out if out is not None else messages), found, out is not None


def has_web_search(tools: Any) -> bool:
    """A server web-search tool (`web_search_20250305`...) or a tool named `web_search`."""
    if not isinstance(tools, list):
        return False
    for tool in tools:
        if isinstance(tool, dict):
            kind = tool.get("type")
            if (isinstance(kind, str) and kind.startswith("web_search")) or tool.get("name") == "web_search":
                return True
    return False


def route(
    body: AbcMapping[str, Any],
    config: Config,
    *,
    body_size: int | None = None,
    estimated_tokens: int | None = None,
    media: bool = True,
) -> RoutingDecision:
    """Decide the rule and routed model name for a parsed /v1/messages body (see module docstring).

    body_size is the raw body's length in bytes (measured from `body` when not given); estimated_tokens,
    when given, replaces the estimate (`ccm route explain --tokens N`); media=False counts images and
    documents by their size in the body (ccm.media: by default they count by their own rules).
    """
    raw_model = body.get("model")
    system, tagged, system_changed = _strip_blocks(body.get("system"))
    messages, tagged_in_messages, messages_changed = _strip_messages(body.get("messages"))
    if estimated_tokens is not None:
        tokens = estimated_tokens
    else:
        size = body_size if body_size is not None else body_size_of(body)
        tokens = estimate_request(body, size, media=media)
    deciding = _Deciding(
        config,
        requested_name(raw_model) if isinstance(raw_model, str) else "",
        tokens,
        tagged or tagged_in_messages,
        (system, system_changed),
        (messages, messages_changed),
    )
    return _rules(deciding, body, config.router)


@dataclass(slots=True)
class _Deciding:
    """A decision being made: the request as routing reads it, and each rule's check so far."""

    config: Config
    original: str
    tokens: int
    tagged: str | None
    system: tuple[Any, bool]
    """The system prompt without subagent tags, and whether a tag was removed; `messages` likewise."""
    messages: tuple[Any, bool]
    auto_mapped: str | None = None
    trace: list[RuleCheck] = field(default_factory=list)

    def decide(self, rule: Rule, name: str, reason: str) -> RoutingDecision:
        trace = self.trace
        trace.append(RuleCheck(rule, "fires", reason))
        trace.extend(RuleCheck(r, "not reached", "not reached") for r in RULES[len(trace) :])
        entry = self.config.model(name) if "," not in name else None
        (system, system_changed), (messages, messages_changed) = self.system, self.messages
        return RoutingDecision(
            rule=rule,
            model=entry.name if entry is not None else name,
            original_model=self.original,
            system=system if system_changed else None,
            system_changed=system_changed,
            estimated_tokens=self.tokens,
            subagent_model=self.tagged,
            messages=messages if messages_changed else None,
            messages_changed=messages_changed,
            auto_mapped_to=self.auto_mapped,
            trace=tuple(trace),
        )

    def no(self, rule: Rule, reason: str, *, slot: str | None = "-") -> None:
        """A rule that did not fire; `slot`, for the rules that have one, turns an empty slot into a skip."""
        if slot:
            self.trace.append(RuleCheck(rule, "no", reason))
        else:
            self.trace.append(RuleCheck(rule, "skip", f"router.{rule} is empty"))


def _rules(d: _Deciding, body: AbcMapping[str, Any], router: RouterConfig) -> RoutingDecision:
    """The rules in order: the first that fires decides."""
    original, tagged, tokens = d.original, d.tagged, d.tokens
    if "," in original:
        return d.decide("explicit", original.strip(), "the model is written provider,model")
    d.no("explicit", "the model is not written provider,model")
    model = original
    if router.default and d.config.model(model) is None and router.auto_map.search(model):
        model = d.auto_mapped = router.default
    if router.websearch and has_web_search(body.get("tools")):
        return d.decide("websearch", router.websearch, "the request offers the web_search tool")
    d.no("websearch", "no web_search tool in the request", slot=router.websearch)
    if tagged:
        return d.decide("subagent", tagged, f"<CCM-SUBAGENT-MODEL>{tagged}</CCM-SUBAGENT-MODEL> in the system prompt")
    d.no("subagent", "no <CCM-SUBAGENT-MODEL> tag in the system prompt")
    limit = router.long_context_threshold
    if router.long_context and tokens > limit:
        return d.decide("long_context", router.long_context, f"~{tokens:,} tokens > {limit:,}")
    d.no("long_context", f"~{tokens:,} tokens <= {limit:,}", slot=router.long_context)
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if router.think and kind == "enabled":
        return d.decide("think", router.think, 'thinking.type is "enabled"')
    d.no("think", f"thinking is {kind or 'absent'}", slot=router.think)
    regex = f"background_regex {router.background_regex}"
    if router.background and router.background_pattern.search(original):
        return d.decide("background", router.background, f"{original!r} matches {regex}")
    d.no("background", f"{original!r} does not match {regex}", slot=router.background)
    return d.decide("default", model, "no other rule fired")


def _outside(provider: str, mapping: Mapping) -> str:
    return f"{provider} allows only {', '.join(mapping.allow)}"


def outside_allow(config: Config, decision: RoutingDecision) -> list[str]:
    """The routed model's mappings that `resolve` left out because their `allow` globs do not admit the
    name the client asked for, each with its globs: a summary error says why they were not tried."""
    entry = None if "," in decision.model else config.model(decision.model)
    if entry is None:
        return []
    return [
        _outside(mapping.provider, mapping)
        for mapping in entry.mappings
        if not allows(mapping, decision.original_model)
        and (provider := config.provider(mapping.provider)) is not None
        and provider.enabled
    ]


def resolve(model: str, config: Config, requested: str | None = None) -> list[Candidate]:
    """The candidates for a routed name, in priority order; RoutingError (404) when it cannot be served.

    `provider,model` is one candidate on that provider. A [[models]] name gives its mappings by priority
    (ties in file order), leaving out disabled providers and mappings whose `allow` globs do not admit
    `requested` (the name the client asked for: RoutingDecision.original_model), which a mapping with
    actual_model = "*" sends as it is. Without `requested` a "*" stays "*" (the chain as configured).
    """
    if "," in model:
        provider_name, actual = (part.strip() for part in model.split(",", 1))
        provider = config.provider(provider_name)
        if provider is None:
            known = ", ".join(p.name for p in config.providers) or "none"
            raise RoutingError(f"provider '{provider_name}' is not configured (configured providers: {known})")
        if not provider.enabled:
            raise RoutingError(f"provider '{provider.name}' is disabled in the config")
        if not actual:
            raise RoutingError(f"'{model}' names no model after the ',' (write provider,model)")
        return [Candidate(provider, actual)]
    entry = config.model(model)
    if entry is None:
        known = ", ".join(config.model_names) or "none"
        raise RoutingError(f"model '{model}' is not configured (configured models: {known})")
    candidates: list[Candidate] = []
    disabled: list[str] = []
    outside: list[str] = []
    for mapping in entry.mappings:
        provider = config.provider(mapping.provider)
        if provider is None:
            continue
        if not provider.enabled:
            disabled.append(provider.name)
        elif not allows(mapping, requested):
            outside.append(_outside(provider.name, mapping))
        else:
            actual = requested if mapping.as_asked and requested else mapping.actual_model
            candidates.append(
                Candidate(
                    provider,
                    actual,
                    mapping.max_output_tokens,
                    mapping.priority,
                    mapping.weight,
                    as_asked=mapping.as_asked,
                    context_window=mapping.context_window,
                )
            )
    if not candidates:
        if outside:
            also = f"; disabled: {', '.join(disabled)}" if disabled else ""
            raise RoutingError(f"model '{entry.name}' has no mapping for '{requested}' ({'; '.join(outside)}{also})")
        why = f" (disabled: {', '.join(disabled)})" if disabled else " (it has no [[models.mappings]])"
        raise RoutingError(f"model '{entry.name}' has no mapping to an enabled provider{why}")
    return candidates
