"""Upstream answers that are well-formed HTTP but odd inside, and keys httpx cannot send: the proxy still
fails over in the window, ends a stream with `event: error` after it, records the request, and never puts
a secret in a message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream, sse

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}


def chain(urls: list[str], **provider: Any) -> str:
    providers = [anthropic_provider(f"p{i}", url, **provider) for i, url in enumerate(urls, start=1)]
    return make_config(
        providers,
        {"m": [(f"p{i}", f"model-{i}") for i in range(1, len(urls) + 1)]},
        server={"timeouts": {"api_timeout_ms": 3000, "connect_timeout_ms": 1000}},
    )


def recent(p: InProcessProxy) -> list[dict[str, Any]]:
    return list(httpx.get(f"{p.url}/api/requests", trust_env=False).json())


@pytest.mark.parametrize(
    "first",
    [
        sse("message_start", [1, 2]),
        sse("error", ["not", "an", "object"]),
        sse("message_start", {"type": "message_start", "message": {"usage": {"input_tokens": "lots"}}}),
    ],
    ids=["start_not_object", "error_not_object", "usage_not_a_number"],
)
def test_odd_first_event_fails_over(first: bytes, upstreams: Up, proxy: Px) -> None:
    bad = upstreams().script(Reply.stream([first]))
    good = upstreams().script(Reply.stream(anthropic_stream("rescued", "model-2")))
    p = proxy(chain([bad.url, good.url]))
    response = httpx.post(f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False)
    assert response.status_code == 200
    assert response.headers["x-ccm-attempts"] == "2"
    assert b"event: message_stop" in response.content
    assert recent(p)[0]["status"] == 200


def test_odd_event_mid_stream_ends_with_error_event(upstreams: Up, proxy: Px) -> None:
    events = anthropic_stream("hello world", pieces=3)
    odd = sse("message_delta", {"type": "message_delta", "usage": {"output_tokens": "many"}})
    # The pause puts the odd event in a later read than the first content: the answer has begun by then.
    up = upstreams().script(Reply.stream([*events[:4], odd, *events[4:]], pauses={4: 0.05}))
    p = proxy(chain([up.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())  # a dropped connection would raise RemoteProtocolError here
    assert body.startswith(b"event: message_start")
    assert body.count(b"event: error") == 1
    assert b"event: message_stop" not in body
    assert recent(p)[0]["status"] == 502


def test_non_streaming_odd_usage_fails_over(upstreams: Up, proxy: Px) -> None:
    bad = upstreams().script(Reply(200, json={**anthropic_message(), "usage": ["odd"]}))
    good = upstreams().script(Reply(200, json=anthropic_message("fine")))
    p = proxy(chain([bad.url, good.url]))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 200 and response.headers["x-ccm-attempts"] == "2"
    assert response.json()["content"][0]["text"] == "fine"


SECRET = "sk-ant-secret-0123456789"


@pytest.mark.parametrize("key", ["sk-ant-\nsecret-0123456789", "sk-ant-secret\u20130123456789"])
def test_key_httpx_cannot_send_fails_over_and_never_shows(
    key: str, upstreams: Up, proxy: Px, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ODD_KEY", key)
    good = upstreams().script(Reply(200, json=anthropic_message("fine")))
    providers = [anthropic_provider("odd", good.url, key="$ODD_KEY"), anthropic_provider("p2", good.url)]
    p = proxy(make_config(providers, {"m": [("odd", "x"), ("p2", "y")]}))
    ok = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert ok.status_code == 200 and ok.headers["x-ccm-attempts"] == "2"
    only = proxy(make_config(providers[:1], {"m": [("odd", "x")]}))
    failed = httpx.post(f"{only.url}/v1/messages", json=BODY, trust_env=False)
    assert failed.json()["type"] == "error"
    assert "odd" in failed.json()["error"]["message"]
    counted = httpx.post(f"{only.url}/v1/messages/count_tokens", json=BODY, trust_env=False)
    assert counted.status_code == 200 and counted.json()["input_tokens"] > 0
    tested = httpx.post(f"{only.url}/api/providers/odd/test", trust_env=False)
    assert tested.status_code == 200 and tested.json()["ok"] is False
    assert "odd/x failed" in caplog.text  # the proxy's log lines are in what is checked
    seen = failed.text + tested.text + str(recent(only)) + caplog.text
    assert "0123456789" not in seen


@pytest.mark.parametrize("key", [SECRET + "\r", SECRET + " ", SECRET + "\n"])
def test_key_with_trailing_whitespace_just_works(
    key: str, upstreams: Up, proxy: Px, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key pasted with a trailing newline or a CRLF .env file's \\r is used without it."""
    monkeypatch.setenv("ODD_KEY", key)
    up = upstreams().script(Reply(200, json=anthropic_message("fine")))
    p = proxy(make_config([anthropic_provider("odd", up.url, key="$ODD_KEY")], {"m": [("odd", "x")]}))
    assert httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False).status_code == 200
    assert up.received[0].headers["x-api-key"] == SECRET


def test_upstream_redirect_is_a_failed_attempt_never_a_3xx_answer(upstreams: Up, proxy: Px) -> None:
    moved = upstreams().script(Reply(301, headers={"location": "https://elsewhere.invalid/v1/messages"}, body=b""))
    good = upstreams().script(Reply(200, json=anthropic_message("fine")))
    p = proxy(chain([moved.url, good.url]))
    ok = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert ok.status_code == 200 and ok.headers["x-ccm-attempts"] == "2"
    only = proxy(chain([moved.url]))
    failed = httpx.post(f"{only.url}/v1/messages", json=BODY, trust_env=False)
    assert failed.status_code == 502
    assert failed.json()["error"]["type"] == "api_error"
    assert "HTTP 301" in failed.json()["error"]["message"]


def _abandon(p: InProcessProxy, up: FakeUpstream, after_bytes: int) -> None:
    """Send a streaming request on a raw socket; hang up once the upstream has it and `after_bytes` of the
    answer arrived."""
    import json
    import socket
    import time

    data = json.dumps({**BODY, "stream": True}).encode()
    with socket.create_connection(("127.0.0.1", p.port), timeout=5) as sock:
        head = f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{p.port}\r\ncontent-type: application/json\r\ncontent-length: {len(data)}"
        sock.sendall(head.encode() + b"\r\n\r\n" + data)
        end = time.monotonic() + 5
        while not up.received and time.monotonic() < end:
            time.sleep(0.01)
        got = b""
        while len(got) < after_bytes:
            got += sock.recv(65536)


def _wait_record(p: InProcessProxy) -> dict[str, Any]:
    import time

    end = time.monotonic() + 5
    while time.monotonic() < end:
        records = recent(p)
        if records:
            return records[0]
        time.sleep(0.02)
    raise AssertionError("the abandoned request was never recorded")


@pytest.mark.parametrize("when", ["in_window", "mid_stream"])
def test_request_the_client_abandons_is_recorded(when: str, upstreams: Up, proxy: Px) -> None:
    events = anthropic_stream("a slow answer", pieces=4)
    pause = {0: 30.0} if when == "in_window" else {4: 30.0}  # the upstream goes quiet; the client leaves
    up = upstreams().script(Reply.stream(events, pauses=pause))
    p = proxy(chain([up.url]))
    _abandon(p, up, 0 if when == "in_window" else 200)
    record = _wait_record(p)
    assert record["status"] == 499
    assert record["provider"] == "p1"
    assert "client" in record["error"]


def test_an_unexpected_error_is_still_an_anthropic_error(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(chain([up.url]))
    body = {**BODY, "model": "m\nX-Injected: 1"}  # cannot be put in the x-ccm-model header as it is
    response = httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False)
    assert "x-injected" not in response.headers
    assert response.headers["content-type"] == "application/json"
    assert response.json()["type"] == "error"


@pytest.mark.parametrize("tail", [b"data: [DONE]\n\n", b"event: done\ndata: not json\n\n"])
def test_trailer_after_message_stop_is_ignored(tail: bytes, upstreams: Up, proxy: Px) -> None:
    """Some Anthropic-format gateways end with OpenAI's `data: [DONE]`: the answer was complete already."""
    up = upstreams().script(Reply.stream([*anthropic_stream("all here"), tail]))
    p = proxy(chain([up.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
    assert b"event: error" not in body
    assert body.rstrip().endswith(b'{"type": "message_stop"}') or body.rstrip().endswith(b'{"type":"message_stop"}')
    assert recent(p)[0]["status"] == 200


@pytest.mark.parametrize("one_chunk", [False, True], ids=["event_by_event", "all_in_the_first_chunk"])
def test_answer_ends_at_message_stop_even_if_the_upstream_keeps_the_connection_open(
    one_chunk: bool, upstreams: Up, proxy: Px
) -> None:
    import time

    events = anthropic_stream("done talking")
    events = [b"".join(events)] if one_chunk else events
    up = upstreams().script(Reply.stream([*events, b": still here\n\n"], pauses={len(events): 20.0}))
    p = proxy(chain([up.url]))  # api_timeout 3 s: a proxy waiting for the upstream's close would end in error
    started = time.monotonic()
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
    assert time.monotonic() - started < 2.0
    assert b"event: error" not in body and b"message_stop" in body
    assert recent(p)[0]["status"] == 200


def test_a_bug_in_ccm_is_loud_and_counted_not_a_quiet_failover(
    upstreams: Up, proxy: Px, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A translator bug must not hide as a quiet failover to the next (maybe paid) provider: ERROR with
    its traceback, `ccm_error` in the attempt record; failing over is still fine."""
    from ccm.providers.anthropic import AnthropicAdapter

    original = AnthropicAdapter.translate_message
    calls = {"n": 0}

    def buggy(self: AnthropicAdapter, content: bytes, content_type: str, ctx: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("a bug of ours")  # fault injection: ccm's own code raising on a good answer
        return original(self, content, content_type, ctx)

    monkeypatch.setattr(AnthropicAdapter, "translate_message", buggy)
    first, second = upstreams(), upstreams()
    first.script(Reply(200, json=anthropic_message("lost to the bug")))
    second.script(Reply(200, json=anthropic_message("second")))
    p = proxy(chain([first.url, second.url]))
    with caplog.at_level(logging.ERROR, logger="ccm.dispatch.failover"):
        response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.json()["content"][0]["text"] == "second"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "ccm.dispatch.failover"]
    assert errors and errors[0].exc_info is not None and "KeyError" in errors[0].exc_text  # type: ignore[operator]
