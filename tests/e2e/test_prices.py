"""Cost out of the box: a mapping without prices on an API-key provider is priced from the maintained
table (genai-prices) when its record is written; a mapping's own prices win; a subscription costs 0 and
says "plan". The table is loaded neither at start-up nor on the request path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx

from tests.e2e.harness import ROOT, InProcessProxy
from tests.e2e.test_metrics import wait_for
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

SONNET = "claude-sonnet-4-5"
TABLE_COST = (1000 * 3.0 + 500 * 15.0) / 1_000_000  # Anthropic's list price: $3 in, $15 out per million
OWN_COST = (1000 * 1.0 + 500 * 2.0) / 1_000_000


def config(url: str) -> str:
    return f"""
[router]
default = "table"

[[providers]]
name = "ant"
provider_type = "anthropic"
base_url = "{url}"
api_key = "sk-ant-fake-key-AAAAAAAAAAAA"

[[providers]]
name = "max"
provider_type = "anthropic"
auth_type = "passthrough"
base_url = "{url}"

[[models]]
name = "table"
[[models.mappings]]
provider = "ant"
actual_model = "{SONNET}"

[[models]]
name = "own"
[[models.mappings]]
provider = "ant"
actual_model = "{SONNET}"
price_in = 1.0
price_out = 2.0

[[models]]
name = "plan"
[[models.mappings]]
provider = "max"
actual_model = "{SONNET}"
"""


def _journal(home: Path) -> list[dict[str, Any]]:
    path = home / "requests.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_costs_come_from_the_table_the_mapping_or_the_plan(
    upstreams: Callable[[], FakeUpstream], proxy: Callable[[str], InProcessProxy], isolated_env: Path
) -> None:
    up = upstreams()
    up.script(Reply(200, json=anthropic_message("hi", input_tokens=1000, output_tokens=500)))
    p = proxy(config(up.url))
    client = anthropic.Anthropic(base_url=p.url, api_key="client-login", max_retries=0)
    for model in ("table", "own", "plan"):
        client.messages.create(model=model, max_tokens=20, messages=[{"role": "user", "content": "q"}])
    records = wait_for(lambda: len(_journal(isolated_env)) == 3 and _journal(isolated_env))
    by_model = {r["routed_model"]: r for r in records}
    assert by_model["table"]["pricing"] == "table"
    assert abs(by_model["table"]["cost_usd"] - TABLE_COST) < 1e-9
    assert by_model["own"]["pricing"] == "config" and abs(by_model["own"]["cost_usd"] - OWN_COST) < 1e-9
    assert by_model["plan"]["pricing"] == "plan" and by_model["plan"]["cost_usd"] == 0
    metrics = httpx.get(f"{p.url}/api/metrics", trust_env=False, timeout=5).json()
    assert abs(metrics["providers"]["ant"]["cost_usd"] - (TABLE_COST + OWN_COST)) < 1e-6


def test_start_up_never_loads_the_price_table(tmp_path: Path) -> None:
    """A fresh interpreter builds the app and records a finished request: the table is still not loaded
    (only the journal's writer thread loads it)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(config("http://127.0.0.1:9"))
    probe = f"""
import sys
from pathlib import Path
from ccm.serve import main
from ccm.serve.app import create_app
from ccm.dispatch.relay import Done
from ccm.observe.records import to_record
from ccm.providers.base import Usage
from config.load import load_config
app = create_app(Path({str(home / "config.toml")!r}), watch=False)
cfg = load_config({str(home / "config.toml")!r}).config
record = to_record(Done(200, 1, "ant", {SONNET!r}, usage=Usage(1000, 500)), record_id=1, time=0.0, body={{}},
                   route="default", routed_model="table", latency_ms=5, config=cfg)
assert record.cost_usd is None and record.price_key == ("anthropic", {SONNET!r}), record
print("genai_prices" in sys.modules)
"""
    env = {**os.environ, "CCM_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=str(ROOT), env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
