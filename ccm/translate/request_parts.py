"""The pieces of an Anthropic request that every translated wire (Chat, Responses, Gemini) reads the same
way, written once; each wire then shapes them its own way.

    instructions = system_text(body["system"])            # one string, Claude Code's billing block left out
    rename, names = tool_renamer(openai_tool_name)       # rename("a long name") -> sent name; names maps back
    for tool, web_search in offered_tools(body["tools"], body["messages"]):   # in order
        ...
    text, images = tool_result_content(block, convert, text_of)   # a tool_result flattened, errors marked
    effort = requested_effort(body)                       # "off" | "low" | "medium" | "high" | None
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

#: Claude Code's first system block (`x-anthropic-billing-header: cc_version=...`) means nothing to other
#: providers and changes with every conversation (it would break their prompt caches), so it is left out.
BILLING_PREFIX = "x-anthropic-billing-header:"
NO_RESULT = "(no result: the tool was not run)"
EMPTY_RESULT = "(no output)"
EFFORTS = ("low", "medium", "high")

Part = TypeVar("Part", bound=dict[str, Any])


def plain_text(content: Any) -> str:
    """A message's content as text: a string as it is (unless only white space), text blocks a blank line
    apart."""
    if isinstance(content, str):
        return content.strip() and content
    blocks = content if isinstance(content, list) else []
    return "\n\n".join(
        b["text"] for b in blocks if isinstance(b, dict) and isinstance(b.get("text"), str) and b["text"]
    )


def roles(messages: Any) -> list[tuple[Any, Any]]:
    """(role, content) of each message, in order; anything that is not a message is passed over."""
    if not isinstance(messages, list):
        return []
    return [(m.get("role"), m.get("content")) for m in messages if isinstance(m, dict)]


def system_text(system: Any) -> str:
    """The top-level system prompt as one string, without Claude Code's per-request billing block."""
    if isinstance(system, list):
        system = [b for b in system if not (isinstance(b, dict) and _billing(b.get("text")))]
    return plain_text(system) if isinstance(system, str | list) else ""


def _billing(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(BILLING_PREFIX)


def tool_renamer(shorten: Callable[[str], str]) -> tuple[Callable[[str], str], dict[str, str]]:
    """A rename function for tool names a wire must shorten, and the map back (sent name -> Claude Code's)
    that the answer's translation uses, filled as names are renamed."""
    names: dict[str, str] = {}

    def rename(name: str) -> str:
        short = shorten(name)
        if short != name:
            names[short] = name
        return short

    return rename, names


def offered_tools(tools: Any, messages: Any) -> list[tuple[dict[str, Any], bool]]:
    """The tools a wire can offer, in order, each with whether it is the web_search server tool (the others
    are client tools). Other server tools (bash_*, text_editor_*, code_execution_*, web_fetch_*...) have no
    function form and are left out; a `defer_loading` tool is offered only once a ToolSearch result
    referenced it, as Anthropic's API does (Claude Code's DeferredToolPlaceholder never is)."""
    loaded: set[str] | None = None
    out: list[tuple[dict[str, Any], bool]] = []
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        kind = tool.get("type")
        if isinstance(kind, str) and kind.startswith("web_search"):
            out.append((tool, True))
            continue
        if kind not in (None, "custom") or not tool.get("name"):
            continue
        if tool.get("defer_loading"):
            if loaded is None:
                loaded = referenced_tools(messages)
            if tool["name"] not in loaded:
                continue
        out.append((tool, False))
    return out


def referenced_tools(messages: Any) -> set[str]:
    """Tool names a ToolSearch result loaded (`tool_reference` blocks in tool results)."""
    found: set[str] = set()
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            inner = block.get("content")
            for item in inner if isinstance(inner, list) else []:
                if isinstance(item, dict) and item.get("type") == "tool_reference":
                    found.add(str(item.get("tool_name")))
    return found


def object_schema(schema: Any) -> dict[str, Any]:
    """A tool's input schema as function parameters: an object schema, without `$schema` (no model needs
    it; several APIs reject it, Groq and Cerebras among them)."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}
    out = dict(schema)
    out.pop("$schema", None)
    out.setdefault("type", "object")
    if out["type"] == "object":
        out.setdefault("properties", {})
    return out


def tool_result_content(
    block: dict[str, Any], convert: Callable[[dict[str, Any]], Part | None], text_of: Callable[[Part], str | None]
) -> tuple[str, list[Part]]:
    """A tool_result's content as one text (an error result says so, as Claude Code's own errors do) and
    the parts that are not text (images, files), which every wire must carry apart from the text.
    `convert` makes a wire's part of a content block; `text_of` is a part's text, None for other parts."""
    content = block.get("content")
    texts: list[str] = [content] if isinstance(content, str) else []
    others: list[Part] = []
    for item in content if isinstance(content, list) else []:
        part = convert(item) if isinstance(item, dict) else None
        if part is None:
            continue
        text = text_of(part)
        if text is None:
            others.append(part)
        else:
            texts.append(text)
    text = "\n".join(t for t in texts if t)
    if block.get("is_error") and not text.lstrip().lower().startswith(("error", "<tool_use_error>")):
        text = f"Error: {text}" if text else "Error"
    return text, others


def data_url(source: dict[str, Any], default_type: str) -> str:
    """A base64 source as a data URL."""
    return f"data:{source.get('media_type') or default_type};base64,{source['data']}"


def image_url(source: dict[str, Any]) -> str | None:
    """An image source as a URL a wire can send (a data URL for base64), or None for another kind."""
    if source.get("type") == "base64" and source.get("data"):
        return data_url(source, "image/png")
    if source.get("type") == "url" and source.get("url"):
        return str(source["url"])
    return None


#: What stands in for an image whose source no wire can send (a file id, a malformed source).
IMAGE_OMITTED = "[image omitted: its source cannot be sent to this provider]"


def tool_reference_text(block: dict[str, Any]) -> str:
    """A ToolSearch result's reference, as the note a model without tool search understands."""
    return f"Tool {block.get('tool_name')} is now available."


def search_result_text(block: dict[str, Any]) -> str:
    texts = [c.get("text", "") for c in block.get("content") or [] if isinstance(c, dict)]
    body = "\n".join(t for t in texts if t)
    return f"{block.get('title', '')} ({block.get('source', '')})\n{body}".strip()


def answer_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the answer must match (`output_config.format`, e.g. Claude Code's session titles),
    or None."""
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    schema = fmt.get("schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    return schema if isinstance(schema, dict) else None


def requested_effort(body: Mapping[str, Any]) -> str | None:
    """The reasoning effort Claude Code asked for: "off", "low", "medium", "high", or None (no opinion).

    `{type: enabled, budget_tokens}` maps by budget; `{type: adaptive}` takes `output_config.effort`.
    """
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "disabled":
        return "off"
    if kind == "enabled":
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if not isinstance(budget, int):
            return "medium"
        return "low" if budget < 4096 else "medium" if budget < 16384 else "high"
    if kind == "adaptive":
        config = body.get("output_config")
        effort = config.get("effort") if isinstance(config, dict) else None
        if effort in EFFORTS:
            return str(effort)
        if effort in ("max", "xhigh"):
            return "high"
    return None
