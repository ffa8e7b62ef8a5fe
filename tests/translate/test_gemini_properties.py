"""Property tests for the Gemini wire: random valid Anthropic requests always give valid generateContent
bodies, any byte chunking of a Gemini stream gives the same answer, and any cut of it gives the whole
answer or an error, never a clean partial."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from ccm.providers.base import InvalidUpstream
from ccm.providers.gemini import ADAPTER
from ccm.translate.anthropic_events import message_from_events
from ccm.translate.gemini.request import to_gemini_request
from ccm.translate.gemini.signature import DUMMY_SIGNATURE, call_signature, signature_scope
from tests.translate.gemini_helpers import events, gemini_ctx, response, run, sse, usage, validate_gemini_request
from tests.translate.test_properties import SETTINGS, json_objects, requests

SIGS = st.one_of(st.none(), st.sampled_from(["CiQBjz1rX0tO0sGp7hDq8fa+Vn9o2yG/Lw==", "AAAA", "c2ln"]))


@st.composite
def parts(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        part: dict[str, Any] = {"text": draw(st.text(min_size=1, max_size=20)), "thought": True}
        out.append(part)
    for _ in range(draw(st.integers(0, 3))):
        out.append({"text": draw(st.text(min_size=1, max_size=20))})
    for _ in range(draw(st.integers(0, 3))):
        out.append({"functionCall": {"name": draw(st.sampled_from(["Bash", "Read"])), "args": draw(json_objects)}})
    for part in out:
        signature = draw(SIGS)
        if signature:
            part["thoughtSignature"] = signature
    if not any("functionCall" in p or not p.get("thought") for p in out):
        out.append({"text": "answer"})
    return out


def stream_body(answer_parts: list[dict[str, Any]], finish: str = "STOP") -> bytes:
    chunks = [response(p, finish=None) for p in answer_parts]
    chunks.append(response(finish=finish, usage=usage(30, 9, thoughts=2)))
    return sse(*chunks)


def fresh_ctx() -> Any:
    ctx = gemini_ctx("gemini-3-pro-preview")
    ADAPTER.build({"max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}, ctx)
    return ctx


def comparable(message: dict[str, Any]) -> dict[str, Any]:
    """Ids of calls are random apart from the signature they carry: compare that and everything else."""
    scope = signature_scope("gemini", "g", "gemini-3-pro-preview")
    content = [
        {**b, "id": call_signature(b["id"], scope)} if b["type"] == "tool_use" else b for b in message["content"]
    ]
    return {**message, "id": None, "content": content}


@SETTINGS
@given(body=requests(), model=st.sampled_from(["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "x"]))
def test_any_valid_request_translates_to_a_valid_generate_content_body(body: dict[str, Any], model: str) -> None:
    original = orjson.dumps(body)
    for plain in (False, True):
        translated = to_gemini_request(body, model=model, scope="0badcafe", plain_parameters=plain)
        validate_gemini_request(translated.body)
    assert orjson.dumps(body) == original


@SETTINGS
@given(answer_parts=parts(), cuts=st.lists(st.integers(0, 10_000), max_size=8))
def test_any_byte_chunking_gives_the_same_answer(answer_parts: list[dict[str, Any]], cuts: list[int]) -> None:
    body = stream_body(answer_parts)
    whole = message_from_events(events(run(fresh_ctx(), [body])))
    points = sorted({c % (len(body) + 1) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    split = message_from_events(events(run(fresh_ctx(), pieces)))
    assert comparable(split) == comparable(whole)
    assert whole["stop_reason"] == ("tool_use" if any("functionCall" in p for p in answer_parts) else "end_turn")


@SETTINGS
@given(answer_parts=parts(), cut=st.integers(0, 10_000))
def test_any_cut_gives_the_whole_answer_or_an_error(answer_parts: list[dict[str, Any]], cut: int) -> None:
    body = stream_body(answer_parts)
    whole = comparable(message_from_events(events(run(fresh_ctx(), [body]))))
    prefix = body[: cut % len(body)]
    ctx = fresh_ctx()
    translator = ADAPTER.stream(ctx, "text/event-stream")
    try:
        frames = translator.feed(prefix) + translator.finish()
    except InvalidUpstream:
        return
    names = [f.event for f in frames]
    if translator.complete:
        assert comparable(message_from_events(events(frames))) == whole
    else:
        assert "message_stop" not in names and "message_delta" not in names
        try:
            ADAPTER.translate_message(prefix, "text/event-stream", ctx)
        except InvalidUpstream:
            pass
        else:
            raise AssertionError("a cut answer was accepted as a whole message")


def _expected_replay(answer_parts: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """What the next request's model turn must hold: runs of thought or text parts merged (the last
    signature of a run kept), unsigned thoughts left out, calls as they were, the first call signed."""
    merged: list[list[Any]] = []
    for part in answer_parts:
        kind = "call" if "functionCall" in part else "thought" if part.get("thought") else "text"
        signature = part.get("thoughtSignature")
        if merged and merged[-1][0] == kind and kind != "call":
            merged[-1][1] = signature or merged[-1][1]
        else:
            merged.append([kind, signature])
    out = [(k, s) for k, s in merged if k != "thought" or s]
    calls = [i for i, (k, _) in enumerate(out) if k == "call"]
    if calls and out[calls[0]][1] is None:
        out[calls[0]] = ("call", DUMMY_SIGNATURE)
    return out


@SETTINGS
@given(answer_parts=parts().flatmap(st.permutations))
def test_every_signature_returns_on_its_part(answer_parts: list[dict[str, Any]]) -> None:
    if not any("functionCall" in p or not p.get("thought") for p in answer_parts):
        answer_parts = [*answer_parts, {"text": "answer"}]
    message = message_from_events(events(run(fresh_ctx(), [stream_body(answer_parts)])))
    results = [
        {"type": "tool_result", "tool_use_id": b["id"], "content": "done"}
        for b in message["content"]
        if b["type"] == "tool_use"
    ]
    follow = {
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "assistant", "content": message["content"]},
            {"role": "user", "content": results or "next"},
        ],
    }
    scope = signature_scope("gemini", "g", "gemini-3-pro-preview")
    sent = to_gemini_request(follow, model="gemini-3-pro-preview", scope=scope).body
    validate_gemini_request(sent)
    model = sent["contents"][1]["parts"]
    got = [
        ("call" if "functionCall" in p else "thought" if p.get("thought") else "text", p.get("thoughtSignature"))
        for p in model
    ]
    assert got == _expected_replay(answer_parts)
