"""Validation of the OpenAI clients' requests (ccm.api.openai_validate): the first problem, naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.api.openai_validate import validate_chat, validate_responses

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "request body must be a JSON object"),
        ({"messages": USER}, "model: must be a non-empty string"),
        ({"model": "m\n", "messages": USER}, "model: must not contain control characters"),
        ({"model": "m", "messages": []}, "messages: must be a non-empty list of messages"),
        ({"model": "m", "messages": [{"role": "bot", "content": "x"}]}, "messages.0.role: must be one of"),
        ({"model": "m", "messages": [{"role": "user"}]}, "messages.0.content: required"),
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
            "messages.0.content.0: must be a content part",
        ),
        ({"model": "m", "messages": USER, "stream": "yes"}, "stream: must be true or false"),
        ({"model": "m", "messages": USER, "max_tokens": 0}, "max_tokens: must be an integer >= 1"),
        ({"model": "m", "messages": USER, "n": True}, "n: must be an integer >= 1"),
        ({"model": "m", "messages": USER, "tools": {}}, "tools: must be a list of tools"),
        ({"model": "m", "messages": USER, "tools": [{"type": "function", "function": {}}]}, "tools.0.function.name:"),
        ({"model": "m", "messages": USER, "reasoning_effort": 3}, "reasoning_effort: must be a string"),
        ({"model": "m", "messages": USER, "stream_options": True}, "stream_options: must be an object"),
    ],
)
def test_chat_problems_name_their_field(body: Any, problem: str) -> None:
    found = validate_chat(body)
    assert found is not None and found.startswith(problem)


def test_a_valid_chat_request_with_unknown_fields_passes() -> None:
    assert validate_chat({"model": "m", "messages": [{"role": "assistant", "content": None}], "x": 1}) is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"model": "m"}, "input: required"),
        ({"model": "m", "input": 3}, "input: must be a string or a list of items"),
        ({"model": "m", "input": [3]}, "input.0: must be an object"),
        ({"model": "m", "input": [{"content": "x"}]}, "input.0.role: must be a string"),
        ({"model": "m", "input": [{"role": "user", "content": 1}]}, "input.0.content: must be a string or a list"),
        ({"model": "m", "input": "x", "max_output_tokens": -1}, "max_output_tokens: must be an integer >= 1"),
        ({"model": "m", "input": "x", "tools": [{"type": "function"}]}, "tools.0.name: must be a non-empty string"),
        ({"model": "m", "input": "x", "instructions": 1}, "instructions: must be a string"),
        ({"model": "m", "input": "x", "reasoning": {"effort": 1}}, "reasoning.effort: must be a string"),
    ],
)
def test_responses_problems_name_their_field(body: Any, problem: str) -> None:
    found = validate_responses(body)
    assert found is not None and found.startswith(problem)


def test_a_continuation_needs_no_input() -> None:
    assert validate_responses({"model": "m", "previous_response_id": "resp_1"}) is None
