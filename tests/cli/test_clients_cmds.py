"""`ccm clients add|remove|list` as the real console script: keys read hidden (stdin here), stored as
`client:NAME`, never written to the config or shown; a running proxy reloads and the new key works."""

from __future__ import annotations

import concurrent.futures
import json
import tomllib

import httpx

from tests.cli.conftest import CONFIG, Cli
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

ROUTER = "router-key-0123456789abcdef"
KEY = "alice-secret-key-0123456789"


def configured(cli: Cli, port: int, base_url: str = "http://127.0.0.1:9", router: bool = True) -> None:
    text = CONFIG.format(port=port, base_url=base_url)
    if router:
        text = text.replace('host = "127.0.0.1"\n', f'host = "127.0.0.1"\napi_key = "{ROUTER}"\n')
    (cli.home / "config.toml").write_text(text)


def secrets_file(cli: Cli) -> dict[str, str]:
    path = cli.home / "secrets.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def test_add_list_remove(cli: Cli, port: int) -> None:
    configured(cli, port)
    out = cli.ok("clients", "add", "alice", "--models", "glm-*", "--models", "main", "--rpm", "60", input=KEY + "\n")
    assert KEY not in out and "Added client alice" in out
    assert secrets_file(cli)["client:alice"] == KEY
    text = (cli.home / "config.toml").read_text()
    assert KEY not in text and text.startswith("# a small test config")  # the rest of the file as written
    entry = tomllib.loads(text)["clients"][0]
    assert entry == {"name": "alice", "models": ["glm-*", "main"], "rpm": 60}

    cli.ok("clients", "add", "bob", "--key-env", "BOB_CCM_KEY", "--monthly-usd", "25")
    assert tomllib.loads((cli.home / "config.toml").read_text())["clients"][1]["api_key"] == "$BOB_CCM_KEY"

    listed = json.loads(cli.ok("clients", "list", "--json"))
    assert [(r["name"], r["source"]) for r in listed] == [("alice", "secrets.json"), ("bob", "missing")]
    assert listed[0]["models"] == ["glm-*", "main"] and listed[0]["rpm"] == 60 and listed[1]["monthly_usd"] == 25
    assert listed[0]["key"] == "…6789"  # the last 4 at most: a client key may be a chosen word
    table = cli.ok("clients", "list", env={"BOB_CCM_KEY": "bob-secret-key-0123456789"})
    assert "alice" in table and "glm-*, main" in table and "rpm 60" in table and "monthly_usd $25" in table
    assert "…6789" in table and "ali…" not in table
    assert "$BOB_CCM_KEY" in table and KEY not in table and "bob-secret-key-0123456789" not in table

    assert "already in" in cli.fails("clients", "add", "alice", input=KEY + "\n")
    cli.ok("clients", "add", "alice", "--replace", "--tpm", "1000", input="another-key-0123456789\n")
    assert secrets_file(cli)["client:alice"] == "another-key-0123456789"
    assert tomllib.loads((cli.home / "config.toml").read_text())["clients"][0] == {"name": "alice", "tpm": 1000}

    cli.ok("clients", "remove", "alice")
    assert "client:alice" not in secrets_file(cli)
    assert [c["name"] for c in tomllib.loads((cli.home / "config.toml").read_text())["clients"]] == ["bob"]
    assert "not in" in cli.fails("clients", "remove", "alice")


def test_add_refuses_what_would_not_work(cli: Cli, port: int) -> None:
    configured(cli, port, router=False)
    assert "server.api_key" in cli.fails("clients", "add", "alice", input=KEY + "\n")
    configured(cli, port)
    assert "at least 16 characters" in cli.fails("clients", "add", "alice", input="short\n")
    assert "no key given" in cli.fails("clients", "add", "alice", input="\n")
    assert "router key" in cli.fails("clients", "add", "alice", input=ROUTER + "\n")
    assert "letters, digits" in cli.fails("clients", "add", "a b", input=KEY + "\n")
    # said by its flag: the file has no line for the entry yet
    assert cli.fails("clients", "add", "alice", "--models", "", input=KEY + "\n").startswith("ccm: --models must be")
    assert secrets_file(cli) == {}
    assert "clients" not in tomllib.loads((cli.home / "config.toml").read_text())


def test_a_client_added_to_a_running_proxy_can_use_it_at_once(cli: Cli, port: int) -> None:
    with FakeUpstream() as upstream:
        upstream.script(Reply(200, json=anthropic_message("hi")))
        configured(cli, port, base_url=upstream.url)
        cli.ok("start")
        url = f"http://127.0.0.1:{port}"
        body = {"model": "main", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
        assert (
            httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": KEY}, trust_env=False).status_code == 401
        )
        result = cli.run("clients", "add", "alice", input=KEY + "\n")
        assert result.returncode == 0 and "reloaded" in result.stderr
        answer = httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": KEY}, trust_env=False)
        assert answer.status_code == 200
        admin = httpx.get(f"{url}/api/status", headers={"x-api-key": KEY}, trust_env=False)
        assert admin.status_code == 403
        cli.ok("clients", "remove", "alice")
        gone = httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": KEY}, trust_env=False)
        assert gone.status_code == 401
        log = (cli.home / "ccm.log").read_text()
        assert KEY not in log
        cli.ok("stop")


def test_commands_run_at_once_lose_none_of_their_changes(cli: Cli, port: int) -> None:
    """Eight `ccm clients add` at once each write the file as it is when they write: all eight clients
    are there afterwards, none written over by another's older copy."""
    configured(cli, port)
    names = [f"c{n}" for n in range(8)]
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        results = list(pool.map(lambda name: cli.run("clients", "add", name, "--key-env", "SOME_KEY"), names))
    assert [r.returncode for r in results] == [0] * len(names), [r.stderr for r in results]
    written = tomllib.loads((cli.home / "config.toml").read_text())["clients"]
    assert sorted(entry["name"] for entry in written) == names
