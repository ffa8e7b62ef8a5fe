"""How much a mapping takes in and gives out: its own `context_window`/`max_output_tokens`, else the catalog's.

Light (the CLI and GET /v1/models use it too): the facts live in config/catalog.py (CLAUDE_LIMITS,
LIMIT_RULES), this module only picks the one that applies.

    window_of(candidate)                -> 200000, or None when nobody knows
    window_of(candidate, one_m=True)    -> the window with Anthropic's context-1m beta, where it differs
    model_limits(config, "glm")         -> (largest reachable window, largest output limit), None when unknown
"""

from __future__ import annotations

from ccm.routing import Candidate, resolve
from config.catalog import limits_of
from config.errors import RoutingError
from config.schema import Config

ONE_M_BETA = "context-1m"
"""The `anthropic-beta` flag family (`context-1m-2025-08-07`) that opens Claude's 1M window; Claude Code
sends it for a `[1m]` model name."""


def window_of(candidate: Candidate, *, one_m: bool = False) -> int | None:
    """The input tokens a mapping takes: its `context_window`, else the catalog's for its actual model (the
    1M one when `one_m` and the model has it); None when neither knows."""
    if candidate.context_window:
        return candidate.context_window
    limits = limits_of(candidate.provider.provider_type, candidate.actual_model)
    if limits is None:
        return None
    return limits.window_1m if one_m and limits.window_1m else limits.context_window


def output_limit(candidate: Candidate) -> int | None:
    """The most output tokens a mapping gives: its `max_output_tokens`, else the catalog's."""
    if candidate.max_output_tokens:
        return candidate.max_output_tokens
    limits = limits_of(candidate.provider.provider_type, candidate.actual_model)
    return limits.max_output_tokens if limits else None


def model_limits(config: Config, name: str) -> tuple[int | None, int | None]:
    """(max input tokens, max output tokens) of a [[models]] name: the largest over its mappings (a request
    too big for one skips to a bigger one, and max_tokens is clamped per mapping), each None when a mapping
    does not know it or sends the name as asked (`*`: it depends on the name)."""
    try:
        candidates = resolve(name, config)
    except RoutingError:
        return None, None
    windows = [None if a.as_asked and not a.context_window else window_of(a) for a in candidates]
    outputs = [None if a.as_asked and not a.max_output_tokens else output_limit(a) for a in candidates]
    window = None if None in windows else max(w for w in windows if w is not None)
    output = None if None in outputs else max(o for o in outputs if o is not None)
    return window, output
