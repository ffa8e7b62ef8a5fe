"""A Chat Completions request (from an OpenAI client: aider, the openai SDK, ...) in ccm's internal form,
Anthropic's Messages: what routing reads and every translated mapping starts from.

    inbound = from_chat(body)
    inbound.body          -> the Anthropic request (a dict; the client's body is never mutated)
    inbound.gaps          -> what it holds that only a Chat Completions mapping carries (audio, n > 1, ...)
    inbound.include_usage -> the client asked for a usage chunk at the end of the stream

Where the shapes differ:
- leading `system`/`developer` messages are the system prompt; later ones stay in place as `role: system`
  messages (ccm's internal form carries those, as Claude Code sends them);
- `tool` messages are tool_result blocks of one user turn (consecutive ones together, and the user text that
  follows them after them);
- an assistant's `tool_calls` are tool_use blocks whose input is the parsed arguments;
- `reasoning_effort` is `thinking` (none/minimal: disabled), `web_search_options` the web search tool,
  `response_format` a JSON-schema answer (`output_config`).

A shape that no mapping could read is an InboundError (the endpoint's 400, naming the field).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccm.translate import inbound_parts as parts

WIRE = "Chat Completions"
#: Fields dropped on the way to another wire because none has them (sampling knobs OpenAI alone reads).
IGNORED = ("frequency_penalty", "presence_penalty", "logit_bias", "seed", "service_tier", "store", "prediction")


class InboundError(ValueError):
    """A request no mapping could serve as written: the endpoint answers 400 with this message."""


@dataclass(slots=True)
class ChatInbound:
    body: dict[str, Any]
    gaps: parts.Gaps
    include_usage: bool = False


def from_chat(body: Mapping[str, Any]) -> ChatInbound:
    gaps = parts.Gaps()
    system, messages = _messages(body["messages"], gaps)
    out: dict[str, Any] = {"model": body["model"], "messages": messages}
    if system:
        out["system"] = system
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(max_tokens, int):
        out["max_tokens"] = max_tokens
    tools = _tools(body.get("tools"), gaps)
    if isinstance(body.get("web_search_options"), dict):
        tools.append(dict(parts.WEB_SEARCH_TOOL))
    if tools:
        out["tools"] = tools
        choice = parts.tool_choice(body.get("tool_choice"), parallel=body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    thinking = parts.effort_thinking(body.get("reasoning_effort"))
    if thinking is not None:
        out["thinking"] = thinking
    parts.sampling(out, body)
    stops = parts.stop_sequences(body.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    _answer_format(out, body.get("response_format"), gaps)
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        out["metadata"] = {"user_id": user}
    stream = body.get("stream") is True
    if stream:
        out["stream"] = True
    _unsupported(body, gaps)
    parts.fit_thinking(out)
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, Mapping) and options.get("include_usage") is True
    return ChatInbound(out, gaps, include_usage)


def _unsupported(body: Mapping[str, Any], gaps: parts.Gaps) -> None:
    n = body.get("n")
    if isinstance(n, int) and n > 1:
        gaps.add("n", f"{n} choices")
    if body.get("logprobs") is True:
        gaps.add("logprobs", "log probabilities")
    modalities = body.get("modalities")
    if isinstance(modalities, list) and "audio" in modalities:
        gaps.add("modalities", "audio output")


# -- messages ---------------------------------------------------------------------------------------------


def _messages(raw: list[Any], gaps: parts.Gaps) -> tuple[str, list[dict[str, Any]]]:
    system: list[str] = []
    out: list[dict[str, Any]] = []
    for i, message in enumerate(raw):
        role = message["role"]
        where = f"messages.{i}"
        if role in ("system", "developer"):
            text = _text(message.get("content"), f"{where}.content")
            if not out:
                system.append(text)
            elif text:
                out.append({"role": "system", "content": text})
        elif role == "user":
            _add(out, "user", _user_content(message.get("content"), f"{where}.content", gaps))
        elif role == "assistant":
            _add(out, "assistant", _assistant(message, where, gaps))
        elif role == "tool":
            _add(out, "user", [_tool_result(message, where, gaps)])
        else:  # "function" (the pre-tools API): its result has no call id to answer
            gaps.add(f"{where}.role", f'a "{role}" message')
    return "\n\n".join(t for t in system if t), out


def _add(out: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Append a turn; one after a turn of the same role joins it (tool results first, as Anthropic wants)."""
    if not blocks:
        return
    if out and out[-1]["role"] == role:
        out[-1]["content"] = out[-1]["content"] + blocks
    else:
        out.append({"role": role, "content": blocks})


def _text(content: Any, where: str) -> str:
    """A system/developer message's text: a string or text parts."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if not isinstance(content, list):
        raise InboundError(f"{where}: must be a string or a list of text parts")
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, Mapping) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise InboundError(f'{where}.{j}: must be a text part ({{"type": "text", "text": "..."}})')
        texts.append(part["text"])
    return "\n\n".join(texts)


def _user_content(content: Any, where: str, gaps: parts.Gaps) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise InboundError(f"{where}: must be a string or a list of content parts")
    out: list[dict[str, Any]] = []
    for j, part in enumerate(content):
        block = _user_part(part, f"{where}.{j}", gaps)
        if block is not None:
            out.append(block)
    return out


def _user_part(part: Any, where: str, gaps: parts.Gaps) -> dict[str, Any] | None:
    if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
        raise InboundError(f'{where}: must be a content part (an object with a string "type")')
    kind = part["type"]
    if kind == "text":
        text = part.get("text")
        if not isinstance(text, str):
            raise InboundError(f"{where}.text: must be a string")
        return {"type": "text", "text": text} if text else None
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, Mapping) else image
        block = parts.image_block(url)
        if block is None:
            raise InboundError(f"{where}.image_url.url: must be a data: or http(s) URL")
        return block
    if kind == "file":
        file: Mapping[str, Any] = part["file"] if isinstance(part.get("file"), Mapping) else {}
        block = parts.file_block(file.get("file_data"), file.get("filename"))
        if block is None:
            gaps.add(f"{where}.file", "a file by id" if file.get("file_id") else "this file")
        return block
    gaps.add(where, f'a "{kind}" part')
    return None


def _assistant(message: Mapping[str, Any], where: str, gaps: parts.Gaps) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str):
        if content:
            out.append({"type": "text", "text": content})
    elif isinstance(content, list):
        for j, part in enumerate(content):
            text = part.get("text") or part.get("refusal") if isinstance(part, Mapping) else None
            if not isinstance(text, str):
                raise InboundError(f"{where}.content.{j}: must be a text or refusal part")
            if text:
                out.append({"type": "text", "text": text})
    elif content is not None:
        raise InboundError(f"{where}.content: must be a string, a list of parts or null")
    calls = message.get("tool_calls")
    if calls is not None and not isinstance(calls, list):
        raise InboundError(f"{where}.tool_calls: must be a list")
    for j, call in enumerate(calls or []):
        out.append(_tool_use(call, f"{where}.tool_calls.{j}", gaps))
    return out


def _tool_use(call: Any, where: str, gaps: parts.Gaps) -> dict[str, Any]:
    if not isinstance(call, Mapping):
        raise InboundError(f"{where}: must be an object")
    if call.get("type", "function") != "function":
        gaps.add(where, f'a "{call.get("type")}" tool call')
    function = call.get("function") if isinstance(call.get("function"), Mapping) else call.get("custom")
    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
        raise InboundError(f"{where}.function.name: must be a string")
    arguments = function.get("arguments", function.get("input"))
    tool_input = parts.tool_input(arguments)
    if tool_input is None:
        gaps.add(f"{where}.function.arguments", "arguments that are not a JSON object")
        tool_input = {}
    call_id = parts.call_id(call.get("id"), f"call_{where.replace('.', '_')}")
    return {"type": "tool_use", "id": call_id, "name": function["name"], "input": tool_input}


def _tool_result(message: Mapping[str, Any], where: str, gaps: parts.Gaps) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InboundError(f"{where}.tool_call_id: must be a non-empty string")
    content = message.get("content")
    result: Any
    if isinstance(content, str) or content is None:
        result = content or ""
    else:
        result = _user_content(content, f"{where}.content", gaps)
    return {"type": "tool_result", "tool_use_id": parts.call_id(call_id, call_id), "content": result}


# -- tools and formats ------------------------------------------------------------------------------------


def _tools(tools: Any, gaps: parts.Gaps) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools or []):
        kind = tool.get("type", "function")
        if kind == "function":
            function = tool.get("function")
            if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                raise InboundError(f"tools.{i}.function.name: must be a string")
            out.append(parts.function_tool(function["name"], function.get("description"), function.get("parameters")))
        else:
            gaps.add(f"tools.{i}", f'a "{kind}" tool')
    return out


def _answer_format(out: dict[str, Any], response_format: Any, gaps: parts.Gaps) -> None:
    if not isinstance(response_format, Mapping):
        return
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        config = parts.json_schema_format(spec.get("schema") if isinstance(spec, Mapping) else None)
        if config is None:
            raise InboundError("response_format.json_schema.schema: must be an object")
        out["output_config"] = config
    elif kind == "json_object":
        out["output_config"] = parts.json_schema_format({"type": "object"})
    elif kind not in (None, "text"):
        gaps.add("response_format", f'a "{kind}" answer format')
