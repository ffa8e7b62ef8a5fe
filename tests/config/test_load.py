"""Loading: claude-code-mux configs load unchanged, unknown keys only warn, values become typed objects."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from config.load import compile_regex, load_config, nearest, parse_config
from config.locate import Locator, scan
from config.paths import default_config_text


def test_claude_code_mux_v06_config_loads_unchanged(write_config: Callable[[str], Path], v06_text: str) -> None:
    path = write_config(v06_text)
    result = load_config(path)
    cfg = result.config
    assert result.warnings == []  # `models = []` (legacy) and oauth_provider are known keys
    assert path.read_text(encoding="utf-8") == v06_text  # loading never writes
    assert [p.name for p in cfg.providers] == [
        "claude-max-main",
        "openai-codex",
        "gemini-oauth",
        "zai-coding-plan",
        "minimax",
        "kimi",
        "openrouter",
    ]
    assert len(cfg.models) == 10
    assert cfg.router.default == "claude-sonnet-4.5"
    assert cfg.router.think == "claude-opus-4.1"
    assert cfg.router.long_context is None
    assert cfg.server.host == "0.0.0.0"
    gemini = cfg.model("GEMINI-2.5-PRO")
    assert gemini is not None
    assert [(m.provider, m.actual_model, m.priority) for m in gemini.mappings] == [
        ("gemini-oauth", "gemini-2.5-pro", 1),
        ("gemini-oauth", "gemini-2.5-flash", 2),
        ("zai-coding-plan", "glm-4.6", 3),
    ]
    claude = cfg.provider("Claude-Max-Main")
    assert claude is not None and claude.auth_type == "oauth" and claude.oauth_provider == "claude-max-main"
    assert claude.wire == "anthropic"
    codex = cfg.provider("openai-codex")
    assert codex is not None and codex.wire == "responses"  # OpenAI OAuth speaks the Responses API
    assert cfg.provider("openrouter").enabled is False  # type: ignore[union-attr]
    assert cfg.provider("minimax").api_key == "${MINIMAX_API_KEY}"  # type: ignore[union-attr]


def test_fork_keys_warn_with_their_line_and_never_fail(write_config: Callable[[str], Path], fork_text: str) -> None:
    path = write_config(fork_text)
    result = load_config(path)
    lines = fork_text.splitlines()
    by_key = {w.key: w for w in result.warnings}
    assert set(by_key) == {
        "ui",
        "server.api_timeout",
        "server.cors_origins",
        "server.timeouts.retry_backoff_ms",
        "router.strategy",
        "router.prompt_rules",
        "providers[0].max_retries",
        "models[0].description",
    }
    for warning in result.warnings:
        assert warning.file == str(path)
        assert warning.line is not None
        assert "unknown key, ignored" in warning.message
    # The line is the key's own line, or the header that introduces it.
    assert lines[by_key["router.prompt_rules"].line - 1] == "[[router.prompt_rules]]"  # type: ignore[operator]
    assert lines[by_key["ui"].line - 1] == "[ui]"  # type: ignore[operator]
    assert lines[by_key["models[0].description"].line - 1].startswith("description")  # type: ignore[operator]
    cfg = result.config
    assert cfg.models[0].mappings[0].weight == 10  # the fork's load-balancing weight is ccm's too
    assert cfg.router.auto_map.search("Claude-Opus")  # `^(?i)claude-`: a Rust-style flag mid-pattern
    assert cfg.router.background_regex == "(?i)claude.*haiku"  # "" -> the default, as claude-code-mux
    assert cfg.provider("zai").headers == (("X-Title", "ccm"),)  # type: ignore[union-attr]
    assert cfg.server.timeouts.api_timeout_ms == 300_000


@pytest.mark.parametrize(
    ("key", "nearest_key"),
    [("prot", "port"), ("hots", "host"), ("log_levle", "log_level")],
)
def test_unknown_key_warning_names_the_nearest_known_key(key: str, nearest_key: str) -> None:
    text = f'[server]\n{key} = 1\n\n[router]\ndefault = "a"\n\n[[providers]]\nname = "p"\nprovider_type = "z.ai"\n'
    text += '\n[[models]]\nname = "a"\n[[models.mappings]]\nprovider = "p"\nactual_model = "a"\n'
    (warning,) = parse_config(text, "c.toml").warnings
    assert warning.key == f"server.{key}"
    assert warning.line == 2
    assert f"did you mean '{nearest_key}'" in warning.message


def test_model_without_mappings_and_provider_with_comma_warn() -> None:
    text = '[router]\ndefault = "a"\n\n[[providers]]\nname = "a,b"\nprovider_type = "z.ai"\n\n[[models]]\nname = "a"\n'
    warnings = parse_config(text).warnings
    assert [(w.key, w.line) for w in warnings] == [("providers[0].name", 5), ("models[0]", 8)]
    assert "cannot be selected as `provider,model`" in warnings[0].message
    assert "has no [[models.mappings]]" in warnings[1].message


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("^(?i)claude", ["Claude-3", "claude-x"], ["my-claude"]),
        ("(?i)claude.*haiku", ["CLAUDE-3-HAIKU"], ["haiku-claude"]),
        ("^claude(?i)-.*HAIKU", ["claude-x-haiku", "CLAUDE-x-haiku"], ["x-claude-haiku"]),
        ("^(?i)claude(?s).*x", ["Claude\nx"], []),
        ("(?i:claude)-opus", ["CLAUDE-opus"], ["claude-OPUS"]),  # a scoped group is not a global flag
        ("^claude-", ["claude-sonnet"], ["Claude-sonnet"]),
    ],
)
def test_rust_style_regexes_compile(pattern: str, matches: list[str], misses: list[str]) -> None:
    compiled = compile_regex(pattern)
    for name in matches:
        assert compiled.search(name), name
    for name in misses:
        assert not compiled.search(name), name


def test_invalid_regex_still_raises_re_error() -> None:
    with pytest.raises(re.error):
        compile_regex("^(claude")


def test_defaults_and_empty_slots() -> None:
    text = (
        '[router]\ndefault = " a "\nthink = ""\nbackground = "  "\n\n[[providers]]\nname = "p"\nprovider_type = "zai"\n'
    )
    text += '\n[[models]]\nname = "a"\n[[models.mappings]]\nprovider = "P"\nactual_model = "a1"\n'
    cfg = parse_config(text).config
    assert cfg.router.default == "a"
    assert cfg.router.think is None and cfg.router.background is None
    assert cfg.router.auto_map_regex == "^claude-"
    assert cfg.router.long_context_threshold == 60_000
    assert cfg.server.port == 13456 and cfg.server.host == "127.0.0.1"
    assert cfg.server.timeouts.api_timeout_ms == 600_000
    provider = cfg.provider("p")
    assert provider is not None and provider.provider_type == "z.ai"  # alias -> catalog type
    assert provider.effective_base_url == "https://api.z.ai/api/anthropic"
    assert provider.url("/v1/messages") == "https://api.z.ai/api/anthropic/v1/messages"
    assert cfg.models[0].mappings[0].provider == "p"  # the provider's spelling, not the mapping's


def test_mappings_sorted_by_priority_ties_in_file_order() -> None:
    text = '[router]\ndefault = "m"\n\n[[providers]]\nname = "a"\nprovider_type = "z.ai"\n'
    text += '[[providers]]\nname = "b"\nprovider_type = "minimax"\n\n[[models]]\nname = "m"\n'
    for provider, actual, priority in [("a", "x", 2), ("b", "y", 1), ("a", "z", 2), ("b", "w", 0)]:
        text += f'[[models.mappings]]\nprovider = "{provider}"\nactual_model = "{actual}"\npriority = {priority}\n'
    text += '[[models.mappings]]\nprovider = "a"\nactual_model = "no-priority"\n'  # index 4 -> priority 4
    model = parse_config(text).config.models[0]
    assert [(m.actual_model, m.priority) for m in model.mappings] == [
        ("w", 0),
        ("y", 1),
        ("x", 2),
        ("z", 2),
        ("no-priority", 4),
    ]


def test_config_replace_rebuilds_lookups(v06_text: str) -> None:
    cfg = parse_config(v06_text).config
    smaller = dataclasses.replace(cfg, providers=cfg.providers[:1], models=cfg.models[:1])
    assert smaller.provider("kimi") is None
    assert smaller.model("glm-4.6") is None
    assert cfg.provider("kimi") is not None  # the original is untouched


def test_default_config_is_valid_and_has_no_warnings() -> None:
    result = parse_config(default_config_text(), "default.toml")
    assert result.warnings == []


def test_nearest_is_case_insensitive_and_keeps_spelling() -> None:
    assert nearest("ZAI-coding", ["zai-Coding", "openrouter"]) == "zai-Coding"
    assert nearest("xxxxxxxx", ["zai"]) is None


def test_locate_skips_multiline_strings_and_arrays() -> None:
    text = (
        "[router]\n"
        "note = '''\n"
        "[providers]\n"
        "default = 1\n"
        "'''\n"
        'rows = [\n  ["a", "b"]\n]\n'
        'default = "x"\n'
        '[[providers]]\nname = "p"\n'
    )
    kinds = [line.kind for line in scan(text)]
    expected = "header key continuation continuation continuation key continuation continuation key header key"
    assert kinds == expected.split()
    assert Locator(text).line(("router", "default")) == 9
    assert Locator(text).line(("providers", 0, "name")) == 11
    assert Locator(text).line(("providers", 0, "missing")) == 10  # falls back to the table's header


def test_locate_quoted_and_dotted_keys() -> None:
    text = '[server]\n"timeouts".api_timeout_ms = 1\ntimeouts . connect_timeout_ms = 2\n[a."b.c"]\nx = 1\n'
    assert Locator(text).line(("server", "timeouts", "connect_timeout_ms")) == 3
    assert Locator(text).line(("server", "timeouts", "api_timeout_ms")) == 2
    assert Locator(text).line(("a", "b.c", "x")) == 5


def test_integer_past_toml_range_is_an_error() -> None:
    import pytest

    from config.errors import ConfigError
    from config.load import parse_config

    text = '[router]\ndefault = "m"\nlong_context_threshold = 99999999999999999999999999\n[[models]]\nname = "m"\n'
    with pytest.raises(ConfigError, match="larger than a TOML integer"):
        parse_config(text, "c.toml")


PASSTHROUGH = """\
[router]
default = "m"

[[providers]]
name = "claude"
provider_type = "anthropic"
auth_type = "passthrough"

[[providers]]
name = "gateway"
provider_type = "anthropic-compatible"
auth_type = "passthrough"
base_url = "http://127.0.0.1:8080"

[[models]]
name = "m"

[[models.mappings]]
provider = "claude"
actual_model = "claude-sonnet-4-5"
"""


def test_passthrough_loads_for_anthropic_types_and_advises_on_other_hosts() -> None:
    result = parse_config(PASSTHROUGH, "c.toml")
    claude, gateway = result.config.providers
    assert (claude.auth_type, gateway.auth_type) == ("passthrough", "passthrough")
    assert result.warnings == []
    assert [str(a) for a in result.advice] == [
        "c.toml:13: providers[1].base_url: this passthrough provider forwards Claude Code's own login to "
        "127.0.0.1, not api.anthropic.com: only do this for a gateway you trust"
    ]


def test_mapping_weight_and_prices_load(write_config: Callable[[str], Path]) -> None:
    text = """
[router]
default = "m"

[[providers]]
name = "p"
provider_type = "z.ai"

[[models]]
name = "m"

[[models.mappings]]
provider = "p"
actual_model = "a"
weight = 3
price_in = 1            # an integer is a price too
price_out = 2.5
price_cache_read = 0.1
price_cache_write = 1.25

[[models.mappings]]
provider = "p"
actual_model = "b"
"""
    a, b = load_config(write_config(text)).config.models[0].mappings
    assert (a.weight, a.price_in, a.price_out, a.price_cache_read, a.price_cache_write) == (3, 1.0, 2.5, 0.1, 1.25)
    assert isinstance(a.price_in, float) and a.priced
    assert (b.weight, b.price_in, b.price_out, b.priced) == (1, None, None, False)
