"""Context windows in dispatch: skip a mapping the request cannot fit, and say "prompt is too long" the way
Anthropic does, so that Claude Code compacts instead of failing.

    kept, skipped, too_long = fit(candidates, estimate, one_m)
    overflow = context_overflow(upstream_message)      -> (tokens, limit) or None

A mapping is skipped (not an attempt: nothing is sent, the breaker never hears of it) when the estimate
exceeds 95% of its window (ccm.limits: its `context_window`, else the catalog's; unknown windows always
fit). When every mapping would be skipped, the ones with the largest window are tried anyway unless the
estimate exceeds that window by 10% (the estimate is a few percent off either way): then the answer is
Anthropic's own 400, `prompt is too long: N tokens > M maximum`. Claude Code (2.1.329 and 2.1.332) reads
exactly that text (`/prompt is too long[^0-9]*(\\d+)\\s*tokens?\\s*>\\s*(\\d+)/`) to compact and retry, so an
upstream's context-length 400 in any other words is rewritten to it as well.
"""

from __future__ import annotations

import re

from ccm.limits import ONE_M_BETA, window_of
from ccm.routing import Candidate

FIT = 0.95
OVER = 1.10

#: Phrases of context-length errors from hosts other than Anthropic: Claude Code 2.1.329's and 2.1.332's
#: own list (the same in both), which it matches case-insensitively for the same purpose.
CONTEXT_PHRASES = (
    "prompt is too long",
    "input is too long for requested model",
    "maximum context length",
    "context_length_exceeded",
    "exceeds the context window",
    "contextwindowexceedederror",
    "longer than the maximum model length",
    "longer than the model's context length",
    "exceeds the available context size",
    "exceeds the maximum number of tokens allowed",
    "exceeded model token limit",
    "input token length too long",
    "input tokens exceed the configured limit",
    "maximum context limit",
    "maximum prompt length",
    "prompt exceeds max length",
    "tokens in request more than max tokens allowed",
    "range of input length should be",
    "context window exceeds limit",
    "but model only supports up to",
    "reduce the length of the messages",
    "`inputs` tokens + `max_new_tokens` must be",
    "context exceeds your deployment",
)
#: Claude Code's exceptions to that list: a field's length, not the context.
_NOT_CONTEXT = ("policy_blocked", "dlp_request_denied", "string too long. expected a string with maximum length")
#: Where hosts put the limit and the count: "maximum context length is 128000 tokens. However, your
#: messages resulted in 130524 tokens" (OpenAI, vLLM, DeepSeek), "input token count (N) exceeds the maximum
#: number of tokens allowed (M)" (Gemini), "N tokens > M maximum" (Anthropic).
_LIMIT = re.compile(
    r"(?:maximum context length is|maximum number of tokens allowed \(?|> ?|supports up to|limit of) ?(\d[\d,]*)",
    re.I,
)
_COUNT = re.compile(r"(?:resulted in|requested|token count \(?|too long: ?|prompt contains) ?(\d[\d,]*)", re.I)


def too_long_text(tokens: int, limit: int) -> str:
    return f"prompt is too long: {tokens} tokens > {limit} maximum"


def fit(candidates: list[Candidate], estimate: int, one_m: bool) -> tuple[list[Candidate], list[str], str | None]:
    """(the candidates to try, the skipped ones described, the prompt-too-long text when none can take it)."""
    windows = [window_of(a, one_m=one_m) for a in candidates]
    kept = [a for a, w in zip(candidates, windows, strict=True) if w is None or estimate <= FIT * w]
    if not kept:
        largest = max(w for w in windows if w is not None)
        if estimate > OVER * largest:
            return [], [], too_long_text(estimate, largest)
        kept = [a for a, w in zip(candidates, windows, strict=True) if w == largest]
    skipped = [
        f"{a.provider.name}/{a.actual_model} (~{estimate:,} tokens, window {w:,})"
        for a, w in zip(candidates, windows, strict=True)
        if a not in kept and w is not None
    ]
    return kept, skipped, None


def wants_1m(anthropic_beta: str | None) -> bool:
    return ONE_M_BETA in (anthropic_beta or "")


def context_overflow(message: str) -> tuple[int | None, int | None] | None:
    """An upstream's context-length refusal: (the tokens it counted, its limit), each None when it did not
    say; None when the message is about something else."""
    lowered = message.lower()
    if not any(p in lowered for p in CONTEXT_PHRASES) or any(p in lowered for p in _NOT_CONTEXT):
        return None
    limit, count = _LIMIT.search(message), _COUNT.search(message)
    return _number(count), _number(limit)


def overflow_text(found: tuple[int | None, int | None], estimate: int, window: int | None) -> str:
    """Anthropic's text for an upstream's overflow: the host's own figures, else ccm's estimate and the
    mapping's window; with no limit known, the count less a tenth. The count is kept above the limit
    (the host refused it), since Claude Code reads the gap."""
    tokens = found[0] or estimate
    limit = found[1] or window or tokens * 9 // 10
    return too_long_text(max(tokens, limit + 1), limit)


def _number(match: re.Match[str] | None) -> int | None:
    return int(match.group(1).replace(",", "")) if match else None
