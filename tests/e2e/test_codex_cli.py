"""The real Codex CLI (the newest on npm, tests.e2e.codex_cli) through the real proxy to fake models: one
whole agent turn (`exec_command` runs, its output goes back, the answer quotes it), with a provider written
by hand in `-c` flags and through `ccm codex` with none; in a fresh network namespace when the machine
allows it (tests.e2e.codex_driver)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.claude_code import INSTALL_TIMEOUT_S
from tests.e2e.codex_cli import Codex, codex_cli_fixture  # noqa: F401 (the fixture)
from tests.e2e.codex_driver import TOOL_OUTPUT, USER_CONFIG
from tests.e2e.harness import ROOT, server_env

TIMEOUT_S = 120
"""Hard limit for Codex itself; a healthy turn takes a few seconds."""
PROMPT = "Please run: echo hello-from-tool"

pytestmark = [pytest.mark.codex_cli, pytest.mark.timeout(INSTALL_TIMEOUT_S + TIMEOUT_S + 90)]


def drive(codex: Codex, tmp_path: Path, **spec: Any) -> dict[str, Any]:
    full = {"work": str(tmp_path / "work"), "codex": str(codex.binary), "prompt": PROMPT, "timeout": TIMEOUT_S}
    full |= {"netns": bool(codex.netns), **spec}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(full))
    argv = [*codex.netns, sys.executable, "-m", "tests.e2e.codex_driver", str(spec_path)]
    done = subprocess.run(
        argv, cwd=ROOT, env=server_env(tmp_path / "driver-ccm-home"), capture_output=True, text=True,
        timeout=TIMEOUT_S + 60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def assert_turn(report: dict[str, Any], wire: str) -> None:
    codex = report["codex"]
    assert codex["code"] == 0, json.dumps(codex)[-3000:]
    assert f"The tool said: {TOOL_OUTPUT}" in codex["stdout"], json.dumps(codex)[-3000:]
    bodies = [r["body"] for r in report["upstream"]]
    assert len(bodies) == 2
    assert all(b["model"] == "actual-m" for b in bodies)
    if wire == "anthropic":  # translated: the tool round in Messages' shape
        assert [m["role"] for m in bodies[1]["messages"]][-2:] == ["assistant", "user"]
        turn = bodies[1]["messages"][-2]["content"]
        assert [b["type"] for b in turn] == ["thinking", "tool_use"] and turn[1]["name"] == "exec_command"
        assert TOOL_OUTPUT in json.dumps(bodies[1]["messages"][-1])
    else:  # the same wire: Codex's own request, its call and output items as it sent them
        items = bodies[1]["input"]
        call = next(i for i in items if i.get("type") == "function_call")
        assert call["call_id"] == "call_codex1" and call["name"] == "exec_command"
        assert TOOL_OUTPUT in json.dumps([i for i in items if i.get("type") == "function_call_output"])


@pytest.mark.parametrize("wire", ["anthropic", "responses"])
def test_codex_exec_through_a_hand_written_provider(codex_cli: Codex, tmp_path: Path, wire: str) -> None:
    assert_turn(drive(codex_cli, tmp_path, wire=wire, mode="proxy"), wire)


def test_ccm_codex_exec_leaves_the_users_codex_alone(codex_cli: Codex, tmp_path: Path) -> None:
    report = drive(codex_cli, tmp_path, wire="anthropic", mode="ccm-codex")
    assert_turn(report, "anthropic")
    launched = report["launched"]
    assert launched["codex_home"] is None, "ccm codex must never set CODEX_HOME"
    assert launched["key"] == "ccm" and "127.0.0.1" in launched["no_proxy"]
    argv = launched["argv"]
    assert argv[:4] == ["-c", "model_provider=ccm", "-c", argv[3]] and 'wire_api="responses"' in argv[3]
    assert 'env_key="CCM_CODEX_KEY"' in argv[3] and "/v1" in argv[3]
    assert argv[4:6] == ["-c", 'model="m"']  # router.default, as no -m was given
    assert any(a.startswith("model_catalog_json=") for a in argv), "ccm's models as Codex's catalog"
    assert argv[-4:] == ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox", PROMPT]
    assert report["user_config"] == USER_CONFIG, "the user's ~/.codex/config.toml must not change"
    assert "config.toml" in report["codex_dir"] and not any("ccm" in name for name in report["codex_dir"])
    assert report["leftover_proxy"] is None, "the proxy ccm codex started must stop with its last session"
    assert report["ccm_files"] == [], "the session's catalog file is removed when it ends"
    assert [r["kind"] for r in report["journal"]] == ["responses", "responses"]
