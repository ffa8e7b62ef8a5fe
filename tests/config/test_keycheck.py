"""config.keycheck and the proxy's snapshot: "no key needed" and "missing" are told apart, and every
enabled provider with no key is logged once at start and again only when a reload changes it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from ccm.serve.state import ConfigHolder
from config import keycheck, secrets
from config.load import load_config
from tests.e2e.harness import make_config

PROVIDERS = [
    {"name": "zai", "provider_type": "z.ai"},  # needs a key, none anywhere
    {"name": "Kimi Two", "provider_type": "kimi", "api_key": "$KIMI_SECRET"},  # explicit $VAR, unset
    {"name": "ollama", "provider_type": "openai-compatible", "base_url": "http://127.0.0.1:9/v1"},  # keyless
    {
        "name": "lmstudio",
        "provider_type": "openai-compatible",
        "base_url": "http://127.0.0.1:9/v1",
        "api_key": "$LM_KEY",
    },
    {"name": "gw", "provider_type": "anthropic-compatible", "base_url": "http://127.0.0.1:9", "api_key": "$GW_KEY"},
    {"name": "claude", "provider_type": "anthropic", "auth_type": "passthrough"},
    {"name": "lit", "provider_type": "z.ai", "api_key": "sk-literal-123456"},
    {"name": "off", "provider_type": "z.ai", "enabled": False},
]
MODELS: dict[str, list[tuple[str, str] | tuple[str, str, int]]] = {
    "m": [("zai", "glm"), ("Kimi Two", "k2"), ("ollama", "q"), ("lmstudio", "q"), ("gw", "g"), ("claude", "c")],
    "n": [("lit", "glm"), ("off", "glm")],
}


@pytest.fixture
def config_file(tmp_path: Path) -> Callable[..., Path]:
    def write(
        providers: list[dict[str, object]] = PROVIDERS,
        server: dict[str, object] | None = None,
        **more: list[tuple[str, str]],
    ) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(make_config(providers, {**MODELS, **more}, server=server))
        return path

    return write


def test_missing_keys_distinguish_needed_from_optional(config_file: Callable[..., Path]) -> None:
    config = load_config(config_file()).config
    keys = keycheck.resolve_keys(config)
    assert keycheck.missing_keys(config, keys) == {
        "zai": "provider 'zai' has no API key: run `ccm keys set zai` or set ZAI_API_KEY",
        "kimi two": "provider 'Kimi Two' has no API key: run `ccm keys set Kimi Two` or set KIMI_SECRET",
        "lmstudio": "provider 'lmstudio' has no API key: run `ccm keys set lmstudio` or set LM_KEY",
        "gw": "provider 'gw' has no API key: run `ccm keys set gw` or set GW_KEY",
        "off": "provider 'off' has no API key: run `ccm keys set off` or set OFF_API_KEY",
    }
    assert keys["ollama"] is None and keys["lit"] == "sk-literal-123456"


def test_a_key_found_later_in_the_chain_is_not_missing(
    config_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GW_KEY", "sk-gw-from-env-1234")
    monkeypatch.setenv("KIMI_TWO_API_KEY", "sk-kimi-fallback-1234")  # $KIMI_SECRET unset: NAME_API_KEY still counts
    secrets.store().set("provider:zai", "sk-zai-keyring-1234")
    config = load_config(config_file()).config
    missing = keycheck.missing_keys(config, keycheck.resolve_keys(config))
    assert set(missing) == {"lmstudio", "off"}


def test_start_logs_each_enabled_missing_key_once_and_reload_only_changes(
    config_file: Callable[..., Path], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_file()
    holder = ConfigHolder(path)
    with caplog.at_level(logging.WARNING, logger="ccm.config"):
        snapshot = holder.load()
    logged = [r.getMessage() for r in caplog.records if "has no API key" in r.getMessage()]
    assert sorted(logged) == sorted(m for name, m in snapshot.missing_keys.items() if name != "off")
    assert not [m for m in logged if "'claude'" in m or "'ollama'" in m or "'off'" in m]

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ccm.config"):
        assert asyncio.run(holder.reload()).ok  # same file, same problems: nothing new to say
    assert not [r for r in caplog.records if "has no API key" in r.getMessage()]

    monkeypatch.setenv("GW_KEY", "sk-gw-1234567")
    changed = [*PROVIDERS, {"name": "new", "provider_type": "z.ai"}]
    path.write_text(make_config(changed, {**MODELS, "o": [("new", "x")]}))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ccm.config"):
        assert asyncio.run(holder.reload()).ok
    assert [r.getMessage() for r in caplog.records if "has no API key" in r.getMessage()] == [
        "provider 'new' has no API key: run `ccm keys set new` or set NEW_API_KEY"
    ]
    assert "gw" not in holder.current.missing_keys


def test_start_warnings_cover_routed_providers_logins_and_an_open_proxy(config_file: Callable[..., Path]) -> None:
    providers = [*PROVIDERS, {"name": "gpt", "provider_type": "openai", "auth_type": "oauth"}]
    config = load_config(config_file(providers, g=[("gpt", "gpt-5")])).config
    keys = keycheck.resolve_keys(config)
    warnings = keycheck.start_warnings(config, keys)
    assert warnings == [
        "provider 'zai' has no API key: run `ccm keys set zai` or set ZAI_API_KEY",
        "provider 'Kimi Two' has no API key: run `ccm keys set Kimi Two` or set KIMI_SECRET",
        "provider 'lmstudio' has no API key: run `ccm keys set lmstudio` or set LM_KEY",
        "provider 'gw' has no API key: run `ccm keys set gw` or set GW_KEY",
        "provider 'gpt' has no login: run `ccm oauth login gpt`",
    ]
    assert keycheck.start_warnings(config, keys, host="127.0.0.1") == warnings
    assert keycheck.start_warnings(config, keys, host="::1") == warnings
    open_proxy = keycheck.start_warnings(config, keys, host="0.0.0.0")
    assert open_proxy[: len(warnings)] == warnings and "server.api_key is not set" in open_proxy[len(warnings)]
    # a subscription served beyond this machine: one person's shared by a team (claude: passthrough, gpt: oauth)
    shared = open_proxy[len(warnings) + 1 :]
    assert len(shared) == 2 and all("one person's" in line for line in shared)
    assert "provider 'claude' forwards Claude Pro/Max logins" in shared[0]
    assert "provider 'gpt' serves one ChatGPT login" in shared[1]


def test_an_open_proxy_with_a_router_key_is_not_warned(
    config_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER", "r" * 20)
    config = load_config(config_file(server={"host": "0.0.0.0", "api_key": "$ROUTER"})).config
    assert not [w for w in keycheck.start_warnings(config, {}) if "server.api_key" in w]
