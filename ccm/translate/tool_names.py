"""Tool names the OpenAI format accepts, mapped back in the answer.

OpenAI-format APIs take function names of at most 64 characters from `[A-Za-z0-9_-]`. A longer or odd name
is replaced by a deterministic short form (a prefix of the name and a hash suffix), so the same name always
shortens the same way in every request of a conversation, and the answer maps it back with the table the
request translation returns:

    short = openai_tool_name("mcp__some_server__a_very_long_tool_name_..." )   # 64 characters
    names = {short: original}     # kept for the answer (RequestContext.state)
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
_INVALID = re.compile(r"[^A-Za-z0-9_-]")
_ID_INVALID = re.compile(r"[^A-Za-z0-9_-]")


def openai_tool_name(name: str) -> str:
    """`name` when the OpenAI format takes it as it is, else a stable <= 64-character stand-in."""
    if name and len(name) <= MAX_NAME and not _INVALID.search(name):
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    stem = _INVALID.sub("_", name)[: MAX_NAME - 9] or "tool"
    return f"{stem}_{digest}"


def tool_use_id(raw: object, fallback: str) -> str:
    """An id Anthropic accepts (`[A-Za-z0-9_-]+`) from an upstream tool-call id, which may be missing or
    contain other characters (Kimi: `functions.Bash:0`). The same raw id always gives the same result, so a
    sanitised id still pairs the tool call with its result on the next request."""
    if isinstance(raw, str) and raw:
        return _ID_INVALID.sub("_", raw)
    return fallback
