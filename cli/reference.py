"""The command table of the docs, generated from the typer app so that it cannot drift from the code.

    python -m cli.reference        # prints the markdown table (README.md pastes it)

tests/cli/test_reference.py fails when README.md's table differs from this output.
"""

from __future__ import annotations

import re
from typing import Any

SPECIAL_USAGE = {"ccm code": "ccm code [CLAUDE ARGS]...", "ccm codex": "ccm codex [CODEX ARGS]..."}


def _option(param: Any) -> str:
    names = [o for o in param.opts if o.startswith("--")] or list(param.opts)
    name = names[0]
    text = name if getattr(param, "is_flag", False) else f"{name} {param.metavar or param.name.upper()}"
    text = text if getattr(param, "required", False) else f"[{text}]"
    return text + ("..." if getattr(param, "multiple", False) else "")


def _usage(path: str, command: Any) -> str:
    if path in SPECIAL_USAGE:
        return SPECIAL_USAGE[path]
    parts = [path]
    for param in command.params:
        if param.name == "help" or getattr(param, "hidden", False):
            continue
        if param.param_type_name == "argument":
            parts.append((param.metavar or param.name).upper())
        else:
            parts.append(_option(param))
    return " ".join(parts)


def rows() -> list[tuple[str, str]]:
    """(usage, one-line help) for every command, in the order `ccm --help` lists them."""
    import typer

    from cli.main import app

    out: list[tuple[str, str]] = []

    def walk(path: str, command: Any) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name in command.list_commands(None):
                walk(f"{path} {name}", subcommands[name])
            return
        summary = (command.help or "").strip().splitlines()[0] if command.help else ""
        out.append((_usage(path, command), re.sub(r"\[/?bold\]", "", summary)))

    root = typer.main.get_command(app)
    for name in root.list_commands(None):  # type: ignore[attr-defined]
        walk(f"ccm {name}", root.commands[name])  # type: ignore[attr-defined]
    return out


def markdown_table() -> str:
    lines = ["| command | what it does |", "|---|---|"]
    # a | inside a cell ends it in GitHub's tables, even in code: escape every one in the usage
    lines += [f"| `{usage.replace('|', chr(92) + '|')}` | {summary} |" for usage, summary in rows()]
    lines.append("| `ccm --version` · `ccm --help` · `ccm --install-completion` | version, help, shell completion |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table())
