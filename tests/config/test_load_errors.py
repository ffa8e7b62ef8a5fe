"""Every validation error names the file, the line and the field, and suggests the nearest valid name.

Each case is a small config; the line an error must point at carries the marker `# <-`, so the expected
line number is read from the text itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from config.errors import ConfigError, Problem
from config.load import load_config, parse_config

HEAD = """\
[server]
port = 13456

[router]
default = "glm-4.6"

[[providers]]
name = "zai"
provider_type = "z.ai"
api_key = "$ZAI_API_KEY"

[[models]]
name = "glm-4.6"

[[models.mappings]]
provider = "zai"
actual_model = "glm-4.6"
priority = 1
"""

ROUTER_ONLY = '[router]\ndefault = "glm-4.6"\n'
PROVIDER = '[[providers]]\nname = "zai"\nprovider_type = "z.ai"\n'
MODEL = '[[models]]\nname = "glm-4.6"\n[[models.mappings]]\nprovider = "zai"\nactual_model = "glm-4.6"\n'

# (id, config text, key, words the message must contain)
CASES: list[tuple[str, str, str, list[str]]] = [
    (
        "mapping-unknown-provider",
        HEAD + '\n[[models]]\nname = "glm-4.5"\n[[models.mappings]]\nprovider = "zia"   # <-\nactual_model = "x"\n',
        "models[1].mappings[0].provider",
        ["unknown provider 'zia'", "did you mean 'zai'", "configured: zai"],
    ),
    (
        "mapping-unknown-provider-keeps-case",
        HEAD.replace('name = "zai"', 'name = "ZaiCoding"').replace('provider = "zai"', 'provider = "zaicoding"')
        + '\n[[models]]\nname = "m"\n[[models.mappings]]\nprovider = "ZaiCodng"   # <-\nactual_model = "x"\n',
        "models[1].mappings[0].provider",
        ["did you mean 'ZaiCoding'"],
    ),
    (
        "bad-auto-map-regex",
        HEAD.replace('default = "glm-4.6"', 'default = "glm-4.6"\nauto_map_regex = "^(claude"   # <-'),
        "router.auto_map_regex",
        ["invalid regex", "^(claude"],
    ),
    (
        "bad-background-regex",
        HEAD.replace('default = "glm-4.6"', 'default = "glm-4.6"\nbackground_regex = "[haiku"   # <-'),
        "router.background_regex",
        ["invalid regex"],
    ),
    (
        "duplicate-provider-case-insensitive",
        HEAD + '\n[[providers]]\nname = "ZAI"   # <-\nprovider_type = "z.ai"\n',
        "providers[1].name",
        ["duplicate provider name 'ZAI'", "providers[0]"],
    ),
    (
        "duplicate-model-case-insensitive",
        HEAD + '\n[[models]]\nname = "GLM-4.6"   # <-\n',
        "models[1].name",
        ["duplicate model name 'GLM-4.6'", "models[0]"],
    ),
    (
        "priority-bool",
        HEAD.replace("priority = 1", "priority = true   # <-"),
        "models[0].mappings[0].priority",
        ["must be an integer", "True"],
    ),
    (
        "priority-float",
        HEAD.replace("priority = 1", "priority = 1.5   # <-"),
        "models[0].mappings[0].priority",
        ["must be an integer", "1.5"],
    ),
    (
        "priority-negative",
        HEAD.replace("priority = 1", "priority = -1   # <-"),
        "models[0].mappings[0].priority",
        ["must be >= 0", "-1"],
    ),
    (
        "priority-string",
        HEAD.replace("priority = 1", 'priority = "1"   # <-'),
        "models[0].mappings[0].priority",
        ["must be an integer"],
    ),
    (
        "unknown-provider-type",
        HEAD.replace('provider_type = "z.ai"', 'provider_type = "openruoter"   # <-'),
        "providers[0].provider_type",
        ["unknown provider type 'openruoter'", "did you mean 'openrouter'"],
    ),
    (
        "unknown-provider-type-alias-suggests-canonical",
        HEAD.replace('provider_type = "z.ai"', 'provider_type = "vertexia"   # <-'),
        "providers[0].provider_type",
        ["did you mean 'vertex-ai'"],
    ),
    (
        "port-zero",
        HEAD.replace("port = 13456", "port = 0   # <-"),
        "server.port",
        ["between 1 and 65535", "0"],
    ),
    (
        "port-too-big",
        HEAD.replace("port = 13456", "port = 70000   # <-"),
        "server.port",
        ["between 1 and 65535", "70000"],
    ),
    (
        "port-string",
        HEAD.replace("port = 13456", 'port = "13456"   # <-'),
        "server.port",
        ["must be an integer"],
    ),
    (
        "bad-auth-type",
        HEAD.replace('api_key = "$ZAI_API_KEY"', 'auth_type = "token"   # <-'),
        "providers[0].auth_type",
        ['"apikey", "oauth" or "adc"', "'token'"],
    ),
    (
        "oauth-on-a-type-without-oauth",
        HEAD.replace('api_key = "$ZAI_API_KEY"', 'auth_type = "oauth"   # <-'),
        "providers[0].auth_type",
        ["has no OAuth login"],
    ),
    (
        "base-url-required-anthropic-compatible",
        HEAD + '\n[[providers]]   # <-\nname = "local"\nprovider_type = "anthropic-compatible"\n',
        "providers[1].base_url",
        ["is required", "anthropic-compatible"],
    ),
    (
        "base-url-required-openai-compatible",
        HEAD + '\n[[providers]]   # <-\nname = "ollama"\nprovider_type = "openai-compatible"\n',
        "providers[1].base_url",
        ["is required", "openai-compatible"],
    ),
    (
        "base-url-not-http",
        HEAD.replace('api_key = "$ZAI_API_KEY"', 'base_url = "api.z.ai/api/anthropic"   # <-'),
        "providers[0].base_url",
        ["http:// or https://"],
    ),
    (
        "router-default-missing",
        HEAD.replace('default = "glm-4.6"', 'think = "glm-4.6"').replace("[router]", "[router]   # <-"),
        "router.default",
        ["is required"],
    ),
    (
        "router-default-empty",
        HEAD.replace('default = "glm-4.6"', 'default = ""   # <-'),
        "router.default",
        ["must name a model"],
    ),
    (
        "router-slot-unknown-model",
        HEAD.replace('default = "glm-4.6"', 'default = "glm-4.6"\nthink = "glm-4.7"   # <-'),
        "router.think",
        ["names model 'glm-4.7'", "did you mean 'glm-4.6'", "configured: glm-4.6"],
    ),
    (
        "router-default-unknown-model",
        HEAD.replace('default = "glm-4.6"', 'default = "minimax-m2"   # <-'),
        "router.default",
        ["names model 'minimax-m2'"],
    ),
    (
        "router-slot-unknown-provider",
        HEAD.replace('default = "glm-4.6"', 'default = "glm-4.6"\nbackground = "zia,glm-4.5-air"   # <-'),
        "router.background",
        ["names provider 'zia'", "did you mean 'zai'"],
    ),
    (
        "router-slot-provider-without-model",
        HEAD.replace('default = "glm-4.6"', 'default = "glm-4.6"\nwebsearch = "zai,"   # <-'),
        "router.websearch",
        ["names no model"],
    ),
    (
        "long-context-threshold-zero",
        HEAD.replace('default = "glm-4.6"', 'default = "glm-4.6"\nlong_context_threshold = 0   # <-'),
        "router.long_context_threshold",
        [">= 1"],
    ),
    (
        "mapping-missing-actual-model",
        HEAD.replace('actual_model = "glm-4.6"\n', "").replace("[[models.mappings]]", "[[models.mappings]]   # <-"),
        "models[0].mappings[0].actual_model",
        ["is required"],
    ),
    (
        "model-name-with-comma",
        HEAD + '\n[[models]]\nname = "zai,glm"   # <-\n',
        "models[1].name",
        ["must not contain ','"],
    ),
    (
        "provider-name-missing",
        HEAD + '\n[[providers]]   # <-\nprovider_type = "z.ai"\n',
        "providers[1].name",
        ["is required"],
    ),
    (
        "enabled-not-bool",
        HEAD.replace('api_key = "$ZAI_API_KEY"', 'enabled = "yes"   # <-'),
        "providers[0].enabled",
        ["true or false"],
    ),
    (
        "max-output-tokens-zero",
        HEAD.replace("priority = 1", "priority = 1\nmax_output_tokens = 0   # <-"),
        "models[0].mappings[0].max_output_tokens",
        [">= 1"],
    ),
    (
        "log-level",
        HEAD.replace("port = 13456", 'port = 13456\nlog_level = "verbose"   # <-'),
        "server.log_level",
        ["critical", "'verbose'"],
    ),
    (
        "timeout-negative",
        HEAD.replace("port = 13456", "port = 13456\n\n[server.timeouts]\napi_timeout_ms = -5   # <-"),
        "server.timeouts.api_timeout_ms",
        [">= 1"],
    ),
    (
        "timeout-dotted-key",
        HEAD.replace("port = 13456", "port = 13456\ntimeouts.connect_timeout_ms = 0   # <-"),
        "server.timeouts.connect_timeout_ms",
        [">= 1"],
    ),
    (
        "providers-not-an-array",
        'providers = "zai"   # <-\n' + ROUTER_ONLY,
        "providers",
        ["array of tables"],
    ),
    (
        "headers-value-not-string",
        HEAD.replace('api_key = "$ZAI_API_KEY"', "headers = { X-Retries = 3 }   # <-"),
        "providers[0].headers.X-Retries",
        ["must be a string"],
    ),
]


def _marked_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if "# <-" in line]
    assert len(lines) == 1, "each case marks exactly one line"
    return lines[0]


@pytest.mark.parametrize(("text", "key", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_names_file_line_and_key(
    write_config: Callable[[str], Path], text: str, key: str, words: list[str]
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    matching = [p for p in info.value.problems if p.key == key]
    assert matching, f"no problem for {key}: {[str(p) for p in info.value.problems]}"
    problem = matching[0]
    assert problem.file == str(path)
    assert problem.line == _marked_line(text)
    for word in words:
        assert word in problem.message
    assert str(problem).startswith(f"{path}:{problem.line}: {key}: ")
    assert str(info.value).startswith(str(info.value.problems[0]))


def test_head_is_valid() -> None:
    """The base every case breaks is itself valid (so each case fails for its own reason)."""
    result = parse_config(HEAD)
    assert result.warnings == []


def test_missing_router_table_is_one_error_naming_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(PROVIDER + MODEL, "my.toml")
    assert [(p.key, p.file) for p in info.value.problems] == [("router", "my.toml")]
    assert "missing [router]" in info.value.problems[0].message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[router]\ndefault = "a"\nthink = \n', 3),
        ('[router]\ndefault = "a"\n[router]\n', 3),
        ('[[providers]]\nname = "a\n', 2),
        ("[server]\nport = 1\nport = 2\n", 3),
    ],
    ids=["missing-value", "table-twice", "unterminated-string", "key-twice"],
)
def test_invalid_toml_reports_tomllib_line(text: str, line: int) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "bad.toml")
    (problem,) = info.value.problems
    assert problem.file == "bad.toml"
    assert problem.line == line
    assert problem.message.startswith("not valid TOML")
    assert str(problem).startswith(f"bad.toml:{line}: not valid TOML")


def test_every_error_is_reported_at_once() -> None:
    text = (
        HEAD.replace("port = 13456", "port = 0")
        .replace('provider_type = "z.ai"', 'provider_type = "zz"')
        .replace("priority = 1", "priority = -2")
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    keys = [p.key for p in info.value.problems]
    assert keys == ["server.port", "providers[0].provider_type", "models[0].mappings[0].priority"]
    assert "(and 2 more)" in str(info.value)


def test_a_bad_provider_does_not_cascade_into_its_mappings() -> None:
    """A provider with an unknown type is one error, not one more per mapping that uses it."""
    with pytest.raises(ConfigError) as info:
        parse_config(HEAD.replace('provider_type = "z.ai"', 'provider_type = "nope"'))
    assert [p.key for p in info.value.problems] == ["providers[0].provider_type"]


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.problems[0].file == str(tmp_path / "nope.toml")
    assert info.value.hint and "ccm config init" in info.value.hint
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[router]\ndefault = "caf\xe9"\n')
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(bad)


def test_problem_without_line_or_key_reads_well() -> None:
    assert str(Problem("boom")) == "config: boom"
    assert str(Problem("boom", key="router", file="c.toml")) == "c.toml: router: boom"
    assert str(Problem("boom", key="router", file="c.toml", line=3)) == "c.toml:3: router: boom"
