"""An Anthropic Messages request as a Gemini generateContent body (AI Studio and Vertex alike).

    req = to_gemini_request(body, model="gemini-2.5-pro", scope=scope)
    req.body         -> {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
    req.tool_names   -> {gemini name: anthropic name} for names that had to change

Turns become `contents` (user/model, consecutive turns merged, the first one a user turn), tool results
become `functionResponse`s grouped in the user turn after the calls (their names found from the calls'
ids), and signatures Gemini made come back where they were (ccm.translate.gemini.signature). Sampling,
stop sequences and thinking go into `generationConfig` by model family. The body passed in is never
mutated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccm.translate.gemini.contents import contents
from ccm.translate.gemini.schema import json_schema, openapi_schema
from ccm.translate.request_parts import (
    answer_schema,
    offered_tools,
    requested_effort,
    system_text,
    tool_renamer,
)
from ccm.translate.tool_names import openai_tool_name

MAX_STOPS = 5
_FAMILY = re.compile(r"gemini-(\d+)(?:\.(\d+))?", re.I)
#: thinkingBudget bounds on Gemini 2.5 (Pro cannot turn thinking off).
PRO_BUDGET = (128, 32768)
FLASH_BUDGET = (0, 24576)
EFFORT_BUDGET = {"low": 2048, "medium": 8192, "high": 24576}
#: Output limits (thinking included) by family: Claude Code asks for up to 128k, which Gemini refuses.
MAX_OUTPUT_CURRENT = 65536
MAX_OUTPUT_OLDER = 8192


@dataclass(slots=True)
class GeminiRequest:
    body: dict[str, Any]
    tool_names: dict[str, str] = field(default_factory=dict)
    web_search: bool = False


def gemini_tool_name(name: str) -> str:
    """A function name Gemini takes: a letter or `_` first, then `[A-Za-z0-9_.-]`, at most 64."""
    short = openai_tool_name(name)
    if not (short[:1].isascii() and (short[:1].isalpha() or short[:1] == "_")):
        short = openai_tool_name("t_" + name)
    return short


def to_gemini_request(
    body: Mapping[str, Any],
    *,
    model: str,
    scope: str,
    max_output_tokens: int | None = None,
    plain_parameters: bool = False,
) -> GeminiRequest:
    """`plain_parameters`: send tool schemas as the OpenAPI-subset `parameters` (for an endpoint that
    refused `parametersJsonSchema`) instead of JSON Schema."""
    rename, names = tool_renamer(gemini_tool_name)
    out: dict[str, Any] = {"contents": contents(body.get("messages"), rename, scope)}
    system = system_text(body.get("system"))
    if system:
        out["systemInstruction"] = {"parts": [{"text": system}]}
    declarations, web = _declarations(body.get("tools"), body.get("messages"), rename, plain_parameters)
    tools: list[dict[str, Any]] = []
    if declarations:
        tools.append({"functionDeclarations": declarations})
        config = _tool_config(body.get("tool_choice"), rename)
        if config:
            out["toolConfig"] = {"functionCallingConfig": config}
    elif web:
        tools.append({"googleSearch": {}})  # Gemini 2.x cannot mix search with functions: only alone
    if tools:
        out["tools"] = tools
    generation = _generation(body, model, max_output_tokens)
    if generation:
        out["generationConfig"] = generation
    return GeminiRequest(out, names, web_search=bool(web and not declarations))


def _declarations(
    tools: Any, messages: Any, rename: Any, plain: bool
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Client tools as functionDeclarations, and the web_search server tool if offered
    (ccm.translate.request_parts.offered_tools says which tools are)."""
    out: list[dict[str, Any]] = []
    web: dict[str, Any] | None = None
    for tool, web_search in offered_tools(tools, messages):
        if web_search:
            web = tool
            continue
        declaration: dict[str, Any] = {"name": rename(str(tool["name"]))}
        if isinstance(tool.get("description"), str) and tool["description"]:
            declaration["description"] = tool["description"]
        schema = tool.get("input_schema")
        if plain:
            declaration["parameters"] = openapi_schema(schema)
        else:
            declaration["parametersJsonSchema"] = json_schema(schema)
        out.append(declaration)
    return out, web


def _tool_config(choice: Any, rename: Any) -> dict[str, Any] | None:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind == "auto":
        return {"mode": "AUTO"}
    if kind == "any":
        return {"mode": "ANY"}
    if kind == "none":
        return {"mode": "NONE"}
    if kind == "tool" and isinstance(choice, dict) and choice.get("name"):
        return {"mode": "ANY", "allowedFunctionNames": [rename(str(choice["name"]))]}
    return None


def model_family(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Gemini model name, or None for names that do not say."""
    match = _FAMILY.search(model)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def output_limit(model: str) -> int | None:
    """The family's maxOutputTokens ceiling, or None for model names that do not say."""
    family = model_family(model)
    if family is None:
        return None
    return MAX_OUTPUT_CURRENT if family >= (2, 5) else MAX_OUTPUT_OLDER


def _generation(body: Mapping[str, Any], model: str, limit: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0:
        out["maxOutputTokens"] = min(max_tokens, limit or max_tokens, output_limit(model) or max_tokens)
    for key, name in (("temperature", "temperature"), ("top_p", "topP")):
        value = body.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    top_k = body.get("top_k")
    if isinstance(top_k, int) and not isinstance(top_k, bool) and top_k > 0:
        out["topK"] = top_k
    stops = body.get("stop_sequences")
    if isinstance(stops, list):
        kept = [s for s in stops if isinstance(s, str) and s][:MAX_STOPS]
        if kept:
            out["stopSequences"] = kept
    thinking = thinking_config(body, model)
    if thinking is not None:
        out["thinkingConfig"] = thinking
    schema = answer_schema(body)
    if schema is not None:
        out["responseMimeType"] = "application/json"
        out["responseJsonSchema"] = json_schema(schema)
    return out


def thinking_config(body: Mapping[str, Any], model: str) -> dict[str, Any] | None:
    """thinkingConfig for Claude Code's thinking request: `thinkingBudget` on 2.5, `thinkingLevel` on 3+
    (never both: Gemini answers 400), nothing for models that do not think or requests with no opinion."""
    family = model_family(model)
    effort = requested_effort(body)
    if family is None or effort is None or family < (2, 5):
        return None
    thinking = body.get("thinking")
    budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
    lowered = model.lower()
    pro = "pro" in lowered
    if family[0] >= 3:
        flash = "flash" in lowered
        if effort == "off":
            return {"thinkingLevel": "minimal" if flash else "low", "includeThoughts": False}
        if isinstance(budget, int) and isinstance(thinking, dict) and thinking.get("type") == "enabled":
            level = "minimal" if budget <= 512 else "low" if budget <= 4096 else "medium" if budget <= 16384 else "high"
        else:
            level = effort
        if not flash and level in ("minimal", "medium"):
            level = "low" if level == "minimal" else "high"  # 3 Pro takes only low and high
        return {"thinkingLevel": level, "includeThoughts": True}
    low, high = PRO_BUDGET if pro else FLASH_BUDGET
    if effort == "off":
        return None if pro else {"thinkingBudget": 0}
    if not isinstance(budget, int) or isinstance(budget, bool):
        budget = EFFORT_BUDGET.get(effort, -1)
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and budget > 0:
            budget = min(budget, max_tokens // 2)  # leave room for the answer: thoughts count as output
    if budget != -1:
        budget = max(low, min(high, budget))
    return {"thinkingBudget": budget, "includeThoughts": True}
