"""Property tests of the inverse translators: for an answer streamed by any upstream wire (Anthropic, Chat
Completions, Responses, Gemini), any way its bytes are split into reads gives the Chat or Responses client the
same answer (as the official SDK accumulates it), and a stream cut anywhere before its end gives the client
an in-band error, never a clean finish."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.sse import SSEParser
from tests.translate.inbound_helpers import Answer, inbound, read_chat, read_responses, same_wire, upstream_bytes

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WIRES = st.sampled_from(["anthropic", "openai", "responses", "gemini"])
CLIENTS = st.sampled_from(["chat", "responses"])
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
args = st.dictionaries(
    st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    st.one_of(st.text(max_size=12), st.integers(-5, 5), st.booleans(), st.lists(st.integers(0, 9), max_size=3)),
    max_size=3,
)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    calls = [
        (
            f"call_{i}{draw(st.from_regex(r'[A-Za-z0-9]{1,6}', fullmatch=True))}",
            draw(st.sampled_from(["Bash", "Read", "exec_command"])),
            draw(args),
        )
        for i in range(draw(st.integers(0, 2)))
    ]
    text = draw(texts)
    if not text.strip() and not calls:
        text = "ok"
    return Answer(text=text, reasoning=draw(texts), calls=calls, pieces=draw(st.integers(1, 5)))


def reads(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(raw) + 1) for c in cuts})
    bounds = [0, *points, len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


def read(client: str, raw: bytes) -> Any:
    return read_chat(raw) if client == "chat" else read_responses(raw)


def expected(client: str, answer: Answer) -> dict[str, Any]:
    """Every wire carries text, reasoning (thinking, reasoning_content, summaries, thought parts) and calls."""
    finish = ("tool_calls" if answer.calls else "stop") if client == "chat" else "completed"
    return {"text": answer.text, "reasoning": answer.reasoning, "calls": answer.calls, "finish": finish}


def comparable(final: dict[str, Any]) -> dict[str, Any]:
    """Tool call ids are the upstream's (Gemini's are made up): compared by name and arguments."""
    return {**final, "calls": [(name, arguments) for _, name, arguments in final["calls"]]}


@SETTINGS
@given(client=CLIENTS, wire=WIRES, answer=answers(), cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_any_chunking_gives_the_same_answer(client: str, wire: str, answer: Answer, cuts: list[int]) -> None:
    raw, _ = upstream_bytes(wire, answer)
    whole = read(client, inbound(client, wire, [raw]))
    split = read(client, inbound(client, wire, reads(raw, cuts)))
    assert whole.clean_end and not whole.error
    assert comparable(split.final) == comparable(whole.final) == comparable(expected(client, answer))
    if wire != "gemini":  # Gemini gives no call ids: ccm makes them
        assert split.final == whole.final
        assert [c[0] for c in whole.final["calls"]] == [c[0] for c in answer.calls]


@SETTINGS
@given(
    client=CLIENTS,
    wire=WIRES,
    answer=answers(),
    cut=st.integers(0, 10_000),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_a_cut_stream_ends_with_the_clients_error(
    client: str, wire: str, answer: Answer, cut: int, cuts: list[int]
) -> None:
    raw, end = upstream_bytes(wire, answer)
    position = cut % (end + 1) if end else 0
    got = read(client, inbound(client, wire, reads(raw[:position], cuts)))
    assert got.error, "a cut stream must end with the wire's in-band error"
    assert not got.clean_end and got.final is None


def renamed(raw: bytes) -> list[Any]:
    """The events of an SSE stream (parsed), each answer's model named "m" as ccm names it for the client."""
    parser = SSEParser()
    out: list[Any] = []
    for event in parser.feed(raw) + parser.flush():
        if event.data.strip() == "[DONE]":
            out.append("[DONE]")
            continue
        data = orjson.loads(event.data)
        if "model" in data:
            data["model"] = "m"
        if isinstance(data.get("response"), dict):
            data["response"]["model"] = "m"
        out.append((event.event, data))
    return out


@SETTINGS
@given(client=CLIENTS, answer=answers(), cuts=st.lists(st.integers(0, 10_000), max_size=12), cut=st.integers(0, 10_000))
def test_same_wire_answers_pass_through_whole_and_cut(client: str, answer: Answer, cuts: list[int], cut: int) -> None:
    """A Chat answer for a Chat client (a Responses answer for a Responses client) arrives as the upstream sent
    it, its model renamed, however it was read; cut before its end, it ends with the wire's in-band error."""
    wire = "openai" if client == "chat" else "responses"
    raw, end = upstream_bytes(wire, answer)
    whole = same_wire(client, [raw])
    assert same_wire(client, reads(raw, cuts)) == whole
    assert renamed(whole) == renamed(raw)
    position = cut % (end + 1)
    events = renamed(same_wire(client, reads(raw[:position], cuts)))
    last = events[-1]
    assert "[DONE]" not in events and all(e[0] != "response.completed" for e in events if e != "[DONE]")
    assert last[0] == "response.failed" if client == "responses" else "error" in last[1]
