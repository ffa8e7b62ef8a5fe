"""One Codex CLI agent turn through the real proxy, all in one network namespace: `python -m
tests.e2e.codex_driver SPEC.json` prints a JSON report (the last line of stdout) for the test to judge.

As tests.e2e.cc_driver does for Claude Code: Codex runs in a fresh network namespace when the machine
allows it (it can reach nothing but loopback), so the fake model and the proxy start in here too. The fake
model asks for `exec_command` with `echo hello-from-tool-$((6*7))`, Codex runs it and sends the output back,
and the fake answers with text quoting it.

SPEC keys: work (a scratch folder), codex (the binary), wire ("anthropic": Codex's Responses translated to
Messages and back; "responses": the same wire, passed through), mode ("proxy": `codex exec` with a
provider written by hand in `-c` flags; "ccm-codex": `ccm codex exec` with none, a user's own
~/.codex/config.toml in place and a recording `codex` launcher first on PATH), timeout, netns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.cc_driver import ccm_command, journal, loopback_up, stop_leftover_proxy
from tests.e2e.harness import ROOT, InProcessProxy, free_port, make_config
from tests.fakes.anthropic_sse import tool_use_stream
from tests.fakes.responses import responses_stream
from tests.fakes.scenarios import anthropic_tool_output
from tests.fakes.upstream import FakeUpstream, Received, Reply, anthropic_stream

COMMAND = "echo hello-from-tool-$((6*7))"
TOOL_OUTPUT = "hello-from-tool-42"
USER_CONFIG = 'model = "gpt-5.5"\napproval_policy = "on-request"\n\n[model_providers.mine]\nname = "mine"\n'
RECORDER = r"""#!/usr/bin/env python3
import json, os, sys
with open(os.environ["CODEX_RECORD"], "w") as out:
    json.dump({"argv": sys.argv[1:], "codex_home": os.environ.get("CODEX_HOME"),
               "key": os.environ.get("CCM_CODEX_KEY"), "no_proxy": os.environ.get("NO_PROXY")}, out)
os.execv(os.environ["REAL_CODEX"], [os.environ["REAL_CODEX"], *sys.argv[1:]])
"""


def responses_output(body: dict[str, Any]) -> str | None:
    outputs = [i for i in body.get("input") or [] if isinstance(i, dict) and i.get("type") == "function_call_output"]
    return str(outputs[-1]["output"]) if outputs else None


def model(wire: str) -> Reply:
    """A stateless fake model on `wire`: no tool output yet -> call exec_command; else quote the output."""

    def answer(rec: Received) -> Reply:
        body = rec.json or {}
        if wire == "anthropic":
            output = anthropic_tool_output(body)
            if output is None:
                return Reply.stream(tool_use_stream("exec_command", {"cmd": COMMAND}, thinking="Run it."))
            return Reply.stream(anthropic_stream(f"The tool said: {output.strip().splitlines()[-1]}", pieces=3))
        output = responses_output(body)
        if output is None:
            return Reply.stream(responses_stream(None, [("call_codex1", "exec_command", {"cmd": COMMAND})]))
        return Reply.stream(responses_stream(f"The tool said: {output.strip().splitlines()[-1]}"))

    return Reply(handler=answer)


def provider(wire: str, url: str) -> dict[str, Any]:
    if wire == "anthropic":
        return {"name": "up", "provider_type": "anthropic-compatible", "base_url": url, "api_key": "k" * 16}
    return {"name": "up", "provider_type": "openai-responses", "base_url": f"{url}/v1", "api_key": "sk-" + "k" * 16}


def codex_env(home: Path) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", "TERM": "dumb"}
    env |= {"NO_PROXY": "127.0.0.1,localhost", "NO_COLOR": "1"}
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        return {"code": None, "stdout": str(exc.stdout)[-3000:], "stderr": str(exc.stderr)[-3000:]}
    return {"code": done.returncode, "stdout": done.stdout[-3000:], "stderr": done.stderr[-4000:]}


EXEC = ["exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]


def by_hand(spec: dict[str, Any], upstream: FakeUpstream, work: Path) -> dict[str, Any]:
    """`codex exec` with a `ccm` provider written by hand, throwaway HOME and CODEX_HOME."""
    config = work / "config.toml"
    config.write_text(make_config([provider(spec["wire"], upstream.url)], {"m": [("up", "actual-m")]}))
    proxy = InProcessProxy(config).start()
    try:
        home, codex_home = work / "home", work / "codex-home"
        home.mkdir()
        codex_home.mkdir()
        env = codex_env(home) | {"CODEX_HOME": str(codex_home), "CCM_CODEX_KEY": "ccm"}
        flags = [
            "-c",
            "model_provider=ccm",
            "-c",
            f'model_providers.ccm={{name="ccm", base_url="{proxy.url}/v1", env_key="CCM_CODEX_KEY", wire_api="responses"}}',
        ]
        return {"codex": run([spec["codex"], *flags, *EXEC, "-m", "m", spec["prompt"]], env, work, spec["timeout"])}
    finally:
        proxy.stop()


def through_ccm_codex(spec: dict[str, Any], upstream: FakeUpstream, work: Path) -> dict[str, Any]:
    """`ccm codex exec ...` with nothing written for Codex: ccm finds the config in CCM_HOME and starts the proxy."""
    home, ccm_home, bin_dir = work / "home", work / "ccm-home", work / "bin"
    for folder in (home / ".codex", ccm_home, bin_dir):
        folder.mkdir(parents=True, mode=0o700)
    (home / ".codex" / "config.toml").write_text(USER_CONFIG)
    models = {"m": [("up", "actual-m")], "other": [("up", "actual-other")]}
    text = make_config([provider(spec["wire"], upstream.url)], models, server={"port": free_port()})
    (ccm_home / "config.toml").write_text(text)
    launcher = bin_dir / "codex"
    launcher.write_text(RECORDER.replace("/usr/bin/env python3", sys.executable))
    launcher.chmod(0o755)
    env = codex_env(home) | {"CCM_HOME": str(ccm_home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env |= {"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "PYTHONPATH": str(ROOT)}
    env |= {"REAL_CODEX": spec["codex"], "CODEX_RECORD": str(work / "launched.json")}
    result = run([*ccm_command(), "codex", *EXEC, spec["prompt"]], env, work, spec["timeout"])
    launched = json.loads((work / "launched.json").read_text()) if (work / "launched.json").exists() else None
    return {
        "codex": result,
        "launched": launched,
        "user_config": (home / ".codex" / "config.toml").read_text(),
        "codex_dir": sorted(p.name for p in (home / ".codex").iterdir()),
        "leftover_proxy": stop_leftover_proxy(ccm_home),
        "journal": journal(ccm_home),
        "ccm_files": sorted(p.name for p in ccm_home.rglob("*") if "codex-models" in p.name),
    }


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    if spec["netns"]:
        loopback_up()
    work = Path(spec["work"])
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"spec": spec}
    with FakeUpstream() as upstream:
        upstream.script(model(spec["wire"]))
        report |= by_hand(spec, upstream, work) if spec["mode"] == "proxy" else through_ccm_codex(spec, upstream, work)
        report["upstream"] = [{"path": r.path, "body": r.json} for r in upstream.received if r.method == "POST"]
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
