"""Property tests for the Responses wire: any valid Anthropic request obeys the backend's rules, and any
chunking or cut of a scripted stream gives the whole answer or no clean end (never a partial tool call)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ccm.providers.responses import ADAPTER
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.responses.input import ReasoningOrigin
from ccm.translate.signature import sign_thinking
from tests.fakes.responses import event, failed, responses_stream, violations
from tests.translate.responses_helpers import assert_well_formed, build, events, make_ctx, sse_of
from tests.translate.test_properties import SETTINGS, requests

ENC = "gAAAAB-encrypted"
ORIGIN = ReasoningOrigin("chatgpt", "gpt-5.5")


@st.composite
def with_own_reasoning(draw: st.DrawFn) -> dict[str, Any]:
    """A random request whose assistant turns may carry thinking blocks this provider signed."""
    body = draw(requests())
    for message in body["messages"]:
        if message["role"] == "assistant" and isinstance(message["content"], list) and draw(st.booleans()):
            origin = draw(st.sampled_from([ORIGIN, ReasoningOrigin("chatgpt", "gpt-5.4"), ReasoningOrigin("x", "m")]))
            signature = sign_thinking("t", [origin.state(ENC)])
            message["content"].insert(0, {"type": "thinking", "thinking": "t", "signature": signature})
    return body


@SETTINGS
@given(body=with_own_reasoning(), backend=st.booleans(), stream=st.booleans(), session=st.sampled_from([None, "s-1"]))
def test_any_request_obeys_the_rules(body: dict[str, Any], backend: bool, stream: bool, session: str | None) -> None:
    headers = {"x-claude-code-session-id": session} if session else {}
    request, sent = build(body, make_ctx(backend=backend, stream=stream, headers=headers))
    if not sent["input"]:
        return  # nothing the client sent is translatable (the proxy's validation refuses empty turns)
    assert violations(sent, request.headers, backend=backend) == []
    own = [i for i in sent["input"] if i["type"] == "reasoning"]
    assert all(i == {"type": "reasoning", "summary": [], "encrypted_content": ENC} for i in own)


CALLS = [("call_a", "Bash", {"command": "echo 'hi there'"}), ("call_b", "Read", {"file_path": "/tmp/ü.txt"})]
SCRIPTS = {
    "text": responses_stream("Hello, wörld! ✓ " * 3, pieces=5),
    "reasoning": responses_stream("Answer.", summary=["Step one.", "Step two."], encrypted=ENC, pieces=4),
    "calls": responses_stream("Both.", CALLS, interleave=True, pieces=4),
    "incomplete": responses_stream("Cut", terminal="response.incomplete", incomplete_reason="max_output_tokens"),
}


def translate(data: bytes, cuts: list[int]) -> tuple[list[dict[str, Any]], bool]:
    translator = ADAPTER.stream(make_ctx(), "text/event-stream")
    frames = []
    last = 0
    for cut in [*sorted(cuts), len(data)]:
        frames += translator.feed(data[last:cut])
        last = cut
    frames += translator.finish()
    return events(frames), translator.complete


@SETTINGS
@given(name=st.sampled_from(sorted(SCRIPTS)), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_gives_the_same_answer(name: str, cuts: list[int]) -> None:
    data = sse_of(SCRIPTS[name])
    whole, _ = translate(data, [])
    evs, complete = translate(data, [c % (len(data) + 1) for c in cuts])
    assert complete
    assert_well_formed(evs)
    strip = lambda m: {k: v for k, v in m.items() if k != "id"}  # noqa: E731
    assert strip(message_from_events(evs)) == strip(message_from_events(whole))


@SETTINGS
@given(
    name=st.sampled_from(sorted(SCRIPTS)), end=st.integers(0, 10_000), cuts=st.lists(st.integers(0, 10_000), max_size=6)
)
def test_any_cut_is_the_whole_answer_or_never_a_clean_end(name: str, end: int, cuts: list[int]) -> None:
    data = sse_of(SCRIPTS[name])
    cut = data[: end % (len(data) + 1)]
    evs, complete = translate(cut, [c % (len(cut) + 1) for c in cuts])
    kinds = [e["type"] for e in evs]
    if complete:
        assert_well_formed(evs)
        whole, _ = translate(data, [])
        assert message_from_events(evs)["content"] == message_from_events(whole)["content"]
        return
    assert "message_stop" not in kinds and "message_delta" not in kinds
    expected = {call_id: args for call_id, _, args in CALLS}
    for e in evs:  # a tool call reaches the client only whole
        block = e.get("content_block") or {}
        if block.get("type") == "tool_use":
            delta = next(d for d in evs if d.get("index") == e["index"] and d["type"] == "content_block_delta")
            assert json.loads(delta["delta"]["partial_json"]) == expected[block["id"]]


@SETTINGS
@given(name=st.sampled_from(sorted(SCRIPTS)), at=st.integers(0, 100))
def test_an_error_anywhere_is_an_error_frame_and_never_a_clean_end(name: str, at: int) -> None:
    chunks = SCRIPTS[name][:-1]
    position = at % (len(chunks) + 1)
    broken = [*chunks[:position], failed("server_error", "boom"), *SCRIPTS[name][-1:]]
    evs, complete = translate(sse_of(broken), [])
    assert not complete and evs[-1]["type"] == "error" and "message_stop" not in [e["type"] for e in evs]
    if not any(e["type"] == "content_block_start" for e in evs):
        assert [e["type"] for e in evs] == ["error"]  # before any content: the only frame (fail over)


def test_codex_metadata_anywhere_changes_nothing() -> None:
    chunks = SCRIPTS["calls"]
    noisy = [c for chunk in chunks for c in (event("codex.rate_limits", primary={"used_percent": 1}), chunk)]
    assert (
        message_from_events(translate(sse_of(noisy), [])[0])["content"]
        == (message_from_events(translate(sse_of(chunks), [])[0])["content"])
    )
