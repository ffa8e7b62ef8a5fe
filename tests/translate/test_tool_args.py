"""Tool-call arguments: valid JSON passes, near-JSON is repaired, garbage is kept recoverable."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.translate.tool_args import parse_tool_arguments


@pytest.mark.parametrize(
    ("raw", "expected", "outcome"),
    [
        ('{"a": 1}', {"a": 1}, "ok"),
        ({"a": 1}, {"a": 1}, "ok"),
        ("", {}, "ok"),
        ("   ", {}, "ok"),
        (None, {}, "ok"),
        ("{}", {}, "ok"),
        ('{"a": 1,}', {"a": 1}, "repaired"),
        ('{"a": [1, 2,],}', {"a": [1, 2]}, "repaired"),
        ("{'a': 'b'}", {"a": "b"}, "repaired"),
        ("{'a': \"it's\"}", {"a": "it's"}, "repaired"),
        ("{'q': 'say \"hi\"'}", {"q": 'say "hi"'}, "repaired"),
        ('{"a": True, "b": None, "c": False}', {"a": True, "b": None, "c": False}, "repaired"),
        ('```json\n{"a": 1}\n```', {"a": 1}, "repaired"),
        ('{"cmd": "echo 1\necho 2"}', {"cmd": "echo 1\necho 2"}, "repaired"),
        ('"{\\"a\\": 1}"', {"a": 1}, "repaired"),
        ('{"a": 1} and some chatter', {"a": 1}, "repaired"),
        ('Sure! {"a": 1}', {"a": 1}, "repaired"),
        # truncated by max_tokens
        ('{"content": "line one\\nline tw', {"content": "line one\nline tw"}, "repaired"),
        ('{"a": 1, "b": ', {"a": 1}, "repaired"),
        ('{"a": 1, "b"', {"a": 1}, "repaired"),
        ('{"a": {"b": [1, 2', {"a": {"b": [1, 2]}}, "repaired"),
        ('{"a": "x\\', {"a": "x"}, "repaired"),
        # beyond repair: kept for the model to see
        ("not json", {"_invalid_json": "not json"}, "invalid"),
        ("{broken", {"_invalid_json": "{broken"}, "invalid"),
        ("[1, 2]", {"_invalid_json": "[1, 2]"}, "invalid"),
        ("42", {"_invalid_json": "42"}, "invalid"),
    ],
)
def test_parse_tool_arguments(raw: Any, expected: dict[str, Any], outcome: str) -> None:
    assert parse_tool_arguments(raw) == (expected, outcome)
