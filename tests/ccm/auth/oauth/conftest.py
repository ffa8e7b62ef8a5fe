"""Fixtures for the OAuth tests: a fake issuer on 127.0.0.1 that ccm reaches through
CCM_OAUTH_OPENAI_ISSUER, and a ChatGPT provider config (type openai, auth_type oauth)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.load import parse_config
from config.schema import ProviderConfig
from tests.fakes.openai_auth import FakeAuth

PROVIDER = """
[router]
default = "gpt"

[[providers]]
name = "chatgpt"
provider_type = "openai"
auth_type = "oauth"

[[models]]
name = "gpt"

[[models.mappings]]
provider = "chatgpt"
actual_model = "gpt-5.5"
"""


@pytest.fixture
def auth(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAuth]:
    """The fake auth.openai.com; every ccm.auth.oauth call in the test goes to it."""
    with FakeAuth() as fake:
        monkeypatch.setenv("CCM_OAUTH_OPENAI_ISSUER", fake.url)
        yield fake


@pytest.fixture
def chatgpt() -> ProviderConfig:
    provider = parse_config(PROVIDER).config.provider("chatgpt")
    assert provider is not None and provider.auth_type == "oauth"
    return provider
