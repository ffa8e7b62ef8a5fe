"""Keys an upstream echoes never leave ccm: an upstream whose 401/400/500 body (or mid-stream error event)
quotes the credential it received, on every wire, reaches the client's error, ccm.log, requests.jsonl,
/api/requests and the live feed with each secret replaced by `[redacted]` (a real `python -m ccm serve`).

Secrets ccm holds are redacted by value (the provider keys, the router key, a passthrough client's own
login); anything shaped like a credential by its look (`Bearer …`, `sk-…`, `AIza…`, `ya29.…`, a JWT)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import anthropic_provider, free_port, make_config, spawn_server, terminate, wait_healthy
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_stream, sse

KEY_ANTHROPIC = "anth-key-5f0c1d2e3a4b5c6d7e8f9a0b"  # no telltale shape: only its value can find it
KEY_OPENAI = "sk-proj-Q1w2E3r4T5y6U7i8O9p0AsDfGhJk"
KEY_RESPONSES = "resp-key-0a9b8c7d6e5f4a3b2c1d"
KEY_GEMINI = "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUv"
ROUTER_KEY = "router-key-9z8y7x6w5v4u"
HEADER_SECRET = "hdr-gateway-token-41f3a9c2d7"  # a provider's own header (an AI gateway's token)
CLAUDE_LOGIN = "sk-ant-oat01-" + "L" * 40
SHORT = "abc1234"  # a secret under 8 characters is not substring-replaced: it would eat ordinary words
JWT = (
    ".".join(
        base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
        for part in ({"alg": "RS256", "typ": "JWT"}, {"sub": "user-1", "exp": 2000000000})
    )
    + ".c2lnbmF0dXJlLXNpZ25hdHVyZQ"
)
STRANGERS = {
    "bearer": "opaque-bearer-token-7c6b5a4d3e2f",
    "sk": "sk-live-0000111122223333444455556666",
    "aiza": "AIzaSyZ9y8X7w6V5u4T3s2R1q0PoNmLkJiHgFe",
    "ya29": "ya29.a0AfB_byC-stranger-access-token-0123",
    "jwt": JWT,
}
SECRETS = [
    KEY_ANTHROPIC,
    KEY_OPENAI,
    KEY_RESPONSES,
    KEY_GEMINI,
    ROUTER_KEY,
    HEADER_SECRET,
    CLAUDE_LOGIN,
    *STRANGERS.values(),
]

BODY = {"max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
CLIENT = {"x-ccm-key": ROUTER_KEY, "authorization": f"Bearer {CLAUDE_LOGIN}"}


def credential(rec: Received) -> str:
    for name in ("x-goog-api-key", "x-api-key", "authorization"):
        if name in rec.headers:
            return rec.headers[name].removeprefix("Bearer ")
    return "none"


def echo(rec: Received, status: int) -> Reply:
    """What some providers do: quote the key they were sent, and more, in the error's message."""
    key = credential(rec)
    text = (
        f"Incorrect API key provided: {key}. You sent Authorization: Bearer {STRANGERS['bearer']}; router "
        f"{ROUTER_KEY}; also {STRANGERS['sk']} {STRANGERS['aiza']} {STRANGERS['ya29']} {STRANGERS['jwt']}; "
        f"short {SHORT}; gateway {rec.headers.get('cf-aig-authorization', '-')}"
    )
    if "/models/" in rec.path:  # Gemini
        return Reply(status, json={"error": {"code": status, "message": text, "status": "UNAUTHENTICATED"}})
    if rec.path.endswith(("/chat/completions", "/responses")):
        return Reply(status, json={"error": {"message": text, "type": "invalid_request_error", "code": None}})
    return Reply.error(status, text, "authentication_error" if status == 401 else "api_error")


def mid_stream(rec: Received) -> Reply:
    """A good start, then an error event quoting the key: after the failover window, relayed as it comes."""
    events = anthropic_stream("partial answer", pieces=2)[:4]
    error = {"type": "error", "error": {"type": "api_error", "message": f"key {credential(rec)} was revoked"}}
    return Reply.stream([*events, sse("error", error)])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    mode: dict[str, Any] = {"status": 401}
    with FakeUpstream() as up:
        up.script(Reply(handler=lambda rec: mid_stream(rec) if mode["status"] == 0 else echo(rec, mode["status"])))
        providers = [
            {
                **anthropic_provider("anth", up.url, key=KEY_ANTHROPIC),
                "headers": {"cf-aig-authorization": HEADER_SECRET},
            },
            {"name": "oai", "provider_type": "openai-compatible", "base_url": f"{up.url}/v1", "api_key": KEY_OPENAI},
            {"name": "resp", "provider_type": "openai-responses", "base_url": f"{up.url}/v1", "api_key": KEY_RESPONSES},
            {"name": "gem", "provider_type": "gemini", "base_url": f"{up.url}/v1beta", "api_key": KEY_GEMINI},
            {"name": "claude", "provider_type": "anthropic", "auth_type": "passthrough", "base_url": up.url},
        ]
        models = {
            "a": [("anth", "a1")],
            "o": [("oai", "o1")],
            "r": [("resp", "r1")],
            "g": [("gem", "gemini-2.5-pro")],
            "p": [("claude", "claude-opus-4-1")],
        }
        port = free_port()
        home = tmp_path / "home"
        home.mkdir(mode=0o700)
        server = {"port": port, "api_key": ROUTER_KEY}
        (home / "config.toml").write_text(make_config(providers, models, server=server))
        proc = spawn_server(home)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc=proc)
            yield url, home, mode
        finally:
            assert terminate(proc) == 0


def follow(url: str, into: list[bytes], ready: threading.Event, stop: threading.Event) -> None:
    headers = {"x-ccm-key": ROUTER_KEY}
    with httpx.stream("GET", f"{url}/api/requests/stream", headers=headers, trust_env=False, timeout=60) as response:
        for chunk in response.iter_bytes():
            ready.set()
            into.append(chunk)
            if stop.is_set():
                return


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def test_no_key_an_upstream_echoes_leaves_ccm(served: tuple[str, Path, dict[str, Any]]) -> None:
    url, home, mode = served
    feed: list[bytes] = []
    ready, stop = threading.Event(), threading.Event()
    follower = threading.Thread(target=follow, args=(url, feed, ready, stop), daemon=True)
    follower.start()
    assert ready.wait(10)
    answers: list[str] = []
    with httpx.Client(trust_env=False, timeout=60, headers=CLIENT) as client:
        for status in (401, 400, 500):
            mode["status"] = status
            for model in "aorgp":
                for stream in (False, True):
                    response = client.post(f"{url}/v1/messages", json={**BODY, "model": model, "stream": stream})
                    assert response.status_code >= 400, (model, status, response.text)
                    answers.append(response.text)
        mode["status"] = 0  # a 200 stream whose error event comes after the first text
        for model in "ap":
            with client.stream("POST", f"{url}/v1/messages", json={**BODY, "model": model, "stream": True}) as r:
                answers.append(r.read().decode())
        requests = client.get(f"{url}/api/requests?limit=100").text
    total = 3 * 5 * 2 + 2
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and b"".join(feed).count(b"event: request") < total:
        time.sleep(0.05)
    journal = home / "requests.jsonl"
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < total):
        time.sleep(0.05)
    stop.set()
    assert all("error" in answer for answer in answers)
    assert any("[redacted]" in answer for answer in answers)
    assert any(SHORT in answer for answer in answers)  # under 8 characters: left as it is
    assert "was revoked" in answers[-1] and "[redacted]" in answers[-1]
    for where, text in [
        ("client", "\n".join(answers)),
        ("/api/requests", requests),
        ("feed", b"".join(feed).decode()),
        ("requests.jsonl", journal.read_text()),
        ("ccm.log", (home / "ccm.log").read_text()),
    ]:
        assert leaks(text) == [], f"{where} leaks: {text[:3000]}"
