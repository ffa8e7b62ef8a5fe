"""The file secret store (no OS keyring) under concurrent writers: every read-modify-write of secrets.json
holds an exclusive lock across processes, so concurrent `ccm keys set` (and an OAuth refresh writing its
rotated token back) never lose each other's writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import CCM, Cli

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 10
WRITERS = 3

#: What the proxy's TokenManager does after a refresh: write the rotated token back (tokens.save), again
#: and again; the last write must survive beside every key set meanwhile.
REFRESHER = """
import sys, time
from ccm.auth.oauth import tokens
for i in range(int(sys.argv[1])):
    tokens.save("chatgpt", tokens.Token(f"access-{i}", f"refresh-{i}", time.time() + 3600, "acct"))
"""


def stored(cli: Cli) -> dict[str, str]:
    return dict(json.loads((cli.home / "secrets.json").read_text()))


def keys_set(cli: Cli, name: str, value: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [str(CCM), "keys", "set", name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
        cwd=cli.home,
    )
    assert proc.stdin is not None
    proc.stdin.write(value + "\n")
    proc.stdin.close()
    return proc


def finish(proc: subprocess.Popen[str]) -> None:
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""


def test_concurrent_keys_set_lose_nothing(cli: Cli) -> None:
    lost = []
    for round_ in range(ROUNDS):
        procs = [keys_set(cli, f"p{w}", f"key-{w}-round-{round_}-0123456789") for w in range(WRITERS)]
        for proc in procs:
            finish(proc)
        data = stored(cli)
        expected = {f"provider:p{w}": f"key-{w}-round-{round_}-0123456789" for w in range(WRITERS)}
        if {k: data.get(k) for k in expected} != expected:
            lost.append((round_, data))
    assert lost == []


def test_an_oauth_refresh_write_back_racing_keys_set_loses_nothing(cli: Cli) -> None:
    saves = 30
    refresher = subprocess.Popen(
        [sys.executable, "-c", REFRESHER, str(saves)],
        env={**cli.env, "PYTHONPATH": str(ROOT)},
        cwd=cli.home,
        stderr=subprocess.PIPE,
        text=True,
    )
    procs = [keys_set(cli, f"p{i}", f"key-{i}-0123456789") for i in range(6)]
    for proc in procs:
        finish(proc)
    finish(refresher)  # type: ignore[arg-type]
    data = stored(cli)
    assert {k: v for k, v in data.items() if k.startswith("provider:")} == {
        f"provider:p{i}": f"key-{i}-0123456789" for i in range(6)
    }
    token = json.loads(data["oauth:chatgpt"])
    assert token["refresh"] == f"refresh-{saves - 1}"
