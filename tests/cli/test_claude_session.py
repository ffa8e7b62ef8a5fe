"""cli.claude_session: the variables `ccm code` and `ccm env` give Claude Code from the config."""

from __future__ import annotations

import pytest

from cli.claude_session import model_argument, session_env
from config.catalog import CLAUDE_CODE_HAIKU
from config.load import parse_config
from config.schema import Config

BASE = """
[router]
default = "main"
{router}

[[providers]]
name = "gw"
provider_type = "anthropic-compatible"
base_url = "http://127.0.0.1:9"

[[providers]]
name = "oai"
provider_type = "openai"

[[models]]
name = "main"
[[models.mappings]]
provider = "gw"
actual_model = "{main}"
{main_extra}

[[models]]
name = "big"
[[models.mappings]]
provider = "oai"
actual_model = "gpt-5"

[[models]]
name = "glm"
[[models.mappings]]
provider = "gw"
actual_model = "glm-5"
context_window = 64000

[[models]]
name = "quick"
[[models.mappings]]
provider = "gw"
actual_model = "quick-1"
"""


def cfg(router: str = "", main: str = "main-1", main_extra: str = "context_window = 150000") -> Config:
    return parse_config(BASE.format(router=router, main=main, main_extra=main_extra)).config


def test_background_set_sends_titles_and_haiku_subagents_to_it() -> None:
    env = session_env(cfg('background = "quick"'), {})
    assert env.values["ANTHROPIC_DEFAULT_HAIKU_MODEL"] == env.values["ANTHROPIC_SMALL_FAST_MODEL"] == CLAUDE_CODE_HAIKU
    assert env.notes == []


def test_no_background_slot_sets_no_haiku() -> None:
    env = session_env(cfg(), {})
    assert "ANTHROPIC_DEFAULT_HAIKU_MODEL" not in env.values and "ANTHROPIC_SMALL_FAST_MODEL" not in env.values


def test_a_background_regex_that_misses_claude_codes_haiku_warns_and_sets_nothing() -> None:
    env = session_env(cfg('background = "quick"\nbackground_regex = "^claude-haiku-4"'), {})
    assert "ANTHROPIC_DEFAULT_HAIKU_MODEL" not in env.values and "ANTHROPIC_SMALL_FAST_MODEL" not in env.values
    (note,) = env.notes
    assert "does not match Claude Code's haiku (claude-haiku-5-5)" in note


def test_the_users_own_values_win() -> None:
    mine = {
        "ANTHROPIC_DEFAULT_HAIKU_MODEL": "my-haiku",
        "ANTHROPIC_SMALL_FAST_MODEL": "my-fast",
        "CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "0",
        "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "500k",
        "CLAUDE_CODE_MAX_CONTEXT_TOKENS": "1",
    }
    assert session_env(cfg('background = "quick"'), mine).values == {}
    assert session_env(cfg('background = "quick"'), mine, "glm").values == {}


def test_gateway_model_discovery_is_switched_on() -> None:
    assert session_env(cfg(), {}).values["CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY"] == "1"


def test_a_claude_session_routed_to_a_smaller_model_compacts_at_its_window() -> None:
    """Claude Code gives claude-opus-5-5 a 1M window; ccm serves it with a 150k model: compact at 150k."""
    values = session_env(cfg(), {}).values
    assert values["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "150000" and "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in values
    # The long-context slot's bigger model is reachable too: the largest window decides.
    assert session_env(cfg('long_context = "big"'), {}).values["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "272000"
    # A window Claude Code's own is not above (claude-sonnet-4-5: 200k) changes nothing.
    values = session_env(cfg(main_extra="context_window = 300000"), {}, "claude-sonnet-4-5").values
    assert "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in values


def test_below_claude_codes_minimum_the_auto_compact_window_is_left_alone() -> None:
    values = session_env(cfg(main_extra="context_window = 64000"), {}).values
    assert "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in values and "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in values


@pytest.mark.parametrize("model", ["glm", "claude-via-ccm/glm", "claude-via-ccm/glm[1m]"])
def test_a_session_on_a_name_claude_code_does_not_know_gets_its_window(model: str) -> None:
    values = session_env(cfg(), {}, model).values
    assert values["CLAUDE_CODE_MAX_CONTEXT_TOKENS"] == "64000" and "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in values


def test_an_unknown_window_or_a_star_mapping_sets_nothing() -> None:
    assert "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in session_env(cfg(main_extra=""), {}).values  # main-1: unknown
    star = cfg(main="*", main_extra="")
    assert "CLAUDE_CODE_AUTO_COMPACT_WINDOW" not in session_env(star, {}).values  # Claude's own window
    quick = session_env(star, {}, "quick")
    assert "CLAUDE_CODE_MAX_CONTEXT_TOKENS" not in quick.values  # quick-1: unknown
    (note,) = quick.notes  # ... which the user is told, with what fixes it
    assert "context window of 'quick'" in note and "set context_window" in note
    assert session_env(star, {}, "claude-sonnet-4-5").notes == []  # Claude Code knows a Claude name's window


@pytest.mark.parametrize(
    ("args", "env", "model"),
    [
        (["-p", "x", "--model", "glm"], {}, "glm"),
        (["--model=claude-via-ccm/glm"], {"ANTHROPIC_MODEL": "other"}, "claude-via-ccm/glm"),
        (["-p", "x"], {"ANTHROPIC_MODEL": "kimi"}, "kimi"),
        (["--", "--model", "glm"], {}, None),
        (["--model"], {}, None),
    ],
)
def test_the_model_a_command_line_picks(args: list[str], env: dict[str, str], model: str | None) -> None:
    assert model_argument(args, env) == model
