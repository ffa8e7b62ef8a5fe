"""`ccm providers list`, `ccm models list` (with --check through the real proxy) and `ccm oauth`."""

from __future__ import annotations

import json
from typing import Any

from tests.cli.conftest import Cli
from tests.cli.test_route import full_config
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_message


def test_providers_list(cli: Cli, write_config: Any, port: int) -> None:
    path = write_config(full_config(port).replace('name = "spare"', 'name = "spare"\nenabled = false'))
    cli.env["UP_API_KEY"] = "env-key-0123456789"
    out = cli.ok("providers", "list")
    assert f"Providers in {path}" in out
    assert "env…6789 ($UP_API_KEY)" in out and "missing" in out
    rows = json.loads(cli.ok("providers", "list", "--json"))
    assert [(r["name"], r["enabled"], r["wire"], r["key_source"]) for r in rows] == [
        ("up", True, "anthropic", "$UP_API_KEY"),
        ("spare", False, "anthropic", "missing"),
    ]
    assert "env-key-0123456789" not in out + json.dumps(rows)


def test_models_list(cli: Cli, write_config: Any, port: int) -> None:
    write_config(full_config(port))
    out = cli.ok("models", "list")
    assert "1. up / deep-actual" in out and "2. spare / deep-spare" in out and "think" in out
    rows = json.loads(cli.ok("models", "list", "--json"))
    assert rows[0]["name"] == "main" and rows[0]["router"] == ["default"]
    assert [m["provider"] for m in rows[0]["mappings"]] == ["up", "spare"]


def test_check_needs_a_running_proxy(cli: Cli, write_config: Any) -> None:
    write_config()
    for command in (["providers", "list", "--check"], ["models", "list", "--check"]):
        assert cli.fails(*command) == "ccm: the proxy is not running (start it with `ccm start`)"
    assert "No OAuth tokens yet" in cli.ok("oauth", "list")  # the keyring directly, no proxy needed


def test_check_through_the_proxy_with_a_router_key(cli: Cli, write_config: Any, port: int) -> None:
    with FakeUpstream() as good, FakeUpstream() as bad:
        good.script(Reply(200, json=anthropic_message("pong")))
        bad.script(Reply.error(401, "invalid x-api-key", "authentication_error"))
        text = full_config(port, good.url).replace("[server]\n", '[server]\napi_key = "$CCM_TEST_ROUTER_KEY"\n')
        text = text.replace(
            f'name = "spare"\nprovider_type = "anthropic-compatible"\nbase_url = "{good.url}"',
            f'name = "spare"\nprovider_type = "anthropic-compatible"\nbase_url = "{bad.url}"',
        )
        write_config(text)
        cli.env.update(UP_API_KEY="k-up", SPARE_API_KEY="k-spare", CCM_TEST_ROUTER_KEY="router-key-1")
        cli.ok("start")
        result = cli.run("providers", "list", "--check", "--json")
        assert result.returncode == 1, result.stderr  # one provider fails its check
        checks = {r["name"]: r["check"] for r in json.loads(result.stdout)}
        assert checks["up"]["ok"] is True and checks["up"]["status"] == 200
        assert checks["spare"]["ok"] is False and checks["spare"]["status"] == 401
        table = cli.run("models", "list", "--check").stdout
        assert "1. up / main-actual  [ok (" in table and "2. spare / main-spare  [FAIL 401" in table
        assert good.received[0].headers.get("x-api-key") == "k-up"

        wrong = cli.fails("providers", "list", "--check", env={"CCM_TEST_ROUTER_KEY": "wrong"})
        assert wrong == (
            "ccm: the proxy refused the router key: $CCM_TEST_ROUTER_KEY in this shell is not the key it serves "
            "(set it as in the shell that started the proxy, or `ccm restart` from this one)"
        )
        del cli.env["CCM_TEST_ROUTER_KEY"]
        assert cli.fails("providers", "list", "--check") == (
            "ccm: the proxy refused the router key: export CCM_TEST_ROUTER_KEY (the variable server.api_key names) "
            "in this shell"
        )
        cli.ok("stop")


def test_oauth_commands(cli: Cli, write_config: Any) -> None:
    write_config()
    assert "only inside Claude Code" in cli.ok("oauth", "login", "up")  # anthropic-type: explained, not logged in
    cli.ok("start")
    assert "No OAuth tokens yet" in cli.ok("oauth", "list")
    assert json.loads(cli.ok("oauth", "list", "--json")) == []
    assert "provider 'up' does not use OAuth" in cli.fails("oauth", "logout", "up")
    assert "provider 'up' does not use OAuth" in cli.fails("oauth", "refresh", "up")
    cli.ok("stop")


def test_tui_is_wired(cli: Cli) -> None:
    assert "terminal dashboard" in cli.ok("tui", "--help")


LOCAL_SERVER = """\
[server]
host = "127.0.0.1"
port = {port}

[router]
default = "local"

[[providers]]
name = "llama"
provider_type = "openai-compatible"
base_url = "{base_url}/v1"
headers = {{ "X-Team" = "t1" }}

[[models]]
name = "local"

[[models.mappings]]
provider = "llama"
actual_model = "qwen3-coder"
"""


def _no_model_list(rec: Received) -> Reply:
    if rec.method == "GET":
        return Reply(404, body=b"Not Found", headers={"content-type": "text/plain"})
    return Reply(200, json={"id": "c1", "object": "chat.completion", "choices": []})


def test_check_of_a_keyless_server_without_a_model_list(cli: Cli, write_config: Any, port: int) -> None:
    """No GET /models (llama.cpp): a 1-token request instead, without a key, with the provider's headers."""
    with FakeUpstream() as up:
        up.script(Reply(handler=_no_model_list))
        write_config(LOCAL_SERVER.format(port=port, base_url=up.url))
        cli.ok("start")
        checks = {r["name"]: r["check"] for r in json.loads(cli.ok("providers", "list", "--check", "--json"))}
        assert checks["llama"]["ok"] is True, checks
        assert [(r.method, r.path) for r in up.received] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
        assert up.received[1].json["model"] == "qwen3-coder" and up.received[1].json["max_tokens"] == 1
        assert all(r.headers.get("x-team") == "t1" for r in up.received)
        assert not any("authorization" in r.headers or "x-api-key" in r.headers for r in up.received)
        cli.ok("stop")


def test_models_check_exits_1_when_checks_fail(cli: Cli, write_config: Any, port: int) -> None:
    with FakeUpstream() as up:
        up.script(Reply.error(500, "overloaded"))
        write_config(LOCAL_SERVER.format(port=port, base_url=up.url))
        cli.ok("start")
        result = cli.run("models", "list", "--check")
        assert result.returncode == 1, result.stdout + result.stderr
        assert f"FAIL 500: GET {up.url}/v1/models: overloaded" in result.stdout
        cli.ok("stop")
