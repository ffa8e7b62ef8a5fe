"""Who spent what: every request record, the per-request Prometheus series and `ccm usage --by client` name
the client whose key sent the request ("-" for the router key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anthropic
import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.gateway import ROUTER, gateway_config
from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]
KEYS = {"alice": "alice-key-AAAAAAAAAAAAAAAA", "bob": "bob-key-BBBBBBBBBBBBBBBB"}


def config(url: str) -> str:
    clients = "".join(f'\n[[clients]]\nname = "{name}"\napi_key = "{key}"\n' for name, key in KEYS.items())
    return gateway_config(url, clients, prices="price_in = 1.0\nprice_out = 10.0")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_records_metrics_and_usage_name_the_client(upstreams: Up, proxy: Px, isolated_env: Path) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok", input_tokens=100, output_tokens=10)))
    px = proxy(config(up.url))
    messages = [{"role": "user", "content": "hi"}]
    for key in (KEYS["alice"], KEYS["alice"], KEYS["bob"], ROUTER):
        anthropic.Anthropic(base_url=px.url, api_key=key, max_retries=0).messages.create(
            model="m", max_tokens=5, messages=messages
        )
    up.script(Reply.stream(anthropic_stream("streamed")))
    with anthropic.Anthropic(base_url=px.url, api_key=KEYS["bob"], max_retries=0).messages.stream(
        model="m", max_tokens=5, messages=messages
    ) as stream:
        stream.get_final_message()
    journal = isolated_env / "requests.jsonl"
    wait_for(lambda: journal.exists() and len(journal.read_text().splitlines()) == 5)
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [r["client"] for r in rows] == ["alice", "alice", "bob", "-", "bob"]
    text = journal.read_text()
    assert all(key not in text for key in (*KEYS.values(), ROUTER))
    recent = httpx.get(f"{px.url}/api/requests", headers={"x-api-key": ROUTER}, trust_env=False).json()
    assert [r["client"] for r in recent] == ["bob", "-", "bob", "alice", "alice"]

    scrape = httpx.get(f"{px.url}/metrics", headers={"x-api-key": ROUTER}, trust_env=False).text
    families = {f.name: f for f in text_string_to_metric_families(scrape)}
    requests = [s for s in families["ccm_requests"].samples if s.name == "ccm_requests_total"]
    by_client = {s.labels["client"]: s.value for s in requests}
    assert by_client == {"alice": 2, "bob": 2, "-": 1}
    tokens = [s for s in families["ccm_tokens"].samples if s.name == "ccm_tokens_total"]
    assert {s.labels["client"] for s in tokens} == {"alice", "bob", "-"}
    cost = [s for s in families["ccm_cost_usd"].samples if s.name == "ccm_cost_usd_total"]
    assert {s.labels["client"] for s in cost} == {"alice", "bob", "-"}
    durations = [s for s in families["ccm_request_duration_seconds"].samples if s.name.endswith("_count")]
    assert {s.labels["client"]: s.value for s in durations} == {"alice": 2, "bob": 2, "-": 1}

    env = {**os.environ, "CCM_HOME": str(isolated_env), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    ccm = Path(sys.executable).parent / "ccm"
    out = subprocess.run(
        [str(ccm), "usage", "--by", "client", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["by"] == "client"
    rows_by = {row["key"]: row for row in report["rows"]}
    assert {k: r["requests"] for k, r in rows_by.items()} == {"alice": 2, "bob": 2, "-": 1}
    assert rows_by["alice"]["input_tokens"] == 200 and rows_by["alice"]["output_tokens"] == 20
    assert rows_by["alice"]["cost_usd"] == round(2 * (100 * 1.0 + 10 * 10.0) / 1e6, 6)
    table = subprocess.run([str(ccm), "usage", "--by", "client"], capture_output=True, text=True, env=env, timeout=60)
    assert table.returncode == 0 and "alice" in table.stdout and "Client" in table.stdout
