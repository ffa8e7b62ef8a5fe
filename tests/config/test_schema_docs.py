"""Every config field says what it means where it is declared (an attribute docstring under it), as the
README's config reference does for the file."""

from __future__ import annotations

import ast
from pathlib import Path

import config.schema

SOURCE = Path(config.schema.__file__).read_text(encoding="utf-8")


def undocumented() -> list[str]:
    missing: list[str] = []
    for cls in ast.parse(SOURCE).body:
        if not isinstance(cls, ast.ClassDef):
            continue
        body = cls.body
        for i, node in enumerate(body):
            if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
                continue
            name = node.target.id
            if name.startswith("_"):  # lookup tables built in __post_init__, not config
                continue
            after = body[i + 1] if i + 1 < len(body) else None
            documented = (
                isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            )
            if not documented:
                missing.append(f"{cls.name}.{name}")
    return missing


def test_every_field_has_a_docstring() -> None:
    assert undocumented() == []


def test_the_check_sees_the_fields() -> None:
    """The walk must find the fields it checks (a refactor that hides them would pass vacuously)."""
    fields = SOURCE.count('    """')
    assert fields >= 35
