"""`ccm oauth` through the real console script against the fake issuer: a browser login (a stand-in
browser follows the issuer's redirect to the callback server), --no-browser (paste), --device, Claude
and Gemini explained, and refresh/logout/list with and without a running proxy."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import CCM, Cli
from tests.fakes.openai_auth import ACCOUNT_ID, FakeAuth

CHATGPT = '\n[[providers]]\nname = "chatgpt"\nprovider_type = "openai"\nauth_type = "oauth"\n'
BROWSER = """
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as page:  # the issuer redirects to the callback
    sys.exit(0 if page.status == 200 else 1)
"""


@pytest.fixture
def auth(cli: Cli) -> Iterator[FakeAuth]:
    """The fake issuer, for `ccm` and every proxy it starts (through CCM_OAUTH_OPENAI_ISSUER)."""
    with FakeAuth() as fake:
        cli.env["CCM_OAUTH_OPENAI_ISSUER"] = fake.url
        yield fake


@pytest.fixture
def config(write_config: Any) -> Path:
    path: Path = write_config()
    path.write_text(path.read_text() + CHATGPT)
    return path


def stored(cli: Cli) -> dict[str, Any]:
    """The token as the file fallback holds it (the CLI tests have no OS keyring)."""
    data = json.loads((cli.home / "secrets.json").read_text())
    return dict(json.loads(data["oauth:chatgpt"]))


def test_login_in_the_browser(cli: Cli, auth: FakeAuth, config: Path) -> None:
    browser = cli.write_program("fake-browser", BROWSER)
    started = time.perf_counter()
    out = cli.ok("oauth", "login", "chatgpt", env={"BROWSER": str(browser)})
    elapsed = time.perf_counter() - started
    assert f"{auth.url}/oauth/authorize?" in out and "redirect_uri=http%3A%2F%2Flocalhost%3A1455" in out
    assert "Logged in to chatgpt (account acc…" in out and "mode 0600, no OS keyring" in out
    token = stored(cli)
    assert set(token) == {"type", "access", "refresh", "expires_at", "account_id"}
    assert (token["access"], token["account_id"]) == (auth.access, ACCOUNT_ID)
    assert auth.access not in out and auth.valid_refresh not in out
    assert elapsed < 10  # one login, Python start included (the report quotes the measured time)


def test_login_without_a_browser_takes_the_pasted_redirect(cli: Cli, auth: FakeAuth, config: Path) -> None:
    proc = subprocess.Popen(
        [str(CCM), "oauth", "login", "chatgpt", "--no-browser"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
        cwd=cli.home,
    )
    assert proc.stdout is not None and proc.stdin is not None
    url = next(line.strip() for line in proc.stdout if line.strip().startswith("http"))
    proc.stdin.write(auth.redirect_for(url) + "\n")
    proc.stdin.close()
    rest = proc.stdout.read()
    assert proc.wait(timeout=30) == 0, proc.stderr.read() if proc.stderr else ""
    assert "Logged in to chatgpt" in rest and stored(cli)["access"] == auth.access


def test_a_pasted_redirect_of_another_login_is_one_line(cli: Cli, auth: FakeAuth, config: Path) -> None:
    line = cli.fails(
        "oauth", "login", "chatgpt", "--no-browser", input="http://localhost:1455/auth/callback?code=c&state=x\n"
    )
    assert "state does not match" in line
    assert not (cli.home / "secrets.json").exists()


def test_login_with_a_device_code(cli: Cli, auth: FakeAuth, config: Path) -> None:
    out = cli.ok("oauth", "login", "chatgpt", "--device")
    assert f"Open {auth.url}/codex/device on any device and enter the code ABCD-1234." in out
    assert stored(cli)["account_id"] == ACCOUNT_ID


def test_claude_is_not_logged_in_but_offered_passthrough(cli: Cli, config: Path) -> None:
    out = cli.ok("oauth", "login", "up")  # no answer on stdin: no
    assert "Anthropic allows Claude Pro/Max credentials only inside Claude Code" in out and "Nothing changed." in out
    assert "passthrough" not in config.read_text()
    before = config.read_text()
    out = cli.ok("oauth", "login", "up", "--yes")
    assert 'Set up to auth_type = "passthrough"' in out
    after = config.read_text()
    assert 'auth_type = "passthrough"' in after and after.startswith("# a small test config")  # surgical edit
    assert after.replace('auth_type = "passthrough"\n', "") == before
    assert "already uses Claude Code's own login" in cli.ok("oauth", "login", "up")


def test_gemini_points_at_the_api_key_and_vertex(cli: Cli, config: Path) -> None:
    config.write_text(config.read_text() + '\n[[providers]]\nname = "gem"\nprovider_type = "gemini"\n')
    result = cli.run("oauth", "login", "gem")
    assert result.returncode == 1 and "vertex-ai" in result.stdout and "Code Assist" in result.stdout
    assert result.stderr.strip() == "ccm: ccm does not log in to Google for 'gem' (`ccm keys set gem`)"


def test_errors_are_one_line(cli: Cli, config: Path) -> None:
    assert "provider 'chatgtp' is not in" in cli.fails("oauth", "login", "chatgtp")
    assert "did you mean 'chatgpt'?" in cli.fails("oauth", "login", "chatgtp")
    assert "no OAuth token for provider 'chatgpt'" in cli.fails("oauth", "refresh", "chatgpt")
    assert "no OAuth token for provider 'chatgpt'" in cli.fails("oauth", "logout", "chatgpt")


@pytest.mark.parametrize("running", [False, True])
def test_refresh_and_logout_name_a_provider_without_oauth_or_not_configured(
    cli: Cli, config: Path, running: bool
) -> None:
    """`up` takes an API key: no `ccm oauth login` would help; `nosuch` is not configured, yet a token
    stored under that id (its provider since removed) is still deleted."""
    if running:
        cli.ok("start")
    word = {"refresh": "refresh", "logout": "delete"}
    for action in ("refresh", "logout"):
        assert cli.fails("oauth", action, "up") == (
            f"ccm: provider 'up' does not use OAuth (its auth_type is apikey): there is no token to {word[action]}"
        )
    line = cli.fails("oauth", "logout", "nosuch")
    assert line.startswith("ccm: provider 'nosuch' is not in ") and "configured: up, chatgpt" in line
    path = cli.home / "secrets.json"
    path.write_text(json.dumps({"oauth:gone": json.dumps({"type": "oauth", "access": "a", "refresh": "r"})}))
    out = cli.ok("oauth", "logout", "gone")
    assert out.strip() == "Deleted the OAuth token stored as 'gone' (no provider of that name is configured)."
    assert "oauth:gone" not in json.loads(path.read_text())
    if running:
        cli.ok("stop")


def test_refresh_list_logout_without_a_proxy(cli: Cli, auth: FakeAuth, config: Path) -> None:
    cli.ok("oauth", "login", "chatgpt", "--device")
    first = stored(cli)
    assert "chatgpt" in cli.ok("oauth", "list") and json.loads(cli.ok("oauth", "list", "--json"))[0]["status"] == (
        "active"
    )
    assert "Refreshed the OAuth token of chatgpt" in cli.ok("oauth", "refresh", "chatgpt")
    assert auth.refreshes == 1 and stored(cli)["refresh"] == auth.valid_refresh != first["refresh"]
    listed = cli.ok("oauth", "list", "--json")
    assert auth.access not in listed and auth.valid_refresh not in listed
    cli.ok("oauth", "logout", "chatgpt")
    assert "No OAuth tokens yet" in cli.ok("oauth", "list")


def test_with_a_running_proxy_refresh_and_logout_go_through_it(cli: Cli, auth: FakeAuth, config: Path) -> None:
    cli.ok("start")
    login = cli.run("oauth", "login", "chatgpt", "--device")
    assert login.returncode == 0 and "the running proxy uses the new login now" in login.stderr
    [row] = json.loads(cli.ok("oauth", "list", "--json"))  # from the proxy's /api/oauth/tokens
    assert row["provider"] == "chatgpt" and row["status"] == "active" and auth.access not in json.dumps(row)
    cli.ok("oauth", "refresh", "chatgpt")
    assert auth.refreshes == 1 and stored(cli)["refresh"] == auth.valid_refresh  # the proxy wrote it back
    cli.ok("oauth", "logout", "chatgpt")
    assert "oauth:chatgpt" not in json.loads((cli.home / "secrets.json").read_text())
    assert "no OAuth token for provider 'chatgpt'" in cli.fails("oauth", "refresh", "chatgpt")
    cli.ok("stop")


def test_login_on_a_machine_without_a_browser_says_so_at_once(cli: Cli, auth: FakeAuth, config: Path) -> None:
    headless = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "BROWSER": ""}
    started = time.perf_counter()
    line = cli.fails("oauth", "login", "chatgpt", env=headless, timeout=20)
    assert time.perf_counter() - started < 15  # not the callback's 5 minutes
    assert "no browser to open on this machine" in line
    assert "ccm oauth login chatgpt --device" in line and "--no-browser" in line
    assert not (cli.home / "secrets.json").exists()


def test_a_browser_that_cannot_open_says_so_at_once(cli: Cli, auth: FakeAuth, config: Path) -> None:
    broken = cli.write_program("broken-browser", "raise SystemExit(1)")
    line = cli.fails("oauth", "login", "chatgpt", env={"BROWSER": f"{broken} %s && false"}, timeout=20)
    assert "no browser" in line and "--device" in line
