"""`ccm status` and `ccm metrics` tell requests, failed requests and failovers apart (a request answered
after a failover is not an error), and `ccm start` and `ccm status` show the config's own warnings."""

from __future__ import annotations

import json
from typing import Any

import anthropic

from tests.cli.conftest import Cli, wait_for
from tests.cli.test_start_warnings import warnings
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message


def _config(port: int, down: str, up: str, extra: str = "") -> str:
    return f"""[server]
host = "127.0.0.1"
port = {port}
{extra}
[router]
default = "main"

[failover]
max_retries = 0

[[providers]]
name = "down"
provider_type = "anthropic-compatible"
base_url = "{down}"

[[providers]]
name = "backup"
provider_type = "anthropic-compatible"
base_url = "{up}"

[[models]]
name = "main"

[[models.mappings]]
provider = "down"
actual_model = "m1"
priority = 1

[[models.mappings]]
provider = "backup"
actual_model = "m2"
priority = 2
"""


def test_requests_answered_after_a_failover_are_not_errors(cli: Cli, port: int) -> None:
    with FakeUpstream() as down, FakeUpstream() as up:
        down.script(Reply.error(503, "overloaded"))
        up.script(Reply(200, json=anthropic_message("hi")))
        (cli.home / "config.toml").write_text(_config(port, down.url, up.url))
        cli.ok("start")
        client = anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="c", max_retries=0)
        for _ in range(3):
            client.messages.create(model="main", max_tokens=5, messages=[{"role": "user", "content": "q"}])
        wait_for(lambda: json.loads(cli.ok("metrics", "--json"))["requests"]["total"] == 3)
        metrics = json.loads(cli.ok("metrics", "--json"))
        assert (metrics["providers"]["down"]["failovers"], metrics["providers"]["down"]["errors"]) == (3, 0)
        line = next(x for x in cli.ok("status").splitlines() if x.strip().startswith("metrics"))
        assert "3 requests (0 failed, 3 failovers)" in line, line


def test_start_and_status_show_the_configs_warnings(cli: Cli, port: int) -> None:
    path = cli.home / "config.toml"
    path.write_text(_config(port, "http://127.0.0.1:9", "http://127.0.0.1:9", extra="prot = 24564"))
    result = cli.run("start")
    assert result.returncode == 0, result.stderr
    expected = f"ccm: warning: {path}:4: server.prot: unknown key, ignored (did you mean 'port'?)"
    assert warnings(result.stderr)[0] == expected
    status = cli.ok("status")
    assert f"  warning  {path}:4: server.prot: unknown key, ignored (did you mean 'port'?)" in status.splitlines()
    data: dict[str, Any] = json.loads(cli.ok("status", "--json"))
    assert data["config_warnings"] == [expected.removeprefix("ccm: warning: ")]
