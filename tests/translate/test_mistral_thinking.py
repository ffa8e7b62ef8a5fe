"""Mistral's magistral models send their reasoning on the OpenAI Chat wire as content parts,
`[{"type": "thinking", "thinking": [{"type": "text", "text": ...}]}, {"type": "text", "text": ...}]`
(the shape of recorded real answers): it becomes a thinking block, streamed or not, however it is cut."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ccm.translate.anthropic_events import message_from_events
from ccm.translate.openai.response import to_anthropic_message
from tests.translate.helpers import chunk, events, make_ctx, run_stream, sse_bytes
from tests.translate.test_properties import SETTINGS, _split

ANSWER = {
    "id": "5c6f1e9c",
    "object": "chat.completion",
    "created": 1765000000,
    "model": "magistral-medium-2509",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "tool_calls": None,
                "content": [
                    {
                        "type": "thinking",
                        "thinking": [
                            {"type": "text", "text": "The user asks 2+2. "},
                            {"type": "text", "text": "That is 4."},
                        ],
                    },
                    {"type": "text", "text": "2 + 2 = **4**."},
                ],
            },
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 12, "total_tokens": 60, "completion_tokens": 48},
}


def test_a_whole_answer_has_a_thinking_block_then_the_text() -> None:
    message = to_anthropic_message(ANSWER, model="claude-sonnet-4-5")
    thinking, text = message["content"]
    assert thinking["type"] == "thinking" and thinking["thinking"] == "The user asks 2+2. That is 4."
    assert thinking["signature"]  # ccm signs what it makes, as for every translated reasoning
    assert text == {"type": "text", "text": "2 + 2 = **4**."}
    assert message["stop_reason"] == "end_turn"


def _thinking_delta(piece: str) -> dict[str, Any]:
    return {"content": [{"type": "thinking", "thinking": [{"type": "text", "text": piece}]}]}


words = st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=40)


@SETTINGS
@given(
    reasoning=words,
    text=words,
    cuts=st.lists(st.integers(0, 200), max_size=12),
    byte_cuts=st.lists(st.integers(0, 4000), max_size=20),
    text_as_parts=st.booleans(),
)
def test_any_chunking_of_a_stream_gives_one_thinking_block_then_the_text(
    reasoning: str, text: str, cuts: list[int], byte_cuts: list[int], text_as_parts: bool
) -> None:
    chunks: list[Any] = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk(_thinking_delta(p)) for p in _split(reasoning, cuts)]
    for piece in _split(text, cuts[::-1]):
        chunks.append(chunk({"content": [{"type": "text", "text": piece}] if text_as_parts else piece}))
    chunks.append(chunk({}, "stop", {"prompt_tokens": 5, "completion_tokens": 5}))
    raw = sse_bytes(chunks)
    points = sorted({c % (len(raw) + 1) for c in byte_cuts})
    pieces = [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True)]
    message = message_from_events(
        events(run_stream(make_ctx("openai-compatible", "magistral-medium-2509", base_url="http://x/v1"), pieces))
    )
    kinds = [b["type"] for b in message["content"]]
    assert kinds == (["thinking"] if reasoning else []) + (["text"] if text else [])
    if reasoning:
        assert message["content"][0]["thinking"] == reasoning and message["content"][0]["signature"]
    if text:
        assert message["content"][-1]["text"] == text
