"""OpenTelemetry through a real OTLP/HTTP collector on 127.0.0.1: a SERVER span per request with one CLIENT
child per attempt (two for a request that failed over), the GenAI attributes, the GenAI metrics, the
standard headers variable honoured; and a proxy without OTel configured never imports it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import ROOT, InProcessProxy, free_port, server_env, terminate, wait_healthy
from tests.fakes.otlp_collector import Collector, Span
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
ROUTER = "router-key-0123456789abcdef"
ALICE = "alice-key-AAAAAAAAAAAAAAAA"


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


def config(first: str, second: str) -> str:
    return f"""
[server]
host = "127.0.0.1"
api_key = "{ROUTER}"

[router]
default = "m"

[failover]
max_retries = 0

[[providers]]
name = "pa"
provider_type = "anthropic"
base_url = "{first}"
api_key = "provider-key-AAAAAAAAAAAA"

[[providers]]
name = "pb"
provider_type = "deepseek-anthropic"
base_url = "{second}"
api_key = "provider-key-BBBBBBBBBBBB"

[[models]]
name = "m"
[[models.mappings]]
provider = "pa"
actual_model = "a-model"
[[models.mappings]]
provider = "pb"
actual_model = "b-model"

[[clients]]
name = "alice"
api_key = "{ALICE}"
"""


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def post(url: str, key: str) -> httpx.Response:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": key}, trust_env=False, timeout=30)


def test_spans_per_request_and_attempt_with_genai_attributes(
    upstreams: Up, proxy: Px, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team-token=otel-secret-123")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
    first, second = upstreams(), upstreams()
    usage = {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    first.script(Reply(200, json={**anthropic_message("one"), "usage": usage}))
    second.script(Reply(200, json=anthropic_message("two", input_tokens=7, output_tokens=3)))
    px = proxy(config(first.url, second.url))
    assert post(px.url, ALICE).status_code == 200
    first.script(Reply.error(503, "down"))
    assert post(px.url, ROUTER).status_code == 200  # pa failed, pb answered

    def servers() -> list[Span]:
        return [s for s in collector.spans if s.kind == "server"]

    wait_for(lambda: len(servers()) == 2 and sum(s.kind == "client" for s in collector.spans) == 3)
    one, two = sorted(servers(), key=lambda s: s.start)
    children = {
        parent.span_id: sorted((s for s in collector.spans if s.parent_id == parent.span_id), key=lambda s: s.start)
        for parent in (one, two)
    }
    assert [len(children[one.span_id]), len(children[two.span_id])] == [1, 2]
    assert all(c.kind == "client" for kids in children.values() for c in kids)
    assert all(c.trace_id == p.trace_id for p in (one, two) for c in children[p.span_id])
    assert one.trace_id != two.trace_id

    assert one.attributes["gen_ai.operation.name"] == "chat"
    assert one.attributes["gen_ai.provider.name"] == "anthropic"
    assert one.attributes["gen_ai.request.model"] == "m"
    assert one.attributes["gen_ai.response.model"] == "a-model"
    assert one.attributes["server.address"] == "127.0.0.1"
    assert one.attributes["ccm.client.name"] == "alice"
    assert one.attributes["gen_ai.usage.input_tokens"] == 130  # all input, cached included
    assert one.attributes["gen_ai.usage.output_tokens"] == 5
    assert one.attributes["gen_ai.usage.cache_read.input_tokens"] == 100
    assert one.attributes["gen_ai.usage.cache_creation.input_tokens"] == 20
    assert not one.error and one.resource["service.name"] == "ccm"
    attempt = children[one.span_id][0]
    assert attempt.attributes["ccm.provider.name"] == "pa"
    assert attempt.attributes["gen_ai.provider.name"] == "anthropic"
    assert attempt.attributes["gen_ai.request.model"] == "a-model"
    assert attempt.attributes["server.address"] == "127.0.0.1"
    assert one.start <= attempt.start <= attempt.end <= one.end

    assert two.attributes["ccm.client.name"] == "-"
    assert two.attributes["gen_ai.provider.name"] == "deepseek"
    assert two.attributes["gen_ai.response.model"] == "b-model"
    assert two.attributes["gen_ai.usage.input_tokens"] == 7
    failed, answered = children[two.span_id]
    assert failed.attributes["ccm.provider.name"] == "pa" and failed.error
    assert failed.attributes["http.response.status_code"] == 503 and failed.attributes["error.type"] == "503"
    assert answered.attributes["ccm.provider.name"] == "pb" and not answered.error
    assert answered.attributes["gen_ai.provider.name"] == "deepseek"
    assert answered.attributes["gen_ai.response.model"] == "b-model"
    assert failed.end <= answered.start

    def clients_measured() -> set[str]:
        return {p["ccm.client.name"] for p in collector.metrics.get("gen_ai.client.token.usage", [])}

    wait_for(lambda: clients_measured() == {"alice", "-"} and "gen_ai.client.operation.duration" in collector.metrics)
    tokens = collector.metrics["gen_ai.client.token.usage"]
    assert {p["gen_ai.token.type"] for p in tokens} == {"input", "output"}
    assert all(p["gen_ai.operation.name"] == "chat" for p in tokens)
    assert collector.headers and all(h.get("x-team-token") == "otel-secret-123" for h in collector.headers)
    assert all(h["content-type"] == "application/x-protobuf" for h in collector.headers)


def test_the_config_file_can_name_the_collector(upstreams: Up, proxy: Px, collector: Collector) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok")))
    text = config(up.url, up.url) + f'\n[telemetry]\notlp_endpoint = "{collector.url}/"\n'
    px = proxy(text)
    assert post(px.url, ALICE).status_code == 200
    px.stop()  # the shutdown flushes what is left
    assert [s.kind for s in collector.spans].count("server") == 1


def _imports_of_a_served_request(home: Path, **env: str) -> str:
    """Start `python -X importtime -m ccm serve`, serve one request and a scrape, stop; its import log."""
    port = free_port()
    (home / "config.toml").write_text(
        f'[server]\nport = {port}\n[router]\ndefault = "m"\n'
        '[[providers]]\nname = "p"\nprovider_type = "anthropic-compatible"\nbase_url = "http://127.0.0.1:9"\n'
        'api_key = "k"\n[[models]]\nname = "m"\n[[models.mappings]]\nprovider = "p"\nactual_model = "x"\n'
    )
    log = home / "imports.txt"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "ccm", "serve"],
            env=server_env(home, **env),
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=str(ROOT),
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, 30, proc)
            body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
            httpx.post(f"{url}/v1/messages", json=body, trust_env=False, timeout=30)
            httpx.get(f"{url}/metrics", trust_env=False, timeout=30)
        finally:
            terminate(proc)
    return log.read_text()


def test_a_proxy_without_otel_configured_never_imports_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k.startswith("OTEL_")}
    assert not env, "the test's own environment names a collector"
    imports = _imports_of_a_served_request(home)
    assert "ccm.serve.app" in imports  # the log is real
    assert "opentelemetry" not in imports
    # the same with a collector named: the SDK is loaded (so the check above can fail)
    (home / "ccm.pid").unlink(missing_ok=True)
    with Collector() as collector:
        assert "opentelemetry.sdk" in _imports_of_a_served_request(home, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url)
