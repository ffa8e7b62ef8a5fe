"""Scripted setup without editing TOML: `ccm providers add|remove`, `ccm models add|remove`, `ccm router unset`.

Each edit keeps the file's comments, refuses what would break the config (naming what is in the way),
never writes a key into the file, and reaches a running proxy that serves the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from config.load import load_config
from tests.cli.conftest import CCM, CONFIG, Cli, wait_for
from tests.cli.test_wizard_pty import Terminal
from tests.fakes.upstream import FakeUpstream, Reply

COMMENTED = CONFIG.replace('name = "up"\n', 'name = "up"   # the only provider\n')


@pytest.fixture
def commented(write_config: Any, port: int) -> Path:
    """The CLI tests' config, with a comment every edit must keep."""
    return Path(write_config(COMMENTED.format(port=port, base_url="http://127.0.0.1:9")))


def _secrets(cli: Cli) -> dict[str, str]:
    path = cli.home / "secrets.json"
    return dict(json.loads(path.read_text())) if path.exists() else {}


def test_providers_add_reads_the_key_from_stdin_into_the_keyring(cli: Cli, commented: Path) -> None:
    out = cli.ok("providers", "add", "zai", "--type", "zai", input="zai-secret-key-123456\n")
    assert "Added provider zai (z.ai)" in out and "zai…3456" in out
    text = commented.read_text()
    assert "zai-secret-key" not in text  # never in the file
    assert "# the only provider" in text and "# a small test config" in text
    provider = load_config(commented).config.provider("zai")
    assert provider is not None and provider.provider_type == "z.ai" and provider.api_key is None
    assert _secrets(cli) == {"provider:zai": "zai-secret-key-123456"}


def test_providers_add_with_key_env_asks_nothing(cli: Cli, commented: Path) -> None:
    cli.ok(
        "providers", "add", "corp", "--type", "openai-compatible", "--base-url", "http://127.0.0.1:9/v1",
        "--key-env", "CORP_KEY", input="must-not-be-read\n",
    )  # fmt: skip
    provider = load_config(commented).config.provider("corp")
    assert provider is not None and provider.api_key == "$CORP_KEY"
    assert _secrets(cli) == {}


def test_providers_add_vertex_takes_project_and_location(cli: Cli, commented: Path) -> None:
    cli.ok("providers", "add", "gcp", "--type", "vertex-ai", "--project-id", "my-proj", "--location", "us-east5")
    provider = load_config(commented).config.provider("gcp")
    assert provider is not None and (provider.project_id, provider.location, provider.auth_type) == (
        "my-proj",
        "us-east5",
        "adc",
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("providers", "add", "x", "--type", "zaii"), "unknown provider type 'zaii'"),
        (("providers", "add", "UP", "--type", "z.ai"), "provider 'up' is already in"),
        (
            ("providers", "add", "x", "--type", "openai-compatible"),
            "ccm: --base-url is required for type openai-compatible",
        ),
        (("providers", "add", "x", "--type", "z.ai", "--base-url", "ftp://x"), "ccm: --base-url must start with http"),
        (("providers", "add", "x", "--type", "z.ai", "--auth-type", "oauth"), "ccm: --auth-type oauth: provider type"),
        (("providers", "add", "x", "--type", "vertex-ai", "--location", "BAD"), "ccm: --location must be"),
        (("providers", "add", "x", "--type", "z.ai", "--key-env", "1bad"), "ccm: --key-env takes a variable name"),
        (("providers", "add", "x", "--type", "z.ai", "--auth-type", "nope"), "--auth-type must be one of"),
        (("providers", "remove", "nope"), "provider 'nope' is not in"),
        (("providers", "remove", "up"), "provider 'up' is used by model main, model deep, model quick"),
        (("models", "add", "new", "--map", "up"), "--map takes PROVIDER:MODEL"),
        (("models", "add", "new", "--map", "nobody:x"), "provider 'nobody' is not in"),
        (("models", "add", "new"), "no mapping given"),
        (("models", "add", "MAIN", "--map", "up:x"), "model 'main' is already in"),
        (("models", "remove", "deep"), "model 'deep' is router.think"),
        (("models", "remove", "nope"), "model 'nope' is not in"),
        (("router", "unset", "default"), "router.default cannot be unset"),
        (("router", "unset", "thinking"), "'thinking' is not a router slot"),
    ],
)
def test_a_refused_edit_is_one_line_and_the_file_is_untouched(
    cli: Cli, commented: Path, args: tuple[str, ...], words: str
) -> None:
    before = commented.read_bytes()
    line = cli.fails(*args, input="some-key\n")
    assert words in line, line
    assert str(commented) not in line or "is not in" in line or "is already in" in line  # no file:line for a flag
    assert commented.read_bytes() == before
    assert _secrets(cli) == {}


def test_providers_remove_names_a_router_slot_that_uses_it(cli: Cli, commented: Path) -> None:
    cli.ok("providers", "add", "spare", "--type", "z.ai", input="k\n")
    cli.ok("router", "set", "websearch", "spare,glm-4.6")
    line = cli.fails("providers", "remove", "spare")
    assert "router.websearch (spare,glm-4.6)" in line
    cli.ok("router", "unset", "websearch")
    assert "Removed provider spare" in cli.ok("providers", "remove", "SPARE")
    assert load_config(commented).config.provider("spare") is None


def test_models_add_splits_on_the_first_colon_in_the_order_given(cli: Cli, commented: Path) -> None:
    cli.ok("providers", "add", "local", "--type", "openai-compatible", "--base-url", "http://127.0.0.1:9/v1")
    out = cli.ok("models", "add", "qwen", "--map", "local:qwen3:32b", "--map", "UP:qwen-hosted")
    assert "local/qwen3:32b -> up/qwen-hosted" in out
    model = load_config(commented).config.model("qwen")
    assert model is not None
    assert [(m.provider, m.actual_model, m.priority) for m in model.mappings] == [
        ("local", "qwen3:32b", 1),
        ("up", "qwen-hosted", 2),
    ]
    assert "# the only provider" in commented.read_text()
    cli.ok("models", "remove", "qwen")
    assert load_config(commented).config.model("qwen") is None


def test_router_unset_clears_a_slot(cli: Cli, commented: Path) -> None:
    assert "router.think unset" in cli.ok("router", "unset", "think")
    assert load_config(commented).config.router.think is None
    assert "router.think is not set" in cli.ok("router", "unset", "think")
    cli.ok("models", "remove", "deep")  # no slot names it any more
    assert load_config(commented).config.model("deep") is None


def test_a_running_proxy_serves_each_edit(cli: Cli, write_config: Any, port: int) -> None:
    write_config()
    cli.ok("start")
    url = f"http://127.0.0.1:{port}"

    def live() -> dict[str, Any]:
        return dict(httpx.get(f"{url}/api/config/json", trust_env=False, timeout=5).json())

    result = cli.run("providers", "add", "zai", "--type", "z.ai", input="zai-key-0000\n")
    assert result.returncode == 0 and "reloaded" in result.stderr, result.stderr
    assert [p["name"] for p in live()["providers"]] == ["up", "zai"]
    cli.ok("models", "add", "glm", "--map", "zai:glm-4.6")
    assert "glm" in [m["name"] for m in live()["models"]]
    cli.ok("router", "unset", "background")
    wait_for(lambda: live()["router"]["background"] is None)


def test_models_add_asks_on_a_terminal_with_the_providers_list(cli: Cli, write_config: Any) -> None:
    with FakeUpstream() as up:
        up.script(Reply(200, json={"data": [{"id": "big-model"}, {"id": "small-model"}], "has_more": False}))
        path = Path(write_config(base_url=up.url))
        cli.ok("keys", "set", "up", input="up-listing-key-42\n")
        term = Terminal([str(CCM), "models", "add", "picked"], cli.env)
        term.expect("1) up (anthropic-compatible)")
        term.expect("Provider [1]: ")
        term.send("\r")
        listing = term.expect("Model (number or name): ")
        assert "1) big-model" in listing and "2) small-model" in listing
        term.send("2\r")
        term.expect("[y/N]: ")
        term.send("y\r")
        term.expect("Provider [1]: ")
        term.send("up\r")
        term.expect("Model (number or name): ")
        term.send("big\r")  # part of a name that only one model has
        term.expect("[y/N]: ")
        term.send("\r")
        term.expect("Added model picked")
        assert term.wait() == 0
        listed = [r for r in up.received if r.path.endswith("/v1/models")]
        assert listed and "up-listing-key-42" in (
            listed[0].headers.get("x-api-key", "") + listed[0].headers.get("authorization", "")
        )  # asked with the provider's own credential
    model = load_config(path).config.model("picked")
    assert model is not None
    assert [(m.actual_model, m.priority) for m in model.mappings] == [("small-model", 1), ("big-model", 2)]
