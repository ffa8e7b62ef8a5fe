"""What the translator must do for one provider type and model: the catalog's quirks, resolved once.

The knowledge itself is data in config/catalog.py (provider quirks and MODEL_RULES); this module only
combines it for one mapping:

    profile = profile_for("deepseek", "deepseek-chat")
    profile.max_output_tokens      -> 8192
    profile.reasoning_field        -> "reasoning_content"
    profile.has("top-k")           -> False
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from config.catalog import MODEL_RULES, lookup


@dataclass(frozen=True, slots=True)
class Profile:
    provider_type: str
    model: str
    quirks: frozenset[str]
    max_output_tokens: int | None = None
    """The model's output limit; max_tokens is clamped to it."""

    def has(self, quirk: str) -> bool:
        return quirk in self.quirks

    @property
    def reasoning_field(self) -> str | None:
        """The assistant-message field that carries reasoning back, for providers that need it."""
        if "reasoning-roundtrip" not in self.quirks:
            return None
        return "reasoning" if "openrouter" in self.quirks else "reasoning_content"

    @property
    def reasoning_off(self) -> str | None:
        """The effort that turns reasoning off, only where the model has a switch that cannot fail (None:
        the model's default stands; OpenRouter refuses to disable reasoning where it is mandatory)."""
        if "reasoning-off-none" in self.quirks:
            return "none"
        if "reasoning-off-minimal" in self.quirks:
            return "minimal"
        return None

    @property
    def max_tools(self) -> int | None:
        return 128 if "max-tools-128" in self.quirks else None

    @property
    def max_stops(self) -> int | None:
        return 4 if "stop-4" in self.quirks else None


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


@functools.lru_cache(maxsize=512)
def profile_for(provider_type: str, model: str, max_output_tokens: int | None = None) -> Profile:
    """The profile of a mapping; `max_output_tokens` (the mapping's own) wins over the catalog's limit."""
    spec = lookup(provider_type)
    kind = spec.type if spec is not None else provider_type
    quirks = set(spec.quirks if spec is not None else ())
    limit: int | None = None
    for rule in MODEL_RULES:
        if rule.types and kind not in rule.types:
            continue
        if not _compiled(rule.pattern).search(model):
            continue
        quirks |= rule.quirks
        if limit is None and rule.max_output_tokens is not None:
            limit = rule.max_output_tokens
    return Profile(kind, model, frozenset(quirks), max_output_tokens or limit)
