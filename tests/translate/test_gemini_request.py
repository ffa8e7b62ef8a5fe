"""Anthropic requests as Gemini generateContent bodies: turns, tools, schemas, parameters, thinking and
the thoughtSignature round trip."""

from __future__ import annotations

from typing import Any

import pytest

from ccm.translate.gemini.request import to_gemini_request
from ccm.translate.gemini.schema import json_schema, openapi_schema
from ccm.translate.gemini.signature import DUMMY_SIGNATURE, signature_scope, signed_tool_id
from ccm.translate.signature import sign_thinking
from tests.translate.gemini_helpers import assert_openapi_schema, validate_gemini_request

SCOPE = signature_scope("gemini", "g", "gemini-3-pro-preview")
SIG = "CiQBjz1rX0tO0sGp7hDq8fa+Vn9o2yG/Lw=="
BASH = {
    "name": "Bash",
    "description": "Run",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}


def build(body: dict[str, Any], model: str = "gemini-3-pro-preview", **kw: Any) -> dict[str, Any]:
    out = to_gemini_request({"max_tokens": 100, **body}, model=model, scope=SCOPE, **kw).body
    validate_gemini_request(out)
    return out


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def call(id_: str, name: str = "Bash", **args: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": id_, "name": name, "input": args}


def result(id_: str, content: Any = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": id_, "content": content, **extra}


def test_system_goes_to_system_instruction_without_the_billing_block() -> None:
    system = [
        {"type": "text", "text": "x-anthropic-billing-header: cc_version=1; cch=abc;"},
        {"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Be brief."},
    ]
    out = build({"system": system, "messages": [user("hi")]})
    assert out["systemInstruction"] == {"parts": [{"text": "You are Claude Code.\n\nBe brief."}]}
    assert out["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]


def test_turns_merge_start_with_user_and_system_messages_become_reminders() -> None:
    out = build(
        {
            "messages": [
                assistant("earlier answer"),
                user("one"),
                {"role": "system", "content": "mind the tests"},
                user([{"type": "text", "text": "two"}]),
                assistant([{"type": "text", "text": "a"}]),
                assistant("b"),
                user("three"),
            ]
        }
    )
    roles = [c["role"] for c in out["contents"]]
    assert roles == ["user", "model", "user", "model", "user"]
    assert out["contents"][2]["parts"] == [
        {"text": "one"},
        {"text": "<system-reminder>\nmind the tests\n</system-reminder>"},
        {"text": "two"},
    ]
    assert out["contents"][3]["parts"] == [{"text": "a"}, {"text": "b"}]


def test_images_and_documents_become_inline_data() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAAA"}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "BBBB"}}
    out = build({"messages": [user([image, pdf, {"type": "text", "text": "what is this?"}])]})
    assert out["contents"][0]["parts"] == [
        {"inlineData": {"mimeType": "image/jpeg", "data": "AAAA"}},
        {"inlineData": {"mimeType": "application/pdf", "data": "BBBB"}},
        {"text": "what is this?"},
    ]


def test_tool_results_are_function_responses_named_from_the_call_ids_grouped_in_one_turn() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "QUJD"}}
    out = build(
        {
            "tools": [BASH, {"name": "Read", "input_schema": {"type": "object"}}],
            "messages": [
                user("go"),
                assistant(
                    [{"type": "text", "text": "running"}, call("toolu_1", command="ls"), call("toolu_2", "Read")]
                ),
                user(
                    [
                        result("toolu_2", [{"type": "text", "text": "file"}, image]),
                        result("toolu_1", "a b", is_error=True),
                    ]
                ),
                user("and now?"),
            ],
        }
    )
    model, answer = out["contents"][1], out["contents"][2]
    assert [p["functionCall"]["name"] for p in model["parts"] if "functionCall" in p] == ["Bash", "Read"]
    assert answer["parts"][:2] == [
        {"functionResponse": {"name": "Bash", "response": {"result": "Error: a b"}}},
        {"functionResponse": {"name": "Read", "response": {"result": "file"}}},
    ]
    assert answer["parts"][2] == {"inlineData": {"mimeType": "image/png", "data": "QUJD"}}
    assert answer["parts"][3] == {"text": "and now?"}


def test_lost_results_get_a_stand_in_and_orphans_become_text() -> None:
    out = build(
        {
            "messages": [
                user([result("toolu_gone", "stale")]),
                assistant([call("toolu_1")]),
                user([{"type": "text", "text": "never mind"}]),
            ]
        }
    )
    assert out["contents"][0]["parts"][0]["text"].startswith("Result of tool call toolu_gone")
    answer = out["contents"][2]["parts"]
    assert answer[0]["functionResponse"]["name"] == "Bash"
    assert "not run" in answer[0]["functionResponse"]["response"]["result"]


def test_a_trailing_model_turn_with_unanswered_calls_loses_the_calls() -> None:
    out = build({"messages": [user("go"), assistant([{"type": "text", "text": "ok"}, call("toolu_1")])]})
    assert out["contents"][-1] == {"role": "model", "parts": [{"text": "ok"}]}


def test_signatures_come_back_only_to_their_scope_and_others_get_the_dummy_on_the_first_call() -> None:
    mine = signed_tool_id(SIG, SCOPE)
    other = signed_tool_id(SIG, signature_scope("vertex", "g", "gemini-3-pro-preview"))
    out = build(
        {
            "messages": [
                user("go"),
                assistant([call(mine), call("toolu_b")]),
                user([result(mine), result("toolu_b")]),
                assistant([call(other), call("toolu_c")]),
                user([result(other), result("toolu_c")]),
            ]
        }
    )
    first, second = out["contents"][1]["parts"], out["contents"][3]["parts"]
    assert first[0]["thoughtSignature"] == SIG and "thoughtSignature" not in first[1]
    assert second[0]["thoughtSignature"] == DUMMY_SIGNATURE and "thoughtSignature" not in second[1]


def test_thinking_blocks_return_as_signed_thought_parts_only_for_their_scope() -> None:
    gemini = sign_thinking("pondering", [{"type": "gemini", "scope": SCOPE, "signature": SIG}])
    foreign = sign_thinking("elsewhere", [{"type": "gemini", "scope": "ffffffff", "signature": SIG}])
    carrier = sign_thinking("", [{"type": "gemini", "scope": SCOPE, "signature": "VGV4dA==", "on": "previous"}])
    out = build(
        {
            "messages": [
                user("go"),
                assistant(
                    [
                        {"type": "thinking", "thinking": "pondering", "signature": gemini},
                        {"type": "thinking", "thinking": "elsewhere", "signature": foreign},
                        {"type": "thinking", "thinking": "anthropic", "signature": "EqQBCkYIBxgC"},
                        {"type": "thinking", "thinking": "openai", "signature": sign_thinking("openai")},
                        {"type": "redacted_thinking", "data": "xyz"},
                        {"type": "text", "text": "answer"},
                        {"type": "thinking", "thinking": "", "signature": carrier},
                    ]
                ),
                user("next"),
            ]
        }
    )
    assert out["contents"][1]["parts"] == [
        {"text": "pondering", "thought": True, "thoughtSignature": SIG},
        {"text": "answer", "thoughtSignature": "VGV4dA=="},
    ]


def test_tools_use_json_schema_with_refs_inlined() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "properties": {"root": {"$ref": "#/$defs/Node", "description": "the root", "title": "Root"}},
        "additionalProperties": False,
        "x-vendor": 1,
    }
    out = build({"tools": [{"name": "Tree", "input_schema": schema}], "messages": [user("x")]})
    params = out["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"]
    assert "$schema" not in params and "$defs" not in params and "x-vendor" not in params
    root = params["properties"]["root"]
    assert root["description"] == "the root" and root["title"] == "Root"
    assert root["properties"]["child"]["type"] == "object"  # the cycle is cut, not a dangling ref
    assert "$ref" not in str(params)
    assert params["additionalProperties"] is False


def test_plain_parameters_are_cleaned_of_what_gemini_rejects() -> None:
    schema = {
        "$schema": "x",
        "type": "object",
        "additionalProperties": False,
        "propertyNames": {"pattern": "^a"},
        "properties": {
            "mode": {"const": "fast"},
            "count": {"type": ["integer", "null"], "exclusiveMinimum": 0},
            "url": {"type": "string", "format": "uri"},
            "when": {"type": "string", "format": "date-time"},
            "pick": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "level": {"enum": [1, 2]},
        },
        "required": ["mode", "ghost"],
    }
    out = openapi_schema(schema)
    assert_openapi_schema(out)
    props = out["properties"]
    assert props["mode"] == {"type": "string", "enum": ["fast"]}
    assert props["count"]["type"] == "integer" and props["count"]["nullable"] is True
    assert "exclusiveMinimum: 0" in props["count"]["description"]
    assert "format" not in props["url"] and "uri" in props["url"]["description"]
    assert props["when"]["format"] == "date-time"
    assert props["pick"]["anyOf"] == [{"type": "string"}, {"type": "number"}]
    assert props["level"] == {"type": "string", "enum": ["1", "2"]}
    assert out["required"] == ["mode"]


def test_a_ref_that_is_not_a_string_is_dropped() -> None:
    """Found by the property test: `{"$ref": null}` went to Gemini as it was, which it refuses."""
    assert json_schema({"$ref": None}) == {"type": "object", "properties": {}}
    assert json_schema({"type": "object", "properties": {"a": {"$ref": 5, "type": "string"}}}) == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
    }


def test_annotations_of_the_wrong_type_are_dropped() -> None:
    """Found by the property test: `title: [...]` went to Gemini, which refuses the whole request for it."""
    schema = {"type": "object", "title": ["x"], "properties": {"a": {"type": "string", "maxLength": True}}}
    for translate in (json_schema, openapi_schema):
        out = translate(schema)
        assert "title" not in out and out["properties"]["a"] == {"type": "string"}, out


def test_json_schema_of_nothing_is_an_empty_object() -> None:
    assert json_schema(None) == {"type": "object", "properties": {}}
    assert openapi_schema("junk") == {"type": "object", "properties": {}}


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ({"type": "auto"}, {"mode": "AUTO"}),
        ({"type": "any"}, {"mode": "ANY"}),
        ({"type": "none"}, {"mode": "NONE"}),
        ({"type": "tool", "name": "Bash"}, {"mode": "ANY", "allowedFunctionNames": ["Bash"]}),
    ],
)
def test_tool_choice(choice: dict[str, Any], config: dict[str, Any]) -> None:
    out = build({"tools": [BASH], "tool_choice": choice, "messages": [user("x")]})
    assert out["toolConfig"] == {"functionCallingConfig": config}


def test_long_tool_names_are_shortened_and_mapped_back() -> None:
    name = "mcp__some_server_with_a_long_name__and_a_tool_with_an_even_longer_name_than_that"
    translated = to_gemini_request(
        {"tools": [{"name": name, "input_schema": {}}], "messages": [user("x")]}, model="gemini-2.5-pro", scope=SCOPE
    )
    short = translated.body["tools"][0]["functionDeclarations"][0]["name"]
    assert len(short) <= 64 and translated.tool_names == {short: name}


def test_generation_config() -> None:
    out = build(
        {
            "max_tokens": 5000,
            "temperature": 0.3,
            "top_p": 0.9,
            "top_k": 40,
            "stop_sequences": ["a", "b", "c", "d", "e", "f"],
            "messages": [user("x")],
        },
        max_output_tokens=2000,
    )
    assert out["generationConfig"] == {
        "maxOutputTokens": 2000,
        "temperature": 0.3,
        "topP": 0.9,
        "topK": 40,
        "stopSequences": ["a", "b", "c", "d", "e"],
    }


@pytest.mark.parametrize(
    ("model", "thinking", "effort", "expected"),
    [
        (
            "gemini-2.5-pro",
            {"type": "enabled", "budget_tokens": 50000},
            None,
            {"thinkingBudget": 32768, "includeThoughts": True},
        ),
        (
            "gemini-2.5-pro",
            {"type": "enabled", "budget_tokens": 10},
            None,
            {"thinkingBudget": 128, "includeThoughts": True},
        ),
        (
            "gemini-2.5-flash",
            {"type": "enabled", "budget_tokens": 4000},
            None,
            {"thinkingBudget": 4000, "includeThoughts": True},
        ),
        ("gemini-2.5-pro", {"type": "disabled"}, None, None),
        ("gemini-2.5-flash-lite", {"type": "disabled"}, None, {"thinkingBudget": 0}),
        ("gemini-2.5-flash", {"type": "adaptive"}, "low", {"thinkingBudget": 2048, "includeThoughts": True}),
        ("gemini-3-pro-preview", {"type": "adaptive"}, "max", {"thinkingLevel": "high", "includeThoughts": True}),
        (
            "gemini-3-pro-preview",
            {"type": "enabled", "budget_tokens": 10000},
            None,
            {"thinkingLevel": "high", "includeThoughts": True},
        ),
        (
            "gemini-3-flash-preview",
            {"type": "enabled", "budget_tokens": 10000},
            None,
            {"thinkingLevel": "medium", "includeThoughts": True},
        ),
        (
            "gemini-3-flash-preview",
            {"type": "enabled", "budget_tokens": 500},
            None,
            {"thinkingLevel": "minimal", "includeThoughts": True},
        ),
        ("gemini-3-pro-preview", {"type": "disabled"}, None, {"thinkingLevel": "low", "includeThoughts": False}),
        ("gemini-3-flash-preview", {"type": "disabled"}, None, {"thinkingLevel": "minimal", "includeThoughts": False}),
        ("gemini-2.0-flash", {"type": "enabled", "budget_tokens": 4000}, None, None),
        ("my-tuned-model", {"type": "enabled", "budget_tokens": 4000}, None, None),
    ],
)
def test_thinking_config_by_model_family(
    model: str, thinking: dict[str, Any], effort: str | None, expected: dict[str, Any] | None
) -> None:
    body: dict[str, Any] = {"max_tokens": 64000, "thinking": thinking, "messages": [user("x")]}
    if effort:
        body["output_config"] = {"effort": effort}
    out = build(body, model=model)
    assert out["generationConfig"].get("thinkingConfig") == expected


def test_web_search_alone_becomes_google_search_and_is_dropped_beside_functions() -> None:
    web = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
    alone = to_gemini_request({"tools": [web], "messages": [user("news?")]}, model="gemini-2.5-flash", scope=SCOPE)
    assert alone.body["tools"] == [{"googleSearch": {}}] and alone.web_search
    mixed = build({"tools": [web, BASH], "messages": [user("x")]})
    assert mixed["tools"] == [{"functionDeclarations": [mixed["tools"][0]["functionDeclarations"][0]]}]


def test_output_format_becomes_a_json_response_schema() -> None:
    fmt = {"type": "json_schema", "schema": {"type": "object", "properties": {"title": {"type": "string"}}}}
    out = build({"output_config": {"format": fmt}, "messages": [user("title?")]})
    assert out["generationConfig"]["responseMimeType"] == "application/json"
    assert out["generationConfig"]["responseJsonSchema"]["properties"] == {"title": {"type": "string"}}


@pytest.mark.parametrize(
    ("model", "limit"),
    [("gemini-2.5-pro", 65536), ("gemini-3-pro-preview", 65536), ("gemini-2.0-flash", 8192), ("x", 128000)],
)
def test_max_tokens_is_clamped_to_the_family_limit(model: str, limit: int) -> None:
    out = build({"max_tokens": 128000, "messages": [user("x")]}, model=model)
    assert out["generationConfig"]["maxOutputTokens"] == limit


def test_an_effort_budget_leaves_room_for_the_answer() -> None:
    body = {"max_tokens": 8000, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}
    out = build({**body, "messages": [user("x")]}, model="gemini-2.5-flash")
    assert out["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 4000


def test_repeated_call_ids_each_get_their_own_result() -> None:
    out = build(
        {
            "messages": [
                user("go"),
                assistant([call("toolu_0"), call("toolu_0", "Read")]),
                user([result("toolu_0", "first")]),
            ]
        }
    )
    answers = [p["functionResponse"] for p in out["contents"][2]["parts"]]
    assert [a["name"] for a in answers] == ["Bash", "Read"]
    assert answers[0]["response"]["result"] == "first" and "not run" in answers[1]["response"]["result"]
