"""The schema classes are the one list of keys, defaults and bounds: the loader checks a file against
them and the masked view shows them, so neither can drift from the other."""

from __future__ import annotations

from dataclasses import fields

import pytest

from config.errors import ConfigError
from config.load import parse_config
from config.schema import (
    ClientConfig,
    Config,
    FailoverConfig,
    LoadBalancingConfig,
    Mapping,
    ModelConfig,
    ProviderConfig,
    RouterConfig,
    ServerConfig,
    TelemetryConfig,
    Timeouts,
    bounds_of,
    default_of,
    keys_of,
)
from config.view import masked_view

BASE = """
[router]
default = "m"

[[providers]]
name = "p"
provider_type = "openai"
api_key = "sk-test-0123456789"

[[models]]
name = "m"
[[models.mappings]]
provider = "p"
actual_model = "gpt-5"
"""

#: The text that opens each table after BASE ("": BASE's own [router], or its mapping, the last table).
TABLES: dict[type, str] = {
    ServerConfig: "[server]",
    Timeouts: "[server.timeouts]",
    FailoverConfig: "[failover]",
    LoadBalancingConfig: "[load_balancing]",
    RouterConfig: "",
    Mapping: "",
    ClientConfig: '[server]\napi_key = "router-key-0123456789"\n[[clients]]\nname = "c"',
    TelemetryConfig: "[telemetry]",
}


def with_key(table: type, key: str, value: str) -> str:
    if table is RouterConfig:
        return BASE.replace('default = "m"', f'default = "m"\n{key} = {value}')
    return f"{BASE}\n{TABLES[table]}\n{key} = {value}\n"


def test_every_table_is_covered() -> None:
    """The tables walked here are every table a config has: a new one must be added to them."""
    assert keys_of(Config) == (
        "router",
        "server",
        "providers",
        "models",
        "failover",
        "load_balancing",
        "clients",
        "telemetry",
    )
    assert keys_of(ServerConfig)[-1] == "timeouts" and keys_of(ModelConfig) == ("name", "mappings")


BOUNDED = [(t, k) for t in TABLES for k in keys_of(t) if bounds_of(t, k) != (None, None)]


def test_the_bounds_are_found() -> None:
    """The walk below must see the bounded keys it checks (a schema refactor could hide them)."""
    assert len(BOUNDED) >= 14


@pytest.mark.parametrize(("table", "key"), BOUNDED, ids=[f"{t.__name__}.{k}" for t, k in BOUNDED])
def test_every_bound_is_the_schemas(table: type, key: str) -> None:
    """A value below a key's schema minimum (or above its maximum) is refused, in the schema's words."""
    minimum, maximum = bounds_of(table, key)
    assert minimum is not None
    bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
    with pytest.raises(ConfigError) as caught:
        parse_config(with_key(table, key, str(minimum - 1)))
    assert any(
        p.key.endswith(key) and p.message == f"must be {bounds}, not {minimum - 1}" for p in caught.value.problems
    )
    if maximum is not None:
        with pytest.raises(ConfigError):
            parse_config(with_key(table, key, str(maximum + 1)))
    parse_config(with_key(table, key, str(minimum)))  # the bound itself is fine


def default_of_or_none(table: type, key: str) -> object:
    try:
        return default_of(table, key)
    except KeyError:
        return None


def test_every_key_is_known_and_every_default_is_the_schemas() -> None:
    """A file that names no optional key gets every schema default; one that names every key warns of none."""
    config = parse_config(BASE).config
    for table, value in [
        (ServerConfig, config.server),
        (Timeouts, config.server.timeouts),
        (FailoverConfig, config.failover),
        (LoadBalancingConfig, config.load_balancing),
    ]:
        assert {k: getattr(value, k) for k in keys_of(table)} == {k: default_of(table, k) for k in keys_of(table)}
    for field in fields(RouterConfig):
        if field.name in keys_of(RouterConfig) and field.name != "default":
            assert getattr(config.router, field.name) == default_of(RouterConfig, field.name)
    for table in TABLES:
        for key in keys_of(table):
            if key in ("timeouts", "default", "provider", "actual_model", "allow", "models") or key.startswith(
                "price_"
            ):
                continue  # not a scalar a generic value fits
            value = default_of_or_none(table, key)
            if value is None:
                continue
            text = with_key(table, key, _toml(value))
            assert not [w for w in parse_config(text).warnings if "unknown key" in w.message], (table, key)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f'"{value}"'


def test_unknown_keys_are_named_with_the_schemas_nearest() -> None:
    warnings = parse_config(f"{BASE}\n[failover]\nmax_retry = 2\n").warnings
    assert [w.message for w in warnings] == ["unknown key, ignored (did you mean 'max_retries'?)"]


def test_the_view_shows_every_key_of_every_table() -> None:
    view = masked_view(parse_config(with_key(ClientConfig, "rpm", "5")).config, {})
    sections = {
        ServerConfig: view["server"],
        Timeouts: view["server"]["timeouts"],
        RouterConfig: view["router"],
        FailoverConfig: view["failover"],
        LoadBalancingConfig: view["load_balancing"],
        ProviderConfig: view["providers"][0],
        ModelConfig: view["models"][0],
        Mapping: view["models"][0]["mappings"][0],
        ClientConfig: view["clients"][0],
        TelemetryConfig: view["telemetry"],
    }
    for table, shown in sections.items():
        assert set(keys_of(table)) <= set(shown), table.__name__
    assert view["providers"][0]["api_key"] == "sk-…6789"
    assert "0123456789" not in str(view["server"]["api_key"])
