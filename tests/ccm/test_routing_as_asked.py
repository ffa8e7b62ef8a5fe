"""The model asked for is served as asked: `actual_model = "*"`, `allow` globs, and the two client-side
decorations routing removes (a trailing `[1m]`, the `claude-via-ccm/` prefix of GET /v1/models)."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.dispatch.attempt import prepare_body
from ccm.routing import requested_name, resolve, route
from config.errors import ConfigError, RoutingError
from config.load import parse_config
from config.schema import Config

PLAN = """
[router]
default = "claude"
background = "haiku"

[[providers]]
name = "claude"
provider_type = "anthropic"
auth_type = "passthrough"

[[providers]]
name = "chatgpt"
provider_type = "openai"
auth_type = "oauth"

[[models]]
name = "claude"
[[models.mappings]]
provider = "claude"
actual_model = "*"
allow = ["claude-*"]
[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.5"

[[models]]
name = "haiku"
[[models.mappings]]
provider = "claude"
actual_model = "*"
allow = ["Claude-*"]
[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.4-mini"

[[models]]
name = "glm"
[[models.mappings]]
provider = "chatgpt"
actual_model = "glm-5"
"""


def config(text: str = PLAN) -> Config:
    return parse_config(text).config


def body(model: str, **fields: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], **fields}


def chain(model: str, cfg: Config | None = None) -> list[tuple[str, str]]:
    cfg = cfg or config()
    decision = route(body(model), cfg)
    return [(a.provider.name, a.actual_model) for a in resolve(decision.model, cfg, decision.original_model)]


@pytest.mark.parametrize(
    "asked",
    ["claude-opus-5-5", "claude-sonnet-5-5", "claude-sonnet-4-5-20250929", "claude-fable-5-2"],
)
def test_star_sends_the_name_asked_for_with_the_fallback_behind_it(asked: str) -> None:
    assert chain(asked) == [("claude", asked), ("chatgpt", "gpt-5.5")]


def test_background_star_serves_the_haiku_claude_code_asked_for() -> None:
    decision = route(body("claude-haiku-5-5"), config())
    assert (decision.rule, decision.model) == ("background", "haiku")
    assert chain("claude-haiku-5-5") == [("claude", "claude-haiku-5-5"), ("chatgpt", "gpt-5.4-mini")]


def test_the_forwarded_body_carries_the_name_asked_for() -> None:
    cfg = config()
    decision = route(body("claude-opus-5-5[1m]"), cfg)
    first = resolve(decision.model, cfg, decision.original_model)[0]
    assert first.as_asked and prepare_body(body("claude-opus-5-5[1m]"), decision, first)["model"] == "claude-opus-5-5"


@pytest.mark.parametrize(
    ("sent", "routed"),
    [
        ("claude-opus-5-5[1m]", "claude-opus-5-5"),
        ("claude-opus-5-5[1M]", "claude-opus-5-5"),
        ("claude-via-ccm/glm", "glm"),
        ("Claude-Via-CCM/glm[1m]", "glm"),
        ("glm", "glm"),
        ("claude-via-ccm/", ""),
        ("model[1m]x", "model[1m]x"),  # only a trailing selector
    ],
)
def test_requested_name_removes_the_window_selector_and_the_discovery_prefix(sent: str, routed: str) -> None:
    assert requested_name(sent) == routed


def test_the_discovery_prefix_is_gone_before_every_rule() -> None:
    """`claude-via-ccm/glm` is the configured model glm: not auto-mapped (it starts with claude-), not
    background; and `claude-via-ccm/claude-haiku-5-5` still reaches background."""
    cfg = config()
    decision = route(body("claude-via-ccm/glm"), cfg)
    assert (decision.rule, decision.model, decision.auto_mapped_to) == ("default", "glm", None)
    assert chain("claude-via-ccm/glm") == [("chatgpt", "glm-5")]
    assert route(body("claude-via-ccm/claude-haiku-5-5"), cfg).rule == "background"


def test_explicit_provider_model_loses_the_window_selector() -> None:
    assert chain("chatgpt,gpt-5.5[1m]") == [("chatgpt", "gpt-5.5")]


def test_a_name_outside_allow_skips_the_mapping() -> None:
    """`think`-less plan: a request for `sonnet` (a name Anthropic does not serve) routed to `claude`
    through a slot skips the `*` mapping and goes to the fallback."""
    cfg = config(PLAN.replace('background = "haiku"', 'background = "haiku"\nwebsearch = "claude"'))
    tools = [{"type": "web_search_20250305", "name": "web_search"}]
    decision = route(body("glm", tools=tools), cfg)
    assert (decision.rule, decision.model) == ("websearch", "claude")
    attempts = resolve(decision.model, cfg, decision.original_model)
    assert [(a.provider.name, a.actual_model) for a in attempts] == [("chatgpt", "gpt-5.5")]


def test_no_mapping_admits_the_name_is_a_404_naming_the_allow_list() -> None:
    cfg = config(PLAN.replace('actual_model = "gpt-5.5"', 'actual_model = "gpt-5.5"\nallow = ["claude-opus-*"]'))
    with pytest.raises(RoutingError) as caught:
        resolve("claude", cfg, "glm")
    assert caught.value.status == 404
    assert "no mapping for 'glm'" in caught.value.message and "claude allows only claude-*" in caught.value.message


def test_without_a_requested_name_star_stays_star() -> None:
    assert [a.actual_model for a in resolve("claude", config())] == ["*", "gpt-5.5"]


@pytest.mark.parametrize("kind", ["anthropic", "anthropic-compatible", "vertex-ai"])
def test_star_is_accepted_on_claude_serving_types(kind: str) -> None:
    extra = '\nbase_url = "https://gw.example"' if kind == "anthropic-compatible" else ""
    extra += '\nproject_id = "p"' if kind == "vertex-ai" else ""
    text = PLAN.replace('provider_type = "anthropic"\nauth_type = "passthrough"', f'provider_type = "{kind}"{extra}')
    parse_config(text)


@pytest.mark.parametrize("kind", ["openai", "z.ai", "gemini"])
def test_star_elsewhere_is_a_config_error(kind: str) -> None:
    text = PLAN.replace('provider = "chatgpt"\nactual_model = "glm-5"', 'provider = "other"\nactual_model = "*"')
    text += f'\n[[providers]]\nname = "other"\nprovider_type = "{kind}"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert 'models[2].mappings[0].actual_model: "*" (the name the client asked for) works only on types' in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("value", "ok"), [('["claude-*"]', True), ('"claude-*"', False), ('[""]', False), ("[1]", False)]
)
def test_allow_must_be_a_list_of_globs(value: str, ok: bool) -> None:
    text = PLAN.replace('allow = ["claude-*"]', f"allow = {value}")
    if ok:
        parse_config(text)
        return
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert "models[0].mappings[0].allow: must be a list of name patterns" in str(caught.value)


def test_context_window_is_a_positive_integer() -> None:
    cfg = config(PLAN.replace('actual_model = "glm-5"', 'actual_model = "glm-5"\ncontext_window = 200000'))
    assert cfg.model("glm").mappings[0].context_window == 200_000  # type: ignore[union-attr]
    with pytest.raises(ConfigError) as caught:
        parse_config(PLAN.replace('actual_model = "glm-5"', 'actual_model = "glm-5"\ncontext_window = 0'))
    assert "context_window: must be >= 1" in str(caught.value)


def warnings_of(text: str) -> list[str]:
    return [str(w) for w in parse_config(text).warnings]


def test_validate_warns_when_another_slot_sends_any_name_as_asked_to_anthropic() -> None:
    """`long_context` may receive `glm` (ccm code --model glm): a `*` mapping without allow would send "glm"
    to Anthropic. `default` only gets auto-mapped claude-* names: no warning for it."""
    open_star = PLAN.replace('allow = ["claude-*"]\n', "")
    assert warnings_of(open_star) == []
    text = open_star.replace('background = "haiku"', 'background = "haiku"\nlong_context = "claude"')
    (warning,) = warnings_of(text)
    assert "router.long_context: routes to 'claude', whose first mapping sends the name asked for" in warning
    assert 'add allow = ["claude-*"]' in warning
    assert warnings_of(PLAN.replace('background = "haiku"', 'background = "haiku"\nlong_context = "claude"')) == []


def test_validate_warns_for_background_only_when_a_configured_name_matches_its_regex() -> None:
    open_haiku = PLAN.replace('allow = ["Claude-*"]\n', "")
    assert warnings_of(open_haiku) == []
    text = open_haiku.replace('name = "glm"', 'name = "glm-haiku"').replace(
        'background = "haiku"', 'background = "haiku"\nbackground_regex = "haiku"'
    )
    (warning,) = warnings_of(text)
    assert "router.background: routes to 'haiku'" in warning
