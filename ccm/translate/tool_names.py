"""Tool names the OpenAI format accepts, mapped back in the answer.

OpenAI-format APIs take function names of at most 64 characters from `[A-Za-z0-9_-]`. A longer or odd name
is replaced by a deterministic short form (a prefix of the name and a hash suffix), so the same name always
shortens the same way in every request of a conversation, and the answer maps it back with the table the
request translation returns:

    short = openai_tool_name("mcp__some_server__a_very_long_tool_name_..." )   # 64 characters
    names = {short: original}     # kept for the answer (RequestContext.state)

Tool-call ids get the same care: an upstream id Anthropic would refuse is encoded reversibly on the way to
Claude Code and decoded on the way back, so each side always sees ids it accepts.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
MAX_CALL_ID = 40
ENCODED_ID = "ccmx_"
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
    contain other characters (Kimi: `functions.Bash:0`). Such an id is encoded reversibly, so the next
    request gives the provider back exactly the id it made (see openai_tool_call_id)."""
    if not isinstance(raw, str) or not raw:
        return fallback
    if not _ID_INVALID.search(raw):
        return raw
    return ENCODED_ID + raw.encode("utf-8", "surrogatepass").hex()


def openai_tool_call_id(tool_use_id: str) -> str:
    """The id to send upstream for an Anthropic tool_use id: an encoded upstream id decoded, and an id
    longer than OpenAI's 40-character limit (from another provider's history) replaced by a stable hash."""
    if tool_use_id.startswith(ENCODED_ID):
        try:
            return bytes.fromhex(tool_use_id[len(ENCODED_ID) :]).decode("utf-8")
        except ValueError:
            pass
    if len(tool_use_id) > MAX_CALL_ID:
        return "call_" + hashlib.sha256(tool_use_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return tool_use_id


def responses_call_id(tool_use_id: str) -> str:
    """The `call_id` to send on the Responses wire for an Anthropic tool_use id: an encoded upstream id
    decoded, and one longer than the 64 characters the ChatGPT backend takes (another provider's, or an
    encoded one) replaced by a stable hash, so a call and its output always carry the same id."""
    if tool_use_id.startswith(ENCODED_ID):
        try:
            tool_use_id = bytes.fromhex(tool_use_id[len(ENCODED_ID) :]).decode("utf-8")
        except ValueError:
            pass
    if not tool_use_id:
        return "call_none"
    if len(tool_use_id) > MAX_NAME:
        digest = hashlib.sha256(tool_use_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return f"{tool_use_id[: MAX_NAME - 9]}_{digest}"
    return tool_use_id
