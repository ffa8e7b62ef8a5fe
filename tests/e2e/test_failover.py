"""Failover as the README's Failover section says: what fails over, what passes through, the
failover window, and the summary error when every mapping fails."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import httpx
import pytest

from config.catalog import BUILT_WIRES
from tests.e2e.harness import InProcessProxy, anthropic_provider, free_port, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream, sse

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
BODY = {"model": "m", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}


def sdk(p: InProcessProxy) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=p.url, api_key="k", max_retries=0)


def chain(urls: list[str], api_timeout_ms: int = 3000) -> str:
    providers = [anthropic_provider(f"p{i}", url) for i, url in enumerate(urls, start=1)]
    return make_config(
        providers,
        {"m": [(f"p{i}", f"model-{i}") for i in range(1, len(urls) + 1)]},
        server={"timeouts": {"api_timeout_ms": api_timeout_ms, "connect_timeout_ms": 1000}},
    )


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


# Each failure kind, as a scripted reply (None: the upstream is not even listening).
FAILURES: dict[str, Reply | None] = {
    "connection_refused": None,
    "dropped": Reply(drop=True),
    "timeout": Reply(200, json=anthropic_message(), stall=2.0),
    "401": Reply.error(401, "bad key", "authentication_error"),
    "402": Reply.error(402, "pay up", "billing_error"),
    "403": Reply.error(403, "forbidden", "permission_error"),
    "404": Reply.error(404, "no such model", "not_found_error"),
    "408": Reply.error(408, "slow"),
    "409": Reply.error(409, "conflict"),
    "429": Reply.error(429, "slow down", "rate_limit_error", headers={"retry-after": "7"}),
    "500": Reply.error(500, "boom"),
    "502": Reply.error(502, "bad gateway"),
    "503": Reply.error(503, "unavailable"),
    "529": Reply.error(529, "overloaded", "overloaded_error"),
    "invalid_json": Reply(200, body=b'{"type": "message", "content": [', headers={"content-type": "application/json"}),
    "html_200": Reply(200, body=b"<html>gateway</html>", headers={"content-type": "text/html"}),
}
STREAM_FAILURES: dict[str, Reply | None] = {
    **{k: v for k, v in FAILURES.items() if k not in ("invalid_json", "html_200")},
    "invalid_first_event": Reply.stream([sse("content_block_delta", {"type": "content_block_delta"})]),
    "error_event_first": Reply.stream(
        [sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})]
    ),
    "cut_before_first_event": Reply.stream(anthropic_stream(), cut_after=0),
    "empty_stream": Reply.stream([b": nothing\n\n"]),
}


def streamed_text(body: bytes) -> str:
    """The text of an Anthropic SSE answer, from its text deltas."""
    from ccm.sse import SSEParser

    return "".join(
        e.json()["delta"].get("text", "") for e in SSEParser().feed(body) if e.event == "content_block_delta"
    )


def _url(upstreams: Up, reply: Reply | None) -> tuple[str, FakeUpstream | None]:
    if reply is None:
        return dead_url(), None
    up = upstreams().script(reply)
    return up.url, up


@pytest.mark.parametrize("kind", list(FAILURES))
def test_non_streaming_fails_over_1_2_3(kind: str, upstreams: Up, proxy: Px) -> None:
    url1, _ = _url(upstreams, FAILURES[kind])
    url2, _ = _url(upstreams, FAILURES[kind])
    good = upstreams().script(Reply(200, json=anthropic_message("third time lucky", "model-3")))
    p = proxy(chain([url1, url2, good.url], api_timeout_ms=700))
    raw = sdk(p).messages.with_raw_response.create(**BODY)  # type: ignore[arg-type]
    assert raw.parse().content[0].text == "third time lucky"  # type: ignore[union-attr]
    assert raw.headers["x-ccm-attempts"] == "3"
    assert raw.headers["x-ccm-provider"] == "p3"
    assert good.received[0].json["model"] == "model-3"


@pytest.mark.parametrize("kind", list(STREAM_FAILURES))
def test_streaming_fails_over_before_first_event(kind: str, upstreams: Up, proxy: Px) -> None:
    url1, _ = _url(upstreams, STREAM_FAILURES[kind])
    good = upstreams().script(Reply.stream(anthropic_stream("rescued", "model-2")))
    p = proxy(chain([url1, good.url], api_timeout_ms=700))
    with sdk(p).messages.with_streaming_response.create(**BODY, stream=True) as response:  # type: ignore[call-overload]
        assert response.headers["x-ccm-attempts"] == "2"
        assert response.headers["x-ccm-provider"] == "p2"
        body = b"".join(response.iter_bytes())
    assert streamed_text(body) == "rescued"
    assert body.count(b"event: message_start") == 1
    assert b"event: message_stop" in body


@pytest.mark.parametrize("status", [400, 413, 422])
def test_request_errors_from_anthropic_pass_through_without_failover(status: int, upstreams: Up, proxy: Px) -> None:
    bad = upstreams().script(
        Reply.error(status, "prompt is too long: 300000 tokens > 200000 maximum", "invalid_request_error")
    )
    spare = upstreams().script(Reply(200, json=anthropic_message()))
    providers = [anthropic_provider("p1", bad.url, ptype="anthropic"), anthropic_provider("p2", spare.url)]
    p = proxy(make_config(providers, {"m": [("p1", "model-1"), ("p2", "model-2")]}))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == status
    assert response.json()["error"]["message"] == "prompt is too long: 300000 tokens > 200000 maximum"
    assert response.headers["x-ccm-attempts"] == "1"
    assert response.headers["x-ccm-provider"] == "p1"
    assert spare.received == []


@pytest.mark.parametrize("status", [400, 413, 422])
def test_request_errors_from_other_hosts_fail_over(status: int, upstreams: Up, proxy: Px) -> None:
    """A third-party host's refusal is usually its own limit or a shape it does not take: the next one may
    serve it (an anthropic-compatible gateway here)."""
    bad = upstreams().script(Reply.error(status, "this host says no", "invalid_request_error"))
    spare = upstreams().script(Reply(200, json=anthropic_message("served")))
    p = proxy(chain([bad.url, spare.url]))
    response = sdk(p).messages.with_raw_response.create(**BODY)  # type: ignore[arg-type]
    assert response.parse().content[0].text == "served"  # type: ignore[union-attr]
    assert response.headers["x-ccm-attempts"] == "2" and response.headers["x-ccm-provider"] == "p2"


@pytest.mark.parametrize(("statuses", "answer"), [((400, 422), 400), ((413, 413), 413), ((422,), 400)])
def test_refusals_from_every_host_answer_400_or_413_naming_each(
    statuses: tuple[int, ...], answer: int, upstreams: Up, proxy: Px
) -> None:
    ups = [upstreams().script(Reply.error(s, f"no ({s})", "invalid_request_error")) for s in statuses]
    p = proxy(chain([u.url for u in ups]))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == answer
    message = response.json()["error"]["message"]
    for i, s in enumerate(statuses, start=1):
        assert f"p{i}/model-{i}: HTTP {s}" in message and f"no ({s})" in message


def test_all_failed_summary_last_status_and_retry_after(upstreams: Up, proxy: Px) -> None:
    a = upstreams().script(Reply.error(429, "slow down", "rate_limit_error", headers={"retry-after": "12"}))
    b = upstreams().script(Reply.error(529, "overloaded", "overloaded_error"))
    p = proxy(chain([a.url, b.url]))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 529
    error = response.json()["error"]
    assert error["type"] == "overloaded_error"
    assert "p1/model-1: HTTP 429" in error["message"] and "p2/model-2: HTTP 529" in error["message"]
    assert response.headers["retry-after"] == "12"
    assert response.headers["x-ccm-attempts"] == "2"
    assert "x-ccm-provider" not in response.headers


def test_all_failed_connection_errors_is_502_and_timeouts_504(upstreams: Up, proxy: Px) -> None:
    p = proxy(chain([dead_url(), dead_url()]))
    assert httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False).status_code == 502
    slow = upstreams().script(Reply(200, json=anthropic_message(), stall=2.0))
    p2 = proxy(chain([slow.url], api_timeout_ms=500))
    response = httpx.post(f"{p2.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 504
    assert response.json()["error"]["type"] == "timeout_error"


def test_the_summary_counts_a_mappings_tries_and_names_what_was_left_out(proxy: Px) -> None:
    """A mapping retried is one line with its tries counted, its connection error in plain words, and a
    mapping whose `allow` globs left it out is named with its globs: the reader sees one mapping tried
    twice, not two mappings, and why the other was not tried."""
    dead = dead_url()
    port = dead.rsplit(":", 1)[1]
    p = proxy(f"""
[server]
host = "127.0.0.1"
timeouts = {{ connect_timeout_ms = 1000 }}
[failover]
max_retries = 1
backoff_ms = 1
circuit_failures = 1000000
[router]
default = "m"
[[providers]]
name = "picky"
provider_type = "anthropic-compatible"
base_url = "{dead}"
api_key = "sk-picky-0123456789"
[[providers]]
name = "dead"
provider_type = "anthropic-compatible"
base_url = "{dead}"
api_key = "sk-dead-0123456789"
[[models]]
name = "m"
[[models.mappings]]
provider = "picky"
actual_model = "*"
allow = ["claude-*"]
[[models.mappings]]
provider = "dead"
actual_model = "x"
""")
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 502
    message = response.json()["error"]["message"]
    assert message.startswith("all mappings failed (2 attempts): 1. dead/x: connection error: cannot connect to ")
    assert f"127.0.0.1:{port}: connection refused (tried 2×)" in message and "2. dead/x" not in message
    assert message.endswith("skipped (picky allows only claude-*)"), message


def test_missing_key_fails_over_with_the_fix_in_the_message(upstreams: Up, proxy: Px) -> None:
    good = upstreams().script(Reply(200, json=anthropic_message()))
    providers = [{"name": "zai", "provider_type": "z.ai", "base_url": good.url}, anthropic_provider("p2", good.url)]
    p = proxy(make_config(providers, {"m": [("zai", "glm"), ("p2", "x")]}))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 200 and response.headers["x-ccm-attempts"] == "2"
    only = proxy(make_config(providers[:1], {"m": [("zai", "glm")]}))
    failed = httpx.post(f"{only.url}/v1/messages", json=BODY, trust_env=False)
    message = failed.json()["error"]["message"]
    assert message.startswith("ccm has no credential to send: provider 'zai' has no API key: run `ccm keys set zai`")
    assert message.count("ZAI_API_KEY") == 1 and "(1 attempt)" in message  # the fix said once


def test_unbuilt_wire_fails_over_and_says_so(upstreams: Up, proxy: Px) -> None:
    good = upstreams().script(Reply(200, json=anthropic_message()))
    providers = [
        {"name": "g", "provider_type": "openai", "auth_type": "oauth", "api_key": "gk-123456789012"},
        anthropic_provider("p2", good.url),
    ]
    if "responses" in BUILT_WIRES:
        pytest.skip("every wire format is built")
    p = proxy(make_config(providers, {"m": [("g", "gpt-5"), ("p2", "x")]}))
    ok = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert ok.status_code == 200 and ok.headers["x-ccm-attempts"] == "2"
    only = proxy(make_config(providers[:1], {"m": [("g", "gpt-5")]}))
    failed = httpx.post(f"{only.url}/v1/messages", json=BODY, trust_env=False)
    assert "responses wire format is not supported yet" in failed.json()["error"]["message"]


def test_stream_cut_after_first_event_ends_with_error_event(upstreams: Up, proxy: Px) -> None:
    cut = upstreams().script(Reply.stream(anthropic_stream("a long answer that gets cut", pieces=6), cut_after=4))
    spare = upstreams().script(Reply.stream(anthropic_stream()))
    p = proxy(chain([cut.url, spare.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        assert response.status_code == 200
        body = b"".join(response.iter_bytes())
    assert body.startswith(b"event: message_start")
    assert b"event: error" in body
    assert b"event: message_stop" not in body
    assert spare.received == []  # past the failover window: no second attempt
    with pytest.raises(anthropic.APIError), sdk(p).messages.stream(**BODY) as s:  # type: ignore[arg-type]
        s.get_final_message()


def test_an_error_in_the_same_read_as_the_first_content_is_passed_on(upstreams: Up, proxy: Px) -> None:
    """How the upstream's bytes fall into reads changes nothing: an error after the first content event
    ends the stream with that error, as when it arrives later."""
    events = anthropic_stream("partial", pieces=2)[:4] + [
        sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    ]
    busy = upstreams().script(Reply.stream([b"".join(events)]))
    spare = upstreams().script(Reply.stream(anthropic_stream("whole answer")))
    p = proxy(chain([busy.url, spare.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
        assert response.headers["x-ccm-attempts"] == "1"
    assert body.count(b"event: error") == 1 and b'"overloaded_error"' in body
    assert b"event: message_stop" not in body and spare.received == []


def test_an_unparseable_event_in_the_same_read_as_the_first_content_ends_the_stream(upstreams: Up, proxy: Px) -> None:
    """Past the first content the answer has begun, however the bytes fall into reads: an event that will
    not parse ends it with `event: error` (no second attempt, no clean message_stop)."""
    events = anthropic_stream("partial", pieces=2)[:4] + [b"event: content_block_delta\ndata: {not json\n\n"]
    broken = upstreams().script(Reply.stream([b"".join(events)]))
    spare = upstreams().script(Reply.stream(anthropic_stream("whole answer")))
    p = proxy(chain([broken.url, spare.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
        assert response.headers["x-ccm-attempts"] == "1"
    assert body.startswith(b"event: message_start") and b"partial"[:3] in body
    assert body.count(b"event: error") == 1 and b"event: message_stop" not in body
    assert spare.received == []


def test_error_event_mid_stream_is_passed_once(upstreams: Up, proxy: Px) -> None:
    events = anthropic_stream("partial", pieces=2)[:4] + [
        sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    ]
    # The pause puts the error in a later read than the first content: the answer has begun by then.
    up = upstreams().script(Reply.stream(events, pauses={4: 0.05}))
    p = proxy(chain([up.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
    assert body.count(b"event: error") == 1
    assert b'"overloaded_error"' in body


def test_keepalive_pings_while_upstream_is_silent(upstreams: Up, proxy: Px, monkeypatch: pytest.MonkeyPatch) -> None:
    import ccm.dispatch.relay

    monkeypatch.setattr(ccm.dispatch.relay, "PING_INTERVAL", 0.1)
    events = anthropic_stream("slow thinker", pieces=2)
    up = upstreams().script(Reply.stream(events, delay=0.35))
    p = proxy(chain([up.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
    first_ping = body.index(b"event: ping")
    assert first_ping > body.index(b"event: message_start")  # pings only after the failover window
    assert body.count(b"event: ping") > 2  # the upstream's own ping is one
    assert body.rstrip().endswith(b'{"type": "message_stop"}') or b"message_stop" in body[-80:]


def test_slow_but_talking_stream_completes(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.stream(anthropic_stream("steady", pieces=3), delay=0.3))
    p = proxy(chain([up.url], api_timeout_ms=800))  # the whole stream takes ~2.4 s, each gap 0.3 s
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
    assert streamed_text(body) == "steady" and b"event: message_stop" in body


def test_silence_mid_stream_beyond_api_timeout_ends_with_error(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.stream(anthropic_stream("x", pieces=1), pauses={4: 2.0}))  # after the first delta
    p = proxy(chain([up.url], api_timeout_ms=600))
    with httpx.stream(
        "POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False, timeout=10
    ) as response:
        body = b"".join(response.iter_bytes())
    assert b"event: message_start" in body
    assert b"event: error" in body and b"timeout_error" in body
    assert b"event: message_stop" not in body


def test_client_disconnect_closes_the_upstream(upstreams: Up, proxy: Px) -> None:
    import time

    events = anthropic_stream("many small pieces of a long answer " * 3, pieces=40)
    up = upstreams().script(Reply.stream(events, delay=0.1))
    p = proxy(chain([up.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        next(response.iter_bytes())  # the first event, then hang up
    deadline = time.monotonic() + 5
    while up.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert up.disconnects == 1
    records = httpx.get(f"{p.url}/api/requests", trust_env=False).json()
    assert records and records[0]["provider"] == "p1"


def test_json_answer_to_a_streaming_request_is_replayed_as_a_stream(upstreams: Up, proxy: Px) -> None:
    """Some gateways ignore `stream`: a complete JSON message still serves a streaming client."""
    up = upstreams().script(Reply(200, json=anthropic_message("whole")))
    p = proxy(chain([up.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
    assert streamed_text(body) == "whole" and body.rstrip().endswith(b'{"type":"message_stop"}')


def test_sse_answer_to_a_non_streaming_request_is_accumulated(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.stream(anthropic_stream("accumulated", pieces=3)))
    p = proxy(chain([up.url]))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.status_code == 200 and response.json()["content"][0]["text"] == "accumulated"


def test_a_cut_sse_answer_to_a_non_streaming_request_fails_over(upstreams: Up, proxy: Px) -> None:
    cut = upstreams().script(Reply.stream(anthropic_stream("never whole", pieces=3)[:-1]))
    good = upstreams().script(Reply(200, json=anthropic_message("fine")))
    p = proxy(chain([cut.url, good.url]))
    response = httpx.post(f"{p.url}/v1/messages", json=BODY, trust_env=False)
    assert response.json()["content"][0]["text"] == "fine" and response.headers["x-ccm-attempts"] == "2"


def test_an_error_event_right_after_message_start_fails_over(upstreams: Up, proxy: Px) -> None:
    """The window closes at the first content, not the first event: an overloaded_error there is a failed
    attempt, not the end of the user's answer."""
    events = anthropic_stream("x")
    overloaded = sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    bad = upstreams().script(Reply.stream([events[0], overloaded]))
    good = upstreams().script(Reply.stream(anthropic_stream("from the second")))
    p = proxy(chain([bad.url, good.url]))
    with httpx.stream("POST", f"{p.url}/v1/messages", json={**BODY, "stream": True}, trust_env=False) as response:
        body = b"".join(response.iter_bytes())
        assert response.headers["x-ccm-provider"] == "p2"
    assert streamed_text(body) == "from the second" and body.count(b"event: message_start") == 1
    assert b"event: error" not in body
