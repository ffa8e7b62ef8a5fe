"""The README's promises that code can check: the fresh-machine commands come first, the provider
table is the catalog's, images exist, and the `route explain` example is a real run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from config.catalog import markdown_table

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_fresh_machine_commands_come_first() -> None:
    head = "\n".join(README.splitlines()[:12])
    assert "pip install . && ccm start" in head
    assert "pip install '.[test]' && python -m pytest" in head


def test_ci_runs_the_readme_test_command() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "pip install --quiet '.[test]'" in ci and "python -m pytest" in ci


def test_provider_table_matches_the_catalog() -> None:
    start = README.index("<!-- catalog:start -->") + len("<!-- catalog:start -->")
    end = README.index("<!-- catalog:end -->")
    assert README[start:end].strip() == markdown_table(), "run `python -m config.catalog` and paste the table"


def test_every_image_link_points_at_a_file() -> None:
    """The screenshots live in docs/screenshots/: a link to `screenshots/…` shows a broken image."""
    root = Path(__file__).resolve().parent.parent
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README)
    assert links
    for link in links:
        assert (root / link).is_file(), link


def _run_ccm(home: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCM_", "ANTHROPIC_", "OPENAI_"))}
    env.update(
        HOME=str(home),
        CCM_HOME=str(home / ".claude-code-mux"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="200",
    )
    ccm = Path(sys.executable).parent / "ccm"
    done = subprocess.run([str(ccm), *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_route_explain_example_is_a_real_run(tmp_path: Path) -> None:
    """The README's `ccm route explain` example is what the command prints on the default preset."""
    _run_ccm(tmp_path, "config", "init", "--preset", "apikeys", "--yes")
    out = _run_ccm(tmp_path, "route", "explain", "--model", "claude-opus-5-5")
    out = out.replace(str(tmp_path), "~")
    expected = f"```text\n$ ccm route explain --model claude-opus-5-5\n{out}```"
    start = README.index("<!-- route-explain:start -->") + len("<!-- route-explain:start -->")
    end = README.index("<!-- route-explain:end -->")
    assert README[start:end].strip() == expected, f"paste this into README.md:\n{expected}"


def test_pgrep_in_the_readme_matches_only_the_users_processes() -> None:
    for found in re.findall(r"pgrep[^`]*", README):
        assert '-u "$USER"' in found, found


def test_the_tui_test_tab_names_the_model_it_sends() -> None:
    from tui.console import CLAUDE_CODE_MODELS

    row = next(line for line in README.splitlines() if line.startswith("| Test (`F7`)"))
    assert f"`{CLAUDE_CODE_MODELS[0][1]}`" in row, row
