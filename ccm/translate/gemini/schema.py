"""Tool input schemas in the two forms Gemini takes (https://ai.google.dev/api/caching#FunctionDeclaration).

Claude Code's tool schemas are JSON Schema (draft 2020-12, with `$schema`, `additionalProperties`, MCP
tools with `$defs`/`$ref`, `const`, type arrays). Gemini has two fields for them:

    json_schema(schema)      -> for `parametersJsonSchema`: real JSON Schema, the default. Local `$ref`s
                                are inlined (cycles cut), since Gemini allows `$ref` only beside
                                `description`/`default` and rejects a ref it cannot resolve; `$schema`,
                                `$id`, `$comment` and `x-*` keys are dropped.
    openapi_schema(schema)   -> for the older `parameters` (the OpenAPI-subset `Schema` proto), which
                                rejects every key it does not know with a 400: only its own fields are
                                kept, `const` becomes a one-value `enum`, a type array becomes one type
                                plus `nullable`, `oneOf` becomes `anyOf`, `allOf` is merged, and string
                                formats other than `enum`/`date-time` are dropped. Constraints it cannot
                                express go into the description, so the model still sees them.

Both are pure and never mutate their input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

_DROP_ALWAYS = frozenset({"$schema", "$id", "$comment", "$anchor", "$dynamicAnchor", "$vocabulary"})
#: The `Schema` proto's fields (google.genai types.Schema, minus the Vertex-only ref/defs/additionalProperties).
_OPENAPI_KEYS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
#: Constraints `parameters` cannot hold, kept as words in the description.
_HINTS = ("exclusiveMinimum", "exclusiveMaximum", "multipleOf", "uniqueItems", "format")
_STRING_FORMATS = frozenset({"enum", "date-time"})
_NUMBER_FORMATS = frozenset({"int32", "int64", "float", "double"})
_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
#: Keys whose value the `Schema` proto (and JSON Schema) types: a value of another type is dropped, not
#: sent for Gemini to refuse the whole request over (`title: ["x"]` came from a real tool definition).
_VALUE_TYPES: dict[str, type | tuple[type, ...]] = {
    "title": str,
    "description": str,
    "pattern": str,
    "nullable": bool,
    "minItems": int,
    "maxItems": int,
    "minProperties": int,
    "maxProperties": int,
    "minLength": int,
    "maxLength": int,
    "minimum": (int, float),
    "maximum": (int, float),
    "propertyOrdering": list,
}
MAX_DEPTH = 40
#: What a recursive reference becomes once it has been inlined along the current path.
_CYCLE = {"type": "object", "description": "(recursive structure)"}


def json_schema(schema: Any) -> dict[str, Any]:
    """The schema for `parametersJsonSchema`."""
    root = dict(schema) if isinstance(schema, Mapping) else {}
    defs = _definitions(root)
    out = _inline(root, defs, (), 0)
    out = out if isinstance(out, dict) else {}
    return _object_root(out)


def openapi_schema(schema: Any) -> dict[str, Any]:
    """The schema for `parameters` (OpenAPI subset)."""
    inlined = json_schema(schema)
    cleaned = _openapi(inlined, 0)
    return _object_root(cleaned)


def _object_root(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" not in schema and "anyOf" not in schema:
        schema["type"] = "object"
    if schema.get("type") == "object":
        schema.setdefault("properties", {})
    return schema


def _definitions(root: Mapping[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        value = root.get(key)
        if isinstance(value, Mapping):
            for name, sub in value.items():
                defs[f"#/{key}/{name}"] = sub
    return defs


def _inline(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...], depth: int) -> Any:
    """Local refs replaced by their targets (siblings other than the target's own keys kept on top)."""
    if depth > MAX_DEPTH:
        return dict(_CYCLE)
    if isinstance(node, list):
        return [_inline(item, defs, seen, depth + 1) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if ref in seen or ref == "#":
            target: Any = dict(_CYCLE)
        elif ref in defs and isinstance(defs[ref], Mapping):
            target = _inline(defs[ref], defs, (*seen, ref), depth + 1)
        else:
            target = {"description": f"(schema {ref} not available)"}
        merged = dict(target) if isinstance(target, dict) else {}
        for key, value in _inline(siblings, defs, seen, depth + 1).items():
            merged.setdefault(key, value)
        return merged
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_ALWAYS or key in ("$defs", "definitions", "$ref") or key.startswith("x-"):
            continue  # a `$ref` still here is not a string: it points nowhere, and Gemini would refuse it
        if not _typed_right(key, value):
            continue
        if key in ("properties", "patternProperties", "$defs") and isinstance(value, Mapping):
            out[key] = {name: _inline(sub, defs, seen, depth + 1) for name, sub in value.items()}
        else:
            out[key] = _inline(value, defs, seen, depth + 1)
    return out


def _openapi(node: Any, depth: int) -> Any:
    if not isinstance(node, Mapping):
        return {}
    if depth > MAX_DEPTH:
        return {"type": "object"}
    node = _merge_all_of(node)
    out: dict[str, Any] = {}
    hints: list[str] = []
    kind = node.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if isinstance(t, str) and t in _TYPES]
        non_null = [t for t in types if t != "null"]
        if len(non_null) < len(types):
            out["nullable"] = True
        if len(non_null) > 1:
            out["anyOf"] = [{"type": t} for t in non_null]
            kind = None
        else:
            kind = non_null[0] if non_null else None
    if isinstance(kind, str) and kind in _TYPES and kind != "null":
        out["type"] = kind
    elif kind == "null":
        out["nullable"] = True
    if "const" in node:
        value = node["const"]
        out["enum"] = [value if isinstance(value, str) else _json_text(value)]
        out.setdefault("type", "string")
    for key, value in node.items():
        if key in ("type", "const", "allOf"):
            continue
        if key in ("anyOf", "oneOf") and isinstance(value, list):
            options = [_openapi(v, depth + 1) for v in value if isinstance(v, Mapping)]
            nulls = [o for o in options if o == {"nullable": True}]
            options = [o for o in options if o != {"nullable": True}]
            if nulls:
                out["nullable"] = True
            if len(options) == 1 and "anyOf" not in out:
                for k, v in options[0].items():
                    out.setdefault(k, v)
            elif options:
                out["anyOf"] = options
        elif key == "properties" and isinstance(value, Mapping):
            out["properties"] = {str(k): _openapi(v, depth + 1) for k, v in value.items()}
        elif key == "items":
            out["items"] = _openapi(value[0] if isinstance(value, list) and value else value, depth + 1)
        elif key == "enum" and isinstance(value, list):
            out["enum"] = [v if isinstance(v, str) else _json_text(v) for v in value if v is not None]
            out.setdefault("type", "string")
            if out["type"] != "string":
                out["type"] = "string"  # the proto's enum is a list of strings
        elif key == "format":
            allowed = _STRING_FORMATS if out.get("type") == "string" else _NUMBER_FORMATS
            if isinstance(value, str) and value in allowed:
                out["format"] = value
            elif isinstance(value, str):
                hints.append(f"format: {value}")
        elif key in _HINTS:
            hints.append(f"{key}: {_json_text(value)}")
        elif key in _OPENAPI_KEYS and key not in out:
            out[key] = value
    if "required" in out:
        names = set(out.get("properties") or {})
        required = (
            [r for r in out["required"] if isinstance(r, str) and r in names]
            if isinstance(out["required"], list)
            else []
        )
        if required:
            out["required"] = required
        else:
            del out["required"]
    if "enum" in out and not out["enum"]:
        del out["enum"]
    if hints:
        text = "; ".join(hints)
        description = out.get("description")
        out["description"] = f"{description} ({text})" if isinstance(description, str) and description else text
    return out


def _typed_right(key: str, value: Any) -> bool:
    wanted = _VALUE_TYPES.get(key)
    if wanted is None:
        return True
    return isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool))


def _merge_all_of(node: Mapping[str, Any]) -> Mapping[str, Any]:
    parts = node.get("allOf")
    if not isinstance(parts, list):
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                merged["properties"] = {**(merged.get("properties") or {}), **value}
            elif key == "required" and isinstance(value, list):
                merged["required"] = [*(merged.get("required") or []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)
