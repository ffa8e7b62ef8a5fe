"""[[clients]] end to end: each client's key (literal, $VAR, keyring) opens /v1/* and never the admin API; the
router key opens both; keys are consumed at the edge (never forwarded), redacted, and a client key lifts the
Host check on /v1/* only."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import httpx
import pytest

from tests.conftest import MemoryKeyring
from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]

ROUTER = "router-key-0123456789abcdef"
ALICE = "alice-key-literal-AAAAAAAAAAAA"
BOB = "bob-key-from-env-BBBBBBBBBBBBBB"
CAROL = "carol-key-in-keyring-CCCCCCCCCC"
PROVIDER_KEY = "provider-key-PPPPPPPPPPPPPPPP"


def config(url: str, *, extra: str = "", passthrough: str = "") -> str:
    return f"""
[server]
host = "127.0.0.1"
api_key = "{ROUTER}"

[router]
default = "m"

[failover]
max_retries = 0

[[providers]]
name = "up"
provider_type = "anthropic-compatible"
base_url = "{url}"
api_key = "{PROVIDER_KEY}"
{passthrough}

[[models]]
name = "m"
[[models.mappings]]
provider = "up"
actual_model = "real-model"

[[clients]]
name = "alice"
api_key = "{ALICE}"

[[clients]]
name = "bob"
api_key = "$BOB_CLIENT_KEY"

[[clients]]
name = "carol"
{extra}
"""


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring) -> None:
    monkeypatch.setenv("BOB_CLIENT_KEY", BOB)
    memory_keyring.set_password("ccm", "client:carol", CAROL)


def ask(url: str, key: str) -> anthropic.types.Message:
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    return client.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.usefixtures("keyed")
def test_each_client_key_opens_messages_and_never_the_admin_api(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("hello")))
    px = proxy(config(up.url))
    for key in (ALICE, BOB, CAROL, ROUTER):
        assert ask(px.url, key).content[0].text == "hello"  # type: ignore[union-attr]
    assert len(up.received) == 4
    for received in up.received:  # the upstream sees its own key only, never a router or client key
        sent = " ".join(received.headers.values())
        assert PROVIDER_KEY in sent
        for key in (ALICE, BOB, CAROL, ROUTER):
            assert key not in sent
    with httpx.Client(base_url=px.url, trust_env=False) as http:
        for key in (ALICE, BOB, CAROL):
            for path in ("/api/status", "/api/config/json", "/metrics", "/api/requests"):
                for headers in ({"x-api-key": key}, {"authorization": f"Bearer {key}"}, {"x-ccm-key": key}):
                    answer = http.get(path, headers=headers)
                    assert answer.status_code == 403, (path, answer.text)
                    assert answer.json()["error"]["type"] == "permission_error"
                    assert key not in answer.text
        assert http.get("/api/status", headers={"x-api-key": ROUTER}).status_code == 200
        assert http.get("/metrics", headers={"authorization": f"Bearer {ROUTER}"}).status_code == 200
        assert http.get("/api/status").status_code == 401
        wrong = http.post("/v1/messages", headers={"x-api-key": "not-a-key-of-anyone"}, json={})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["type"] == "authentication_error"
        assert http.post("/v1/messages", json={}).status_code == 401
        # a client name sent by the request itself is no identity
        spoof = http.post("/v1/messages", headers={"x-ccm-client": "alice"}, json={})
        assert spoof.status_code == 401


@pytest.mark.usefixtures("keyed")
def test_a_client_key_lifts_the_host_check_on_v1_only(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("hello")))
    px = proxy(config(up.url))
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=px.url, trust_env=False) as http:
        foreign = {"host": "gateway.example.com", "x-api-key": ALICE}
        assert http.post("/v1/messages", headers=foreign, json=body).status_code == 200
        assert http.get("/v1/models", headers=foreign).status_code == 200
        assert http.get("/health", headers=foreign).status_code == 403
        # a web page is still refused, whoever's key it carries
        page = {"x-api-key": ALICE, "origin": "https://evil.example"}
        assert http.post("/v1/messages", headers=page, json=body).status_code == 403
        # the router key lifts every check (as before)
        assert http.post("/v1/messages", headers={**page, "x-api-key": ROUTER}, json=body).status_code == 200


@pytest.mark.usefixtures("keyed")
def test_keys_are_consumed_and_only_the_remaining_login_reaches_a_passthrough_provider(
    upstreams: Up, proxy: Px
) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("hello")))
    px = proxy(config(up.url, passthrough='auth_type = "passthrough"').replace(f'api_key = "{PROVIDER_KEY}"\n', ""))
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    login = "claude-login-token-LLLLLLLLLLLL"
    with httpx.Client(base_url=px.url, trust_env=False) as http:
        headers = {"x-ccm-key": BOB, "authorization": f"Bearer {login}"}
        assert http.post("/v1/messages", headers=headers, json=body).status_code == 200
        # x-api-key carries the client's key, Authorization the login: the key is consumed whatever its header
        headers = {"x-api-key": CAROL, "authorization": f"Bearer {login}"}
        assert http.post("/v1/messages", headers=headers, json=body).status_code == 200
    for received in up.received:
        assert received.headers["authorization"] == f"Bearer {login}"
        sent = " ".join(received.headers.values())
        for key in (ALICE, BOB, CAROL, ROUTER):
            assert key not in sent
        assert "x-ccm-client" not in received.headers


@pytest.mark.usefixtures("keyed")
def test_client_keys_are_redacted_from_what_an_upstream_echoes(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.error(500, f"bad key {ALICE} and {CAROL}"))
    px = proxy(config(up.url))
    with httpx.Client(base_url=px.url, trust_env=False) as http:
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        answer = http.post("/v1/messages", headers={"x-api-key": ROUTER}, json=body)
        assert answer.status_code == 500
        assert ALICE not in answer.text and CAROL not in answer.text
        logged = http.get("/api/requests", headers={"x-api-key": ROUTER}).text
        assert ALICE not in logged and CAROL not in logged
