"""Config hot reload: a changed file applies within 2 s, requests in flight keep their config, an invalid
file is refused and the old config keeps serving."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_stream

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "q"}]}


def config_for(url: str, actual: str) -> str:
    return make_config([anthropic_provider("up", url)], {"m": [("up", actual)]})


def wait_generation(p: InProcessProxy, generation: int, deadline: float = 2.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if p.generation() >= generation:
            return time.monotonic() - start
        time.sleep(0.02)
    raise AssertionError(f"config generation {generation} not reached within {deadline} s")


def test_reload_with_request_in_flight(upstreams: Up, proxy: Px) -> None:
    a = upstreams().script(Reply.stream(anthropic_stream("old config answer", pieces=5), delay=0.25))
    b = upstreams().script(Reply.stream(anthropic_stream("new config answer")))
    p = proxy(config_for(a.url, "model-a"))
    result: dict[str, bytes] = {}

    def slow_request() -> None:
        with httpx.stream("POST", f"{p.url}/v1/messages", json=BODY, trust_env=False, timeout=20) as response:
            result["headers"] = response.headers["x-ccm-actual-model"].encode()
            result["body"] = b"".join(response.iter_bytes())

    thread = threading.Thread(target=slow_request)
    thread.start()
    while not a.received:
        time.sleep(0.01)
    p.write_config(config_for(b.url, "model-b"))
    took = wait_generation(p, 2)
    assert took < 2.0
    fresh = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert fresh.headers["x-ccm-actual-model"] == "model-b"
    thread.join(timeout=20)
    assert result["headers"] == b"model-a"
    assert b"message_stop" in result["body"]  # the request in flight finished on its own config
    assert len(a.received) == 1 and b.received[0].json["model"] == "model-b"


def test_invalid_file_is_refused_and_old_config_serves(upstreams: Up, proxy: Px) -> None:
    a = upstreams().script(Reply.stream(anthropic_stream()))
    p = proxy(config_for(a.url, "model-a"))
    p.write_config(
        "[router]\ndefault = 'm'\n[[models]]\nname = 'm'\n[[models.mappings]]\nprovider = 'ghost'\nactual_model = 'x'\n"
    )
    response = httpx.post(f"{p.url}/api/config/reload", trust_env=False)
    assert response.status_code == 422
    assert any("unknown provider 'ghost'" in e for e in response.json()["errors"])
    ok = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert ok.status_code == 200 and ok.headers["x-ccm-actual-model"] == "model-a"
    assert p.generation() == 1


def test_reload_endpoint_reports_restart_needed(upstreams: Up, proxy: Px) -> None:
    a = upstreams()
    p = proxy(config_for(a.url, "model-a"))
    text = config_for(a.url, "model-a").replace("port = 13456", "port = 14000")
    p.write_config(text)
    response = httpx.post(f"{p.url}/api/config/reload", trust_env=False)
    assert response.status_code == 200
    assert response.json()["status"] == "reloaded"
    assert response.json()["restart_required"] == ["server.port"]
    p.write_config(config_for(a.url, "model-a"))  # back to the port being served: nothing to restart
    response = httpx.post(f"{p.url}/api/config/reload", trust_env=False)
    assert response.json()["status"] == "reloaded" and "restart_required" not in response.json()


def test_config_json_masks_secrets(upstreams: Up, proxy: Px) -> None:
    a = upstreams()
    p = proxy(make_config([anthropic_provider("up", a.url, key="sk-verysecretvalue-a1b2")], {"m": [("up", "x")]}))
    view = httpx.get(f"{p.url}/api/config/json", trust_env=False).json()
    assert "verysecret" not in str(view)
    assert view["providers"][0]["key"] == "sk-…a1b2"
    assert view["router"]["default"] == "m"
