"""`ccm route explain`: every rule, its errors, and agreement with the proxy's x-ccm-* headers."""

from __future__ import annotations

import http.client
import json
import math
from pathlib import Path
from typing import Any

import pytest

from ccm.routing import BYTES_PER_TOKEN, estimate_tokens, route
from cli.route_cmds import build_request
from config.load import parse_config
from tests.cli.conftest import Cli
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_message, anthropic_stream

ROUTER = """\
[server]
host = "127.0.0.1"
port = {port}

[router]
default = "main"
think = "deep"
background = "quick"
websearch = "search"
long_context = "long"
long_context_threshold = 20000

[[providers]]
name = "up"
provider_type = "anthropic-compatible"
base_url = "{base_url}"

[[providers]]
name = "spare"
provider_type = "anthropic-compatible"
base_url = "{base_url}"
"""


def full_config(port: int, base_url: str = "http://127.0.0.1:9") -> str:
    text = ROUTER.format(port=port, base_url=base_url)
    for model in ("main", "deep", "quick", "search", "long"):
        text += f'\n[[models]]\nname = "{model}"\n'
        text += f'\n[[models.mappings]]\nprovider = "up"\nactual_model = "{model}-actual"\npriority = 1\n'
        text += f'\n[[models.mappings]]\nprovider = "spare"\nactual_model = "{model}-spare"\npriority = 2\n'
    return text


@pytest.fixture
def routed(cli: Cli, write_config: Any, port: int) -> Cli:
    write_config(full_config(port))
    return cli


def explain(cli: Cli, *args: str) -> dict[str, Any]:
    return dict(json.loads(cli.ok("route", "explain", "--json", *args)))


@pytest.mark.parametrize(
    ("args", "rule", "model"),
    [
        (["--model", "claude-opus-5-5"], "default", "main"),
        (["--model", "claude-opus-5-5", "--thinking"], "think", "deep"),
        (["--model", "claude-haiku-4-5"], "background", "quick"),
        (["--model", "claude-opus-5-5", "--web-search"], "websearch", "search"),
        (["--model", "claude-opus-5-5", "--tokens", "20000"], "default", "main"),
        (["--model", "claude-opus-5-5", "--tokens", "20001"], "long_context", "long"),
        (["--model", "main", "--system", "x <CCM-SUBAGENT-MODEL>quick</CCM-SUBAGENT-MODEL> y"], "subagent", "quick"),
        (["--model", "up,anything", "--thinking", "--web-search"], "explicit", "up,anything"),
        (["--model", "DEEP"], "default", "deep"),
    ],
)
def test_rules(routed: Cli, args: list[str], rule: str, model: str) -> None:
    data = explain(routed, *args)
    assert (data["rule"], data["model"]) == (rule, model)
    assert data["headers"]["x-ccm-route"] == rule and data["headers"]["x-ccm-model"] == model
    fired = [r["rule"] for r in data["rules"] if r["matched"]]
    assert fired == [rule]  # exactly one rule fires, the decision's
    verdicts = [r["verdict"] for r in data["rules"]]
    after = verdicts[verdicts.index("fires") + 1 :]
    assert after == ["not reached"] * len(after)


def test_json_says_what_the_text_says(routed: Cli) -> None:
    """`provider,model` fires explicit only: default is "not reached" in the JSON as in the text."""
    args = ("route", "explain", "--model", "up,anything")
    data = dict(json.loads(routed.ok(*args, "--json")))
    text = routed.ok(*args)
    for r in data["rules"]:
        label = {"fires": "FIRES", "no": "no", "skip": "skip", "not reached": "-"}[r["verdict"]]
        assert f"  {label:<6} {r['rule']:<13} " in text
    assert [r["rule"] for r in data["rules"] if r["matched"]] == ["explicit"]
    assert {r["rule"]: r["verdict"] for r in data["rules"]}["default"] == "not reached"


def test_chain_in_priority_order(routed: Cli) -> None:
    data = explain(routed, "--model", "claude-opus-5-5")
    assert [(c["provider"], c["actual_model"]) for c in data["chain"]] == [
        ("up", "main-actual"),
        ("spare", "main-spare"),
    ]
    assert data["auto_mapped_to"] == "main"
    assert data["headers"]["x-ccm-provider"] == "up"


def test_human_output(routed: Cli) -> None:
    out = routed.ok("route", "explain", "--model", "claude-haiku-4-5")
    assert "auto-map 'claude-haiku-4-5' -> 'main'" in out
    assert "FIRES  background" in out and "-      default       not reached" in out
    assert "route    background -> quick" in out
    assert "  1. up / quick-actual\n  2. spare / quick-spare" in out


def test_tokens_make_exactly_that_estimate() -> None:
    for n in (0, 1, 59_999, 60_000, 60_001, 123_457):
        assert estimate_tokens(math.ceil(n * BYTES_PER_TOKEN)) == n


def test_unroutable_is_one_line_and_exit_1(routed: Cli) -> None:
    line = routed.fails("route", "explain", "--model", "nope", "--json")  # stderr; stdout holds the JSON
    assert line == (
        "ccm: model 'nope' is not configured (configured models: main, deep, quick, search, long) "
        "(the proxy would answer 404 not_found_error)"
    )
    result = routed.run("route", "explain", "--model", "ghost,x", "--json")
    assert json.loads(result.stdout)["error"].startswith("provider 'ghost' is not configured")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ([], "give --model (or --request FILE.json)"),
        (["--request", "/no/such.json"], "cannot read /no/such.json"),
        (["--model", "main", "--tokens", "9" * 400], "Invalid value for '--tokens'"),  # too big for a float
    ],
)
def test_argument_errors(routed: Cli, args: list[str], needle: str) -> None:
    assert needle in routed.fails("route", "explain", *args)


def test_bad_request_file(routed: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert "is not valid JSON" in routed.fails("route", "explain", "--request", str(bad))
    bad.write_text("[1]")
    assert "must hold a JSON object" in routed.fails("route", "explain", "--request", str(bad))


def test_missing_config(cli: Cli) -> None:
    assert "config file not found" in cli.fails("route", "explain", "--model", "x")


def _fixture_bodies(fixtures_dir: Path) -> list[Path]:
    return sorted(
        p for p in fixtures_dir.glob("*.json") if not p.name.endswith(".headers.json") and p.name != "index.json"
    )


def test_explanation_agrees_with_route_on_every_fixture(fixtures_dir: Path) -> None:
    """For each real Claude Code request, the first rule the explanation marks is the one route() picks."""
    cfg = parse_config(full_config(1), "c.toml").config
    for path in _fixture_bodies(fixtures_dir):
        body, size = build_request(None, False, False, None, None, str(path))
        assert size == path.stat().st_size
        decision = route(body, cfg, body_size=size)
        fired = [c.rule for c in decision.trace if c.matched]
        assert fired == [decision.rule], path.name


# -- agreement with the running proxy ----------------------------------------------------------------------


def _upstream_reply(rec: Received) -> Reply:
    if rec.path.split("?")[0].endswith("/count_tokens"):
        return Reply(200, json={"input_tokens": 7})
    if (rec.json or {}).get("stream"):
        return Reply.stream(anthropic_stream("ok"))
    return Reply(200, json=anthropic_message("ok"))


SYNTHETIC = {
    "think-synthetic": {
        "model": "claude-sonnet-4-5",
        "max_tokens": 10,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "hi"}],
    },
    "subagent-synthetic": {
        "model": "claude-opus-5-5",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "<CCM-SUBAGENT-MODEL>search</CCM-SUBAGENT-MODEL> be brief"}],
        "messages": [{"role": "user", "content": "hi"}],
    },
    "explicit-synthetic": {
        "model": "spare,raw-model",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "x"}],
    },
}


def test_route_explain_matches_the_proxy_headers(cli: Cli, write_config: Any, port: int, fixtures_dir: Path) -> None:
    """Each fixture (and a few synthetic requests for the rules no fixture triggers) is sent to the real
    proxy; its x-ccm-* headers must equal what `ccm route explain --request` predicts."""
    samples = {p.stem: p for p in _fixture_bodies(fixtures_dir)}
    for name, body in SYNTHETIC.items():
        path = cli.home / f"{name}.json"
        path.write_text(json.dumps(body))
        samples[name] = path
    with FakeUpstream() as upstream:
        upstream.script(Reply(handler=_upstream_reply))
        write_config(full_config(port, upstream.url))
        cli.env.update(UP_API_KEY="k-up", SPARE_API_KEY="k-spare")  # the proxy inherits them
        cli.ok("start")
        seen_rules = set()
        for name, path in samples.items():
            predicted = json.loads(cli.run("route", "explain", "--json", "--request", str(path)).stdout)
            endpoint = "/v1/messages/count_tokens" if name.startswith("count-tokens") else "/v1/messages"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request(
                "POST", endpoint + "?beta=true", body=path.read_bytes(), headers={"content-type": "application/json"}
            )
            response = conn.getresponse()
            response.read()
            headers = {k.lower(): v for k, v in response.getheaders()}
            conn.close()
            assert headers.get("x-ccm-route") == predicted["rule"], name
            assert headers.get("x-ccm-model") == predicted["model"], name
            if predicted["chain"]:
                assert response.status == 200, (name, response.status)
                assert headers.get("x-ccm-provider") == predicted["chain"][0]["provider"], name
                assert headers.get("x-ccm-actual-model") == predicted["chain"][0]["actual_model"], name
            else:
                assert response.status == 404 and predicted["error"], name
            seen_rules.add(predicted["rule"])
        cli.ok("stop")
    assert seen_rules == {"default", "think", "background", "websearch", "long_context", "subagent", "explicit"}


def test_a_star_mapping_shows_the_name_that_will_be_sent(cli: Cli, write_config: Any, port: int) -> None:
    """`actual_model = "*"` is shown as the name asked for (without Claude Code's [1m] selector), in the
    text and the JSON; a name its `allow` globs refuse skips it."""
    text = ROUTER.format(port=port, base_url="http://127.0.0.1:9").replace('think = "deep"\n', "")
    text = text.replace('default = "main"', 'default = "main"\nwebsearch = "main"').replace(
        'websearch = "search"\n', ""
    )
    text = text.replace('background = "quick"\n', "").replace('long_context = "long"\n', "")
    text += (
        '\n[[models]]\nname = "main"\n[[models.mappings]]\nprovider = "up"\nactual_model = "*"\nallow = ["claude-*"]\n'
    )
    text += '[[models.mappings]]\nprovider = "spare"\nactual_model = "fallback"\n'
    text += '\n[[models]]\nname = "glm"\n[[models.mappings]]\nprovider = "spare"\nactual_model = "glm-5"\n'
    write_config(text)
    data = explain(cli, "--model", "claude-opus-5-5[1m]")
    assert [(c["provider"], c["actual_model"], c["as_asked"]) for c in data["chain"]] == [
        ("up", "claude-opus-5-5", True),
        ("spare", "fallback", False),
    ]
    assert data["headers"]["x-ccm-actual-model"] == "claude-opus-5-5"
    out = cli.ok("route", "explain", "--model", "claude-opus-5-5")
    assert '  1. up / claude-opus-5-5 (actual_model "*": the name asked for)\n  2. spare / fallback' in out
    data = explain(cli, "--model", "glm", "--web-search")
    assert data["rule"] == "websearch" and [c["actual_model"] for c in data["chain"]] == ["fallback"]
