"""[[clients]] and [telemetry] in the config: typed, validated, and never without the router key."""

from __future__ import annotations

import pytest

from ccm.auth.callers import OPERATOR, digest
from ccm.serve.state import build_snapshot
from config.errors import CcmError, ConfigError
from config.load import parse_config

BASE = """
[server]
api_key = "router-key-0123456789"

[router]
default = "m"

[[providers]]
name = "p"
provider_type = "anthropic-compatible"
base_url = "http://127.0.0.1:9"
api_key = "k"

[[models]]
name = "m"
[[models.mappings]]
provider = "p"
actual_model = "x"
"""


def test_clients_load_typed() -> None:
    cfg = parse_config(
        BASE
        + """
[[clients]]
name = "alice"
api_key = "$ALICE_KEY"
models = ["glm-*", "m"]
rpm = 60
tpm = 100000
daily_tokens = 2000000
monthly_usd = 25

[[clients]]
name = "bob"

[telemetry]
otlp_endpoint = "http://127.0.0.1:4318/"
"""
    ).config
    alice = cfg.client("ALICE")
    assert alice is not None
    assert (alice.api_key, alice.models, alice.rpm, alice.tpm, alice.daily_tokens, alice.monthly_usd) == (
        "$ALICE_KEY",
        ("glm-*", "m"),
        60,
        100000,
        2000000,
        25.0,
    )
    assert alice.allows("GLM-4.6") and alice.allows("m") and not alice.allows("opus")
    bob = cfg.client("bob")
    assert bob is not None and bob.api_key is None and bob.secret_name == "client:bob" and bob.allows("anything")
    assert cfg.telemetry.otlp_endpoint == "http://127.0.0.1:4318"


def test_clients_without_a_router_key_are_a_config_error() -> None:
    text = BASE.replace('api_key = "router-key-0123456789"', "") + '\n[[clients]]\nname = "alice"\napi_key = "a"\n'
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert any("server.api_key" in str(p) and p.key == "clients" for p in caught.value.problems)


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ('name = "a b"', "name"),
        ('name = "-"', "name"),
        ('name = "a"\nrpm = 0', "rpm"),
        ('name = "a"\ntpm = "many"', "tpm"),
        ('name = "a"\nmonthly_usd = 0', "monthly_usd"),
        ('name = "a"\nmodels = "glm-*"', "models"),
        ('name = "a"\nmodels = [""]', "models"),
    ],
)
def test_bad_client_entries_name_the_key(entry: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + f"\n[[clients]]\n{entry}\n")
    assert any(str(p.key).endswith(key) for p in caught.value.problems), caught.value.problems


def test_duplicate_client_names_are_an_error() -> None:
    with pytest.raises(ConfigError):
        parse_config(BASE + '\n[[clients]]\nname = "a"\n\n[[clients]]\nname = "A"\n')


def test_a_bad_otlp_endpoint_is_an_error_and_unknown_keys_warn() -> None:
    with pytest.raises(ConfigError):
        parse_config(BASE + '\n[telemetry]\notlp_endpoint = "127.0.0.1:4318"\n')
    result = parse_config(BASE + '\n[[clients]]\nname = "a"\nrmp = 5\n')
    assert any("rpm" in str(w) for w in result.warnings)


def test_snapshot_knows_each_key_by_digest_and_refuses_shared_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALICE_KEY", "alice-key-0123456789")
    cfg = parse_config(BASE + '\n[[clients]]\nname = "alice"\napi_key = "$ALICE_KEY"\n').config
    snapshot = build_snapshot(cfg, 1)
    assert snapshot.key_owners[digest("alice-key-0123456789")] == "alice"
    assert snapshot.key_owners[digest("router-key-0123456789")] == OPERATOR
    assert "alice-key-0123456789" not in repr(snapshot.key_owners)
    shared = parse_config(BASE + '\n[[clients]]\nname = "a"\napi_key = "router-key-0123456789"\n').config
    with pytest.raises(CcmError, match="router key"):
        build_snapshot(shared, 1)
    twins = (
        BASE
        + '\n[[clients]]\nname = "a"\napi_key = "same-0123456789"\n[[clients]]\nname = "b"\napi_key = "same-0123456789"\n'
    )
    with pytest.raises(CcmError, match="same key"):
        build_snapshot(parse_config(twins).config, 1)


def test_a_client_with_no_key_is_logged_and_cannot_connect(caplog: pytest.LogCaptureFixture) -> None:
    cfg = parse_config(BASE + '\n[[clients]]\nname = "nokey"\n').config
    snapshot = build_snapshot(cfg, 1)
    assert "nokey" not in snapshot.key_owners.values()
    assert "client 'nokey' has no key" in caplog.text
