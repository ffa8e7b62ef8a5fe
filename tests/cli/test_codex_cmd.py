"""`ccm codex` with a stand-in `codex` on PATH (the real Codex CLI runs in tests/e2e/test_codex_cli.py), and
the pieces it builds: the `-c` overrides, the model a command line picks, the model catalog."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli import codex_catalog
from cli.codex_cmd import model_argument, overrides
from config.load import load_config
from tests.cli.conftest import Cli

FAKE_CODEX = r"""
import json, os, sys
from pathlib import Path

if "debug" in sys.argv:
    if os.environ.get("FAKE_CODEX_NO_DEBUG"):
        print("error: unrecognized subcommand 'debug'", file=sys.stderr)
        sys.exit(2)
    catalog = [a.split("=", 1)[1] for a in sys.argv if a.startswith("model_catalog_json=")]
    if catalog:
        json.loads(Path(json.loads(catalog[0])).read_text())  # the probe parses
        print("{}")
        sys.exit(0)
    print(json.dumps({"models": [
        {"slug": "code-mode", "visibility": "list", "tool_mode": "code_mode_only", "base_instructions": "cm"},
        {"slug": "plain", "visibility": "list", "shell_type": "unified_exec", "base_instructions": "You are Codex.",
         "truncation_policy": {"mode": "tokens", "limit": 10000},
         "supported_reasoning_levels": [{"effort": "low", "description": "l"}]},
    ]}))
    sys.exit(0)
catalog = [a.split("=", 1)[1] for a in sys.argv if a.startswith("model_catalog_json=")]
record = {
    "argv": sys.argv[1:],
    "env": {k: os.environ.get(k) for k in ("CCM_CODEX_KEY", "CODEX_HOME", "NO_PROXY")},
    "catalog": json.loads(Path(json.loads(catalog[0])).read_text()) if catalog else None,
}
Path(os.environ["FAKE_CODEX_OUT"]).write_text(json.dumps(record))
sys.exit(int(os.environ.get("FAKE_CODEX_EXIT", "0")))
"""


@pytest.fixture
def codex(cli: Cli, tmp_path: Path) -> Path:
    """A stand-in `codex`: `debug models` prints a small catalog; any other run records argv, env and the
    catalog it was given into FAKE_CODEX_OUT."""
    cli.write_program("codex", FAKE_CODEX)
    out = tmp_path / "codex-run.json"
    cli.env["FAKE_CODEX_OUT"] = str(out)
    return out


def test_ccm_codex_points_codex_at_the_proxy(cli: Cli, codex: Path, write_config: Any, port: int) -> None:
    config = write_config()
    result = cli.run("codex", "exec", "fix it", env={"FAKE_CODEX_EXIT": "3", "CODEX_HOME": "/users/own/codex"})
    assert result.returncode == 3, result.stderr
    seen = json.loads(codex.read_text())
    provider = (
        f'model_providers.ccm={{name="ccm", base_url="http://127.0.0.1:{port}/v1", env_key="CCM_CODEX_KEY", '
        'wire_api="responses"}'
    )
    argv = seen["argv"]
    assert argv[:6] == ["-c", "model_provider=ccm", "-c", provider, "-c", 'model="main"']
    assert argv[6] == "-c" and argv[7].startswith("model_catalog_json=")
    assert argv[8:] == ["exec", "fix it"]
    assert seen["env"] == {"CCM_CODEX_KEY": "ccm", "CODEX_HOME": "/users/own/codex", "NO_PROXY": "127.0.0.1,localhost"}
    slugs = [m["slug"] for m in seen["catalog"]["models"]]
    assert slugs == [m.name for m in load_config(config).config.models]
    assert {m["base_instructions"] for m in seen["catalog"]["models"]} == {"You are Codex."}
    assert not cli.running(), "the proxy ccm codex started stops with its last session"
    assert not list((cli.home / "sessions").glob("*codex-models*")), "the session's catalog is removed"
    assert "it stops when the last `ccm codex` session ends" in result.stderr


def test_a_model_picked_on_the_command_line_is_left_to_codex(cli: Cli, codex: Path, write_config: Any) -> None:
    write_config()
    assert cli.run("codex", "-m", "deep", "exec", "x").returncode == 0
    argv = json.loads(codex.read_text())["argv"]
    assert not any(a.startswith("model=") for a in argv) and argv[-4:] == ["-m", "deep", "exec", "x"]


def test_a_codex_without_a_catalog_runs_without_one(cli: Cli, codex: Path, write_config: Any) -> None:
    write_config()
    result = cli.run("codex", "exec", "x", env={"FAKE_CODEX_NO_DEBUG": "1"})
    assert result.returncode == 0, result.stderr
    assert json.loads(codex.read_text())["catalog"] is None
    assert "Codex gets no model list from ccm: this Codex has no `codex debug models`" in result.stderr


def test_no_codex_on_path_is_one_line(cli: Cli, write_config: Any) -> None:
    write_config()
    line = cli.fails("codex", "exec", "x", env={"PATH": str(cli.bin_dir)})
    assert line.startswith("ccm: the Codex CLI (`codex`) was not found on PATH")


@pytest.mark.parametrize(
    ("args", "model"),
    [
        (["exec", "-m", "glm", "x"], "glm"),
        (["--model", "a,b"], "a,b"),
        (["--model=glm"], "glm"),
        (["-mglm", "exec"], "glm"),
        (["exec", "--", "-m", "glm"], None),
        (["exec", "x"], None),
    ],
)
def test_model_argument(args: list[str], model: str | None) -> None:
    assert model_argument(args) == model


def test_overrides_quote_for_toml() -> None:
    got = overrides("http://[::1]:13456/", 'we"ird', 200000, Path('/tmp/a "b"/m.json'))
    assert got == [
        "-c",
        "model_provider=ccm",
        "-c",
        'model_providers.ccm={name="ccm", base_url="http://[::1]:13456/v1", env_key="CCM_CODEX_KEY", wire_api="responses"}',
        "-c",
        'model="we\\"ird"',
        "-c",
        "model_context_window=200000",
        "-c",
        'model_catalog_json="/tmp/a \\"b\\"/m.json"',
    ]


def test_the_catalog_template_is_a_function_tools_model() -> None:
    catalog = {
        "models": [
            {"slug": "hidden", "visibility": "hide", "base_instructions": "x"},
            {"slug": "cm", "visibility": "list", "tool_mode": "code_mode_only", "base_instructions": "y"},
            {"slug": "ok", "visibility": "list", "shell_type": "unified_exec", "base_instructions": "z", "extra": 1},
        ]
    }
    assert codex_catalog.template_of(catalog) == {"shell_type": "unified_exec", "base_instructions": "z"}
    assert codex_catalog.template_of({"models": []}) is None
