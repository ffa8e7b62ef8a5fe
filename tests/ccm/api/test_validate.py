"""ccm.api.validate: every check it makes, and no other, each problem named by its field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ccm.api.validate import validate_messages_request
from tests.conftest import FIXTURES


def ok(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    body.update(over)
    return {k: v for k, v in body.items() if v is not DROP}


DROP = object()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "request body must be a JSON object"),
        ("x", "request body must be a JSON object"),
        (None, "request body must be a JSON object"),
        (ok(model=DROP), "model: must be a non-empty string"),
        (ok(model=""), "model: must be a non-empty string"),
        (ok(model=3), "model: must be a non-empty string"),
        (ok(messages=DROP), "messages: must be a non-empty list of messages"),
        (ok(messages=[]), "messages: must be a non-empty list of messages"),
        (ok(messages={"role": "user"}), "messages: must be a non-empty list of messages"),
        (ok(messages=["hi"]), "messages.0: must be an object with a role and content"),
        (ok(messages=[{"role": "tool", "content": "x"}]), 'messages.0.role: must be "user", "assistant" or "system"'),
        (ok(messages=[{"content": "x"}]), 'messages.0.role: must be "user", "assistant" or "system"'),
        (ok(messages=[{"role": "user"}]), "messages.0.content: required"),
        (
            ok(
                messages=[
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b"},
                    {"role": "user", "content": 3},
                ]
            ),
            "messages.2.content: must be a string or a list of blocks",
        ),
        (ok(messages=[{"role": "user", "content": None}]), "messages.0.content: must be a string or a list of blocks"),
        (
            ok(messages=[{"role": "user", "content": ["hi"]}]),
            'messages.0.content.0: must be a block (an object with a string "type")',
        ),
        (
            ok(messages=[{"role": "user", "content": [{"type": 1}]}]),
            'messages.0.content.0: must be a block (an object with a string "type")',
        ),
        (ok(max_tokens=DROP), "max_tokens: required"),
        (ok(max_tokens="lots"), "max_tokens: must be an integer >= 0"),
        (ok(max_tokens=-1), "max_tokens: must be an integer >= 0"),
        (ok(max_tokens=1.5), "max_tokens: must be an integer >= 0"),
        (ok(max_tokens=True), "max_tokens: must be an integer >= 0"),
        (ok(stream="yes"), "stream: must be true or false"),
        (ok(stream=None), "stream: must be true or false"),
        (ok(tools={}), "tools: must be a list of tools"),
        (ok(tools=[{"name": "a"}, "b"]), "tools.1: must be an object"),
        (ok(thinking={"type": "enabled", "budget_tokens": "x"}), "thinking.budget_tokens: must be an integer"),
        (ok(thinking={"type": "enabled", "budget_tokens": 1.5}), "thinking.budget_tokens: must be an integer"),
        (ok(thinking={"type": "enabled", "budget_tokens": True}), "thinking.budget_tokens: must be an integer"),
        (ok(tools=[{"name": "a"}, {"name": 5}]), "tools.1.name: must be a string"),
        (ok(tools=[{"input_schema": {}}]), "tools.0.name: must be a string"),
        (
            ok(messages=[{"role": "user", "content": [{"type": "image", "source": 5}]}]),
            "messages.0.content.0.source: must be an object",
        ),
        (
            ok(messages=[{"role": "user", "content": [{"type": "image"}]}]),
            "messages.0.content.0.source: must be an object",
        ),
        (
            ok(
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "see"},
                            {
                                "type": "tool_result",
                                "tool_use_id": "t1",
                                "content": [{"type": "text", "text": "x"}, {"type": "image", "source": "5"}],
                            },
                        ],
                    }
                ]
            ),
            "messages.0.content.1.content.1.source: must be an object",
        ),
        (
            ok(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [5]}]}]),
            'messages.0.content.0.content.0: must be a block (an object with a string "type")',
        ),
        (ok(system=3), "system: must be a string or a list of text blocks"),
        (ok(system=[{"type": "image"}]), 'system.0: must be a text block ({"type": "text", "text": "..."})'),
        (ok(system=[{"type": "text"}]), 'system.0: must be a text block ({"type": "text", "text": "..."})'),
    ],
)
def test_each_problem_names_its_field(body: object, problem: str) -> None:
    assert validate_messages_request(body, count_tokens=False) == problem


@pytest.mark.parametrize(
    "body",
    [
        ok(),
        ok(messages=[{"role": "system", "content": "mid-conversation, even last"}]),
        ok(messages=[{"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {}}]}]),
        ok(stream=True, tools=[], system="s"),
        ok(system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}]),
        ok(unknown_field={"anything": [1, 2]}, metadata=None, thinking={"type": "enabled"}),
        ok(max_tokens=0),  # Anthropic's prompt-cache pre-warm
        ok(thinking={"type": "enabled", "budget_tokens": 1024}, tools=[{"name": "t", "input_schema": {}}]),
        ok(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}},
                        {"type": "tool_result", "tool_use_id": "t", "content": "plain text"},
                        {"type": "tool_result", "tool_use_id": "u", "content": [{"type": "image", "source": {}}]},
                    ],
                }
            ]
        ),
    ],
)
def test_valid_requests_and_unknown_fields_pass(body: object) -> None:
    assert validate_messages_request(body, count_tokens=False) is None


def test_count_tokens_needs_no_max_tokens_but_checks_one_it_gets() -> None:
    assert validate_messages_request(ok(max_tokens=DROP), count_tokens=True) is None
    assert validate_messages_request(ok(max_tokens="lots"), count_tokens=True) == "max_tokens: must be an integer >= 0"
    assert (
        validate_messages_request(ok(messages=DROP), count_tokens=True)
        == "messages: must be a non-empty list of messages"
    )


def test_every_claude_code_fixture_is_valid() -> None:
    checked = 0
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name.endswith(".headers.json") or path.name == "index.json":
            continue
        body = json.loads(path.read_text())
        assert validate_messages_request(body, count_tokens=path.name.startswith("count-tokens")) is None, path.name
        checked += 1
    assert checked >= 15
