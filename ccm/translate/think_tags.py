"""Reasoning that arrives inline as `<think>...</think>` at the start of the text.

Qwen3, DeepSeek-R1 distills and MiniMax served without a reasoning parser (vLLM, llama.cpp, Ollama, some
hosted APIs) put their reasoning in the content. Only a tag that opens the answer counts, so an answer that
merely mentions `<think>` later is left alone. Works on a stream split anywhere, even inside a tag:

    splitter = ThinkTagSplitter()
    splitter.feed("<thi") -> []          splitter.feed("nk>hm</think>\\n\\nHi") -> [("thinking", "hm"), ("text", "Hi")]
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["thinking", "text"]
OPEN = "<think>"
CLOSE = "</think>"


class ThinkTagSplitter:
    def __init__(self) -> None:
        self._state: Literal["start", "think", "after", "text"] = "start"
        self._buf = ""

    def feed(self, text: str) -> list[tuple[Kind, str]]:
        if not text:
            return []
        if self._state == "text":
            return [("text", text)]
        self._buf += text
        out: list[tuple[Kind, str]] = []
        if self._state == "start":
            stripped = self._buf.lstrip()
            if not stripped or (OPEN.startswith(stripped) and stripped != OPEN):
                return []  # still undecided
            if not stripped.startswith(OPEN):
                self._state = "text"
                out.append(("text", self._buf))
                self._buf = ""
                return out
            self._state = "think"
            self._buf = stripped[len(OPEN) :]
        if self._state == "think":
            end = self._buf.find(CLOSE)
            if end < 0:
                keep = _partial_suffix(self._buf, CLOSE)
                piece, self._buf = self._buf[: len(self._buf) - keep], self._buf[len(self._buf) - keep :]
                if piece:
                    out.append(("thinking", piece))
                return out
            if end:
                out.append(("thinking", self._buf[:end]))
            self._buf = self._buf[end + len(CLOSE) :]
            self._state = "after"
        if self._state == "after":
            rest = self._buf.lstrip()
            self._buf = ""
            if rest:
                self._state = "text"
                out.append(("text", rest))
        return out

    def flush(self) -> list[tuple[Kind, str]]:
        """The end of the content: whatever was held back."""
        buf, self._buf = self._buf, ""
        if not buf:
            return []
        if self._state == "think":
            return [("thinking", buf)]
        if self._state == "after":
            return []
        self._state = "text"
        return [("text", buf)]


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def split_think_tags(text: str) -> tuple[str, str]:
    """(reasoning, answer) of a whole text."""
    splitter = ThinkTagSplitter()
    pieces = splitter.feed(text) + splitter.flush()
    thinking = "".join(p for kind, p in pieces if kind == "thinking")
    answer = "".join(p for kind, p in pieces if kind == "text")
    return thinking, answer
