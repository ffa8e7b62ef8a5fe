"""What an OpenAI-format request (Chat Completions or Responses) becomes in ccm's internal form (Anthropic's
Messages), where both wires say the same thing: effort, images, files, tool schemas, tool choice, stops.

    thinking = effort_thinking("high")                    # {"type": "enabled", "budget_tokens": 24576}
    block = image_block("data:image/png;base64,iVBOR...")   # an Anthropic image block, or None
    tool = function_tool("Bash", "Run a command", schema)
    choice = tool_choice("required", parallel=False)      # {"type": "any", "disable_parallel_tool_use": True}

Anything a translation cannot carry is collected (`Gaps`) instead of dropped: a mapping on the client's own
wire may still carry it, and every other mapping is refused with a 400 naming it (never a silent loss).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from ccm.translate.tool_names import tool_use_id

#: Reasoning effort -> thinking budget. The inverse of ccm.translate.request_parts.requested_effort (a
#: budget under 4,096 is "low", under 16,384 "medium", else "high"), so an effort survives a round trip.
BUDGETS = {"low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 32768, "ultra": 32768}
#: Efforts that mean "no reasoning": thinking disabled, so such a request is not routed as think.
NO_EFFORT = frozenset({"none", "minimal"})
MIN_BUDGET = 1024
"""Anthropic's smallest thinking budget."""
WEB_SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search"}
"""The web search server tool, as ccm's translators (and the websearch route) read it."""
#: A reasoning item ccm made from a thinking block carries the block in its encrypted_content, behind this
#: prefix, so it comes back as the same block (text and signature) on the next turn.
REASONING_PREFIX = "ccm-thinking:"


@dataclass
class Gaps:
    """What the client's request holds that ccm's translation cannot carry: (where, what) pairs."""

    found: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, what: str) -> None:
        self.found.append((where, what))

    def message(self, wire: str) -> str | None:
        """The refusal for a mapping on another wire, or None when nothing is missing."""
        if not self.found:
            return None
        where, what = self.found[0]
        more = f" (and {len(self.found) - 1} more)" if len(self.found) > 1 else ""
        return (
            f"{where}: {what} cannot be translated for this mapping; only a mapping on the {wire} wire carries it{more}"
        )


def effort_thinking(effort: Any) -> dict[str, Any] | None:
    """A reasoning effort as `thinking`: enabled with a budget, disabled for none/minimal, None for no
    opinion (or an effort ccm does not know)."""
    if not isinstance(effort, str):
        return None
    if effort in NO_EFFORT:
        return {"type": "disabled"}
    budget = BUDGETS.get(effort)
    return {"type": "enabled", "budget_tokens": budget} if budget else None


def fit_thinking(body: dict[str, Any]) -> None:
    """Anthropic wants budget_tokens >= 1,024 and below max_tokens: a budget is lowered to fit a client's
    max_tokens, and thinking is left out when max_tokens leaves no room for it."""
    thinking = body.get("thinking")
    max_tokens = body.get("max_tokens")
    if not isinstance(thinking, dict) or thinking.get("type") != "enabled" or not isinstance(max_tokens, int):
        return
    budget = thinking.get("budget_tokens")
    if isinstance(budget, int) and budget >= max_tokens:
        if max_tokens <= MIN_BUDGET + 1:
            body.pop("thinking")
            return
        body["thinking"] = {**thinking, "budget_tokens": max(MIN_BUDGET, max_tokens // 2)}


def data_url_source(url: str) -> dict[str, Any] | None:
    """A `data:<type>;base64,<data>` URL as an Anthropic base64 source (None for another URL)."""
    if not url.startswith("data:"):
        return None
    head, _, data = url[5:].partition(",")
    media_type, _, encoding = head.partition(";")
    if encoding != "base64" or not data:
        return None
    return {"type": "base64", "media_type": media_type or "application/octet-stream", "data": data}


def image_block(url: Any) -> dict[str, Any] | None:
    """An image URL (a data URL or http(s)) as an Anthropic image block."""
    if not isinstance(url, str) or not url:
        return None
    source = data_url_source(url)
    if source is not None:
        return {"type": "image", "source": source}
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    return None


def file_block(file_data: Any, filename: Any) -> dict[str, Any] | None:
    """A file sent inline (a data URL, or bare base64 of a PDF) as a document block; text files as text."""
    if not isinstance(file_data, str) or not file_data:
        return None
    source = data_url_source(file_data) or {"type": "base64", "media_type": "application/pdf", "data": file_data}
    title = filename if isinstance(filename, str) and filename else None
    if source["media_type"].startswith("text/"):
        try:
            text = base64.b64decode(source["data"]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        block: dict[str, Any] = {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": text},
        }
    else:
        block = {"type": "document", "source": source}
    if title:
        block["title"] = title
    return block


def function_tool(name: str, description: Any, parameters: Any) -> dict[str, Any]:
    tool: dict[str, Any] = {"name": name, "input_schema": _schema(parameters)}
    if isinstance(description, str) and description:
        tool["description"] = description
    return tool


def _schema(parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict) or not parameters:
        return {"type": "object", "properties": {}}
    return parameters if "type" in parameters else {"type": "object", **parameters}


def tool_choice(choice: Any, *, parallel: Any) -> dict[str, Any] | None:
    """OpenAI's tool_choice (`auto`, `none`, `required`, a named function in either wire's shape) and
    `parallel_tool_calls: false` as Anthropic's tool_choice."""
    out: dict[str, Any] | None = None
    if choice in ("auto", "none"):
        out = {"type": choice}
    elif choice == "required":
        out = {"type": "any"}
    elif isinstance(choice, Mapping) and choice.get("type") == "function":
        function = choice.get("function")
        name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
        if isinstance(name, str) and name:
            out = {"type": "tool", "name": name}
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    if out is not None and out["type"] == "none":
        out.pop("disable_parallel_tool_use", None)
    return out


def tool_input(arguments: Any) -> dict[str, Any] | None:
    """A call's arguments (a JSON string, as both wires send them) as a tool_use input; None when they are
    not a JSON object."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str):
        return None
    if not arguments.strip():
        return {}
    try:
        value = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def call_id(raw: Any, fallback: str) -> str:
    """A client's call id as a tool_use id Anthropic accepts (the same rule ccm's answers follow)."""
    return tool_use_id(raw, fallback)


def stop_sequences(stop: Any) -> list[str] | None:
    if isinstance(stop, str) and stop:
        return [stop]
    if isinstance(stop, list):
        stops = [s for s in stop if isinstance(s, str) and s]
        return stops or None
    return None


def sampling(out: dict[str, Any], body: Mapping[str, Any]) -> None:
    """temperature (OpenAI's 0-2, Anthropic's 0-1: clamped) and top_p."""
    temperature = body.get("temperature")
    if isinstance(temperature, int | float) and not isinstance(temperature, bool):
        out["temperature"] = min(max(float(temperature), 0.0), 1.0)
    top_p = body.get("top_p")
    if isinstance(top_p, int | float) and not isinstance(top_p, bool):
        out["top_p"] = top_p


def json_schema_format(schema: Any) -> dict[str, Any] | None:
    """A JSON-schema answer format as ccm's internal `output_config` (ccm.translate.request_parts.answer_schema)."""
    if not isinstance(schema, dict):
        return None
    return {"format": {"type": "json_schema", "schema": schema}}


def thinking_from_reasoning(encrypted: Any) -> dict[str, Any] | None:
    """A reasoning item ccm made (REASONING_PREFIX) back as the thinking block it carried; None for any
    other (OpenAI's own encrypted reasoning means nothing to another provider)."""
    if not isinstance(encrypted, str) or not encrypted.startswith(REASONING_PREFIX):
        return None
    payload = encrypted[len(REASONING_PREFIX) :]
    try:
        data = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("redacted"), str):
        return {"type": "redacted_thinking", "data": data["redacted"]}
    if isinstance(data.get("thinking"), str) and isinstance(data.get("signature"), str):
        return {"type": "thinking", "thinking": data["thinking"], "signature": data["signature"]}
    return None


def reasoning_blob(block: Mapping[str, Any]) -> str:
    """A thinking (or redacted_thinking) block as a reasoning item's encrypted_content (see above)."""
    if block.get("type") == "redacted_thinking":
        data: dict[str, Any] = {"redacted": block.get("data", "")}
    else:
        data = {"thinking": block.get("thinking", ""), "signature": block.get("signature", "")}
    return REASONING_PREFIX + base64.urlsafe_b64encode(orjson.dumps(data)).decode().rstrip("=")
