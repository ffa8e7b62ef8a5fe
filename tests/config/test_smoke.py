from config.load import parse_config
from config.paths import default_config_text


def test_default_config_is_valid() -> None:
    result = parse_config(default_config_text(), "default.toml")
    assert result.config.router.default == "claude-sonnet"
    assert result.warnings == []
