"""`ccm config init|show|validate|path|edit` and `ccm keys`."""

from __future__ import annotations

import json
import re
import stat
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cli import wizard
from config.catalog import CATALOG
from config.load import parse_config
from tests.cli.conftest import Cli


def secrets_file(cli: Cli) -> dict[str, str]:
    path = cli.home / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return dict(json.loads(path.read_text()))


# -- presets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", [p.name for p in wizard.PRESETS])
def test_presets_are_valid_without_warnings(preset: str) -> None:
    result = parse_config(wizard.preset(preset).text(), f"{preset}.toml")
    assert result.warnings == []
    assert result.config.router.default


def test_full_template_lists_every_catalog_type() -> None:
    """The full template stays in sync with config/catalog.py: one block per provider type."""
    text = wizard.preset("full").text()
    for provider_type in CATALOG:
        assert f'provider_type = "{provider_type}"' in text, provider_type
    # Uncommenting every block gives a valid config too.
    uncommented = "\n".join(
        line[2:] if line.startswith(("# [[providers]]", "# name", "# provider_type", '# base_url = "http')) else line
        for line in text.splitlines()
    )
    names = [p["name"] for p in tomllib.loads(uncommented)["providers"]]
    assert len(names) == len(CATALOG) and len(set(names)) == len(names)
    parse_config(uncommented, "full.toml")


# -- init, scripted -----------------------------------------------------------------------------------


def test_init_scripted_with_keys(cli: Cli) -> None:
    out = cli.ok("config", "init", "--preset", "cost", "--key", "zai=zai-secret-0123456789", "--yes", "--port", "14999")
    config = cli.home / "config.toml"
    assert f"Wrote {config}" in out and "Stored 1 key in" in out
    assert "No key yet for anthropic: `ccm keys set anthropic`, or set ANTHROPIC_API_KEY." in out
    assert "zai-secret" not in out
    text = config.read_text()
    assert "zai-secret" not in text  # keys never land in the config file
    assert "port = 14999" in text and text.startswith("# ccm config: cost-optimized")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert secrets_file(cli) == {"provider:zai": "zai-secret-0123456789"}
    assert "config.toml is valid: 2 providers, 2 models" in cli.ok("config", "validate")


def test_init_defaults_to_apikeys_and_never_overwrites_silently(cli: Cli) -> None:
    cli.ok("config", "init", "--yes")
    config = cli.home / "config.toml"
    assert config.read_text().startswith("# ccm config: API keys")
    line = cli.fails("config", "init", "--yes", "--preset", "full")
    assert "a config already exists" in line and "--force" in line
    first = config.read_text()
    cli.ok("config", "init", "--yes", "--preset", "full", "--force")
    assert config.read_text().startswith("# ccm config: the full template")
    assert (cli.home / "config.toml.bak").read_text() == first
    # An unknown preset is reported before the existing file (which --force would not help with).
    assert "unknown preset 'bogus'" in cli.fails("config", "init", "--preset", "bogus", "--yes")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--preset", "nope"], "unknown preset 'nope'; choose one of subscriptions, apikeys, cost, full"),
        (["--key", "novalue"], "--key takes NAME=VALUE"),
        (["--key", "groq=abc"], "--key names groq, not a provider of this preset"),
    ],
)
def test_init_flag_errors(cli: Cli, args: list[str], needle: str) -> None:
    assert needle in cli.fails("config", "init", "--yes", *args)
    assert not (cli.home / "config.toml").exists()


@pytest.mark.parametrize(
    ("pair", "needle"),
    [
        ("sk-ant-api03-LEAKED0123456789abcdef", "--key takes NAME=VALUE"),
        ("anthropic:sk-ant-api03-LEAKED0123456789", "--key takes NAME=VALUE"),
        ("c2stTEVBS0VEMDEyMzQ1Njc4OWFiY2RlZg==", "not a provider of this preset"),  # base64: '=' but no name
    ],
)
def test_init_key_without_name_is_never_echoed(cli: Cli, pair: str, needle: str) -> None:
    """A key pasted without its `NAME=` (or with `:`) is still a key: the error must not print it."""
    line = cli.fails("config", "init", "--yes", "--preset", "apikeys", "--key", pair)
    assert needle in line
    assert pair.split("=")[0].lower()[4:20] not in line.lower()


def test_init_creates_a_private_home(cli: Cli, tmp_path: Path) -> None:
    """On a fresh machine `ccm config init` is the first command: the folder it creates is 0700."""
    home = tmp_path / "fresh" / ".claude-code-mux"
    cli.ok("config", "init", "--yes", "--key", "anthropic=ant-key-000000000000", env={"CCM_HOME": str(home)})
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_init_reads_answers_from_stdin(cli: Cli) -> None:
    """Without a terminal the wizard still asks, reading plain lines (preset number, then keys)."""
    out = cli.ok("config", "init", input="2\nant-key-000000000000\n\n")
    assert "Pick a preset:" in out and "Stored 1 key in" in out
    assert secrets_file(cli) == {"provider:anthropic": "ant-key-000000000000"}


def test_init_subscriptions_points_at_both_logins(cli: Cli) -> None:
    out = cli.ok("config", "init", "--preset", "subscriptions", "--yes")
    assert "claude uses Claude Code's own login: run `claude /login`" in out
    assert "Log in to chatgpt: `ccm oauth login chatgpt`." in out
    assert not (cli.home / "secrets.json").exists()


# -- show, validate, path ------------------------------------------------------------------------------


def test_show_masks_secrets(cli: Cli, write_config: Any) -> None:
    path = write_config()
    path.write_text(path.read_text().replace('base_url = "', 'api_key = "literal-secret-abcdef123456"\nbase_url = "'))
    text = cli.ok("config", "show")
    assert "literal-secret" not in text and "lit…3456" in text
    assert "# wire anthropic · key lit…3456 from config file" in text
    data = json.loads(cli.ok("config", "show", "--json"))
    assert data["providers"][0]["api_key"] == "lit…3456"
    assert data["providers"][0]["key_source"] == "config file"
    assert data["router"]["default"] == "main"
    assert "literal-secret" not in json.dumps(data)


def test_a_credential_written_into_a_base_url_is_masked_in_every_view(cli: Cli, write_config: Any) -> None:
    path = write_config()
    secret = "gw-token-0123456789abcdef"
    path.write_text(re.sub(r'base_url = "([^"]*)"', rf'base_url = "\1?token={secret}"', path.read_text(), count=1))
    shown = cli.ok("config", "show") + cli.ok("config", "show", "--json") + cli.ok("providers", "list", "--json")
    assert secret not in shown and "token=…cdef" in shown


def test_show_prints_a_config_that_loads_as_it_reads(cli: Cli, write_config: Any) -> None:
    """Pasted back as a config, `ccm config show` loads without a warning: no empty tables, and what ccm
    derived about a provider is a comment, not a key the schema does not have."""
    write_config()
    text = cli.ok("config", "show")
    assert "[providers.headers]" not in text and "clients = []" not in text and "\nwire" not in text
    shown = cli.home / "shown.toml"
    shown.write_text(text)
    result = cli.run("config", "validate", "--config", str(shown))
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


def test_show_missing_config_is_one_line(cli: Cli) -> None:
    line = cli.fails("config", "show")
    assert "config.toml: config file not found" in line and "ccm config init" in line


def test_validate_reports_every_problem_with_file_and_line(cli: Cli, write_config: Any) -> None:
    path = write_config('[server]\nport = 0\n\n[router]\ndefault = "main"\nthinkk = "x"\n')
    result = cli.run("config", "validate")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert f"{path}:2: server.port: must be between 1 and 65535, not 0" in lines
    assert any(line.startswith(f"{path}:5: router.default: names model 'main'") for line in lines)
    assert lines[-1] == f"ccm: {path} is not valid (2 problems)"
    assert "Traceback" not in result.stderr


def test_validate_ok_lists_warnings(cli: Cli, write_config: Any) -> None:
    path = write_config()
    path.write_text(path.read_text().replace("[router]\n", '[router]\nthinkk = "x"\n'))
    result = cli.run("config", "validate")
    assert result.returncode == 0
    assert "is valid: 1 provider, 3 models" in result.stdout
    assert "router.thinkk: unknown key, ignored (did you mean 'think'?) (warning)" in result.stderr


def test_validate_warns_about_an_unset_router_key(cli: Cli, write_config: Any) -> None:
    path = write_config()
    path.write_text(path.read_text().replace("[server]\n", '[server]\napi_key = "$CCM_TEST_UNSET_ROUTER_KEY"\n'))
    result = cli.run("config", "validate")
    assert result.returncode == 0
    assert "$CCM_TEST_UNSET_ROUTER_KEY is not set in this shell" in result.stderr


def test_validate_warns_about_missing_google_credentials(cli: Cli, write_config: Any, tmp_path: Path) -> None:
    path = write_config()
    missing = tmp_path / "no-such-adc.json"
    vertex = (
        f'[[providers]]\nname = "vx"\nprovider_type = "vertex-ai"\nproject_id = "p"\ncredentials_file = "{missing}"\n'
    )
    path.write_text(path.read_text() + "\n" + vertex)
    result = cli.run("config", "validate")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stderr.splitlines() if "providers.vx" in x)
    assert str(missing) in line and "gcloud auth application-default login" in line and line.endswith("(warning)")


def test_path(cli: Cli, tmp_path: Path) -> None:
    assert cli.ok("config", "path").strip() == str(cli.home / "config.toml")
    other = tmp_path / "elsewhere.toml"
    assert cli.ok("config", "path", env={"CCM_CONFIG": str(other)}).strip() == str(other)
    assert cli.ok("config", "path", "--config", "/x/y.toml").strip() == "/x/y.toml"
    everything = cli.ok("config", "path", "--all")
    assert f"home      {cli.home}" in everything and "secrets" in everything and "(absent)" in everything


# -- edit ----------------------------------------------------------------------------------------------

EDITOR = """
import sys
from pathlib import Path
# Each run takes the next replacement text from the queue; the file being edited gets it.
queue = Path(__file__).with_name("edits")
items = queue.read_text().split("\\n=====\\n") if queue.exists() else []
if items:
    Path(sys.argv[1]).write_text(items[0])
    queue.write_text("\\n=====\\n".join(items[1:])) if len(items) > 1 else queue.unlink()
"""


def _editor(cli: Cli, *texts: str) -> dict[str, str]:
    cli.write_program("fake-editor", EDITOR)
    (cli.bin_dir / "edits").write_text("\n=====\n".join(texts))
    return {"EDITOR": f"{sys.executable} {cli.bin_dir / 'fake-editor'}"}


def test_edit_saves_a_valid_edit_with_backup(cli: Cli, write_config: Any) -> None:
    path = write_config()
    before = path.read_text()
    after = before.replace('default = "main"', 'default = "deep"')
    out = cli.ok("config", "edit", env=_editor(cli, after))
    assert "Saved" in out
    assert path.read_text() == after
    assert (cli.home / "config.toml.bak").read_text() == before
    assert list(cli.home.glob(".config.edit-*")) == []


def test_edit_keeps_windows_line_endings(cli: Cli, write_config: Any) -> None:
    """The editor gets the file as it is (CRLF) and what it saves is kept as it is: no silent conversion."""
    path = write_config()
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    cli.write_program(
        "crlf-editor",
        "import sys\nfrom pathlib import Path\np = Path(sys.argv[1])\n"
        "p.write_bytes(p.read_bytes().replace(b'default = \"main\"', b'default = \"deep\"'))\n",
    )
    cli.ok("config", "edit", env={"EDITOR": f"{sys.executable} {cli.bin_dir / 'crlf-editor'}"})
    data = path.read_bytes()
    assert b'default = "deep"\r\n' in data
    assert data.count(b"\r\n") == data.count(b"\n")


def test_an_edit_never_overwrites_a_change_saved_while_the_editor_was_open(cli: Cli, write_config: Any) -> None:
    """Another ccm command saves the file while the editor is open: the edit is not written over it (that
    would undo it); it is kept beside the file, and the line says where."""
    path = write_config()
    cli.write_program(
        "racing-editor",
        "import sys\nfrom pathlib import Path\n"
        f"real = Path({str(path)!r})\n"
        "real.write_text(real.read_text().replace('default = \"main\"', 'default = \"deep\"'))  # the other save\n"
        "p = Path(sys.argv[1])\np.write_text(p.read_text() + '\\n# my edit\\n')\n",
    )
    line = cli.fails("config", "edit", env={"EDITOR": f"{sys.executable} {cli.bin_dir / 'racing-editor'}"})
    assert "changed while you edited it" in line and "config.toml.edited" in line
    assert 'default = "deep"' in path.read_text() and "# my edit" not in path.read_text()
    assert "# my edit" in (cli.home / "config.toml.edited").read_text()


def test_edit_offers_to_edit_again_until_valid(cli: Cli, write_config: Any) -> None:
    path = write_config()
    before = path.read_text()
    broken = before.replace('default = "main"', 'default = "missing"')
    fixed = before.replace('default = "main"', 'default = "quick"')
    result = cli.run("config", "edit", env=_editor(cli, broken, fixed), input="y\n")
    assert result.returncode == 0, result.stderr
    assert "router.default: names model 'missing'" in result.stderr
    assert path.read_text() == fixed


def test_edit_discarded_when_declined(cli: Cli, write_config: Any) -> None:
    path = write_config()
    before = path.read_text()
    result = cli.run("config", "edit", env=_editor(cli, "not toml ["), input="n\n")
    assert result.returncode == 1
    assert "not valid TOML" in result.stderr and "Discarded" in result.stdout
    assert path.read_text() == before


def test_edit_errors(cli: Cli, write_config: Any) -> None:
    assert "no config at" in cli.fails("config", "edit")
    write_config()
    assert "No changes" in cli.ok("config", "edit", env={"EDITOR": "true"})
    assert "the editor exited with code 1" in cli.fails("config", "edit", env={"EDITOR": "false"})
    assert "editor not found: no-such-editor" in cli.fails("config", "edit", env={"EDITOR": "no-such-editor"})


def test_edit_reloads_a_running_proxy(cli: Cli, write_config: Any) -> None:
    path = write_config()
    cli.ok("start")
    after = path.read_text().replace('default = "main"', 'default = "quick"')
    result = cli.run("config", "edit", env=_editor(cli, after))
    assert result.returncode == 0 and "the running proxy reloaded its config" in result.stderr
    assert _config_json(cli)["router"]["default"] == "quick"  # the proxy serves the edited file now
    cli.ok("stop")


def _config_json(cli: Cli) -> dict[str, Any]:
    import http.client

    info = cli.pid_info()
    assert info is not None
    conn = http.client.HTTPConnection("127.0.0.1", info["port"], timeout=5)
    conn.request("GET", "/api/config/json")
    return dict(json.loads(conn.getresponse().read()))


# -- keys -------------------------------------------------------------------------------------------------


def test_keys_set_list_delete(cli: Cli, write_config: Any) -> None:
    write_config()
    out = cli.ok("keys", "set", "UP", input="up-secret-0123456789\n")  # names match case-insensitively
    assert "Stored the key for up (up-…6789)" in out and "mode 0600" in out
    assert secrets_file(cli) == {"provider:up": "up-secret-0123456789"}
    listed = cli.ok("keys", "list")
    assert "up-…6789" in listed and "up-secret" not in listed
    assert json.loads(cli.ok("keys", "list", "--json")) == [
        {"provider": "up", "type": "anthropic-compatible", "key": "up-…6789", "source": "secrets.json"}
    ]
    assert "Deleted the stored key for up" in cli.ok("keys", "delete", "up")
    assert json.loads(cli.ok("keys", "list", "--json"))[0]["source"] == "missing"
    assert "no key stored for 'up'" in cli.fails("keys", "delete", "up")


@pytest.mark.parametrize(
    ("typed", "what"), [("a b\n", "a space"), ("key\tmore\n", "whitespace"), ("key\x1b[Amore\n", "a control character")]
)
def test_keys_set_refuses_a_key_with_whitespace_or_control_characters_inside(
    cli: Cli, write_config: Any, typed: str, what: str
) -> None:
    """Surrounding whitespace is a paste's newline (dropped); inside, it is two keys or a terminal escape."""
    write_config()
    for command in (("keys", "set", "up"), ("providers", "add", "zai", "--type", "z.ai")):
        assert cli.fails(*command, input=typed) == (
            f"ccm: the key has {what} inside; nothing stored (paste the key alone, on one line)"
        )
    assert not (cli.home / "secrets.json").exists()
    cli.ok("keys", "set", "up", input="  up-secret-0123456789 \r\n")
    assert secrets_file(cli) == {"provider:up": "up-secret-0123456789"}


def test_keys_set_says_when_the_config_outranks_it(cli: Cli, write_config: Any) -> None:
    path = write_config()
    text = path.read_text()
    path.write_text(text.replace('name = "up"\n', 'name = "up"\napi_key = "literal-key-0123456789"\n'))
    result = cli.run("keys", "set", "up", input="stored-key-0123456789\n")
    assert result.returncode == 0
    assert f"but {path} writes api_key for up, and that key wins; remove that line" in result.stderr
    assert "literal-key" not in result.stdout + result.stderr
    assert json.loads(cli.ok("keys", "list", "--json"))[0]["source"] == "config file"

    path.write_text(text.replace('name = "up"\n', 'name = "up"\napi_key = "$UP_KEY_VAR"\n'))
    result = cli.run("keys", "set", "up", input="stored-key-0123456789\n", env={"UP_KEY_VAR": "from-env-0123"})
    assert "$UP_KEY_VAR is set here, so that wins while it is set; unset UP_KEY_VAR" in result.stderr
    quiet = cli.run("keys", "set", "up", input="stored-key-0123456789\n")  # $UP_KEY_VAR unset: the stored key wins
    assert "wins" not in quiet.stderr


def test_keys_errors(cli: Cli, write_config: Any) -> None:
    write_config()
    line = cli.fails("keys", "set", "upp", input="k\n")
    assert "provider 'upp' is not in" in line and "did you mean 'up'?" in line
    assert "no key given" in cli.fails("keys", "set", "up", input="\n")
    cli.ok("keys", "set", "later", "--force", input="k-123\n")
    assert secrets_file(cli)["provider:later"] == "k-123"


def test_keys_set_reloads_a_running_proxy(cli: Cli, write_config: Any) -> None:
    write_config()
    cli.ok("start")
    assert _config_json(cli)["providers"][0]["key"] is None
    result = cli.run("keys", "set", "up", input="fresh-key-0123456789\n")
    assert result.returncode == 0 and "reloaded" in result.stderr
    assert _config_json(cli)["providers"][0]["key"] == "fre…6789"
    cli.ok("stop")
