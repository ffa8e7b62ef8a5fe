"""The pieces of an Anthropic answer every translated wire builds the same way: its id, tool_use blocks,
and a web search's sources appended to the text.

    new_message_id()                                          -> "msg_..."
    tool_use_block(call_id, "Bash", '{"command": "ls"}', tool_names, fallback_id)
    sources_list([("Title", "https://...")])                  -> "\\n\\nSources:\\n- [Title](https://...)"
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ccm.translate.tool_args import parse_tool_arguments
from ccm.translate.tool_names import tool_use_id


def new_message_id() -> str:
    return "msg_" + os.urandom(12).hex()  # uuid4's 24 hex digits, without building a UUID


def tool_use_block(
    raw_id: Any, name: str, arguments: Any, tool_names: Mapping[str, str], fallback_id: str
) -> dict[str, Any]:
    """A tool call as a tool_use block: its arguments parsed (repaired where a model wrote sloppy JSON),
    its name back to Claude Code's (`tool_names`: sent name -> original), an id Claude Code accepts."""
    tool_input, _ = parse_tool_arguments(arguments)
    return {
        "type": "tool_use",
        "id": tool_use_id(raw_id, fallback_id),
        "name": tool_names.get(name, name),
        "input": tool_input,
    }


def sources_list(links: Iterable[tuple[str, str]]) -> str:
    """Web-search sources ((title, url) pairs) as a Sources list appended to the answer's text; "" for none."""
    lines = [f"- [{title}]({url})" for title, url in links]
    return "\n\nSources:\n" + "\n".join(lines) if lines else ""
