"""Nobody else drives your proxy: a browser-shaped request (an Origin, a Sec-Fetch-Site from another site, or
a foreign Host as a DNS-rebinding page sends) is refused with a 403 Anthropic error on every route, while
Claude Code's own requests (replayed from the fixtures' headers) pass, and the router key lets a browser in.
Beyond loopback with no router key, the admin API is refused from every address."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FIXTURES
from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream

BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
EVIL_ORIGIN = {"origin": "https://evil.example"}
REBOUND = {"host": "evil.example:13456"}
ROUTES: list[tuple[str, str, Any]] = [
    ("POST", "/v1/messages", BODY),
    ("POST", "/v1/messages/count_tokens", {"model": "m", "messages": BODY["messages"]}),
    ("GET", "/api/config/json", None),
    ("POST", "/api/oauth/tokens/delete", {"provider": "up"}),
    ("GET", "/health", None),
]


def serve(proxy: Callable[[str], InProcessProxy], up: FakeUpstream, **server: Any) -> InProcessProxy:
    up.script(Reply(200, json=anthropic_message("hi")))
    return proxy(make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}, server=server or None))


def call(p: InProcessProxy, method: str, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return httpx.request(method, p.url + path, json=body, headers=headers, trust_env=False, timeout=10)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize(
    "browser",
    [EVIL_ORIGIN, REBOUND, {"origin": "null"}, {"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}],
    ids=["origin", "rebound-host", "null", "cross-site-fetch", "same-site-fetch"],
)
def test_browser_shaped_requests_are_refused_everywhere(
    proxy: Callable[[str], InProcessProxy],
    upstreams: Callable[[], FakeUpstream],
    method: str,
    path: str,
    body: Any,
    browser: dict[str, str],
) -> None:
    up = upstreams()
    p = serve(proxy, up)
    response = call(p, method, path, body, browser)
    assert response.status_code == 403
    assert response.json()["type"] == "error" and response.json()["error"]["type"] == "permission_error"
    assert "router key" in response.json()["error"]["message"]
    assert up.received == []  # nothing reached the upstream
    assert not [h for h in response.headers if h.startswith("x-ccm-")]


def fixture_request(name: str, port: int) -> tuple[str, dict[str, str], bytes]:
    meta = json.loads((FIXTURES / f"{name}.headers.json").read_text())
    skip = {"host", "content-length", "connection", "accept-encoding"}
    headers = {k: v for k, v in meta["headers"] if k.lower() not in skip}
    headers["host"] = f"127.0.0.1:{port}"
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body["model"] = "m"
    return meta["path"], headers, json.dumps(body).encode()


@pytest.mark.parametrize("name", ["interactive-main-request", "non-streaming-fallback-request", "count-tokens-minimal"])
def test_claude_code_requests_pass(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], name: str
) -> None:
    up = upstreams()
    p = serve(proxy, up)
    path, headers, body = fixture_request(name, p.port)
    assert "origin" not in {k.lower() for k in headers}
    if json.loads(body).get("stream"):
        up.script(Reply.stream(anthropic_stream("hi")))
    response = httpx.post(p.url + path, content=body, headers=headers, trust_env=False, timeout=10)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["localhost", "[::1]", "127.0.0.1"])
def test_every_loopback_name_passes(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], host: str
) -> None:
    p = serve(proxy, upstreams())
    for method, path, body in ROUTES[:3]:
        assert call(p, method, path, body, {"host": f"{host}:{p.port}"}).status_code == 200


def test_the_router_key_lets_a_browser_in_and_is_never_forwarded(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCM_TEST_ROUTER", "router-key-0123456789")
    up = upstreams()
    p = serve(proxy, up, api_key="$CCM_TEST_ROUTER")
    for header in ({"x-ccm-key": "router-key-0123456789"}, {"authorization": "Bearer router-key-0123456789"}):
        for method, path, body in ROUTES:
            response = call(p, method, path, body, {**EVIL_ORIGIN, **REBOUND, **header})
            assert response.status_code != 403, (path, response.text)
    assert len(up.received) >= 2
    for rec in up.received:
        assert "x-ccm-key" not in rec.headers and "router-key-0123456789" not in json.dumps(rec.headers)
    wrong = call(p, "POST", "/v1/messages", BODY, {**EVIL_ORIGIN, "x-ccm-key": "not-the-key"})
    assert wrong.status_code == 403


def test_beyond_loopback_any_host_passes_but_an_origin_does_not(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream]
) -> None:
    p = serve(proxy, upstreams(), host="0.0.0.0")  # as in Docker; the test proxy itself binds 127.0.0.1
    assert call(p, "POST", "/v1/messages", BODY, {"host": "ccm.team.example:13456"}).status_code == 200
    assert call(p, "POST", "/v1/messages", BODY, EVIL_ORIGIN).status_code == 403


ADMIN = [("GET", "/api/config/json"), ("GET", "/api/requests"), ("GET", "/metrics"), ("POST", "/api/config/reload"),
         ("GET", "/api/metrics"), ("POST", "/api/oauth/tokens/delete"), ("HEAD", "/api/hello")]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ADMIN)
def test_beyond_loopback_without_a_router_key_the_admin_api_is_refused_even_from_loopback(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], method: str, path: str
) -> None:
    p = serve(proxy, upstreams(), host="0.0.0.0")  # the client below connects over loopback
    response = call(p, method, path, {} if method == "POST" else None, {})
    assert response.status_code == 403
    if method != "HEAD":
        assert response.json()["error"] == {
            "type": "permission_error",
            "message": "set server.api_key to use the admin API from another machine",
        }


def test_beyond_loopback_without_a_router_key_messages_and_health_are_served(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream]
) -> None:
    p = serve(proxy, upstreams(), host="0.0.0.0")
    assert call(p, "POST", "/v1/messages", BODY, {}).status_code == 200
    assert call(p, "GET", "/health", None, {}).status_code == 200


def test_beyond_loopback_with_a_router_key_the_admin_api_takes_it(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CCM_TEST_ROUTER", "router-key-0123456789")
    p = serve(proxy, upstreams(), host="0.0.0.0", api_key="$CCM_TEST_ROUTER")
    assert call(p, "GET", "/api/config/json", None, {}).status_code == 401
    assert call(p, "GET", "/metrics", None, {"x-ccm-key": "router-key-0123456789"}).status_code == 200
    assert call(p, "GET", "/api/config/json", None, {"x-api-key": "router-key-0123456789"}).status_code == 200


def test_on_loopback_without_a_router_key_the_admin_api_is_served(
    proxy: Callable[[str], InProcessProxy], upstreams: Callable[[], FakeUpstream]
) -> None:
    p = serve(proxy, upstreams())
    for method, path in ADMIN[:3]:
        assert call(p, method, path, None, {}).status_code == 200, path


def test_health_names_the_process_and_its_config_only_to_this_machine_or_the_operator(tmp_path: Path) -> None:
    """A gateway's /health from another machine says it is up and its version; the pid, uptime and the
    config file's path (a path in someone's home) go to a loopback peer or to the router key only."""
    from ccm.serve.app import create_app
    from config.paths import default_config_text

    path = tmp_path / "c.toml"
    path.write_text(
        default_config_text().replace('host = "127.0.0.1"', 'host = "0.0.0.0"\napi_key = "router-key-0123456789"')
    )
    app = create_app(path, watch=False)

    def health(peer: str, **headers: str) -> dict[str, object]:
        async def get() -> httpx.Response:
            transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway.example") as client:
                return await client.get("/health", headers=headers)

        answer = asyncio.run(get())
        assert answer.status_code == 200
        return dict(answer.json())

    assert set(health("203.0.113.7")) == {"status", "version"}
    assert "config" in health("203.0.113.7", **{"x-ccm-key": "router-key-0123456789"})
    assert health("127.0.0.1")["config"] == str(path) and "pid" in health("::ffff:127.0.0.1")
