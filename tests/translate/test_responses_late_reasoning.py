"""OpenRouter's Responses stream (the shape of recorded real answers) streams a reasoning item, then the
message, and only then finishes the reasoning item (`response.reasoning_text.done`, `output_item.done`),
whose id need not be the one its deltas carried; the final `response.completed` lists it again. However it
is cut into chunks, the answer has one thinking block, before the text: never a copy after it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ccm.translate.anthropic_events import message_from_events
from tests.fakes.responses import event, usage
from tests.translate.responses_helpers import assert_well_formed, sse_of
from tests.translate.test_properties import SETTINGS, _split
from tests.translate.test_responses_properties import translate

words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def late_reasoning_stream(reasoning: list[str], text: str, delta_id: str | None, done_id: str) -> list[bytes]:
    whole = "".join(reasoning)
    item = {"type": "reasoning", "id": done_id, "summary": [], "content": [{"type": "reasoning_text", "text": whole}]}
    message = {
        "type": "message",
        "id": "msg_1",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    deltas = {"item_id": delta_id} if delta_id else {}
    return [
        event("response.created", response={"id": "gen-1", "status": "in_progress", "output": []}),
        event("response.output_item.added", output_index=0, item={**item, "content": []}),
        *(
            event("response.reasoning_text.delta", output_index=0, content_index=0, delta=p, **deltas)
            for p in reasoning
        ),
        event("response.output_item.added", output_index=1, item={**message, "content": [], "status": "in_progress"}),
        event("response.output_text.delta", item_id="msg_1", output_index=1, content_index=0, delta=text),
        event("response.output_text.done", item_id="msg_1", output_index=1, content_index=0, text=text),
        event("response.output_item.done", output_index=1, item=message),
        event("response.reasoning_text.done", item_id=done_id, output_index=0, content_index=0, text=whole),
        event("response.output_item.done", output_index=0, item=item),
        event(
            "response.completed",
            response={"id": "gen-1", "status": "completed", "output": [item, message], "usage": usage()},
        ),
    ]


@SETTINGS
@given(
    reasoning=words,
    text=words,
    splits=st.lists(st.integers(0, 60), max_size=6),
    ids=st.sampled_from([("rs_1", "rs_1"), (None, "rs_1"), ("rs_tmp", "rs_1")]),
    cuts=st.lists(st.integers(0, 10_000), max_size=12),
)
def test_a_late_reasoning_item_is_not_a_second_thinking_block(
    reasoning: str, text: str, splits: list[int], ids: tuple[str | None, str], cuts: list[int]
) -> None:
    data = sse_of(late_reasoning_stream(_split(reasoning, splits), text, *ids))
    evs, complete = translate(data, [c % (len(data) + 1) for c in cuts])
    assert complete
    assert_well_formed(evs)
    blocks: list[dict[str, Any]] = message_from_events(evs)["content"]
    assert [b["type"] for b in blocks] == ["thinking", "text"]
    assert blocks[0]["thinking"] == reasoning and blocks[1]["text"] == text
