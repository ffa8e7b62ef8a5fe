"""ccm.sse: the fast paths for the common layouts give exactly what the general parser gives, and any
chunking of a stream yields the same events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ccm.sse import SSEParser, _parse_block, _parse_lines

_text = st.text(alphabet=st.sampled_from(list('ab: {}"é\x00-')), max_size=12)
_line = st.one_of(
    st.builds(lambda v: b"data: " + v.encode(), _text),
    st.builds(lambda v: b"data:" + v.encode(), _text),
    st.builds(lambda v: b"event: " + v.encode(), _text),
    st.builds(lambda v: b"event:" + v.encode(), _text),
    st.builds(lambda v: b": " + v.encode(), _text),
    st.builds(lambda v: b"id: " + v.encode(), _text),
    st.builds(lambda v: v.encode(), _text),
)
_block = st.lists(_line, min_size=1, max_size=4).map(b"\n".join).filter(lambda b: b"\n\n" not in b)


@given(_block)
def test_the_fast_paths_agree_with_the_general_parser(block: bytes) -> None:
    assert _parse_block(block) == _parse_lines(block)


def test_the_common_layouts() -> None:
    openai = _parse_block(b'data: {"x":1}')
    assert openai is not None and (openai.event, openai.data) == ("message", '{"x":1}')
    anthropic = _parse_block(b'event: message_start\ndata: {"type":"message_start"}')
    assert anthropic is not None and (anthropic.event, anthropic.data) == ("message_start", '{"type":"message_start"}')
    assert anthropic.raw == b'event: message_start\ndata: {"type":"message_start"}\n\n'


@given(st.lists(_block, min_size=1, max_size=6), st.lists(st.integers(min_value=1, max_value=40), max_size=10))
def test_any_chunking_yields_the_same_events(blocks: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(block + b"\n\n" for block in blocks)
    whole = SSEParser().feed(stream)
    parser, got, at = SSEParser(), [], 0
    for size in cuts:
        got += parser.feed(stream[at : at + size])
        at += size
    got += parser.feed(stream[at:])
    assert got == whole
