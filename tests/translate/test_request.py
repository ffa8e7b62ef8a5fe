"""Anthropic request -> Chat Completions request: one table-driven test per mapping."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.translate.openai.messages import EMPTY_RESULT, NO_RESULT
from ccm.translate.openai.request import UnsupportedRequest, to_openai_request
from ccm.translate.profile import profile_for
from ccm.translate.signature import sign_thinking
from tests.translate.helpers import validate_openai_request

SIGNED = sign_thinking("I should list files.")


def translate(body: dict[str, Any], provider: str = "openai", model: str = "gpt-4o", stream: bool = False) -> Any:
    full = {"model": "claude-x", "max_tokens": 1000, **body}
    request = to_openai_request(full, profile_for(provider, model), stream=stream)
    validate_openai_request(request.body)
    return request


def messages(body: dict[str, Any], provider: str = "openai", model: str = "gpt-4o") -> list[dict[str, Any]]:
    return translate(body, provider, model).body["messages"]


def user(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(blocks)}


def assistant(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(blocks)}


def text(t: str, **kw: Any) -> dict[str, Any]:
    return {"type": "text", "text": t, **kw}


def tool_use(id_: str, name: str = "Bash", **input_: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": id_, "name": name, "input": input_}


def result(id_: str, content: Any = "ok", **kw: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id_, "content": content, **kw}


EPHEMERAL = {"type": "ephemeral"}
PNG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}}


# -- system ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Be brief.", [{"role": "system", "content": "Be brief."}]),
        ([text("A", cache_control=EPHEMERAL), text("B")], [{"role": "system", "content": "A\n\nB"}]),
        ([text("x-anthropic-billing-header: cc_version=1;"), text("A")], [{"role": "system", "content": "A"}]),
        ("", []),
        ([text("")], []),
    ],
)
def test_system(system: Any, expected: list[dict[str, Any]]) -> None:
    out = messages({"system": system, "messages": [{"role": "user", "content": "hi"}]})
    assert out[: len(expected)] == expected
    assert out[len(expected)] == {"role": "user", "content": "hi"}


def test_cache_control_kept_for_openrouter_claude_only() -> None:
    body = {
        "system": [text("A", cache_control=EPHEMERAL)],
        "messages": [user(text("hi", cache_control=EPHEMERAL))],
    }
    out = messages(body, "openrouter", "anthropic/claude-sonnet-4.5")
    assert out[0]["content"] == [{"type": "text", "text": "A", "cache_control": EPHEMERAL}]
    assert out[1]["content"] == [{"type": "text", "text": "hi", "cache_control": EPHEMERAL}]
    for provider, model in [("openrouter", "openai/gpt-4o"), ("groq", "llama"), ("openai", "gpt-4o")]:
        out = messages(body, provider, model)
        assert out == [{"role": "system", "content": "A"}, {"role": "user", "content": "hi"}]


def test_system_role_messages_stay_in_place() -> None:
    """Claude Code puts `role: system` messages inside messages, even after a tool_result."""
    out = messages(
        {
            "messages": [
                user(text("go")),
                {"role": "system", "content": [text("env info")]},
                assistant(tool_use("t1", command="ls")),
                user(result("t1", "a.txt")),
                {"role": "system", "content": "late reminder"},
            ]
        }
    )
    assert [m["role"] for m in out] == ["user", "system", "assistant", "tool", "system"]
    assert out[1]["content"] == "env info" and out[4]["content"] == "late reminder"


# -- user content ---------------------------------------------------------------------------------------


def test_images_become_image_url_parts() -> None:
    url_image = {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}
    out = messages({"messages": [user(text("look"), PNG, url_image)]})
    assert out[0]["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
    ]


def test_plain_text_blocks_join_into_a_string_and_empty_text_is_never_sent() -> None:
    out = messages({"messages": [user(text("a"), text(""), text("b")), assistant(text("")), user(text("c"))]})
    assert out == [{"role": "user", "content": "a\n\nb"}, {"role": "user", "content": "c"}]


def test_documents() -> None:
    doc_text = {"type": "document", "title": "notes", "source": {"type": "text", "data": "hello", "media_type": "t"}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}
    out = messages({"messages": [user(doc_text, pdf)]})
    assert out[0]["content"][0] == {"type": "text", "text": "notes:\nhello"}
    assert out[0]["content"][1]["file"]["file_data"] == "data:application/pdf;base64,JVBE"


# -- tool use and results -------------------------------------------------------------------------------


def test_tool_use_and_results_in_order() -> None:
    out = messages(
        {
            "messages": [
                user(text("run both")),
                assistant(text("Running."), tool_use("t1", command="ls"), tool_use("t2", command="pwd")),
                user(result("t1", "a.txt"), result("t2", [text("/home")]), text("thanks")),
            ]
        }
    )
    assert out[1] == {
        "role": "assistant",
        "content": "Running.",
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"ls"}'}},
            {"id": "t2", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"pwd"}'}},
        ],
    }
    assert out[2:] == [
        {"role": "tool", "tool_call_id": "t1", "content": "a.txt"},
        {"role": "tool", "tool_call_id": "t2", "content": "/home"},
        {"role": "user", "content": "thanks"},
    ]


def test_assistant_with_only_tool_calls_has_null_content() -> None:
    out = messages({"messages": [user(text("go")), assistant(tool_use("t1")), user(result("t1"))]})
    assert out[1]["content"] is None and out[1]["tool_calls"][0]["function"]["arguments"] == "{}"


@pytest.mark.parametrize(
    ("block", "content"),
    [
        (result("t1", "boom", is_error=True), "Error: boom"),
        (result("t1", "<tool_use_error>bad</tool_use_error>", is_error=True), "<tool_use_error>bad</tool_use_error>"),
        (result("t1", ""), EMPTY_RESULT),
        (result("t1", []), EMPTY_RESULT),
        (result("t1", [text("a"), text("b")]), "a\nb"),
        (result("t1", [{"type": "tool_reference", "tool_name": "WebFetch"}]), "Tool WebFetch is now available."),
    ],
)
def test_tool_result_content(block: dict[str, Any], content: str) -> None:
    out = messages({"messages": [user(text("go")), assistant(tool_use("t1")), user(block)]})
    assert out[2] == {"role": "tool", "tool_call_id": "t1", "content": content}


def test_images_in_tool_results_follow_as_a_user_message() -> None:
    out = messages({"messages": [user(text("shot")), assistant(tool_use("t1")), user(result("t1", [text("ok"), PNG]))]})
    assert out[2] == {"role": "tool", "tool_call_id": "t1", "content": "ok"}
    assert out[3]["role"] == "user" and out[3]["content"][1]["type"] == "image_url"


def test_missing_and_orphan_tool_results_are_repaired() -> None:
    out = messages(
        {
            "messages": [
                user(text("go")),
                assistant(tool_use("t1"), tool_use("t2")),
                user(result("t2", "two"), result("zz", "stray")),
            ]
        }
    )
    assert out[2:4] == [
        {"role": "tool", "tool_call_id": "t1", "content": NO_RESULT},
        {"role": "tool", "tool_call_id": "t2", "content": "two"},
    ]
    assert out[4] == {"role": "user", "content": "Result of tool call zz:\nstray"}


# -- thinking in history --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "field"),
    [
        ("deepseek", "deepseek-reasoner", "reasoning_content"),
        ("moonshot", "kimi-k2-thinking", "reasoning_content"),
        ("openrouter", "deepseek/deepseek-r1", "reasoning"),
        ("openai", "gpt-4o", None),
        ("groq", "qwen3", None),
    ],
)
def test_reasoning_round_trip(provider: str, model: str, field: str | None) -> None:
    thinking = {"type": "thinking", "thinking": "I should list files.", "signature": SIGNED}
    foreign = {"type": "thinking", "thinking": "Anthropic's own", "signature": "EqQBCkgIAR..."}
    redacted = {"type": "redacted_thinking", "data": "abc"}
    out = messages(
        {
            "messages": [
                user(text("go")),
                assistant(thinking, foreign, redacted, tool_use("t1", command="ls")),
                user(result("t1", "a.txt")),
            ]
        },
        provider,
        model,
    )
    turn = out[1]
    if field is None:
        assert "reasoning_content" not in turn and "reasoning" not in turn
    else:
        assert turn[field] == "I should list files."
    assert "Anthropic's own" not in str(out) and "abc" not in str(out)


def test_assistant_turn_with_only_thinking_is_dropped() -> None:
    thinking = {"type": "thinking", "thinking": "hmm", "signature": SIGNED}
    out = messages({"messages": [user(text("a")), assistant(thinking), user(text("b"))]}, "deepseek", "deepseek-chat")
    assert [m["role"] for m in out] == ["user", "user"]


# -- tools ----------------------------------------------------------------------------------------------

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"command": {"type": "string"}},
    "required": ["command"],
    "additionalProperties": False,
}


def test_tools_become_functions_without_schema_keyword() -> None:
    tools = [
        {"name": "Bash", "description": "Run", "input_schema": SCHEMA, "cache_control": EPHEMERAL},
        {"name": "DeferredToolPlaceholder", "input_schema": {"type": "object"}, "defer_loading": True},
        {"type": "bash_20250124", "name": "bash"},
        {"type": "text_editor_20250429", "name": "str_replace_based_edit_tool"},
        {"name": "NoSchema"},
    ]
    request = translate({"messages": [user(text("hi"))], "tools": tools})
    assert request.body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "Bash",
                "description": "Run",
                "parameters": {k: v for k, v in SCHEMA.items() if k != "$schema"},
            },
        },
        {"type": "function", "function": {"name": "NoSchema", "parameters": {"type": "object", "properties": {}}}},
    ]


def test_deferred_tools_are_offered_once_a_tool_search_loaded_them() -> None:
    tools = [
        {"name": "ToolSearch", "input_schema": {"type": "object"}},
        {"name": "WebFetch", "input_schema": {"type": "object"}, "defer_loading": True},
        {"name": "Cron", "input_schema": {"type": "object"}, "defer_loading": True},
    ]
    history = [
        user(text("fetch")),
        assistant(tool_use("t1", "ToolSearch", query="select:WebFetch")),
        user(result("t1", [{"type": "tool_reference", "tool_name": "WebFetch"}])),
    ]
    names = [t["function"]["name"] for t in translate({"messages": history, "tools": tools}).body["tools"]]
    assert names == ["ToolSearch", "WebFetch"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "Bash"}, {"type": "function", "function": {"name": "Bash"}}),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    tools = [{"name": "Bash", "input_schema": SCHEMA}]
    body = translate({"messages": [user(text("hi"))], "tools": tools, "tool_choice": choice}).body
    assert body["tool_choice"] == expected
    assert "parallel_tool_calls" not in body


def test_disable_parallel_tool_use() -> None:
    tools = [{"name": "Bash", "input_schema": SCHEMA}]
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    body = translate({"messages": [user(text("hi"))], "tools": tools, "tool_choice": choice}).body
    assert body["parallel_tool_calls"] is False


def test_no_tools_means_no_tool_choice() -> None:
    body = translate({"messages": [user(text("hi"))], "tools": [], "tool_choice": {"type": "auto"}}).body
    assert "tools" not in body and "tool_choice" not in body


def test_long_tool_names_are_shortened_consistently_and_mapped_back() -> None:
    long_name = "mcp__a_really_long_server_name__" + "x" * 60
    tools = [{"name": long_name, "input_schema": SCHEMA}]
    history = [user(text("go")), assistant(tool_use("t1", long_name, command="a")), user(result("t1"))]
    request = translate({"messages": history, "tools": tools, "tool_choice": {"type": "tool", "name": long_name}})
    short = request.body["tools"][0]["function"]["name"]
    assert len(short) == 64 and short.startswith("mcp__a_really_long")
    assert request.body["messages"][1]["tool_calls"][0]["function"]["name"] == short
    assert request.body["tool_choice"]["function"]["name"] == short
    assert request.tool_names == {short: long_name}
    again = translate({"messages": [user(text("x"))], "tools": tools})
    assert again.body["tools"][0]["function"]["name"] == short  # deterministic across requests


def test_openai_caps_tools_at_128() -> None:
    tools = [{"name": f"t{i}", "input_schema": SCHEMA} for i in range(140)]
    assert len(translate({"messages": [user(text("x"))], "tools": tools}).body["tools"]) == 128
    assert len(translate({"messages": [user(text("x"))], "tools": tools}, "groq", "m").body["tools"]) == 140


# -- parameters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "max_tokens", "field", "expected"),
    [
        ("deepseek", "deepseek-chat", 32000, "max_tokens", 8192),
        ("deepseek", "deepseek-reasoner", 128000, "max_tokens", 65536),
        ("deepseek", "deepseek-chat", 100, "max_tokens", 100),
        ("openai", "gpt-4o", 32000, "max_completion_tokens", 16384),
        ("openai", "o3", 128000, "max_completion_tokens", 100000),
        ("openai", "gpt-5", 128000, "max_completion_tokens", 128000),
        ("openai-compatible", "llama3", 128000, "max_tokens", 128000),
        ("openrouter", "x-ai/grok-4", 128000, "max_tokens", 32000),
    ],
)
def test_max_tokens_clamped_to_model_limit(
    provider: str, model: str, max_tokens: int, field: str, expected: int
) -> None:
    body = translate({"messages": [user(text("x"))], "max_tokens": max_tokens}, provider, model).body
    assert body[field] == expected
    assert ("max_tokens" in body) is (field == "max_tokens")


def test_mapping_max_output_tokens_overrides_the_catalog() -> None:
    body = {"model": "m", "max_tokens": 32000, "messages": [user(text("x"))]}
    out = to_openai_request(body, profile_for("deepseek", "deepseek-chat", 16000), stream=False).body
    assert out["max_tokens"] == 16000


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o", {"temperature": 0.5, "top_p": 0.9, "stop": ["a", "b", "c", "d"]}),
        ("openai", "o3-mini", {"stop": ["a", "b", "c", "d"]}),
        ("openrouter", "x", {"temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop": ["a", "b", "c", "d", "e"]}),
        ("groq", "x", {"temperature": 0.5, "top_p": 0.9, "stop": ["a", "b", "c", "d", "e"]}),
    ],
)
def test_sampling_parameters_per_provider(provider: str, model: str, expected: dict[str, Any]) -> None:
    body = {
        "messages": [user(text("x"))],
        "temperature": 0.5,
        "top_p": 0.9,
        "top_k": 40,
        "stop_sequences": ["a", "b", "c", "d", "e"],
    }
    out = translate(body, provider, model).body
    assert {k: out[k] for k in ("temperature", "top_p", "top_k", "stop") if k in out} == expected


@pytest.mark.parametrize(
    ("thinking", "output_config", "expected"),
    [
        ({"type": "enabled", "budget_tokens": 1024}, None, "low"),
        ({"type": "enabled", "budget_tokens": 4000}, None, "low"),
        ({"type": "enabled", "budget_tokens": 10000}, None, "medium"),
        ({"type": "enabled", "budget_tokens": 31999}, None, "high"),
        ({"type": "adaptive", "display": "omitted"}, {"effort": "medium"}, "medium"),
        ({"type": "adaptive"}, {"effort": "high"}, "high"),
        ({"type": "adaptive"}, {"effort": "low"}, "low"),
        ({"type": "adaptive"}, None, None),
        ({"type": "disabled"}, None, None),
        (None, {"effort": "medium"}, None),
    ],
)
def test_thinking_to_reasoning_effort(thinking: Any, output_config: Any, expected: str | None) -> None:
    body: dict[str, Any] = {"messages": [user(text("x"))]}
    if thinking:
        body["thinking"] = thinking
    if output_config:
        body["output_config"] = output_config
    assert translate(body, "openai", "o4-mini").body.get("reasoning_effort") == expected
    assert "reasoning_effort" not in translate(body, "openai", "gpt-4o").body  # not a reasoning model
    assert "reasoning_effort" not in translate(body, "deepseek", "deepseek-chat").body
    reasoning = translate(body, "openrouter", "openai/o3").body.get("reasoning")
    if expected is None:
        assert reasoning is None
    elif thinking["type"] == "enabled":
        assert reasoning == {"max_tokens": thinking["budget_tokens"]}
    else:
        assert reasoning == {"effort": expected}


@pytest.mark.parametrize(
    ("user_id", "provider", "expected"),
    [
        ("user-1", "openai", "user-1"),
        ('{"device_id":"' + "0" * 64 + '","account_uuid":"","session_id":"x"}', "openai", "hashed"),
        ("user-1", "deepseek", None),
    ],
)
def test_metadata_user_id(user_id: str, provider: str, expected: str | None) -> None:
    body = translate({"messages": [user(text("x"))], "metadata": {"user_id": user_id}}, provider, "m").body
    if expected == "hashed":
        assert body["user"].startswith("ccm-") and len(body["user"]) <= 64
    else:
        assert body.get("user") == expected


def test_streaming_asks_for_usage() -> None:
    body = translate({"messages": [user(text("x"))]}, stream=True).body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert "stream" not in translate({"messages": [user(text("x"))]}).body


def test_output_format_json_schema() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    body = {
        "system": "Title it.",
        "messages": [user(text("x"))],
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    }
    out = translate(body).body
    assert out["response_format"] == {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
    out = translate(body, "deepseek", "deepseek-chat").body
    assert "response_format" not in out
    assert out["messages"][0]["content"].startswith("Title it.\n\nAnswer with only a JSON object")


def test_anthropic_only_fields_are_dropped() -> None:
    body = {
        "messages": [user(text("x"))],
        "context_management": {"edits": []},
        "safeguards": {"x": 1},
        "container": "c",
        "mcp_servers": [],
        "service_tier": "auto",
        "output_config": {"effort": "high"},
    }
    out = translate(body).body
    assert set(out) == {"model", "messages", "max_completion_tokens"}


# -- web search -----------------------------------------------------------------------------------------

WEB = {"type": "web_search_20250305", "name": "web_search", "max_uses": 8}


def test_web_search_on_openrouter_uses_the_web_plugin() -> None:
    request = translate(
        {"messages": [user(text("search x"))], "tools": [WEB], "tool_choice": {"type": "auto"}}, "openrouter", "m"
    )
    assert request.body["plugins"] == [{"id": "web", "max_results": 8}]
    assert "tools" not in request.body and request.web_search


def test_web_search_on_an_openai_search_model() -> None:
    request = translate({"messages": [user(text("search x"))], "tools": [WEB]}, "openai", "gpt-4o-search-preview")
    assert request.body["web_search_options"] == {} and "temperature" not in request.body


def test_web_search_elsewhere_is_refused_with_advice() -> None:
    with pytest.raises(UnsupportedRequest, match=r"router\.websearch"):
        translate({"messages": [user(text("search x"))], "tools": [WEB]}, "groq", "llama")


def test_web_search_among_other_tools_is_dropped_where_unsupported() -> None:
    tools = [WEB, {"name": "Bash", "input_schema": SCHEMA}]
    body = translate({"messages": [user(text("x"))], "tools": tools}, "groq", "llama").body
    assert [t["function"]["name"] for t in body["tools"]] == ["Bash"]


def test_tool_call_ids_go_back_as_the_provider_made_them() -> None:
    """Kimi's `functions.Read:1` came back to Claude Code encoded; a 60-character id from another provider
    is hashed under OpenAI's 40-character limit, the same way in the call and in its result."""
    kimi = "ccmx_" + b"functions.Read:1".hex()
    long_id = "toolu_" + "x" * 54
    out = messages(
        {
            "messages": [
                user(text("go")),
                assistant(tool_use(kimi), tool_use(long_id)),
                user(result(kimi), result(long_id)),
            ]
        }
    )
    calls = [c["id"] for c in out[1]["tool_calls"]]
    assert calls[0] == "functions.Read:1"
    assert len(calls[1]) <= 40 and calls[1].startswith("call_")
    assert [m["tool_call_id"] for m in out[2:4]] == calls


def test_cache_breakpoint_on_a_tool_result_survives_for_openrouter_claude() -> None:
    history = [user(text("go")), assistant(tool_use("t1")), user(result("t1", "out", cache_control=EPHEMERAL))]
    out = messages({"messages": history}, "openrouter", "anthropic/claude-sonnet-4.5")
    assert out[2]["content"] == [{"type": "text", "text": "out", "cache_control": EPHEMERAL}]
    assert messages({"messages": history})[2]["content"] == "out"


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-5", "minimal"),
        ("openai", "gpt-5-mini-2025-08-07", "minimal"),
        ("openai", "gpt-5.1", "none"),
        ("groq", "qwen/qwen3-32b", "none"),
        ("openai", "o3", None),
        ("openai", "gpt-4o", None),
        ("openrouter", "deepseek/deepseek-r1", None),
    ],
)
def test_thinking_disabled_switches_reasoning_off_where_safe(provider: str, model: str, expected: str | None) -> None:
    body = translate({"messages": [user(text("x"))], "thinking": {"type": "disabled"}}, provider, model).body
    assert body.get("reasoning_effort") == expected
    assert "reasoning" not in body
