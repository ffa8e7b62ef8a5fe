"""Anthropic `messages` as Gemini `contents`, with the invariants Gemini enforces:

- roles are `user` and `model`, consecutive turns of one role merged, the first turn a user turn;
- every model turn with function calls is followed by one user turn holding a `functionResponse` for
  each call, in call order (a lost result gets a stand-in; a result whose call is not in the turn
  before it becomes plain text); a trailing model turn's unanswered calls are dropped;
- a mid-conversation `role: "system"` message is a user turn wrapped in `<system-reminder>`;
- Gemini's own signatures go back on the part that carried them; the first function call of a model
  turn that has none (another provider made it, or another Gemini) gets the documented dummy.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from ccm.translate.anthropic import is_ccm_signature
from ccm.translate.gemini.signature import DUMMY_SIGNATURE, call_signature, gemini_details
from ccm.translate.request_parts import (
    EMPTY_RESULT,
    NO_RESULT,
    plain_text,
    roles,
    search_result_text,
    tool_reference_text,
    tool_result_content,
)
from ccm.translate.signature import signature_details

Part = dict[str, Any]
Turn = dict[str, Any]
LEADING_USER = "(conversation continues)"


def contents(messages: Any, rename: Callable[[str], str], scope: str) -> list[Turn]:
    names = _call_names(messages)
    turns: list[Turn] = []
    for role, content in roles(messages):
        if role == "assistant":
            parts, kind = _model_parts(content, rename, scope), "model"
        elif role == "system":
            text = plain_text(content)
            parts, kind = ([{"text": f"<system-reminder>\n{text}\n</system-reminder>"}] if text else []), "user"
        else:
            parts, kind = _user_parts(content, names, rename), "user"
        if not parts:
            continue
        if turns and turns[-1]["role"] == kind:
            turns[-1]["parts"].extend(parts)
        else:
            turns.append({"role": kind, "parts": parts})
    turns = _pair_calls(turns)
    for turn in turns:
        if turn["role"] == "model":
            _dummy_signature(turn["parts"])
        for part in turn["parts"]:
            part.pop("_id", None)
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "parts": [{"text": LEADING_USER}]})
    return turns


def _call_names(messages: Any) -> dict[str, str]:
    """tool_use id -> tool name, over the whole history: a tool_result names only the id."""
    names: dict[str, str] = {}
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("id"):
                names[str(block["id"])] = str(block.get("name") or "")
    return names


def _model_parts(content: Any, rename: Callable[[str], str], scope: str) -> list[Part]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[Part] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str) and block["text"]:
            parts.append({"text": block["text"]})
        elif kind == "tool_use":
            part: Part = {
                "functionCall": {"name": rename(str(block.get("name") or "")), "args": _args(block.get("input"))},
                "_id": str(block.get("id") or ""),
            }
            signature = call_signature(block.get("id"), scope)
            if signature:
                part["thoughtSignature"] = signature
            parts.append(part)
        elif kind == "thinking" and is_ccm_signature(block.get("signature")):
            for entry in gemini_details(signature_details(block["signature"]), scope) or ():
                if entry.get("on") == "previous":
                    if parts and "thoughtSignature" not in parts[-1]:
                        parts[-1]["thoughtSignature"] = entry["signature"]
                else:
                    text = block.get("thinking") if isinstance(block.get("thinking"), str) else ""
                    parts.append({"text": text, "thought": True, "thoughtSignature": entry["signature"]})
        # Anthropic-signed or other wires' thinking, redacted thinking and server-tool blocks cannot be
        # replayed to Gemini: dropped.
    return parts


def _args(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _user_parts(content: Any, names: dict[str, str], rename: Callable[[str], str]) -> list[Part]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    responses: list[Part] = []
    images: list[Part] = []
    parts: list[Part] = []
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "tool_result":
            response, extra = _tool_result(block, names, rename)
            responses.append(response)
            images.extend(extra)
        else:
            part = _part(block)
            if part is not None:
                parts.append(part)
    return responses + images + parts


def _part(block: dict[str, Any]) -> Part | None:
    kind = block.get("type")
    if kind == "text":
        return {"text": block["text"]} if isinstance(block.get("text"), str) and block["text"] else None
    if kind in ("image", "document"):
        return _media(block)
    if kind == "tool_reference":
        return {"text": tool_reference_text(block)}
    if kind == "search_result":
        return {"text": search_result_text(block)}
    return None


def _text_of(part: Part) -> str | None:
    text = part.get("text")
    return text if isinstance(text, str) else None


def _media(block: dict[str, Any]) -> Part | None:
    source = block.get("source") if isinstance(block.get("source"), dict) else {}
    assert isinstance(source, dict)
    kind = source.get("type")
    title = block.get("title") or block.get("type")
    default_mime = "image/png" if block.get("type") == "image" else "application/pdf"
    if kind == "base64" and source.get("data"):
        if not _is_base64(source["data"]):
            return {"text": f"[{title} omitted: its data is not valid base64]"}
        return {"inlineData": {"mimeType": source.get("media_type") or default_mime, "data": source["data"]}}
    if kind == "text" and source.get("data"):
        return {"text": f"{title}:\n{source['data']}"}
    if kind == "content" and isinstance(source.get("content"), list):
        texts = [c.get("text", "") for c in source["content"] if isinstance(c, dict)]
        return {"text": f"{title}:\n" + "\n".join(t for t in texts if t)}
    if kind == "url" and source.get("url"):
        return {"text": f"[{title}: {source['url']}]"}
    return {"text": f"[{title} omitted: its source cannot be sent to Gemini]"}


def _is_base64(data: Any) -> bool:
    """Gemini refuses the whole request for one malformed inline image: such an image is left out."""
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return False
    return True


def _tool_result(block: dict[str, Any], names: dict[str, str], rename: Callable[[str], str]) -> tuple[Part, list[Part]]:
    text, images = tool_result_content(block, _part, _text_of)
    if not text:
        text = "(see the image below)" if images else EMPTY_RESULT
    call_id = str(block.get("tool_use_id") or "")
    name = rename(names.get(call_id) or "unknown_tool")
    # A plain string result: Gemini rejects `$ref`/`$defs` keys inside a structured response.
    return {"functionResponse": {"name": name, "response": {"result": text}}, "_id": call_id}, images


def _pair_calls(turns: list[Turn]) -> list[Turn]:
    out: list[Turn] = []
    i = 0
    while i < len(turns):
        turn = turns[i]
        i += 1
        if turn["role"] == "user":
            turn["parts"] = [_orphan(p) if "functionResponse" in p else p for p in turn["parts"]]
            out.append(turn)
            continue
        calls = [p for p in turn["parts"] if "functionCall" in p]
        if not calls:
            out.append(turn)
            continue
        if i >= len(turns):  # a trailing model turn: its calls were never answered
            turn["parts"] = [p for p in turn["parts"] if "functionCall" not in p]
            if turn["parts"]:
                out.append(turn)
            continue
        answer = turns[i]
        i += 1
        pending = [p for p in answer["parts"] if "functionResponse" in p]
        rest = [p for p in answer["parts"] if "functionResponse" not in p]
        responses: list[Part] = []
        for call in calls:  # each result answers one call (ids may repeat in edited histories)
            match = next((p for p in pending if p["_id"] == call["_id"]), None)
            if match is None:
                match = {"functionResponse": {"name": "", "response": {"result": NO_RESULT}}}
            else:
                pending.remove(match)
            match["functionResponse"]["name"] = call["functionCall"]["name"]
            responses.append(match)
        rest = [_orphan(p) for p in pending] + rest
        out.append(turn)
        out.append({"role": "user", "parts": responses + rest})
    return out


def _orphan(part: Part) -> Part:
    """A result whose call is not in the model turn before it: Gemini refuses it as a functionResponse."""
    response = part["functionResponse"]
    return {"text": f"Result of tool call {part.get('_id') or response['name']}:\n{response['response']['result']}"}


def _dummy_signature(parts: list[Part]) -> None:
    first = next((p for p in parts if "functionCall" in p), None)
    if first is not None and "thoughtSignature" not in first:
        first["thoughtSignature"] = DUMMY_SIGNATURE
