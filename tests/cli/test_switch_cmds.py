"""`ccm providers enable|disable` and `ccm router set`: one key changes, the rest of the file stays byte for
byte, a wrong name is one line and leaves the file untouched, and a running proxy serves the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from config.load import load_config
from tests.cli.conftest import CONFIG, Cli, wait_for

COMMENTED = CONFIG.replace('name = "up"\n', 'name = "up"   # the only provider\n')


@pytest.fixture
def commented(write_config: Any, port: int) -> Path:
    """The CLI tests' config, with a comment on the provider's name line that every edit must keep."""
    return Path(write_config(COMMENTED.format(port=port, base_url="http://127.0.0.1:9")))


def test_disable_then_enable_changes_one_line(cli: Cli, commented: Path) -> None:
    path = commented
    before = path.read_text()
    assert "provider up disabled" in cli.ok("providers", "disable", "UP")  # names match case-insensitively
    after = path.read_text()
    assert load_config(path).config.provider("up").enabled is False  # type: ignore[union-attr]
    added = [line for line in after.splitlines() if line not in before.splitlines()]
    assert added == ["enabled = false"]
    assert "# the only provider" in after and "# a small test config" in after
    assert "already disabled" in cli.ok("providers", "disable", "up")
    cli.ok("providers", "enable", "up")
    assert load_config(path).config.provider("up").enabled is True  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("providers", "disable", "upp"), "provider 'upp' is not in"),
        (("providers", "enable", "nope"), "provider 'nope' is not in"),
        (("router", "set", "thinking", "main"), "'thinking' is not a router slot"),
        (("router", "set", "think", "mian"), "model 'mian' is not in"),
        (("router", "set", "think", "nobody,x"), "provider 'nobody' is not in"),
        (("router", "set", "think", "up,"), "names no model"),
    ],
)
def test_a_wrong_name_is_one_line_and_the_file_is_untouched(
    cli: Cli, commented: Path, args: tuple[str, ...], words: str
) -> None:
    path = commented
    before = path.read_bytes()
    line = cli.fails(*args)
    assert words in line, line
    assert path.read_bytes() == before
    assert not path.with_name(path.name + ".bak").exists()


def test_a_near_miss_is_suggested(cli: Cli, commented: Path) -> None:
    assert "did you mean 'up'?" in cli.fails("providers", "disable", "upp")
    assert "did you mean 'main'?" in cli.fails("router", "set", "think", "mian")
    assert "did you mean 'think'?" in cli.fails("router", "set", "thnk", "main")


def test_router_set_writes_the_canonical_name(cli: Cli, commented: Path) -> None:
    path = commented
    assert "router.think = quick" in cli.ok("router", "set", "think", "QUICK")
    assert "router.websearch = up,some-model" in cli.ok("router", "set", "websearch", "UP,some-model")
    router = load_config(path).config.router
    assert (router.think, router.websearch) == ("quick", "up,some-model")
    assert "# a small test config" in path.read_text()


def test_a_running_proxy_serves_the_change(cli: Cli, write_config: Any, port: int) -> None:
    write_config()
    cli.ok("start")
    url = f"http://127.0.0.1:{port}"

    def live() -> dict[str, Any]:
        return dict(httpx.get(f"{url}/api/config/json", trust_env=False, timeout=5).json())

    result = cli.run("router", "set", "background", "deep")
    assert result.returncode == 0 and "reloaded" in result.stderr
    assert live()["router"]["background"] == "deep"
    cli.ok("providers", "disable", "up")
    wait_for(lambda: live()["providers"][0]["enabled"] is False)


def test_a_writer_warns_when_the_proxy_serves_another_file(cli: Cli, write_config: Any) -> None:
    write_config()
    cli.ok("start")
    other = cli.home / "other.toml"
    other.write_text((cli.home / "config.toml").read_text())
    result = cli.run("router", "set", "think", "quick", "--config", str(other))
    assert result.returncode == 0
    assert f"warning: writing {other}, but the running proxy serves" in result.stderr
    assert load_config(other).config.router.think == "quick"
