"""ccm.dispatch.window: which mappings a request fits, and hosts' context-length errors in Anthropic's words."""

from __future__ import annotations

import re

import pytest

from ccm.dispatch.window import context_overflow, fit, overflow_text, wants_1m
from ccm.routing import Candidate
from config.load import parse_config

CONFIG = parse_config(
    '[router]\ndefault = "m"\n'
    '[[providers]]\nname = "gw"\nprovider_type = "anthropic"\n'
    '[[providers]]\nname = "oai"\nprovider_type = "openai"\n'
    '[[models]]\nname = "m"\n'
).config
GW, OAI = CONFIG.providers


def attempt(provider: str, model: str, window: int | None = None) -> Candidate:
    return Candidate(GW if provider == "gw" else OAI, model, context_window=window)


SMALL, BIG, UNKNOWN = attempt("gw", "a", 10_000), attempt("gw", "b", 100_000), attempt("oai", "mystery")


def test_a_mapping_is_skipped_past_95_percent_of_its_window() -> None:
    assert fit([SMALL, BIG], 9_500, False) == ([SMALL, BIG], [], None)
    kept, skipped, too_long = fit([SMALL, BIG], 9_501, False)
    assert (kept, too_long) == ([BIG], None)
    assert skipped == ["gw/a (~9,501 tokens, window 10,000)"]


def test_an_unknown_window_always_fits() -> None:
    assert fit([SMALL, UNKNOWN], 5_000_000, False)[0] == [UNKNOWN]


def test_when_none_fits_the_largest_is_tried_up_to_ten_percent_over() -> None:
    kept, skipped, too_long = fit([SMALL, BIG], 110_000, False)
    assert (kept, too_long) == ([BIG], None) and skipped == ["gw/a (~110,000 tokens, window 10,000)"]
    assert fit([SMALL, BIG], 110_001, False) == ([], [], "prompt is too long: 110001 tokens > 100000 maximum")


def test_the_catalog_window_and_the_1m_beta() -> None:
    sonnet = attempt("gw", "claude-sonnet-4-5-20250929")
    assert fit([sonnet], 300_000, False)[2] == "prompt is too long: 300000 tokens > 200000 maximum"
    assert fit([sonnet], 300_000, True) == ([sonnet], [], None)  # context-1m: Sonnet 4.5 takes 1M
    assert wants_1m("claude-code-20250219,context-1m-2025-08-07") and not wants_1m(None)


@pytest.mark.parametrize(
    ("message", "found"),
    [
        ("prompt is too long: 210000 tokens > 200000 maximum", (210_000, 200_000)),
        (
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 130524 "
            "tokens (129000 in the messages, 1524 in the functions). Please reduce the length of the messages.",
            (130_524, 128_000),
        ),
        (
            "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens "
            "(8000 in the messages, 32000 in the completion).",
            (40_000, 32_768),
        ),
        (
            "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            (1_200_000, 1_048_576),
        ),
        ("Prompt exceeds max length", (None, None)),
        ("Your input exceeds the context window of this model.", (None, None)),
        ("context_length_exceeded", (None, None)),
        ("messages.0.content: string too long. Expected a string with maximum length 1048576", None),
        ("invalid tool schema", None),
        ("thinking.budget_tokens: must be less than max_tokens", None),
    ],
)
def test_hosts_context_length_errors_are_recognised(message: str, found: tuple[int | None, int | None] | None) -> None:
    assert context_overflow(message) == found


def test_the_rewrite_is_what_claude_code_parses() -> None:
    claude_code = re.compile(r"^prompt is too long: \d+ tokens > \d+ maximum$")  # its own check, both versions
    for text in (
        overflow_text((130_524, 128_000), 1, None),
        overflow_text((None, None), 90_000, 128_000),  # the host said nothing: the estimate vs the window
        overflow_text((None, None), 90_000, None),  # nor is the window known: a tenth less than the count
        overflow_text((None, 64_000), 50_000, None),  # the host refused, so the count is above its limit
    ):
        assert claude_code.match(text), text
    assert overflow_text((130_524, 128_000), 1, None) == "prompt is too long: 130524 tokens > 128000 maximum"
    assert overflow_text((None, None), 90_000, 128_000) == "prompt is too long: 128001 tokens > 128000 maximum"
    assert overflow_text((None, None), 90_000, None) == "prompt is too long: 90000 tokens > 81000 maximum"
