"""The TUI reaches the proxy over HTTP only: importing every tui module loads none of the server."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

SERVER = ("quart", "hypercorn", "ccm.serve.app", "ccm.dispatch.failover", "ccm.dispatch.relay", "ccm.serve.main")

PROBE = f"""
import importlib, json, pkgutil, sys
import tui
for info in pkgutil.walk_packages(tui.__path__, "tui."):
    importlib.import_module(info.name)
print(json.dumps(sorted(m for m in {SERVER!r} if m in sys.modules)))
"""


def test_tui_never_imports_the_server() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
