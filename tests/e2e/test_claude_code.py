"""The real Claude Code CLI (the pinned version and the newest on npm, see tests.e2e.claude_code) through
the real proxy to fake models.

Most tests are one whole agent turn in print mode: the fake model asks for Bash `echo hello-from-tool-$((6*7))`,
Claude Code runs it and sends the output back, the fake answers with text quoting it, and Claude Code prints
that text. One drives the newest version's interactive TUI (its session title request happens only there).
Everything runs in a fresh network namespace when the machine allows it (tests.e2e.cc_driver).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ccm.providers.registry import adapter_for
from tests.e2e.cc_driver import (
    ACTUAL_MODEL,
    BACKGROUND_ACTUAL,
    BACKGROUND_MODEL,
    BROKEN_PROVIDER,
    ROUTED_MODEL,
    UPSTREAM_KEY,
    ccm_command,
)
from tests.e2e.claude_code import (  # noqa: F401 (the fixtures)
    INSTALL_TIMEOUT_S,
    VERSION,
    ClaudeCode,
    claude_code_fixture,
    claude_code_newest_fixture,
)
from tests.e2e.harness import ROOT, server_env
from tests.fakes.scenarios import AgentTurn

PROMPT = "Please run: echo hello-from-tool"
ARGS = ["--output-format", "json", "--allowedTools", "Bash"]
TIMEOUT_S = 120
"""Hard limit for Claude Code itself; a healthy turn takes ~1-3 s."""
TOOL_OUTPUT = AgentTurn().expected_output

# The first test of a session may also pay the npm install (the fixture's own limit).
pytestmark = [pytest.mark.claude_code, pytest.mark.timeout(INSTALL_TIMEOUT_S + TIMEOUT_S + 90)]


@pytest.fixture(params=["pinned", "newest"])
def each_claude_code(request: pytest.FixtureRequest) -> ClaudeCode:
    """The pinned Claude Code (the fixtures') and the newest on npm."""
    return request.getfixturevalue("claude_code" if request.param == "pinned" else "claude_code_newest")  # type: ignore[no-any-return]


def drive(claude_code: ClaudeCode, tmp_path: Path, **spec: Any) -> dict[str, Any]:
    """Run tests.e2e.cc_driver (in the namespace when there is one) and return its report."""
    full = {
        "work": str(tmp_path / "work"),
        "claude": str(claude_code.binary),
        "claude_dir": str(claude_code.bin_dir),
        "prompt": PROMPT,
        "args": ARGS,
        "auth": "api-key",
        "timeout": TIMEOUT_S,
        "netns": bool(claude_code.netns),
        **spec,
    }
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(full))
    argv = [*claude_code.netns, sys.executable, "-m", "tests.e2e.cc_driver", str(spec_path)]
    done = subprocess.run(
        argv,
        cwd=ROOT,
        env=server_env(tmp_path / "driver-ccm-home"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 60,
        check=False,
    )
    assert done.returncode == 0, f"driver failed ({done.returncode}):\n{done.stderr[-4000:]}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def explain(report: dict[str, Any]) -> str:
    """Everything needed to see why a turn went wrong, for assertion messages."""
    claude = report.get("claude", {})
    parts = [
        f"claude rc={claude.get('rc')} timed_out={claude.get('timed_out')} in {claude.get('elapsed_s')} s",
        f"stdout: {claude.get('stdout')}",
        f"stderr: {claude.get('stderr')}",
        "upstream: " + json.dumps(report.get("upstream"), indent=1),
        "failing upstream: " + json.dumps(report.get("broken_upstream"), indent=1),
        "requests: " + json.dumps(report.get("requests") or report.get("journal"), indent=1),
        f"screen: {claude.get('screen')}",
        f"proxy log: {report.get('proxy_log')}",
    ]
    return "\n".join(parts)


def assert_agent_turn(report: dict[str, Any], path: str, model: str = ACTUAL_MODEL) -> None:
    """Claude Code printed the final text, and the upstream saw the tool call's real output come back."""
    claude = report["claude"]
    assert claude["rc"] == 0 and not claude["timed_out"], explain(report)
    output = claude["json"]
    assert isinstance(output, dict), explain(report)
    assert output.get("is_error") is False, explain(report)
    assert output["result"] == report["final_text"], explain(report)
    upstream = report["upstream"]
    assert [u["path"] for u in upstream] == [path, path], explain(report)
    assert all(u["model"] == model and u["stream"] is True for u in upstream), explain(report)
    assert [u["tool_output"] for u in upstream] == [None, TOOL_OUTPUT], explain(report)
    assert "Bash" in upstream[0]["tools"], explain(report)


def test_agent_turn_through_proxy_to_anthropic_upstream(claude_code: ClaudeCode, tmp_path: Path) -> None:
    """Claude Code -> ccm -> an Anthropic-format provider, tool call included."""
    report = drive(claude_code, tmp_path, wire="anthropic", mode="proxy")
    assert_agent_turn(report, "/v1/messages?beta=true")
    if claude_code.netns:
        assert report["interfaces"] == ["lo"], "Claude Code was not confined to loopback"
    # The proxy authenticates upstream with the provider's key, never Claude Code's.
    assert {u["x-api-key"] for u in report["upstream"]} == {UPSTREAM_KEY}, explain(report)
    requests = report["requests"]
    assert len(requests) == 2, explain(report)
    for item in requests:
        assert item["model"].startswith("claude-"), explain(report)
        assert (item["route"], item["routed_model"]) == ("default", ROUTED_MODEL), explain(report)
        assert (item["provider"], item["actual_model"]) == ("fake-anthropic", ACTUAL_MODEL), explain(report)
        assert (item["status"], len(item["attempts"]), item["stream"]) == (200, 1, True), explain(report)
    assert report["proxy_rc"] == 0, report["proxy_stderr"]


def test_claude_code_model_flag_reaches_the_router(claude_code: ClaudeCode, tmp_path: Path) -> None:
    """`claude --model provider,model` is passed through by Claude Code and routed explicitly by ccm."""
    args = [*ARGS, "--model", "fake-anthropic,explicit-model"]
    report = drive(claude_code, tmp_path, wire="anthropic", mode="proxy", args=args)
    assert_agent_turn(report, "/v1/messages?beta=true", model="explicit-model")
    routes = {(r["route"], r["provider"], r["actual_model"]) for r in report["requests"]}
    assert routes == {("explicit", "fake-anthropic", "explicit-model")}, explain(report)


def test_failover_is_invisible_to_claude_code(claude_code: ClaudeCode, tmp_path: Path) -> None:
    """The first provider answers 529 to every request; Claude Code (no retries of its own) never notices."""
    report = drive(claude_code, tmp_path, wire="anthropic", mode="proxy", broken=529)
    assert_agent_turn(report, "/v1/messages?beta=true")
    assert [u["model"] for u in report["broken_upstream"]] == ["broken-model"] * 2, explain(report)
    assert [(r["provider"], len(r["attempts"]), r["status"]) for r in report["requests"]] == [
        ("fake-anthropic", 2, 200)
    ] * 2, explain(report)
    assert BROKEN_PROVIDER in report["proxy_log"], explain(report)


def test_agent_turn_through_a_strict_third_party_anthropic_host(claude_code: ClaudeCode, tmp_path: Path) -> None:
    """DeepSeek's /anthropic refuses mid-conversation system messages (listed: adapted before the first try)
    and, here, context_management too (learnt from the 400: one corrective retry, then adapted up front)."""
    strict = ["system-messages-deepseek", "context_management"]
    report = drive(
        claude_code, tmp_path, wire="anthropic", mode="proxy", provider_type="deepseek-anthropic", strict=strict
    )
    claude = report["claude"]
    assert claude["rc"] == 0 and not claude["timed_out"], explain(report)
    assert claude["json"]["is_error"] is False and claude["json"]["result"] == report["final_text"], explain(report)
    upstream = report["upstream"]
    assert all("system" not in u["roles"] for u in upstream), explain(report)
    assert [u["tool_output"] for u in upstream] == [None, None, TOOL_OUTPUT], explain(report)  # 1st refused
    attempts = [len(r["attempts"]) for r in reversed(report["requests"])]
    assert attempts == [2, 1], explain(report)  # learnt on the first request, adapted up front on the second


def test_agent_turn_through_proxy_to_openai_upstream(claude_code: ClaudeCode, tmp_path: Path) -> None:
    """Claude Code -> ccm -> a Chat Completions provider (streamed tool_calls, then text)."""
    assert adapter_for("openai") is not None, "the OpenAI adapter is missing"
    report = drive(claude_code, tmp_path, wire="openai", mode="proxy", auth="auth-token")
    assert_agent_turn(report, "/v1/chat/completions")
    assert {u["authorization"] for u in report["upstream"]} == {f"Bearer {UPSTREAM_KEY}"}, explain(report)
    assert all(u["roles"][-1] == "tool" for u in report["upstream"][1:]), explain(report)
    requests = report["requests"]
    assert [(r["provider"], r["actual_model"], r["status"]) for r in requests] == [
        ("fake-openai", ACTUAL_MODEL, 200)
    ] * 2, explain(report)
    assert report["proxy_rc"] == 0, report["proxy_stderr"]


@pytest.mark.parametrize("wire", ["anthropic", "openai"])
def test_ccm_code_runs_a_tool_turn(each_claude_code: ClaudeCode, wire: str, tmp_path: Path) -> None:
    """`ccm code -p ...` starts the proxy, runs Claude Code through it (the pinned and the newest, to an
    Anthropic-format and to a translated OpenAI-format provider), and stops the proxy afterwards."""
    if wire == "anthropic" and each_claude_code.version == VERSION:  # once: `ccm code --help` is ccm's own
        probe = subprocess.run(
            [*ccm_command(), "code", "--help"],
            env=server_env(tmp_path / "probe-ccm-home"),
            cwd=ROOT,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert probe.returncode == 0, f"`ccm code --help` failed:\n{probe.stderr.decode(errors='replace')}"
    auth = "api-key" if wire == "anthropic" else "auth-token"
    report = drive(each_claude_code, tmp_path, wire=wire, mode="ccm-code", auth=auth)
    assert_agent_turn(report, "/v1/messages?beta=true" if wire == "anthropic" else "/v1/chat/completions")
    assert report["leftover_proxy"] is None, "the proxy `ccm code` started was still running:\n" + explain(report)
    routed = [(r["route"], r["routed_model"], r["status"]) for r in report["journal"]]
    assert routed == [("default", ROUTED_MODEL, 200)] * 2, explain(report)


def test_newest_claude_codes_title_goes_to_the_background_model(claude_code_newest: ClaudeCode, tmp_path: Path) -> None:
    """The newest Claude Code's TUI through `ccm code`: with router.background set, `ccm code` gives Claude
    Code its haiku as the small/fast model, so the session title it asks for on the first prompt is routed
    `background` (as titles and haiku subagents should), while the turn itself stays on the default."""
    report = drive(claude_code_newest, tmp_path, wire="anthropic", mode="ccm-code-tui", prompt=PROMPT)
    assert not report["claude"]["timed_out"], explain(report)
    titles = [u for u in report["upstream"] if u["title"]]
    assert titles and {u["model"] for u in titles} == {BACKGROUND_ACTUAL}, explain(report)
    by_route = {(r["route"], r["model"], r["routed_model"], r["actual_model"]) for r in report["journal"]}
    assert ("background", "claude-haiku-5-5", BACKGROUND_MODEL, BACKGROUND_ACTUAL) in by_route, explain(report)
    assert any(r[0] == "default" and r[3] == ACTUAL_MODEL for r in by_route), explain(report)
    assert report["leftover_proxy"] is None, explain(report)


def test_claude_max_login_passes_through_then_fails_over_on_the_plan_limit(
    claude_code: ClaudeCode, tmp_path: Path
) -> None:
    """Claude Code logged in to Pro/Max, through `ccm code` with a passthrough provider. Its own
    bearer reaches the fake Anthropic untouched (the router key never does); when the plan's limit answers
    429, the same session finishes its turn on the second (OpenAI-format) provider."""
    from tests.e2e.cc_driver import OAT

    report = drive(claude_code, tmp_path, wire="anthropic", mode="ccm_code", subscription=True)
    claude = report["claude"]
    assert claude["rc"] == 0 and not claude["timed_out"], explain(report)
    assert claude["json"]["result"] == report["final_text"], explain(report)
    first, *rest = report["upstream"]
    assert first["authorization"] == f"Bearer {OAT}", explain(report)
    assert "oauth-2025-04-20" in (first["anthropic-beta"] or ""), explain(report)
    assert not any(u["router_key_seen"] for u in report["upstream"] + report["second_upstream"]), explain(report)
    assert rest and rest[-1]["tool_output"] == TOOL_OUTPUT, explain(report)  # the turn that met the 429
    finished = report["second_upstream"]
    assert finished and finished[-1]["tool_output"] == TOOL_OUTPUT, explain(report)
    assert finished[-1]["authorization"] == f"Bearer {UPSTREAM_KEY}", explain(report)  # its own key, not the OAT
