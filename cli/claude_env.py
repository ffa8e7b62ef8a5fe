"""The environment Claude Code needs to talk to the proxy, as a dict (`ccm code`) or shell lines (`ccm env`).

    ANTHROPIC_BASE_URL    the proxy's URL
    ANTHROPIC_AUTH_TOKEN  the router key (server.api_key) or "ccm" when none is set
    ANTHROPIC_API_KEY     removed: Claude Code would send it instead of the token
    NO_PROXY              extended with 127.0.0.1,localhost so a corporate proxy never sees local calls

With a passthrough provider (Claude Pro/Max through Claude Code's own login), ANTHROPIC_AUTH_TOKEN and
ANTHROPIC_API_KEY are both removed so Claude Code sends its own login, and the router key (if any) goes
in ANTHROPIC_CUSTOM_HEADERS as `x-ccm-key: KEY`.

What the config says about ccm's models (the haiku and small/fast names, model discovery, the context
window) is cli.claude_session's, added by the callers.

A router key written as `$VAR` is printed as a reference to that variable, never as its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from config import secrets

SHELLS = ("bash", "zsh", "fish", "powershell")
LOCAL = ("127.0.0.1", "localhost")
DEFAULT_TOKEN = "ccm"


@dataclass(frozen=True, slots=True)
class Token:
    """The router key as Claude Code must send it: a literal value, or `$VAR` that the shell expands."""

    value: str | None
    variable: str | None = None
    passthrough: bool = False
    """Claude Code keeps its own login; the key travels as x-ccm-key."""


def router_token(raw_api_key: str | None, *, passthrough: bool = False) -> Token:
    if not raw_api_key:
        return Token(None if passthrough else DEFAULT_TOKEN, passthrough=passthrough)
    var = secrets.env_reference(raw_api_key)
    if var is not None:
        return Token(os.environ.get(var), var, passthrough)
    return Token(raw_api_key, passthrough=passthrough)


def no_proxy(current: str | None) -> str:
    """Append 127.0.0.1 and localhost to a NO_PROXY list, keeping what is there and its order."""
    items = [item.strip() for item in (current or "").split(",") if item.strip()]
    for host in LOCAL:
        if host not in items:
            items.append(host)
    return ",".join(items)


def child_env(base: Mapping[str, str], url: str, token: Token) -> dict[str, str]:
    """The environment for a `claude` child process."""
    env = dict(base)
    env.pop("ANTHROPIC_API_KEY", None)
    env["ANTHROPIC_BASE_URL"] = url
    if token.passthrough:
        env.pop("ANTHROPIC_AUTH_TOKEN", None)  # Claude Code sends its own login (claude /login)
        if token.value:
            headers = [h for h in base.get("ANTHROPIC_CUSTOM_HEADERS", "").splitlines() if h.strip()]
            headers = [h for h in headers if not h.lower().startswith("x-ccm-key:")]
            env["ANTHROPIC_CUSTOM_HEADERS"] = "\n".join([*headers, f"x-ccm-key: {token.value}"])
    else:
        env["ANTHROPIC_AUTH_TOKEN"] = token.value or DEFAULT_TOKEN
    env["NO_PROXY"] = no_proxy(base.get("NO_PROXY"))
    if "no_proxy" in base:
        env["no_proxy"] = no_proxy(base.get("no_proxy"))
    return env


def _quote(value: str, shell: str) -> str:
    if shell == "powershell":
        return "'" + value.replace("'", "''") + "'"
    if shell == "fish":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + value.replace("'", "'\"'\"'") + "'"


def shell_lines(
    shell: str, url: str, token: Token, current_no_proxy: str | None, extra: Mapping[str, str] | None = None
) -> list[str]:
    """Lines that set the same environment in one shell (`eval "$(ccm env)"`); `extra`: more variables
    (cli.claude_session's), set after the rest."""
    return _base_lines(shell, url, token, current_no_proxy) + [
        _set(shell, name, value) for name, value in (extra or {}).items()
    ]


def _set(shell: str, name: str, value: str) -> str:
    if shell == "powershell":
        return f"$env:{name} = {_quote(value, shell)}"
    if shell == "fish":
        return f"set -gx {name} {_quote(value, shell)}"
    return f"export {name}={_quote(value, shell)}"


def _base_lines(shell: str, url: str, token: Token, current_no_proxy: str | None) -> list[str]:
    if token.variable:
        token_expr = f"$env:{token.variable}" if shell == "powershell" else f'"${token.variable}"'
    else:
        token_expr = _quote(token.value or DEFAULT_TOKEN, shell)
    value = _quote(no_proxy(current_no_proxy), shell)
    if token.passthrough:
        return _passthrough_lines(shell, url, token, value)
    if shell == "powershell":
        return [
            f"$env:ANTHROPIC_BASE_URL = {_quote(url, shell)}",
            f"$env:ANTHROPIC_AUTH_TOKEN = {token_expr}",
            "Remove-Item Env:ANTHROPIC_API_KEY -ErrorAction SilentlyContinue",
            f"$env:NO_PROXY = {value}",
        ]
    if shell == "fish":
        return [
            f"set -gx ANTHROPIC_BASE_URL {_quote(url, shell)}",
            f"set -gx ANTHROPIC_AUTH_TOKEN {token_expr}",
            "set -e ANTHROPIC_API_KEY",
            f"set -gx NO_PROXY {value}",
        ]
    return [
        f"export ANTHROPIC_BASE_URL={_quote(url, shell)}",
        f"export ANTHROPIC_AUTH_TOKEN={token_expr}",
        "unset ANTHROPIC_API_KEY",
        f"export NO_PROXY={value}",
    ]


def _passthrough_lines(shell: str, url: str, token: Token, no_proxy_value: str) -> list[str]:
    """Claude Code keeps its own login: no token variables, the router key as a custom header."""
    header: str | None = None
    if token.variable:
        header = f'"x-ccm-key: $env:{token.variable}"' if shell == "powershell" else f'"x-ccm-key: ${token.variable}"'
    elif token.value:
        header = _quote(f"x-ccm-key: {token.value}", shell)
    if shell == "powershell":
        lines = [
            f"$env:ANTHROPIC_BASE_URL = {_quote(url, shell)}",
            "Remove-Item Env:ANTHROPIC_AUTH_TOKEN -ErrorAction SilentlyContinue",
            "Remove-Item Env:ANTHROPIC_API_KEY -ErrorAction SilentlyContinue",
        ]
        lines += [f"$env:ANTHROPIC_CUSTOM_HEADERS = {header}"] if header else []
        return [*lines, f"$env:NO_PROXY = {no_proxy_value}"]
    if shell == "fish":
        lines = [
            f"set -gx ANTHROPIC_BASE_URL {_quote(url, shell)}",
            "set -e ANTHROPIC_AUTH_TOKEN",
            "set -e ANTHROPIC_API_KEY",
        ]
        lines += [f"set -gx ANTHROPIC_CUSTOM_HEADERS {header}"] if header else []
        return [*lines, f"set -gx NO_PROXY {no_proxy_value}"]
    lines = [f"export ANTHROPIC_BASE_URL={_quote(url, shell)}", "unset ANTHROPIC_AUTH_TOKEN", "unset ANTHROPIC_API_KEY"]
    lines += [f"export ANTHROPIC_CUSTOM_HEADERS={header}"] if header else []
    return [*lines, f"export NO_PROXY={no_proxy_value}"]


EVAL_HINTS = {
    "bash": 'eval "$(ccm env)"',
    "zsh": 'eval "$(ccm env)"',
    "fish": "ccm env | source",
    "powershell": "ccm env | Out-String | Invoke-Expression",
}
"""How each shell runs what `ccm env` prints."""


def default_shell() -> str:
    """The user's shell from $SHELL (bash when it is not one we know)."""
    name = os.path.basename(os.environ.get("SHELL", ""))
    return name if name in SHELLS else ("powershell" if os.name == "nt" else "bash")
