"""`ccm status` names a refused reload (the file, its first error, since when) and the config's warnings,
as GET /api/status reports them, so a hand edit that did not take is never invisible."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from tests.cli.conftest import CONFIG, Cli, wait_for


def labels(out: str) -> list[str]:
    """The reload and warning lines of `ccm status`, by their label."""
    return [line.split()[0] for line in out.splitlines() if line.strip().startswith(("reload ", "warning "))]


@pytest.mark.parametrize("router_key", [None, "router-key-0123456789"])
def test_status_shows_warnings_then_a_refused_reload_then_clears(
    cli: Cli, write_config: Any, port: int, router_key: str | None
) -> None:
    """With a router key too: read from the broken file's [server] table, so the refusal can be asked for."""
    server = "[server]\nprot = 1\n" + (f'api_key = "{router_key}"\n' if router_key else "")
    text = CONFIG.format(port=port, base_url="http://127.0.0.1:9").replace("[server]\n", server)
    config = write_config(text)
    cli.ok("start")
    out = cli.ok("status")
    assert labels(out) == ["warning"] and "prot" in out
    data = json.loads(cli.ok("status", "--json"))
    assert data["reload"]["refused"] is None and any("prot" in w for w in data["reload"]["warnings"])

    tmp = config.with_name("config.new")
    tmp.write_text(text.replace('actual_model = "main-actual"', 'actual_model = "main-actual"\nweight = [1,'))
    os.replace(tmp, config)  # an editor's save: a new file renamed over the old one

    def refused() -> dict[str, Any] | None:
        value = json.loads(cli.ok("status", "--json"))["reload"]["refused"]
        return value if isinstance(value, dict) else None

    found = wait_for(refused, timeout=10)
    assert found["path"] == str(config) and str(config) in found["error"] and found["since"] <= time.time()
    out = cli.ok("status")
    assert labels(out)[:1] == ["reload"], out
    line = next(line for line in out.splitlines() if line.strip().startswith("reload"))
    assert f"refused {config} since" in line
    assert found["error"] in out

    good = CONFIG.format(port=port, base_url="http://127.0.0.1:9")
    config.with_name("config.new").write_text(good.replace("[server]\n", server.replace("prot = 1\n", "")))
    os.replace(config.with_name("config.new"), config)
    wait_for(lambda: refused() is None, timeout=10)
    assert labels(cli.ok("status")) == []
    cli.ok("stop")


def test_a_reload_refused_for_an_unset_router_key_variable_says_what_a_reload_needs(
    cli: Cli, write_config: Any, port: int
) -> None:
    """A running proxy's environment cannot change: exporting the variable now is not enough."""
    config = write_config()
    cli.ok("start")
    text = CONFIG.format(port=port, base_url="http://127.0.0.1:9")
    config.with_name("config.new").write_text(text.replace("[server]\n", '[server]\napi_key = "$CCM_NOT_SET_KEY"\n'))
    os.replace(config.with_name("config.new"), config)
    found = wait_for(lambda: json.loads(cli.ok("status", "--json"))["reload"]["refused"], timeout=10)
    assert "refusing to start" not in found["error"]
    assert found["error"].endswith(
        "server.api_key is $CCM_NOT_SET_KEY but the proxy was started without $CCM_NOT_SET_KEY; the previous "
        "config keeps serving (export CCM_NOT_SET_KEY=... and `ccm restart`, or remove server.api_key)"
    ), found["error"]
    cli.ok("stop")
