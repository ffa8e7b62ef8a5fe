"""Property tests: random valid Anthropic requests always translate to valid Chat Completions requests, and
any chunking of a recorded OpenAI stream (bytes split anywhere, deltas split anywhere) gives the same answer."""

from __future__ import annotations

import re
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.translate.anthropic_events import message_from_events
from ccm.translate.openai.request import UnsupportedRequest, to_openai_request
from ccm.translate.profile import profile_for
from ccm.translate.signature import sign_thinking
from ccm.translate.think_tags import ThinkTagSplitter, split_think_tags
from ccm.translate.tool_args import parse_tool_arguments
from config.catalog import CATALOG
from tests.translate.helpers import chunk, events, make_ctx, run_stream, sse_bytes, validate_openai_request

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)
names = st.one_of(
    st.sampled_from(["Bash", "Read", "Edit", "ToolSearch", "mcp__server__tool"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,90}", fullmatch=True),
)
ids = st.from_regex(r"(toolu|call)_[A-Za-z0-9]{1,12}", fullmatch=True)
cache = st.one_of(st.just({}), st.just({"cache_control": {"type": "ephemeral"}}))


@st.composite
def text_block(draw: st.DrawFn) -> dict[str, Any]:
    return {"type": "text", "text": draw(st.text(max_size=40)), **draw(cache)}


image_block = st.builds(
    lambda data, kind: (
        {"type": "image", "source": {"type": "base64", "media_type": kind, "data": data}}
        if data
        else {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    ),
    st.text(alphabet="ABCDEFabcdef0123456789+/", max_size=16),
    st.sampled_from(["image/png", "image/jpeg"]),
)


@st.composite
def tool_result(draw: st.DrawFn, tool_id: str) -> dict[str, Any]:
    content = draw(st.one_of(st.text(max_size=30), st.lists(st.one_of(text_block(), image_block), max_size=3)))
    block = {"type": "tool_result", "tool_use_id": tool_id, "content": content, **draw(cache)}
    if draw(st.booleans()):
        block["is_error"] = draw(st.booleans())
    return block


@st.composite
def conversation(draw: st.DrawFn) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 5))):
        user_blocks = draw(st.lists(st.one_of(text_block(), image_block), max_size=3))
        pending = [
            b["id"]
            for b in (messages[-1]["content"] if messages and isinstance(messages[-1]["content"], list) else [])
            if b.get("type") == "tool_use"
        ]
        results = [draw(tool_result(i)) for i in pending if draw(st.integers(0, 5))]
        if draw(st.booleans()):
            messages.append({"role": "user", "content": draw(st.text(max_size=30))})
        else:
            messages.append({"role": "user", "content": results + user_blocks})
        if draw(st.integers(0, 4)) == 0:
            messages.append(
                {"role": "system", "content": draw(st.one_of(st.text(max_size=20), st.lists(text_block(), max_size=2)))}
            )
        blocks: list[dict[str, Any]] = []
        if draw(st.booleans()):
            thought = draw(st.text(max_size=30))
            signature = sign_thinking(thought) if draw(st.booleans()) else "EqQBCkgIARAB"
            blocks.append({"type": "thinking", "thinking": thought, "signature": signature})
        if draw(st.booleans()):
            blocks.append({"type": "redacted_thinking", "data": "xyz"})
        blocks += draw(st.lists(text_block(), max_size=2))
        for _ in range(draw(st.integers(0, 3))):
            blocks.append({"type": "tool_use", "id": draw(ids), "name": draw(names), "input": draw(json_objects)})
        messages.append({"role": "assistant", "content": draw(st.one_of(st.just(blocks), st.text(max_size=20)))})
    if draw(st.booleans()):
        messages.append({"role": "user", "content": [draw(text_block())]})
    return messages


@st.composite
def tools(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            out.append(
                {
                    "type": draw(st.sampled_from(["bash_20250124", "text_editor_20250429", "web_fetch_20250910"])),
                    "name": "x",
                }
            )
        elif kind == 1:
            out.append({"name": draw(names), "input_schema": {"type": "object"}, "defer_loading": True})
        else:
            schema = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "properties": {"a": {"type": "string"}},
            }
            tool = {
                "name": draw(names),
                "input_schema": draw(st.one_of(st.just(schema), st.just({}), json_objects)),
                **draw(cache),
            }
            if draw(st.booleans()):
                tool["description"] = draw(st.text(max_size=30))
            out.append(tool)
    return out


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-x",
        "max_tokens": draw(st.integers(1, 200_000)),
        "messages": draw(conversation()),
    }
    if draw(st.booleans()):
        body["system"] = draw(st.one_of(st.text(max_size=30), st.lists(text_block(), max_size=3)))
    body["tools"] = draw(tools())
    if draw(st.booleans()):
        choice: dict[str, Any] = {"type": draw(st.sampled_from(["auto", "any", "none", "tool"]))}
        if choice["type"] == "tool":
            choice["name"] = draw(names)
        if draw(st.booleans()):
            choice["disable_parallel_tool_use"] = draw(st.booleans())
        body["tool_choice"] = choice
    body["thinking"] = draw(
        st.one_of(
            st.none(),
            st.builds(lambda b: {"type": "enabled", "budget_tokens": b}, st.integers(1024, 64000)),
            st.just({"type": "adaptive", "display": "omitted"}),
            st.just({"type": "disabled"}),
        )
    )
    if body["thinking"] is None:
        del body["thinking"]
    if draw(st.booleans()):
        body["output_config"] = draw(
            st.one_of(
                st.builds(lambda e: {"effort": e}, st.sampled_from(["low", "medium", "high", "max"])),
                st.just(
                    {
                        "format": {
                            "type": "json_schema",
                            "schema": {"type": "object", "properties": {"t": {"type": "string"}}},
                        }
                    }
                ),
            )
        )
    for key, strategy in (
        ("temperature", st.floats(0, 1)),
        ("top_p", st.floats(0, 1)),
        ("top_k", st.integers(1, 100)),
        ("stop_sequences", st.lists(st.text(max_size=5), max_size=6)),
        ("metadata", st.builds(lambda u: {"user_id": u}, st.text(max_size=120))),
        ("context_management", st.just({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]})),
    ):
        if draw(st.booleans()):
            body[key] = draw(strategy)
    return body


OPENAI_TYPES = sorted(t for t, spec in CATALOG.items() if spec.wire == "openai")


@SETTINGS
@given(
    body=requests(),
    provider=st.sampled_from(OPENAI_TYPES),
    model=st.sampled_from(["gpt-5", "gpt-4o", "deepseek-chat", "anthropic/claude-sonnet-4.5", "kimi-k2-thinking", "m"]),
    stream=st.booleans(),
)
def test_any_valid_request_translates_to_a_valid_chat_completions_request(
    body: dict[str, Any], provider: str, model: str, stream: bool
) -> None:
    before = orjson.dumps(body)
    try:
        request = to_openai_request(body, profile_for(provider, model), stream=stream)
    except UnsupportedRequest:
        return
    validate_openai_request(request.body)
    assert orjson.dumps(body) == before
    for short, original in request.tool_names.items():
        assert len(short) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", short) and original != short
    for tool in request.body.get("tools", []):
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool["function"]["name"])


# -- streams ----------------------------------------------------------------------------------------------

RECORDED = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "Let me think about «this» 🤔 "}),
    chunk({"reasoning_content": "carefully."}),
    chunk({"content": "Voilà: "}),
    chunk({"content": "два инструмента."}),
    chunk(
        {
            "tool_calls": [
                {"index": 0, "id": "call_a", "type": "function", "function": {"name": "Bash", "arguments": ""}}
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"command": "echo '}}]}),
    chunk(
        {
            "tool_calls": [
                {"index": 1, "id": "call_b", "type": "function", "function": {"name": "Read", "arguments": '{"file_'}}
            ]
        }
    ),
    chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'é"}'}}]}),
    chunk({"tool_calls": [{"index": 1, "function": {"arguments": 'path": "/ü"}'}}]}),
    chunk({}, "tool_calls"),
    chunk(
        choices=False,
        usage={"prompt_tokens": 120, "completion_tokens": 33, "prompt_tokens_details": {"cached_tokens": 100}},
    ),
]
RAW = sse_bytes(RECORDED)


def _normalised(frames: list[Any]) -> list[dict[str, Any]]:
    evs = events(frames)
    evs[0] = {**evs[0], "message": {**evs[0]["message"], "id": "msg"}}
    return evs


REFERENCE = _normalised(run_stream(make_ctx(), [RAW]))


@SETTINGS
@given(cuts=st.lists(st.integers(0, len(RAW)), max_size=40))
def test_any_byte_chunking_yields_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    pieces = [RAW[a:b] for a, b in zip([0, *points], [*points, len(RAW)], strict=True)]
    assert _normalised(run_stream(make_ctx(), pieces)) == REFERENCE


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [p for p in (text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)) if p]


@SETTINGS
@given(
    reasoning=st.text(max_size=30),
    text=st.text(max_size=40),
    args=json_objects,
    cuts=st.lists(st.integers(0, 200), max_size=12),
    inline_think=st.booleans(),
)
def test_any_delta_chunking_yields_the_same_message(
    reasoning: str, text: str, args: dict[str, Any], cuts: list[int], inline_think: bool
) -> None:
    """However the upstream splits reasoning, text and arguments into deltas, the answer is the same."""
    arguments = orjson.dumps(args).decode()
    content = f"<think>{reasoning}</think>{text}" if inline_think and reasoning else text
    chunks: list[Any] = [chunk({"role": "assistant"})]
    if not inline_think:
        chunks += [chunk({"reasoning_content": p}) for p in _split(reasoning, cuts)]
    chunks += [chunk({"content": p}) for p in _split(content, cuts[::-1])]
    chunks.append(chunk({"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "Bash", "arguments": ""}}]}))
    chunks += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in _split(arguments, cuts)]
    chunks.append(chunk({}, "tool_calls", {"prompt_tokens": 5, "completion_tokens": 5}))
    message = message_from_events(events(run_stream(make_ctx(), [sse_bytes(chunks)])))
    blocks = message["content"]
    thinking = [b["thinking"] for b in blocks if b["type"] == "thinking"]
    texts = [b["text"] for b in blocks if b["type"] == "text"]
    expected_text = text.lstrip() if inline_think and reasoning else text
    assert "".join(thinking) == reasoning
    assert "".join(texts) == expected_text
    assert blocks[-1] == {"type": "tool_use", "id": "call_1", "name": "Bash", "input": args}
    assert message["stop_reason"] == "tool_use"


# -- tool arguments and think tags ------------------------------------------------------------------------


@SETTINGS
@given(obj=json_objects)
def test_valid_arguments_round_trip_and_truncations_never_raise(obj: dict[str, Any]) -> None:
    raw = orjson.dumps(obj).decode()
    assert parse_tool_arguments(raw) == (obj, "ok")
    for end in range(0, len(raw), max(1, len(raw) // 7)):
        value, outcome = parse_tool_arguments(raw[:end])
        assert isinstance(value, dict) and outcome in ("ok", "repaired", "invalid")


@SETTINGS
@given(text=st.text(max_size=60), cuts=st.lists(st.integers(0, 80), max_size=10))
def test_think_tag_splitting_is_chunking_independent(text: str, cuts: list[int]) -> None:
    whole = split_think_tags(text)
    splitter = ThinkTagSplitter()
    pieces: list[tuple[str, str]] = []
    for part in _split(text, cuts):
        pieces += splitter.feed(part)
    pieces += splitter.flush()
    assert ("".join(p for k, p in pieces if k == "thinking"), "".join(p for k, p in pieces if k == "text")) == whole
