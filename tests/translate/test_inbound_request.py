"""OpenAI clients' requests in ccm's internal form (ccm.translate.openai.inbound_request,
ccm.translate.responses.inbound_request): what routing reads and what a translated mapping receives."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.api.validate import validate_messages_request
from ccm.translate.inbound_parts import reasoning_blob, thinking_from_reasoning
from ccm.translate.openai.inbound_request import InboundError, from_chat
from ccm.translate.responses.inbound_request import from_responses

BASH = {
    "type": "function",
    "function": {
        "name": "Bash",
        "description": "Run a command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
}
PNG = "data:image/png;base64,iVBORw0KGgo="


def chat(**body: Any) -> dict[str, Any]:
    return from_chat({"model": "m", **body}).body


def test_chat_conversation_with_tools_becomes_anthropic_turns() -> None:
    body = chat(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "Use tools."}]},
            {
                "role": "user",
                "content": [{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": PNG}}],
            },
            {
                "role": "assistant",
                "content": "running it",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
            {"role": "user", "content": "and now?"},
            {"role": "system", "content": "mid-conversation note"},
        ],
        tools=[BASH],
        tool_choice="required",
        parallel_tool_calls=False,
        max_completion_tokens=500,
        temperature=1.5,
        stop="END",
        stream=True,
    )
    assert body == {
        "model": "m",
        "system": "Be brief.\n\nUse tools.",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "look"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "running it"},
                    {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt"},
                    {"type": "text", "text": "and now?"},
                ],
            },
            {"role": "system", "content": "mid-conversation note"},
        ],
        "max_tokens": 500,
        "tools": [
            {
                "name": "Bash",
                "description": "Run a command",
                "input_schema": BASH["function"]["parameters"],  # type: ignore[index]
            }
        ],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "temperature": 1.0,
        "stop_sequences": ["END"],
        "stream": True,
    }
    assert validate_messages_request(body, count_tokens=False) is None


@pytest.mark.parametrize(
    ("effort", "thinking"),
    [
        ("none", {"type": "disabled"}),
        ("minimal", {"type": "disabled"}),
        ("low", {"type": "enabled", "budget_tokens": 2048}),
        ("high", {"type": "enabled", "budget_tokens": 24576}),
    ],
)
def test_reasoning_effort_is_thinking_on_both_wires(effort: str, thinking: dict[str, Any]) -> None:
    messages = [{"role": "user", "content": "hi"}]
    assert chat(messages=messages, reasoning_effort=effort)["thinking"] == thinking
    inbound = from_responses({"model": "m", "input": "hi", "reasoning": {"effort": effort}})
    assert inbound.body["thinking"] == thinking


def test_a_thinking_budget_fits_under_the_clients_max_tokens() -> None:
    messages = [{"role": "user", "content": "hi"}]
    assert chat(messages=messages, reasoning_effort="high", max_tokens=4000)["thinking"]["budget_tokens"] == 2000
    assert "thinking" not in chat(messages=messages, reasoning_effort="high", max_tokens=1000)


def test_web_search_options_and_web_search_tools_are_the_web_search_tool() -> None:
    body = chat(messages=[{"role": "user", "content": "news?"}], web_search_options={})
    assert body["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]
    inbound = from_responses(
        {"model": "m", "input": "news?", "tools": [{"type": "web_search", "external_web_access": False}]}
    )
    assert inbound.body["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]


def test_what_only_the_chat_wire_carries_is_a_gap_not_a_loss() -> None:
    inbound = from_chat(
        {
            "model": "m",
            "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "x"}}]}],
            "n": 2,
            "tools": [{"type": "custom", "custom": {"name": "apply_patch"}}],
        }
    )
    message = inbound.gaps.message("Chat Completions")
    assert message is not None
    assert message.startswith('messages.0.content.0: a "input_audio" part cannot be translated for this mapping')
    assert "(and 2 more)" in message
    assert from_chat({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).gaps.message("x") is None


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([{"role": "tool", "content": "x"}], "messages.0.tool_call_id"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}]}],
            "messages.0.content.0.image_url.url",
        ),
        ([{"role": "assistant", "content": 3}], "messages.0.content"),
    ],
)
def test_a_request_no_mapping_could_read_names_its_field(messages: list[Any], field: str) -> None:
    with pytest.raises(InboundError, match=f"^{field}: "):
        from_chat({"model": "m", "messages": messages})


def codex_body() -> dict[str, Any]:
    """The shape the Codex CLI 0.171 sends (captured through a fake upstream): developer messages with ids,
    function and namespace tools, web search, and a tool round trip."""
    return {
        "model": "m",
        "instructions": "base",
        "input": [
            {
                "type": "message",
                "id": "msg_1",
                "role": "developer",
                "content": [{"type": "input_text", "text": "rules"}],
            },
            {"type": "message", "id": "msg_2", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAforeign"},
            {"type": "function_call", "call_id": "call_a", "name": "exec_command", "arguments": '{"cmd": "ls"}'},
            {
                "type": "function_call",
                "call_id": "call_b",
                "name": "spawn_agent",
                "namespace": "multi_agent_v1",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_a", "output": "a.txt"},
            {
                "type": "function_call_output",
                "call_id": "call_b",
                "output": [{"type": "input_text", "text": "agent 7"}],
            },
            {
                "type": "web_search_call",
                "id": "ws_1",
                "status": "completed",
                "action": {"type": "search", "query": "x"},
            },
        ],
        "tools": [
            {
                "type": "function",
                "name": "exec_command",
                "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
            },
            {
                "type": "namespace",
                "name": "multi_agent_v1",
                "tools": [
                    {
                        "type": "function",
                        "name": "spawn_agent",
                        "description": "spawn",
                        "parameters": {"type": "object"},
                    }
                ],
            },
            {"type": "web_search", "external_web_access": False},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "session",
    }


def test_codex_request_becomes_anthropic_turns() -> None:
    inbound = from_responses(codex_body())
    assert inbound.gaps.message("Responses") is None
    assert inbound.namespaces == {"multi_agent_v1__spawn_agent": ("multi_agent_v1", "spawn_agent")}
    body = inbound.body
    assert body["system"] == "base\n\nrules"
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "go"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_a", "name": "exec_command", "input": {"cmd": "ls"}},
                {"type": "tool_use", "id": "call_b", "name": "multi_agent_v1__spawn_agent", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_a", "content": "a.txt"},
                {"type": "tool_result", "tool_use_id": "call_b", "content": [{"type": "text", "text": "agent 7"}]},
            ],
        },
    ]
    assert [t["name"] for t in body["tools"]] == ["exec_command", "multi_agent_v1__spawn_agent", "web_search"]
    assert body["tool_choice"] == {"type": "auto"} and "thinking" not in body
    assert validate_messages_request({**body, "max_tokens": 1}, count_tokens=False) is None


def test_codex_non_function_tools_and_items_are_gaps() -> None:
    body = codex_body()
    body["tools"] += [{"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}}, {"type": "local_shell"}]
    body["input"].append({"type": "custom_tool_call", "call_id": "c", "name": "apply_patch", "input": "*** Begin"})
    inbound = from_responses(body)
    assert [where for where, _ in inbound.gaps.found] == ["tools.3", "tools.4", "input.8"]
    message = inbound.gaps.message("Responses")
    assert message is not None and 'tools.3: a "custom" tool cannot be translated' in message
    assert "only a mapping on the Responses wire carries it" in message


def test_a_reasoning_item_ccm_made_becomes_its_thinking_block_again() -> None:
    thinking = {"type": "thinking", "thinking": "Let me think.", "signature": "sig-abc"}
    redacted = {"type": "redacted_thinking", "data": "opaque"}
    for block in (thinking, redacted):
        blob = reasoning_blob(block)
        assert thinking_from_reasoning(blob) == block
        body = from_responses(
            {
                "model": "m",
                "input": [
                    {"role": "user", "content": "hi"},
                    {"type": "reasoning", "summary": [], "encrypted_content": blob},
                    {"role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
                ],
            }
        ).body
        assert body["messages"][1] == {"role": "assistant", "content": [block, {"type": "text", "text": "hello"}]}
    assert thinking_from_reasoning("gAAAAforeign") is None
