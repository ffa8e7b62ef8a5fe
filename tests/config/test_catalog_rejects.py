"""The catalog's third-party facts: each refusal listed with a public source, on an Anthropic-format type."""

from __future__ import annotations

import pytest

from config.catalog import ADAPTATIONS, CATALOG, MODEL_RULES, REJECTS, lookup, rejected_shapes


def test_every_listed_refusal_is_a_known_adaptation_with_a_public_source() -> None:
    for provider_type, rejections in REJECTS.items():
        assert CATALOG[provider_type].wire == "anthropic", provider_type
        for rejection in rejections:
            assert rejection.shape in ADAPTATIONS, (provider_type, rejection.shape)
            assert rejection.source.startswith("https://"), (provider_type, rejection.source)


def test_anthropic_itself_and_gateways_have_nothing_listed() -> None:
    for provider_type in ("anthropic", "anthropic-compatible", "zenmux"):
        assert rejected_shapes(provider_type) == frozenset()


@pytest.mark.parametrize(
    ("provider_type", "base_url"),
    [
        ("deepseek-anthropic", "https://api.deepseek.com/anthropic"),
        ("moonshot-anthropic", "https://api.moonshot.ai/anthropic"),
        ("openrouter-anthropic", "https://openrouter.ai/api"),
        ("fireworks-anthropic", "https://api.fireworks.ai/inference"),
        ("ollama-anthropic", "http://localhost:11434"),
    ],
)
def test_the_vendors_anthropic_endpoints_are_catalog_types(provider_type: str, base_url: str) -> None:
    spec = lookup(provider_type)
    assert spec is not None and spec.wire == "anthropic" and spec.base_url == base_url
    assert spec.key_optional == (provider_type == "ollama-anthropic")


def test_deepseek_v4_context_window_is_known() -> None:
    rule = next(r for r in MODEL_RULES if r.context_window is not None and "deepseek" in r.types)
    assert (rule.context_window, rule.max_output_tokens) == (1_000_000, 384_000)
