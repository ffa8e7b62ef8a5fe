from config.load import parse_config
from config.paths import default_config_text


def test_default_config_is_valid() -> None:
    result = parse_config(default_config_text(), "default.toml")
    assert result.config.router.default == "claude"
    (mapping,) = result.config.models[0].mappings
    assert (mapping.actual_model, mapping.allow) == ("*", ("claude-*",))  # the Claude model asked for, as asked
    assert result.warnings == []
