"""ccm.api.browser: which requests must carry the router key (a browser's Origin, a foreign Host)."""

from __future__ import annotations

import pytest

from ccm.api.browser import host_name, is_loopback, refusal

LOCAL = ("127.0.0.1", "127.0.0.1")


@pytest.mark.parametrize(
    ("host", "name"),
    [
        ("127.0.0.1:13456", "127.0.0.1"),
        ("[::1]:13456", "::1"),
        ("[::1]", "::1"),
        ("LocalHost.:80", "localhost"),
        ("evil.example", "evil.example"),
    ],
)
def test_host_name(host: str, name: str) -> None:
    assert host_name(host) == name


@pytest.mark.parametrize(
    "host", ["127.0.0.1:13456", "localhost:13456", "localhost", "[::1]:13456", "127.0.0.1", "127.0.0.2:1"]
)
def test_hosts_ccm_serves_pass(host: str) -> None:
    assert refusal(None, host, LOCAL) is None


@pytest.mark.parametrize(
    "host", ["evil.example:13456", "attacker.localhost.evil:13456", "192.168.1.4:13456", "[fe80::1]:13456"]
)
def test_a_foreign_host_is_refused_on_loopback(host: str) -> None:
    why = refusal(None, host, LOCAL)
    assert why is not None and "DNS-rebinding" in why


def test_any_origin_is_refused_even_null_or_local() -> None:
    for origin in ("https://evil.example", "null", "http://127.0.0.1:13456"):
        why = refusal(origin, "127.0.0.1:13456", LOCAL)
        assert why is not None and "web pages" in why


@pytest.mark.parametrize(
    "listen", [("0.0.0.0", "172.17.0.2"), ("::", "::1"), ("127.0.0.1", "10.0.0.5"), ("gateway.lan", "127.0.0.1")]
)
def test_beyond_loopback_any_host_passes_but_origin_does_not(listen: tuple[str, str]) -> None:
    assert refusal(None, "ccm.team.example:13456", listen) is None
    assert refusal("https://evil.example", "ccm.team.example:13456", listen) is not None


def test_no_host_header_passes() -> None:
    assert refusal(None, None, LOCAL) is None


def test_is_loopback() -> None:
    assert is_loopback("localhost") and is_loopback("[::1]") and is_loopback("127.8.9.10")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.com") and not is_loopback("::")


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site", "anything-else"])
def test_a_fetch_from_another_site_is_refused_without_an_origin(site: str) -> None:
    """A browser may leave `Origin` out (a GET, a no-cors fetch) but always says where a fetch comes from."""
    why = refusal(None, "127.0.0.1:13456", LOCAL, fetch_site=site)
    assert why is not None and "web pages" in why and "Sec-Fetch-Site" in why


@pytest.mark.parametrize("site", ["none", "same-origin", "None", None])
def test_a_fetch_the_user_typed_or_from_the_same_origin_passes(site: str | None) -> None:
    assert refusal(None, "127.0.0.1:13456", LOCAL, fetch_site=site) is None


def test_beyond_loopback_a_cross_site_fetch_is_still_refused() -> None:
    assert refusal(None, "ccm.team.example", ("0.0.0.0", "10.0.0.5"), fetch_site="cross-site") is not None
