"""Metrics and the request log end to end: a scripted mix of requests through the real proxy, against fake
Anthropic and OpenAI upstreams, gives exact counters in /api/metrics and /metrics, and requests.jsonl
holds one line per request with neither prompt, answer nor key in it."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream, openai_completion

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
KEY_A = "sk-ant-fake-key-AAAAAAAAAAAA"
KEY_B = "sk-fake-second-BBBBBBBBBBBB"
KEY_O = "sk-openai-fake-OOOOOOOOOOOO"
PROMPT = "PROMPT-TEXT-that-must-never-be-logged"
ANSWER = "ANSWER-TEXT-that-must-never-be-logged"


def config(a: str, b: str, o: str, server: str = "", retries: int = 0) -> str:
    return f"""
[server]
host = "127.0.0.1"
{server}

[router]
default = "m"

[failover]
max_retries = {retries}  # 0 by default: the scripted mix counts one attempt per mapping

[[providers]]
name = "pa"
provider_type = "anthropic"                 # its 400 is passed through (another host's would fail over)
base_url = "{a}"
api_key = "{KEY_A}"

[[providers]]
name = "pb"
provider_type = "anthropic-compatible"
base_url = "{b}"
api_key = "{KEY_B}"

[[providers]]
name = "po"
provider_type = "openai-compatible"
base_url = "{o}/v1"
api_key = "{KEY_O}"

[[models]]
name = "m"

[[models.mappings]]
provider = "pa"
actual_model = "a-model"
priority = 1
price_in = 3.0
price_out = 15.0

[[models.mappings]]
provider = "pb"
actual_model = "b-model"
priority = 2

[[models]]
name = "o"

[[models.mappings]]
provider = "po"
actual_model = "o-model"
priority = 1
"""


def get(p: InProcessProxy, path: str, **kw: Any) -> httpx.Response:
    return httpx.get(p.url + path, trust_env=False, timeout=5, **kw)


def ask(client: anthropic.Anthropic, model: str = "m", stream: bool = False) -> Any:
    messages: Any = [{"role": "user", "content": PROMPT}]
    if stream:
        with client.messages.stream(model=model, max_tokens=20, messages=messages) as s:
            return s.get_final_message()
    return client.messages.create(model=model, max_tokens=20, messages=messages)


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


@pytest.fixture
def mix(upstreams: Up, proxy: Px) -> tuple[InProcessProxy, dict[str, Any]]:
    """Five requests and two count_tokens calls, each with a known outcome; returns the proxy and /api/metrics."""
    a, b, o = upstreams(), upstreams(), upstreams()
    p = proxy(config(a.url, b.url, o.url))
    client = anthropic.Anthropic(base_url=p.url, api_key="sdk-key-never-logged", max_retries=0)
    # 1. pa answers (priced: 10 in, 5 out)
    a.script(Reply(200, json=anthropic_message(ANSWER)))
    ask(client)
    # 2. pa answers a stream
    a.script(Reply.stream(anthropic_stream(ANSWER)))
    ask(client, stream=True)
    # 3. pa 503, pb answers: a failover
    a.script(Reply.error(503, "unavailable"))
    b.script(Reply(200, json=anthropic_message(ANSWER, input_tokens=7, output_tokens=3)))
    ask(client)
    # 4. pa refuses the request: passed through
    a.script(Reply.error(400, "bad request", "invalid_request_error"))
    with pytest.raises(anthropic.BadRequestError):
        ask(client)
    # 5. the OpenAI wire
    o.script(Reply(200, json=openai_completion(ANSWER, prompt_tokens=20, completion_tokens=8)))
    ask(client, model="o")
    # count_tokens: forwarded to pa once, estimated once (pa refuses)
    a.script(Reply(200, json={"input_tokens": 12}), Reply.error(500, "no"))
    client.messages.count_tokens(model="m", messages=[{"role": "user", "content": PROMPT}])
    client.messages.count_tokens(model="m", messages=[{"role": "user", "content": PROMPT}])
    # a stream is recorded when it ends, just after the client has it all
    wait_for(lambda: get(p, "/api/metrics").json()["requests"]["total"] == 5)
    return p, get(p, "/api/metrics").json()


def test_api_metrics_counts_the_scripted_mix_exactly(mix: tuple[InProcessProxy, dict[str, Any]]) -> None:
    _, m = mix
    assert m["requests"] == {
        "total": 5,
        "by_status": {"200": 4, "400": 1},
        "by_route": {"default": 5},
        "by_model": {"m": 4, "o": 1},
        "by_provider": {"pa": 3, "pb": 1, "po": 1},
    }
    pa, pb, po = (m["providers"][n] for n in ("pa", "pb", "po"))
    assert (pa["requests"], pb["requests"], po["requests"]) == (3, 1, 1)
    assert (pa["attempts"], pa["failovers"], pa["errors"]) == (4, 1, 1)  # its 503 (failed over, not an error), its 400
    assert pa["tokens"]["input"] == 20 and pa["tokens"]["output"] == 10  # requests 1 and 2
    assert pb["tokens"] == {"input": 7, "output": 3, "cache_read": 0, "cache_write": 0}
    assert po["tokens"]["input"] == 20 and po["tokens"]["output"] == 8
    assert pa["cost_usd"] == pytest.approx((20 * 3.0 + 10 * 15.0) / 1e6)
    assert pb["cost_usd"] == 0 and m["cost_usd"] == pytest.approx(pa["cost_usd"])
    assert m["tokens"]["input"] == 47
    assert {pa["circuit"], pb["circuit"], po["circuit"]} == {"closed"}
    assert pa["latency_ms"]["p50"] is not None and pa["ttft_ms"]["p50"] is not None
    assert set(m) == {
        "started_at",
        "requests",
        "providers",
        "tokens",
        "cost_usd",
        "request_log",
    }  # count_tokens: /metrics only
    assert m["started_at"] <= time.time()


def test_failed_attempts_are_counted_per_provider(mix: tuple[InProcessProxy, dict[str, Any]]) -> None:
    p, m = mix
    pa = m["providers"]["pa"]
    assert (pa["attempts"], pa["failovers"], pa["errors"]) == (4, 1, 1)
    third = get(p, "/api/requests?limit=5").json()[2]
    assert [(a["provider"], a["outcome"], a["status"]) for a in third["attempts"]] == [
        ("pa", "failed_over", 503),
        ("pb", "ok", 200),
    ]


def test_prometheus_output_parses_and_agrees(mix: tuple[InProcessProxy, dict[str, Any]]) -> None:
    p, m = mix
    response = get(p, "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    fams = {f.name: f for f in text_string_to_metric_families(response.text)}
    requests = [s for s in fams["ccm_requests"].samples if s.name == "ccm_requests_total"]
    assert sum(s.value for s in requests) == m["requests"]["total"]
    assert {s.labels["provider"] for s in requests} == {"pa", "pb", "po"}
    assert all(set(s.labels) == {"route", "model", "provider", "status", "client"} for s in requests)
    assert {s.labels["client"] for s in requests} == {"-"}  # no [[clients]]: the router key's (or no key's)
    by_status = {s.labels["status"]: 0.0 for s in requests}
    for s in requests:
        by_status[s.labels["status"]] += s.value
    assert by_status == {k: float(v) for k, v in m["requests"]["by_status"].items()}
    count_tokens = [s for s in fams["ccm_count_tokens"].samples if s.name == "ccm_count_tokens_total"]
    assert sum(s.value for s in count_tokens) == 2
    circuit = {s.labels["provider"]: s.value for s in fams["ccm_circuit_state"].samples}
    assert circuit == {"pa": 0, "pb": 0, "po": 0}
    duration = [s for s in fams["ccm_request_duration_seconds"].samples if s.name.endswith("_count")]
    assert sum(s.value for s in duration) == 4  # answered requests only
    cost = {s.labels["provider"]: s.value for s in fams["ccm_cost_usd"].samples if s.name.endswith("_total")}
    assert cost == {"pa": pytest.approx(m["providers"]["pa"]["cost_usd"])}


def test_requests_jsonl_has_every_request_and_no_content_or_key(mix: tuple[InProcessProxy, dict[str, Any]]) -> None:
    p, _ = mix
    path = Path(os.environ["CCM_HOME"]) / "requests.jsonl"
    wait_for(lambda: path.exists() and len(path.read_text().splitlines()) == 5)
    text = path.read_text()
    for secret in (PROMPT, ANSWER, KEY_A, KEY_B, KEY_O, KEY_A[-8:], "sdk-key-never-logged"):
        assert secret not in text
    rows = [json.loads(x) for x in text.splitlines()]
    assert [r["status"] for r in rows] == [200, 200, 200, 400, 200]
    assert [r["provider"] for r in rows] == ["pa", "pa", "pb", "pa", "po"]
    assert all(r["kind"] == "messages" for r in rows)  # count_tokens is not in the journal
    assert rows[0]["cost_usd"] == pytest.approx((10 * 3.0 + 5 * 15.0) / 1e6)
    assert rows[3]["outcome"] == "passed_through" and rows[3]["attempts"][0]["outcome"] == "passed_through"
    # nor in the in-memory log the TUI and /api/requests show
    recent = get(p, "/api/requests?limit=50").json()
    assert len(recent) == 5 and {r["kind"] for r in recent} == {"messages"}


def test_metrics_need_the_router_key(upstreams: Up, proxy: Px) -> None:
    a = upstreams()
    p = proxy(config(a.url, a.url, a.url, server='api_key = "router-key-123"'))
    assert get(p, "/metrics").status_code == 401
    assert get(p, "/api/metrics").status_code == 401
    assert get(p, "/metrics", headers={"x-api-key": "router-key-123"}).status_code == 200
    assert get(p, "/api/metrics", headers={"authorization": "Bearer router-key-123"}).json()["requests"]["total"] == 0


def test_cache_tokens_are_counted_on_both_paths(upstreams: Up, proxy: Px) -> None:
    a = upstreams()
    p = proxy(config(a.url, a.url, a.url))
    client = anthropic.Anthropic(base_url=p.url, api_key="client", max_retries=0)
    body = anthropic_message(ANSWER)
    body["usage"].update(cache_read_input_tokens=100, cache_creation_input_tokens=50)
    a.script(Reply(200, json=body))
    ask(client)
    events = anthropic_stream(ANSWER)
    start = json.loads(events[0].split(b"data: ", 1)[1])
    start["message"]["usage"].update(cache_read_input_tokens=100, cache_creation_input_tokens=50)
    events[0] = b"event: message_start\ndata: " + json.dumps(start).encode() + b"\n\n"
    a.script(Reply.stream(events))
    ask(client, stream=True)
    wait_for(lambda: get(p, "/api/metrics").json()["requests"]["total"] == 2)
    tokens = get(p, "/api/metrics").json()["providers"]["pa"]["tokens"]
    assert (tokens["cache_read"], tokens["cache_write"]) == (200, 100)


def test_time_to_first_token_of_a_stream_is_before_its_end(upstreams: Up, proxy: Px) -> None:
    a = upstreams()
    p = proxy(config(a.url, a.url, a.url))
    client = anthropic.Anthropic(base_url=p.url, api_key="client", max_retries=0)
    events = anthropic_stream(ANSWER, pieces=3)
    a.script(Reply.stream(events, pauses={len(events) - 2: 0.6}))  # a silence after the text, before the end
    ask(client, stream=True)
    record = wait_for(lambda: (get(p, "/api/requests?limit=1").json() or [None])[0])
    assert record["latency_ms"] >= 600
    assert record["ttft_ms"] is not None and record["ttft_ms"] < 400
    ttft = get(p, "/api/metrics").json()["providers"]["pa"]["ttft_ms"]["p50"]
    assert ttft is not None and ttft < 400


def test_the_breakers_circuit_states_reach_both_endpoints(upstreams: Up, proxy: Px) -> None:
    """The read interface the dispatcher's breaker fills: Services.breaker_view() -> {provider: (state, until)}."""
    a = upstreams()
    p = proxy(config(a.url, a.url, a.url))
    until = time.time() + 30
    p.app.services.breaker_view = lambda: {"pa": ("open", until), "pb": ("half_open", None)}
    providers = get(p, "/api/metrics").json()["providers"]
    assert (providers["pa"]["circuit"], providers["pa"]["circuit_until"]) == ("open", until)
    assert (providers["pb"]["circuit"], providers["po"]["circuit"]) == ("half_open", "closed")
    fams = {f.name: f for f in text_string_to_metric_families(get(p, "/metrics").text)}
    assert {s.labels["provider"]: s.value for s in fams["ccm_circuit_state"].samples} == {"pa": 2, "pb": 1, "po": 0}


def test_a_retry_is_recorded_with_the_limit_that_was_hit(upstreams: Up, proxy: Px) -> None:
    a = upstreams()
    p = proxy(config(a.url, a.url, a.url, retries=1))
    limited = Reply.error(
        429,
        "slow down",
        "rate_limit_error",
        headers={"retry-after": "0", "anthropic-ratelimit-unified-representative-claim": "five_hour"},
    )
    a.script(limited, Reply(200, json=anthropic_message(ANSWER)))
    client = anthropic.Anthropic(base_url=p.url, api_key="client", max_retries=0)
    raw = client.messages.with_raw_response.create(
        model="m", max_tokens=20, messages=[{"role": "user", "content": PROMPT}]
    )
    assert raw.headers["x-ccm-retries"] == "1" and raw.headers["x-ccm-provider"] == "pa"
    record = get(p, "/api/requests?limit=1").json()[0]
    assert record["retries"] == 1
    assert [(x["provider"], x["outcome"], x["status"]) for x in record["attempts"]] == [
        ("pa", "retried", 429),
        ("pa", "ok", 200),
    ]
    assert record["rate_limit"] == "five_hour"
    pa = get(p, "/api/metrics").json()["providers"]["pa"]
    assert (pa["attempts"], pa["retries"], pa["failovers"]) == (2, 1, 0)
    fams = {f.name: f for f in text_string_to_metric_families(get(p, "/metrics").text)}
    outcomes = {
        s.labels["outcome"]: s.value for s in fams["ccm_upstream_attempts"].samples if s.name.endswith("_total")
    }
    assert outcomes == {"ok": 1, "retried": 1}
