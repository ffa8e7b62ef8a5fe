"""Helpers for the Gemini translation tests: contexts, response builders, and a validator that holds every
body ccm sends to Gemini to the `google-genai` SDK's own pydantic request types (extra keys forbidden)
plus the turn rules Gemini enforces (roles alternate, a call is answered in the next turn, all of a
turn's results in one turn)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from typing import Any

import orjson
from google.genai import types

from ccm.auth import credentials
from ccm.providers.base import Frame, RequestContext
from ccm.routing import Candidate
from ccm.translate.gemini.signature import DUMMY_SIGNATURE
from config.schema import ProviderConfig, spec_for

TOP_KEYS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}
#: Keys the OpenAPI-subset `parameters` form rejects (`Unknown name "<key>"... Cannot find field`).
REJECTED_BY_PARAMETERS = {
    "$schema",
    "additionalProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "propertyNames",
    "const",
    "multipleOf",
    "uniqueItems",
    "$ref",
    "ref",
    "$defs",
    "definitions",
    "oneOf",
    "allOf",
    "patternProperties",
}


def gemini_ctx(
    model: str = "gemini-2.5-pro",
    *,
    provider_type: str = "gemini",
    name: str = "g",
    stream: bool = True,
    base_url: str | None = "http://h/v1beta",
    max_output_tokens: int | None = None,
    key: str | None = "gm-key",
    requested_model: str = "claude-opus-5-5",
    project_id: str | None = None,
    location: str | None = None,
) -> RequestContext:
    provider = ProviderConfig(
        name,
        provider_type,
        spec_for(provider_type),
        base_url=base_url,
        project_id=project_id,
        location=location,
        auth_type="adc" if provider_type == "vertex-ai" else "apikey",
    )
    candidate = Candidate(provider, model, max_output_tokens)
    cred = credentials.Credential("adc", key) if provider_type == "vertex-ai" else credentials.api_key(key)
    return RequestContext(candidate, cred, {}, requested_model=requested_model, stream=stream)


def response(
    *parts: dict[str, Any], finish: str | None = "STOP", usage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """One GenerateContentResponse (a whole answer, or one streamed chunk)."""
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    candidate.update(extra)
    data: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-x"}
    if usage is not None:
        data["usageMetadata"] = usage
    return data


def usage(prompt: int = 10, candidates: int = 5, thoughts: int = 0, cached: int = 0) -> dict[str, Any]:
    out = {"promptTokenCount": prompt, "candidatesTokenCount": candidates, "totalTokenCount": prompt + candidates}
    if thoughts:
        out["thoughtsTokenCount"] = thoughts
    if cached:
        out["cachedContentTokenCount"] = cached
    return out


def sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)


def run(ctx: RequestContext, pieces: Iterable[bytes], content_type: str = "text/event-stream") -> list[Frame]:
    from ccm.providers.registry import adapter_for

    adapter = adapter_for(ctx.candidate.provider.wire)
    assert adapter is not None
    translator = adapter.stream(ctx, content_type)
    frames: list[Frame] = []
    for piece in pieces:
        frames += translator.feed(piece)
    return frames + translator.finish()


def events(frames: Iterable[Frame]) -> list[dict[str, Any]]:
    return [f.data for f in frames if f.data is not None]


def validate_gemini_request(body: dict[str, Any]) -> None:
    """The body is a valid generateContent request by google-genai's types and Gemini's turn rules."""
    assert set(body) <= TOP_KEYS, set(body) - TOP_KEYS
    json.dumps(body)
    assert body["contents"], "no contents"
    for content in body["contents"]:
        types.Content.model_validate(content)
    if "systemInstruction" in body:
        types.Content.model_validate(body["systemInstruction"])
    for tool in body.get("tools", []):
        types.Tool.model_validate(tool)
        for declaration in tool.get("functionDeclarations", []):
            assert ("parameters" in declaration) != ("parametersJsonSchema" in declaration)
            name = declaration["name"]
            assert len(name) <= 64 and (name[0].isalpha() or name[0] == "_"), name
            if "parameters" in declaration:
                assert_openapi_schema(declaration["parameters"])
            else:
                assert_json_schema(declaration["parametersJsonSchema"])
    if "toolConfig" in body:
        types.ToolConfig.model_validate(body["toolConfig"])
    if "generationConfig" in body:
        types.GenerationConfig.model_validate(body["generationConfig"])
        thinking = body["generationConfig"].get("thinkingConfig") or {}
        assert not ("thinkingBudget" in thinking and "thinkingLevel" in thinking), thinking
    assert_turns(body["contents"])


def assert_turns(contents: list[dict[str, Any]]) -> None:
    roles = [c["role"] for c in contents]
    assert roles[0] == "user", roles
    assert all(a != b for a, b in itertools.pairwise(roles)), f"consecutive same-role turns: {roles}"
    for i, turn in enumerate(contents):
        for part in turn["parts"]:
            if "text" in part and not part.get("thought"):
                assert part["text"] or "thoughtSignature" in part, f"empty text part in turn {i}"
        calls = [p for p in turn["parts"] if "functionCall" in p]
        if turn["role"] == "user":
            assert not calls
            continue
        if not calls:
            continue
        assert "thoughtSignature" in calls[0], f"the first call of model turn {i} has no signature"
        assert i + 1 < len(contents), "a trailing model turn with unanswered calls"
        answers = [p["functionResponse"] for p in contents[i + 1]["parts"] if "functionResponse" in p]
        assert [a["name"] for a in answers] == [c["functionCall"]["name"] for c in calls]
    for turn in contents:
        if turn["role"] == "user" and any("functionResponse" in p for p in turn["parts"]):
            index = contents.index(turn)
            assert index > 0 and contents[index - 1]["role"] == "model"
            previous = [p for p in contents[index - 1]["parts"] if "functionCall" in p]
            assert previous, "function responses without calls before them"


def assert_json_schema(schema: Any, depth: int = 0) -> None:
    if isinstance(schema, dict):
        assert "$schema" not in schema
        if "$ref" in schema:
            assert set(schema) <= {"$ref", "description", "default"}, schema
        for value in schema.values():
            assert_json_schema(value, depth + 1)
    elif isinstance(schema, list):
        for value in schema:
            assert_json_schema(value, depth + 1)


def assert_openapi_schema(schema: Any) -> None:
    text = json.dumps(schema)
    types.Schema.model_validate(schema)

    def walk(node: Any, parent: str | None) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if parent != "properties":
                    assert key not in REJECTED_BY_PARAMETERS, f"{key} in {text[:300]}"
                    if key == "type":
                        assert isinstance(value, str), f"type array in {text[:300]}"
                    if key == "format" and node.get("type") == "string":
                        assert value in ("enum", "date-time"), value
                walk(value, key)
        elif isinstance(node, list):
            for value in node:
                walk(value, parent)

    walk(schema, None)


def first_call_signature(body: dict[str, Any], turn: int = -1) -> str | None:
    models = [c for c in body["contents"] if c["role"] == "model"]
    calls = [p for p in models[turn]["parts"] if "functionCall" in p]
    signature = calls[0].get("thoughtSignature") if calls else None
    return signature if isinstance(signature, str) else None


__all__ = ["DUMMY_SIGNATURE"]
