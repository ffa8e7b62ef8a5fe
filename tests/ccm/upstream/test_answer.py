"""ccm.upstream.answer.Reads: however a stream is cut into reads, it counts the reads that completed an
event (the relay's progress) and refuses an event past its bound, never one within it (property tests)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccm.upstream.answer import InvalidAnswer, Reads

END = re.compile(rb"\n\n|\r\n\r\n|\r\r")


async def _chunks(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    edges = [0, *sorted({c for c in cuts if 0 < c < len(data)}), len(data)]
    for a, b in itertools.pairwise(edges):
        yield data[a:b]


def _read_all(reads: Reads) -> list[bytes]:
    async def run() -> list[bytes]:
        return [chunk async for chunk in reads]

    return asyncio.run(run())


events = st.lists(
    st.tuples(
        st.binary(min_size=1, max_size=40).map(lambda b: b"data: " + b.translate(bytes.maketrans(b"\r\n", b"xy"))),
        st.sampled_from([b"\n\n", b"\r\n\r\n", b"\r\r"]),
    ),
    min_size=1,
    max_size=8,
)


@given(
    events=events,
    tail=st.binary(max_size=30).map(lambda b: b.translate(bytes.maketrans(b"\r\n", b"xy"))),
    cuts=st.lists(st.integers(0, 400)),
)
def test_a_read_is_progress_exactly_when_it_completes_an_event(
    events: list[tuple[bytes, bytes]], tail: bytes, cuts: list[int]
) -> None:
    data = b"".join(body + end for body, end in events) + tail
    reads = Reads(_chunks(data, cuts))
    got = _read_all(reads)
    assert b"".join(got) == data
    ends = [m.end() for m in END.finditer(data)]
    done, completed, at = 0, 0, 0
    for chunk in got:
        at += len(chunk)
        now = sum(1 for e in ends if e <= at)
        completed += now > done
        done = now
    assert reads.events == completed


@given(size=st.integers(1, 300), cuts=st.lists(st.integers(0, 400)))
def test_an_event_is_refused_exactly_when_a_read_leaves_it_open_past_the_bound(size: int, cuts: list[int]) -> None:
    limit, start = 100, 10
    data = b"data: ok\n\n" + b"x" * size + b"\n\n" + b"data: ok\n\n"
    end = start + size + 2  # where the big event's blank line ends
    edges = sorted({c for c in cuts if 0 < c < len(data)})
    open_too_long = any(start + limit < edge < end for edge in edges)
    try:
        got = _read_all(Reads(_chunks(data, cuts), limit=limit))
    except InvalidAnswer:
        assert open_too_long
    else:
        assert not open_too_long and b"".join(got) == data


def test_an_event_past_the_bound_is_refused() -> None:
    data = b"data: ok\n\n" + b"x" * 150
    with pytest.raises(InvalidAnswer, match="larger than"):
        _read_all(Reads(_chunks(data, [20, 60, 120]), limit=100))
