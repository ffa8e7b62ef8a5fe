"""A Responses API request (from the Codex CLI, the openai SDK's `responses.create`) in ccm's internal form,
Anthropic's Messages: what routing reads and every translated mapping starts from.

    inbound = from_responses(body)
    inbound.body        -> the Anthropic request (the client's body is never mutated)
    inbound.gaps        -> what it holds that only a Responses mapping carries (custom tools, local_shell...)
    inbound.namespaces  -> {flat tool name: (namespace, name)} for tools offered inside a namespace

Where the shapes differ:
- `instructions` and leading `system`/`developer` items are the system prompt; later ones stay in place
  as `role: system` messages;
- `function_call` items are tool_use blocks of the assistant turn they belong to, `function_call_output`
  items tool_result blocks of one user turn;
- a `reasoning` item ccm made from a thinking block carries that block (text and signature) in its
  `encrypted_content` and becomes it again; anyone else's reasoning cannot go to another provider and is
  left out, as are `web_search_call` items (a search another provider ran);
- a `namespace` tool's functions are offered as `<namespace>__<name>`, and a call of one goes back with its
  namespace (`namespaces`); the `web_search` tool is the web search server tool;
- `reasoning.effort` is `thinking` (none/minimal: disabled), `text.format` a JSON-schema answer.

Codex's other tools (custom/freeform, local_shell, tool_search...) and items have no form on another wire:
they are gaps, and a mapping on another wire is refused with a 400 naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccm.translate import inbound_parts as parts
from ccm.translate.openai.inbound_request import InboundError

WIRE = "Responses"
NAMESPACE_JOIN = "__"
#: Items that record what a provider did server-side: nothing to replay elsewhere.
_SERVER_SIDE = frozenset({"web_search_call", "file_search_call", "image_generation_call", "code_interpreter_call"})


@dataclass(slots=True)
class ResponsesInbound:
    body: dict[str, Any]
    gaps: parts.Gaps
    namespaces: dict[str, tuple[str, str]] = field(default_factory=dict)


def from_responses(body: Mapping[str, Any]) -> ResponsesInbound:
    gaps = parts.Gaps()
    namespaces: dict[str, tuple[str, str]] = {}
    tools = _tools(body.get("tools"), gaps, namespaces)
    reverse = {pair: flat for flat, pair in namespaces.items()}
    converter = _Items(gaps, reverse)
    system, messages = converter.convert(body.get("input"))
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        system = [instructions, *system]
    out: dict[str, Any] = {"model": body["model"], "messages": messages}
    if system:
        out["system"] = "\n\n".join(system)
    if isinstance(body.get("max_output_tokens"), int):
        out["max_tokens"] = body["max_output_tokens"]
    if tools:
        out["tools"] = tools
        choice = parts.tool_choice(body.get("tool_choice"), parallel=body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    reasoning = body.get("reasoning")
    thinking = parts.effort_thinking(reasoning.get("effort") if isinstance(reasoning, Mapping) else None)
    if thinking is not None:
        out["thinking"] = thinking
    parts.sampling(out, body)
    _text_format(out, body.get("text"), gaps)
    if body.get("stream") is True:
        out["stream"] = True
    if body.get("background") is True:
        gaps.add("background", "a background response")
    parts.fit_thinking(out)
    return ResponsesInbound(out, gaps, namespaces)


def _tools(tools: Any, gaps: parts.Gaps, namespaces: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, tool in enumerate(tools or []):
        kind = tool.get("type")
        if kind == "function":
            out.append(_function(tool, f"tools.{i}"))
        elif isinstance(kind, str) and kind.startswith("web_search"):
            if parts.WEB_SEARCH_TOOL not in out:
                out.append(dict(parts.WEB_SEARCH_TOOL))
        elif kind == "namespace":
            space = tool.get("name")
            if not isinstance(space, str) or not space:
                raise InboundError(f"tools.{i}.name: must be a string")
            for j, inner in enumerate(tool.get("tools") or []):
                where = f"tools.{i}.tools.{j}"
                if not isinstance(inner, Mapping) or inner.get("type") != "function":
                    gaps.add(where, f'a "{inner.get("type") if isinstance(inner, Mapping) else inner}" tool')
                    continue
                function = _function(inner, where)
                flat = f"{space}{NAMESPACE_JOIN}{function['name']}"
                namespaces[flat] = (space, function["name"])
                out.append({**function, "name": flat})
        else:
            gaps.add(f"tools.{i}", f'a "{kind}" tool')
    return out


def _function(tool: Mapping[str, Any], where: str) -> dict[str, Any]:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise InboundError(f"{where}.name: must be a string")
    return parts.function_tool(name, tool.get("description"), tool.get("parameters"))


def _text_format(out: dict[str, Any], text: Any, gaps: parts.Gaps) -> None:
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if not isinstance(fmt, Mapping):
        return
    kind = fmt.get("type")
    if kind == "json_schema":
        config = parts.json_schema_format(fmt.get("schema"))
        if config is None:
            raise InboundError("text.format.schema: must be an object")
        out["output_config"] = config
    elif kind == "json_object":
        out["output_config"] = parts.json_schema_format({"type": "object"})
    elif kind not in (None, "text"):
        gaps.add("text.format", f'a "{kind}" answer format')


class _Items:
    """Input items in order, as Anthropic turns."""

    def __init__(self, gaps: parts.Gaps, namespaced: Mapping[tuple[str, str], str]) -> None:
        self.gaps = gaps
        self.namespaced = namespaced
        self.system: list[str] = []
        self.out: list[dict[str, Any]] = []

    def convert(self, items: Any) -> tuple[list[str], list[dict[str, Any]]]:
        if isinstance(items, str):
            return [], [{"role": "user", "content": [{"type": "text", "text": items}]}] if items else []
        for i, item in enumerate(items or []):
            self._item(item, f"input.{i}")
        return self.system, self.out

    def _add(self, role: str, blocks: list[dict[str, Any]]) -> None:
        if not blocks:
            return
        if self.out and self.out[-1]["role"] == role:
            self.out[-1]["content"] = self.out[-1]["content"] + blocks
        else:
            self.out.append({"role": role, "content": blocks})

    def _item(self, item: Mapping[str, Any], where: str) -> None:
        kind = item.get("type", "message")
        if kind == "message":
            self._message(item, where)
        elif kind == "function_call":
            self._add("assistant", [self._call(item, where)])
        elif kind == "function_call_output":
            self._add("user", [self._output(item, where)])
        elif kind == "reasoning":
            block = parts.thinking_from_reasoning(item.get("encrypted_content"))
            if block is not None:
                self._add("assistant", [block])
        elif kind in _SERVER_SIDE:
            return
        else:  # custom_tool_call(_output), local_shell_call(_output), item_reference, compaction, ...
            self.gaps.add(where, f'a "{kind}" item')

    def _message(self, item: Mapping[str, Any], where: str) -> None:
        role = item.get("role")
        content = item.get("content")
        if role in ("system", "developer"):
            text = self._text(content, f"{where}.content")
            if not self.out:
                self.system.append(text)
            elif text:
                self.out.append({"role": "system", "content": text})
        elif role in ("user", "assistant"):
            self._add(str(role), self._parts(content, f"{where}.content"))
        else:
            raise InboundError(f'{where}.role: must be "user", "assistant", "system" or "developer"')

    def _text(self, content: Any, where: str) -> str:
        blocks = self._parts(content, where)
        if any(b["type"] != "text" for b in blocks):
            raise InboundError(f"{where}: a system or developer message takes text only")
        return "\n\n".join(b["text"] for b in blocks)

    def _parts(self, content: Any, where: str) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        if not isinstance(content, list):
            raise InboundError(f"{where}: must be a string or a list of content parts")
        out: list[dict[str, Any]] = []
        for j, part in enumerate(content):
            block = self._part(part, f"{where}.{j}")
            if block is not None:
                out.append(block)
        return out

    def _part(self, part: Any, where: str) -> dict[str, Any] | None:
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise InboundError(f'{where}: must be a content part (an object with a string "type")')
        kind = part["type"]
        if kind in ("input_text", "output_text", "text", "refusal"):
            text = part.get("text", part.get("refusal"))
            if not isinstance(text, str):
                raise InboundError(f"{where}.text: must be a string")
            return {"type": "text", "text": text} if text else None
        if kind == "input_image":
            block = parts.image_block(part.get("image_url"))
            if block is None:
                self.gaps.add(where, "an image by file id" if part.get("file_id") else "this image")
            return block
        if kind == "input_file":
            block = parts.file_block(part.get("file_data"), part.get("filename"))
            if block is None:
                self.gaps.add(
                    where, "a file by id or URL" if part.get("file_id") or part.get("file_url") else "this file"
                )
            return block
        self.gaps.add(where, f'an "{kind}" part')
        return None

    def _call(self, item: Mapping[str, Any], where: str) -> dict[str, Any]:
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise InboundError(f"{where}.name: must be a string")
        space = item.get("namespace")
        if isinstance(space, str) and space:
            name = self.namespaced.get((space, name), f"{space}{NAMESPACE_JOIN}{name}")
        tool_input = parts.tool_input(item.get("arguments"))
        if tool_input is None:
            self.gaps.add(f"{where}.arguments", "arguments that are not a JSON object")
            tool_input = {}
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InboundError(f"{where}.call_id: must be a non-empty string")
        return {"type": "tool_use", "id": parts.call_id(call_id, call_id), "name": name, "input": tool_input}

    def _output(self, item: Mapping[str, Any], where: str) -> dict[str, Any]:
        call_id = item.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            raise InboundError(f"{where}.call_id: must be a non-empty string")
        output = item.get("output")
        result: Any = output if isinstance(output, str) else self._parts(output, f"{where}.output") if output else ""
        return {"type": "tool_result", "tool_use_id": parts.call_id(call_id, call_id), "content": result}
