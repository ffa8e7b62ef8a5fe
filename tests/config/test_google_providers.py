"""Config for the Google providers: vertex-ai defaults to ADC, needs a project, takes a location and a
credentials file; only vertex-ai takes "adc"; the default base URL follows the location."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.load import parse_config

HEAD = '[router]\ndefault = "m"\n\n[[providers]]\nname = "vx"\n'


def provider(text: str) -> str:
    return (
        HEAD
        + text
        + '\n[[models]]\nname = "m"\n[[models.mappings]]\nprovider = "vx"\nactual_model = "gemini-2.5-pro"\n'
    )


def test_vertex_defaults_to_adc_and_global() -> None:
    result = parse_config(provider('provider_type = "vertex-ai"\nproject_id = "proj"\n'))
    vx = result.config.providers[0]
    assert vx.auth_type == "adc" and vx.wire == "vertex" and vx.credentials_file is None
    assert vx.effective_base_url == "https://aiplatform.googleapis.com/v1"
    assert not result.warnings


@pytest.mark.parametrize(
    ("location", "base"),
    [
        ("us-east5", "https://us-east5-aiplatform.googleapis.com/v1"),
        ("us", "https://aiplatform.us.rep.googleapis.com/v1"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com/v1"),
        ("global", "https://aiplatform.googleapis.com/v1"),
    ],
)
def test_vertex_base_url_follows_the_location(location: str, base: str) -> None:
    text = f'provider_type = "vertex-ai"\nproject_id = "p"\nlocation = "{location}"\ncredentials_file = "~/sa.json"\n'
    vx = parse_config(provider(text)).config.providers[0]
    assert vx.effective_base_url == base and vx.credentials_file == "~/sa.json"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('provider_type = "vertex-ai"\nproject_id = "p"\nlocation = "US East"\n', "location: must be"),
        ('provider_type = "gemini"\nauth_type = "adc"\n', '"adc" (Google credentials) is for vertex-ai'),
        ('provider_type = "gemini"\nauth_type = "token"\n', "must be one of adc, apikey, oauth, passthrough"),
    ],
)
def test_google_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(provider(text))
    assert message in str(caught.value)


def test_a_vertex_provider_without_a_project_is_a_warning() -> None:
    result = parse_config(provider('provider_type = "vertex-ai"\n'))
    assert [w.key for w in result.warnings] == ["providers[0].project_id"]


def test_gemini_uses_an_api_key() -> None:
    gem = parse_config(provider('provider_type = "gemini"\napi_key = "$GEMINI_API_KEY"\n')).config.providers[0]
    assert gem.auth_type == "apikey" and gem.wire == "gemini"
    assert gem.effective_base_url == "https://generativelanguage.googleapis.com/v1beta"
