"""What `ccm code` and `ccm env` tell Claude Code about the models ccm serves, from the config.

Read against Claude Code 2.1.329 (the suite's pinned version) and 2.1.332 (the newest on npm when this was
written); both behave alike in everything below.

Background work. With ANTHROPIC_BASE_URL at a proxy and ANTHROPIC_AUTH_TOKEN set, Claude Code's small/fast
model (session titles) is its main model unless ANTHROPIC_SMALL_FAST_MODEL or ANTHROPIC_DEFAULT_HAIKU_MODEL
is set, and `"model": "haiku"` subagents use ANTHROPIC_DEFAULT_HAIKU_MODEL. So when `router.background` is
set, both are set to Claude Code's own haiku (config.catalog.CLAUDE_CODE_HAIKU), which background_regex must
match for the requests to reach that slot.

Model discovery. CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1 makes Claude Code read GET /v1/models at
start (ids containing "claude" or "anthropic" only) into its /model picker.

Context windows. Claude Code never reads `max_input_tokens` from /v1/models (its capabilities fetch is
switched off in both versions). It sizes a session by its own catalog: a Claude name gets that model's
window, any other name (`glm`, `claude-via-ccm/glm`) gets CLAUDE_CODE_MAX_CONTEXT_TOKENS, else 1,000,000.
CLAUDE_CODE_AUTO_COMPACT_WINDOW (at least 100,000; a smaller value counts as 100,000) lowers the point
where it compacts, for every model, and never raises it. So ccm computes W, the largest window a request
of the session can reach (every mapping of its default route and of the long-context slot; a request that
does not fit one mapping skips to a bigger one, and only when none fits must Claude Code compact), and:

- for a session on a name Claude Code does not know, sets CLAUDE_CODE_MAX_CONTEXT_TOKENS = W (this also
  stops its "assumes a context window of 1m tokens" warning);
- for a session on a Claude name, sets CLAUDE_CODE_AUTO_COMPACT_WINDOW = W when W is at least 100,000 and
  smaller than the window Claude Code gives that name (ccm routes it to a smaller model).

W is unknown, and nothing is set, when a reachable mapping's window is unknown (neither `context_window`
nor the catalog gives it) or a mapping sends the Claude name as asked (`*`: Claude Code already knows that
window). The user's own values of every variable win. A model picked later with /model keeps the window
computed at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ccm import limits
from ccm.routing import Candidate, requested_name, resolve, route
from config.catalog import CLAUDE_CODE_HAIKU, limits_of
from config.errors import RoutingError
from config.schema import Config

AUTO_COMPACT_MIN = 100_000
"""Claude Code's smallest CLAUDE_CODE_AUTO_COMPACT_WINDOW (a smaller value is read as this)."""
UNKNOWN_MODEL_WINDOW = 1_000_000
"""What Claude Code assumes for a model it does not know, without CLAUDE_CODE_MAX_CONTEXT_TOKENS."""
_PROBE = "claude-opus-5-5"
"""A Claude name to route when the session's model is not known (Claude Code's own default main model in
2.1.329 and 2.1.332): what auto-map gives router.default."""


@dataclass(slots=True)
class SessionEnv:
    """Variables to set for Claude Code (those the user set are left out) and what to tell the user."""

    values: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def session_env(config: Config, base: Mapping[str, str], model: str | None = None) -> SessionEnv:
    """The variables for a session on `model` (Claude Code's --model or ANTHROPIC_MODEL; None: its default)."""
    out = SessionEnv()

    def put(name: str, value: str) -> None:
        if name not in base:  # the user's own value wins
            out.values[name] = value

    put("CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY", "1")
    if config.router.background:
        if config.router.background_pattern.search(CLAUDE_CODE_HAIKU):
            put("ANTHROPIC_DEFAULT_HAIKU_MODEL", CLAUDE_CODE_HAIKU)
            put("ANTHROPIC_SMALL_FAST_MODEL", CLAUDE_CODE_HAIKU)
        else:
            out.notes.append(
                f"ccm: router.background_regex {config.router.background_regex} does not match Claude Code's "
                f"haiku ({CLAUDE_CODE_HAIKU}), so titles and haiku subagents are not sent to router.background"
            )
    asked = requested_name(model) if model else None
    window = reachable_window(config, asked or _PROBE)
    claude = limits_of("anthropic", asked) if asked else None
    own = claude.context_window if claude else None
    if window is None:
        if asked and own is None:
            out.notes.append(
                f"ccm: neither Claude Code nor ccm knows the context window of '{asked}' (set context_window on its "
                f"mappings): Claude Code assumes {UNKNOWN_MODEL_WINDOW:,} tokens and may compact too late"
            )
        return out
    if asked and own is None:  # a name Claude Code's catalog does not have
        put("CLAUDE_CODE_MAX_CONTEXT_TOKENS", str(window))
    elif window >= AUTO_COMPACT_MIN and window < (own or UNKNOWN_MODEL_WINDOW):
        put("CLAUDE_CODE_AUTO_COMPACT_WINDOW", str(window))
    return out


def reachable_window(config: Config, asked: str) -> int | None:
    """The largest context window a request for `asked` can reach (its route, and the long-context slot),
    or None when one of those mappings' windows is unknown or is Claude's own (`*`)."""
    body = {"model": asked, "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    decision = route(body, config)
    routes = [decision.model] + ([config.router.long_context] if config.router.long_context else [])
    windows: list[int] = []
    for name in routes:
        try:
            candidates = resolve(name, config, decision.original_model)
        except RoutingError:
            continue
        for candidate in candidates:
            known = window_of(candidate)
            if known is None:
                return None
            windows.append(known)
    return max(windows) if windows else None


def window_of(candidate: Candidate) -> int | None:
    """A mapping's window (ccm.limits); None for `*` without its own: Claude Code knows Claude's windows."""
    if candidate.as_asked and not candidate.context_window:
        return None
    return limits.window_of(candidate)


def model_argument(args: list[str], env: Mapping[str, str]) -> str | None:
    """The model a `claude` command line picks: `--model X` / `--model=X` (before a `--`), else ANTHROPIC_MODEL."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--model" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return env.get("ANTHROPIC_MODEL") or None
