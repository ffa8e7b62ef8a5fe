"""`ccm metrics`, `ccm usage` and the metrics line of `ccm status`, run as the real console script against a
real proxy (`ccm start`) that serves a fake upstream: what they print agrees with /api/metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from tests.cli.conftest import CONFIG, Cli, wait_for
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream

PRICED = CONFIG.replace(
    'actual_model = "main-actual"\npriority = 1\n',
    'actual_model = "main-actual"\npriority = 1\nprice_in = 2.0\nprice_out = 10.0\n',
).replace(  # Anthropic itself, whose 400 is passed through (another host's would fail over)
    'provider_type = "anthropic-compatible"\n', 'provider_type = "anthropic"\napi_key = "sk-ant-test-0123456789"\n'
)


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    up = FakeUpstream().start()
    yield up
    up.stop()


@pytest.fixture
def served(cli: Cli, write_config: Any, port: int, upstream: FakeUpstream) -> str:
    """A running proxy (ccm start) that answered three requests: two from "main" (priced), one refused."""
    write_config(PRICED.format(port=port, base_url=upstream.url))
    cli.ok("start")
    url = f"http://127.0.0.1:{port}"
    client = anthropic.Anthropic(base_url=url, api_key="ccm", max_retries=0)
    upstream.script(Reply(200, json=anthropic_message("hi", input_tokens=1000, output_tokens=100)))
    client.messages.create(model="main", max_tokens=5, messages=[{"role": "user", "content": "q"}])
    upstream.script(Reply.stream(anthropic_stream("hello")))
    with client.messages.stream(model="main", max_tokens=5, messages=[{"role": "user", "content": "q"}]) as s:
        s.get_final_message()
    upstream.script(Reply.error(400, "no", "invalid_request_error"))
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="deep", max_tokens=5, messages=[{"role": "user", "content": "q"}])
    wait_for(lambda: api(url)["requests"]["total"] == 3)
    return url


def api(url: str) -> dict[str, Any]:
    return dict(httpx.get(f"{url}/api/metrics", trust_env=False, timeout=5).json())


def test_metrics_without_a_proxy_says_so(cli: Cli) -> None:
    assert "the proxy is not running" in cli.fails("metrics")
    assert "the proxy is not running" in cli.fails("metrics", "--json")


def test_metrics_json_is_the_api_and_the_table_shows_it(cli: Cli, served: str) -> None:
    assert json.loads(cli.ok("metrics", "--json")) == api(served)
    table = cli.ok("metrics")
    row = next(line for line in table.splitlines() if "│ up " in line or line.startswith("│ up"))
    cells = [c.strip() for c in row.strip("│").split("│")]
    m = api(served)["providers"]["up"]
    assert cells[:3] == ["up", str(m["requests"]), str(m["errors"])] == ["up", "3", "1"]
    assert cells[-1] == "closed"
    assert "3 requests (1 failed, 0 failovers)" in table


def test_usage_agrees_with_the_api(cli: Cli, served: str) -> None:
    m = api(served)
    journal = cli.home / "requests.jsonl"
    wait_for(lambda: journal.exists() and len(journal.read_text().splitlines()) == 3)
    report = json.loads(cli.ok("usage", "--json"))
    assert report["by"] == "provider" and set(report) == {"since", "by", "rows", "total"}
    total = report["total"]
    # usage is what was served; the refused request is counted apart, as an error
    assert (total["requests"], total["errors"]) == (2, 1) and m["requests"]["total"] == 3
    assert (total["input_tokens"], total["output_tokens"]) == (m["tokens"]["input"], m["tokens"]["output"])
    assert total["cache_read_tokens"] == m["tokens"]["cache_read"]
    assert total["cost_usd"] == pytest.approx(m["cost_usd"]) == pytest.approx((1010 * 2.0 + 105 * 10.0) / 1e6)
    assert [r["key"] for r in report["rows"]] == ["up"]
    by_model = json.loads(cli.ok("usage", "--by", "model", "--since", "24h", "--json"))
    assert {r["key"]: (r["requests"], r["errors"]) for r in by_model["rows"]} == {"main": (2, 0), "deep": (0, 1)}
    by_day = json.loads(cli.ok("usage", "--by", "day", "--json"))
    assert len(by_day["rows"]) == 1 and (by_day["rows"][0]["requests"], by_day["rows"][0]["errors"]) == (2, 1)
    shown = cli.ok("usage")
    assert "up" in shown and "Errors" in shown
    assert re.search(r"Usage since \d{4}-\d\d-\d\d \d\d:\d\d \(last 7d\)", shown), shown  # not raw ISO
    assert "--since" in cli.fails("usage", "--since", "soon")
    assert "--by" in cli.fails("usage", "--by", "colour")


def test_usage_with_no_log_yet_is_all_zero(cli: Cli) -> None:
    report = json.loads(cli.ok("usage", "--json", "--since", "30d"))
    assert report["rows"] == [] and report["total"]["requests"] == 0


def test_usage_reads_rotated_files_and_skips_a_cut_line(cli: Cli, tmp_path: Path) -> None:
    import time

    now = time.time()
    line = {"time": now, "provider": "a", "routed_model": "m", "input_tokens": 5, "kind": "messages"}
    (cli.home / "requests.jsonl.1").write_text(json.dumps(line) + "\n" + json.dumps({**line, "time": now - 9e6}) + "\n")
    (cli.home / "requests.jsonl").write_text(json.dumps({**line, "provider": "b"}) + '\n{"time": ')
    report = json.loads(cli.ok("usage", "--json"))
    assert {r["key"]: r["input_tokens"] for r in report["rows"]} == {"a": 5, "b": 5}


def test_status_has_a_metrics_line(cli: Cli, served: str) -> None:
    out = cli.ok("status")
    line = next(x for x in out.splitlines() if x.strip().startswith("metrics"))
    assert "3 requests (1 failed, 0 failovers)" in line and "circuits closed" in line and "$0.0" in line


def test_watch_prints_again_until_interrupted(cli: Cli, served: str) -> None:
    import signal
    import subprocess

    from tests.cli.conftest import CCM

    proc = subprocess.Popen(
        [str(CCM), "metrics", "--watch", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )
    try:
        assert proc.stdout is not None
        first, second = json.loads(proc.stdout.readline()), json.loads(proc.stdout.readline())  # 2 s apart
        assert first["requests"] == second["requests"] == api(served)["requests"]
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
    assert code == 130 and "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_usage_says_plan_for_subscriptions(cli: Cli) -> None:
    now = time.time()
    lines = [
        {
            "time": now,
            "provider": "claude-max",
            "routed_model": "m",
            "input_tokens": 10,
            "cost_usd": 0.0,
            "pricing": "plan",
        },
        {"time": now, "provider": "zai", "routed_model": "m", "input_tokens": 10, "cost_usd": 0.5, "pricing": "table"},
        {"time": now, "provider": "zai", "routed_model": "m", "input_tokens": 10, "cost_usd": 0.0, "pricing": "plan"},
    ]
    (cli.home / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    table = cli.ok("usage")
    cells = [[c.strip() for c in line.strip("│ ").split("│")] for line in table.splitlines() if "│" in line]
    cost = {row[0]: row[-1] for row in cells}
    assert cost["claude-max"] == "plan" and cost["zai"] == "$0.5000 + plan"
    report = json.loads(cli.ok("usage", "--json"))
    assert {r["key"]: r["plan_requests"] for r in report["rows"]} == {"claude-max": 1, "zai": 2 - 1}
