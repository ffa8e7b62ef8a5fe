"""ccm.providers.anthropic_compat: what a third-party host's refusal names, and how a request is adapted."""

from __future__ import annotations

import itertools
import json
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ccm.providers import anthropic_compat as compat
from ccm.providers.anthropic_compat import Fix, Sent, adapt, named, system_as_user


def test_system_messages_merge_into_the_user_turn_before_them() -> None:
    messages = [
        {"role": "user", "content": "run it"},
        {"role": "system", "content": "# Environment"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
        {"role": "system", "content": [{"type": "text", "text": "agents", "cache_control": {"type": "ephemeral"}}]},
    ]
    out = system_as_user(messages)
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert out[0]["content"] == [
        {"type": "text", "text": "run it"},
        {"type": "text", "text": "<system-reminder>\n# Environment\n</system-reminder>"},
    ]
    assert out[2]["content"][0]["type"] == "tool_result"  # still first after the tool_use
    assert out[2]["content"][1] == {
        "type": "text",
        "text": "<system-reminder>\nagents\n</system-reminder>",
        "cache_control": {"type": "ephemeral"},
    }
    assert messages[0] == {"role": "user", "content": "run it"}  # the client's body is not changed


def test_a_system_message_after_an_assistant_turn_goes_into_the_next_user_turn_after_its_tool_results() -> None:
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "x", "input": {}}]},
        {"role": "system", "content": "s"},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}, {"type": "text", "text": "b"}]},
    ]
    out = system_as_user(messages)
    assert [m["role"] for m in out] == ["user", "assistant", "user"]
    assert [b["type"] for b in out[2]["content"]] == ["tool_result", "text", "text"]
    assert "s" in out[2]["content"][1]["text"]


def test_a_system_message_between_assistants_or_last_after_one_becomes_a_user_turn() -> None:
    out = system_as_user([{"role": "system", "content": "first"}, {"role": "assistant", "content": "x"}])
    assert [m["role"] for m in out] == ["user", "assistant"]
    out = system_as_user(
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": "x"}, {"role": "system", "content": "z"}]
    )
    assert [m["role"] for m in out] == ["user", "assistant", "user"]


conversation = st.lists(st.sampled_from(["turn", "system"]), min_size=1, max_size=12)


@given(conversation)
def test_any_conversation_keeps_every_text_and_alternates(shape: list[str]) -> None:
    messages: list[dict[str, Any]] = []
    role = "user"
    for i, kind in enumerate(shape):
        if kind == "system":
            messages.append({"role": "system", "content": f"sys-{i}"})
        else:
            messages.append({"role": role, "content": f"{role}-{i}"})
            role = "assistant" if role == "user" else "user"
    out = system_as_user(messages)
    roles = [m["role"] for m in out]
    assert "system" not in roles
    assert all(a != b for a, b in itertools.pairwise(roles))
    dumped = json.dumps(out)
    for message in messages:
        assert message["content"] in dumped
    turns = [m for m in messages if m["role"] != "system"]
    if turns and turns[0]["role"] == "user":
        assert roles[0] == "user"


def sent(**over: Any) -> Sent:
    base = Sent(frozenset({"context_management", "output_config", "thinking", "metadata"}), ("a-1", "b-2"))
    for key, value in over.items():
        setattr(base, key, value)
    return base


def test_what_real_refusals_name() -> None:
    def said(status: int, body: Any, **over: Any) -> Fix:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)
        return named(status, raw, sent(**over))

    error = lambda m: {"type": "error", "error": {"type": "invalid_request_error", "message": m}}  # noqa: E731
    assert said(400, error("context_management: Extra inputs are not permitted")) == Fix(
        fields=frozenset({"context_management"})
    )
    assert said(400, error("unknown field `output_config`, expected one of ...")).fields == {"output_config"}
    deepseek = "messages[1].role: unknown variant `system`, expected `user` or `assistant`"
    assert said(400, error(deepseek), system_messages=True) == Fix(system_messages=True)
    assert said(400, error(deepseek)) == Fix()  # nothing to adapt when no system message was sent
    minimax = {"base_resp": {"status_msg": "invalid params, chat content has invalid message role: system (2013)"}}
    assert said(400, minimax, system_messages=True).system_messages
    zai = {"detail": [{"type": "literal_error", "loc": ["body", "messages", 1, "role"], "input": "system"}]}
    assert said(422, zai, system_messages=True) == Fix(system_messages=True)
    moonshot = (
        "failed to convert tool result content: unsupported content type in ContentBlockParamUnion: tool_reference"
    )
    assert said(400, error(moonshot), blocks=frozenset({"tool_reference"})).blocks == {"tool_reference"}
    vertex = "Unexpected value(s) `b-2` for the `anthropic-beta` header"
    assert said(400, error(vertex)) == Fix(betas=frozenset({"b-2"}))
    several = "2 validation errors: context_management: Extra inputs; output_config: Extra inputs"
    assert said(400, error(several)).fields == {"context_management", "output_config"}
    assert said(400, error("anthropic-version: unsupported"), version="2026-10-21").version
    assert said(400, b"context_management: not here") == Fix(fields=frozenset({"context_management"}))  # not JSON


def test_what_refusals_do_not_name() -> None:
    def said(status: int, message: str) -> Fix:
        return named(status, orjson.dumps({"error": {"message": message}}), sent(system_messages=True))

    assert said(500, "context_management: Extra inputs are not permitted") == Fix()  # not a refusal
    assert said(401, "context_management") == Fix()
    assert said(400, "Invalid request Error") == Fix()  # Kimi: names nothing
    assert said(400, "messages.1.content.0.thinking.signature: invalid") == Fix()  # a nested path, not `thinking`
    assert said(400, "max_tokens: must be at most 8192") == Fix()  # kept fields are never learnt
    # A path into a field the host knows is a bad value, not an unknown field: nothing to drop.
    assert said(400, "thinking.budget_tokens: must be less than max_tokens") == Fix()
    bad_value = {"detail": [{"loc": ["body", "thinking", "budget_tokens"], "msg": "too big"}]}
    assert named(422, orjson.dumps(bad_value), sent()) == Fix()
    # A validator that echoes the whole request as `input` names nothing by that echo.
    echo = {"detail": [{"loc": ["body"], "msg": "too big", "input": {"context_management": {}, "metadata": {}}}]}
    assert named(422, orjson.dumps(echo), sent()) == Fix()


def test_adapt_drops_only_what_it_is_told_and_never_messages_tools_or_system() -> None:
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "q"}],
        "system": "s",
        "tools": [{"name": "t"}],
        "max_tokens": 5,
        "context_management": {"edits": []},
        "metadata": {"user_id": "u"},
    }
    headers = {"anthropic-version": "2026-10-21", "anthropic-beta": "a-1,context-management-2025-06-27,b-2"}
    fix = Fix(
        fields=frozenset({"messages", "tools", "system", "metadata"}),
        betas=frozenset({"context-management-2025-06-27"}),
        version=True,
    )
    out = adapt(body, headers, fix)
    assert out == {k: v for k, v in body.items() if k not in ("metadata", "context_management")}
    assert headers == {"anthropic-version": "2023-06-01", "anthropic-beta": "a-1,b-2"}
    assert "metadata" in body  # the client's body is left alone
    adapt(body, headers, Fix(betas=frozenset({"a-1", "b-2"})))
    assert "anthropic-beta" not in headers


def test_blocks_become_text_in_tool_results_too() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [{"type": "tool_reference", "tool_name": "WebSearch"}],
                    }
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "server_tool_use", "id": "s", "name": "web_search", "input": {"query": "q"}}],
            },
        ]
    }
    out = adapt(body, {}, Fix(blocks=frozenset({"tool_reference", "server_tool_use"})))
    assert out["messages"][0]["content"][0]["content"] == [{"type": "text", "text": "Tool loaded: WebSearch"}]
    text = out["messages"][1]["content"][0]
    assert text["type"] == "text" and "web_search" in text["text"] and '"query"' in text["text"]


def test_learnt_fixes_add_up_per_provider_and_model() -> None:
    compat.remember("Zai", "glm", Fix(fields=frozenset({"a"})))
    compat.remember("zai", "glm", Fix(betas=frozenset({"b"})))
    assert compat.learnt("ZAI", "glm") == Fix(fields=frozenset({"a"}), betas=frozenset({"b"}))
    assert compat.learnt("zai", "other") == Fix()
