"""ccm.auth.redact: secrets ccm holds by value, credentials of any owner by their look."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ccm.auth.redact import REDACTED, held, redact, redact_bytes


@pytest.fixture(autouse=True)
def nothing_held() -> Iterator[None]:
    held.forget()
    yield
    held.forget()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Incorrect API key provided: sk-proj-abcdEFGH1234.", "Incorrect API key provided: [redacted]."),
        ("Authorization: Bearer abc.DEF-123_456", "Authorization: Bearer [redacted]"),
        ("authorization: bearer opaque/token+value=", "authorization: bearer [redacted]"),
        ("key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv&x=1", "key=[redacted]&x=1"),
        ("token ya29.a0AfB_byC-xyz.123 expired", "token [redacted] expired"),
        ("id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature_x here", "id [redacted] here"),
        ('{"message": "bad key sk-ant-api03-xyzXYZ0123456789"}', '{"message": "bad key [redacted]"}'),
    ],
)
def test_credentials_are_found_by_their_look(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the task-force skipped a disk-full test",
        "sk-short",
        "eyJ alone is not a token",
        "Bearer",
        "model gpt-5 is overloaded; retry after 3 s",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_held_secrets_are_found_by_value_longest_first() -> None:
    held.hold("plain-key-0123456789", "plain-key-0123456789-and-more", None, "")
    text = "got plain-key-0123456789-and-more, then plain-key-0123456789"
    assert redact(text) == f"got {REDACTED}, then {REDACTED}"


def test_a_secret_under_eight_characters_is_not_replaced() -> None:
    held.hold("abc1234")
    assert redact("abc1234 abc12345") == "abc1234 abc12345"
    assert redact("x abc1234 y", "abc1234") == "x abc1234 y"


def test_extra_secrets_of_one_call() -> None:
    assert redact("code AUTHCODE-123456 refused", "AUTHCODE-123456") == f"code {REDACTED} refused"


def test_bytes_keep_their_identity_when_nothing_is_secret() -> None:
    data = b'event: error\ndata: {"message": "overloaded"}\n\n'
    assert redact_bytes(data) is data
    held.hold("revoked-key-0123456789")
    assert redact_bytes(b"data: revoked-key-0123456789\n\n") == b"data: [redacted]\n\n"


def test_a_config_holds_its_header_values_and_the_credentials_in_its_urls() -> None:
    """Loading a config holds what ccm.serve.state finds secret beyond the keys: a provider's own header
    values and a password or token written into its base_url (an upstream may quote any of them)."""
    from ccm.serve.state import build_snapshot
    from config.load import parse_config

    config = parse_config(
        """
[router]
default = "m"
[[providers]]
name = "gw"
provider_type = "anthropic-compatible"
base_url = "https://bob:gw-password-0123456789@gw.example"
api_key = "gw-key-0123456789abcdef"
headers = { "cf-aig-authorization" = "gw-header-token-0123456789" }
[[models]]
name = "m"
[[models.mappings]]
provider = "gw"
actual_model = "x"
""",
        "c.toml",
    ).config
    build_snapshot(config, 1)
    text = redact("gw-password-0123456789 gw-header-token-0123456789 gw-key-0123456789abcdef")
    assert text == " ".join([REDACTED] * 3)
