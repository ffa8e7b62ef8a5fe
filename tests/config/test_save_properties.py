"""Property tests for ConfigDocument over generated configs in many layouts.

The generator writes providers and models interleaved in any order, with comments above headers, between
keys and after values, compact or spaced, blank lines or none, and multi-line strings holding lines that
look like headers. For every such file: the text round-trips exactly, and an edit changes what it must
(checked against tomllib) while every block it does not touch is still in the file byte for byte.
"""

from __future__ import annotations

import copy
import os
import tomllib
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.load import parse_config
from config.save import ConfigDocument

SETTINGS = settings(
    max_examples=int(os.environ.get("CCM_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

COMMENTS = st.sampled_from(["# note", "#", "# [[providers]] is not a header", "   # indented", "#x = 1"])
NAMES = st.lists(
    st.sampled_from(["zai", "kimi", "Open Router", "minimax", "or", "p.q"]), min_size=1, max_size=4, unique_by=str.lower
)
MODELS = st.lists(
    st.sampled_from(["glm-4.6", "m2", "kimi-k2", "Gemini 2.5", "x.y"]), min_size=1, max_size=4, unique_by=str.lower
)


@dataclass
class Generated:
    text: str
    data: dict[str, Any]
    blocks: dict[str, str] = field(default_factory=dict)  # "providers:zai" -> its exact text


@st.composite
def styled_key(draw: st.DrawFn, key: str, value: str) -> str:
    """`key = value` in one of the spellings people use, maybe with an inline comment or a comment above."""
    sep = draw(st.sampled_from([" = ", "=", "   =   "]))
    line = f"{key}{sep}{value}"
    if draw(st.booleans()):
        line += draw(st.sampled_from(["  # why", " #", "   # [x]"]))
    above = draw(st.lists(COMMENTS, max_size=1))
    return "".join(f"{c}\n" for c in above) + line + "\n"


def quote(value: str) -> str:
    return '"' + value + '"'


@st.composite
def configs(draw: st.DrawFn) -> Generated:
    providers = draw(NAMES)
    models = draw(MODELS)
    data: dict[str, Any] = {"router": {"default": models[0]}, "providers": [], "models": []}
    blocks: dict[str, str] = {}

    def gap() -> str:
        return "\n" * draw(st.integers(0, 2))

    def lead() -> str:
        return "".join(f"{c}\n" for c in draw(st.lists(COMMENTS, max_size=2)))

    router = lead() + "[router]\n" + draw(styled_key("default", quote(models[0])))
    entries: list[tuple[str, str]] = []
    for name in providers:
        ptype = draw(st.sampled_from(["z.ai", "openrouter", "minimax"]))
        entry: dict[str, Any] = {"name": name, "provider_type": ptype}
        text = lead() + "[[providers]]\n" + draw(styled_key("name", quote(name)))
        text += draw(styled_key("provider_type", quote(ptype)))
        if draw(st.booleans()):
            text += 'note = """\n[[models]]\n# inside a string\n"""\n'
            entry["note"] = "[[models]]\n# inside a string\n"
        data["providers"].append(entry)
        entries.append((f"providers:{name}", text))
    for name in models:
        maps = []
        text = lead() + "[[models]]\n" + draw(styled_key("name", quote(name)))
        for i in range(draw(st.integers(1, 3))):
            provider = draw(st.sampled_from(providers))
            mapping = {"provider": provider, "actual_model": f"{name}-{i}", "priority": i}
            text += gap() + lead() + "[[models.mappings]]\n" + draw(styled_key("provider", quote(provider)))
            text += draw(styled_key("actual_model", quote(mapping["actual_model"])))
            text += draw(styled_key("priority", str(i)))
            maps.append(mapping)
        data["models"].append({"name": name, "mappings": maps})
        entries.append((f"models:{name}", text))
    order = draw(st.permutations(entries))
    out = router
    for key, text in order:
        out += "\n" + gap() + text
        blocks[key] = text
    data["providers"].sort(key=lambda p: [k for k, _ in order].index(f"providers:{p['name']}"))
    data["models"].sort(key=lambda m: [k for k, _ in order].index(f"models:{m['name']}"))
    blocks["router"] = router
    return Generated(out + draw(st.sampled_from(["", "\n", "# trailing\n"])), data, blocks)


@given(configs())
@SETTINGS
def test_generated_configs_round_trip_and_are_valid(gen: Generated) -> None:
    doc = ConfigDocument(gen.text)
    assert doc.text == gen.text
    assert tomllib.loads(gen.text) == gen.data
    parse_config(gen.text)  # the generator makes valid configs
    assert doc.providers() == gen.data["providers"]
    assert doc.models() == gen.data["models"]


def _untouched(gen: Generated, text: str, touched: set[str]) -> None:
    for key, block in gen.blocks.items():
        if key not in touched:
            assert block.strip("\n") in text, key


@given(configs(), st.data())
@SETTINGS
def test_set_router_slot(gen: Generated, data: st.DataObject) -> None:
    model = data.draw(st.sampled_from([m["name"] for m in gen.data["models"]]))
    doc = ConfigDocument(gen.text)
    doc.set_value("router", "think", model)
    expected = copy.deepcopy(gen.data)
    expected["router"]["think"] = model
    assert tomllib.loads(doc.text) == expected
    _untouched(gen, doc.text, {"router"})


@given(configs(), st.data())
@SETTINGS
def test_edit_provider(gen: Generated, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(gen.data["providers"]) - 1))
    entry = gen.data["providers"][index]
    fields = {**entry, "enabled": False, "api_key": "$K"}
    doc = ConfigDocument(gen.text)
    doc.upsert_provider(entry["name"], fields)
    expected = copy.deepcopy(gen.data)
    expected["providers"][index] = fields
    assert tomllib.loads(doc.text) == expected
    _untouched(gen, doc.text, {f"providers:{entry['name']}"})
    doc.upsert_provider(entry["name"], entry)
    assert doc.text == gen.text  # undoing the edit gives the file back


@given(configs(), st.data())
@SETTINGS
def test_edit_mappings(gen: Generated, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(gen.data["models"]) - 1))
    model = gen.data["models"][index]
    providers = [p["name"] for p in gen.data["providers"]]
    new = data.draw(st.permutations(model["mappings"]))
    new = data.draw(
        st.lists(st.sampled_from(new), unique_by=lambda m: m["actual_model"], min_size=0, max_size=len(new))
    )
    extra = data.draw(st.lists(st.sampled_from(providers), max_size=2))
    new = [*new, *({"provider": p, "actual_model": f"new-{i}", "priority": 9} for i, p in enumerate(extra))]
    doc = ConfigDocument(gen.text)
    doc.upsert_model(model["name"], new)
    expected = copy.deepcopy(gen.data)
    expected["models"][index] = {"name": model["name"], "mappings": new}
    assert tomllib.loads(doc.text) == expected
    _untouched(gen, doc.text, {f"models:{model['name']}"})
    doc.upsert_model(model["name"], model["mappings"])
    assert tomllib.loads(doc.text) == gen.data
    if [m["actual_model"] for m in new] == [m["actual_model"] for m in model["mappings"]]:
        assert doc.text == gen.text


@given(configs(), st.data())
@SETTINGS
def test_rename_provider(gen: Generated, data: st.DataObject) -> None:
    entry = data.draw(st.sampled_from(gen.data["providers"]))
    doc = ConfigDocument(gen.text)
    doc.upsert_provider("renamed", entry, old_name=entry["name"])
    result = parse_config(doc.text).config
    assert result.provider("renamed") is not None and result.provider(entry["name"]) is None
    used = {m.provider for model in result.models for m in model.mappings}
    assert entry["name"] not in used
    touched = {f"providers:{entry['name']}"} | {
        f"models:{m['name']}" for m in gen.data["models"] if any(x["provider"] == entry["name"] for x in m["mappings"])
    }
    _untouched(gen, doc.text, touched)


@given(configs(), st.data())
@SETTINGS
def test_delete_model_or_provider(gen: Generated, data: st.DataObject) -> None:
    doc = ConfigDocument(gen.text)
    expected = copy.deepcopy(gen.data)
    if data.draw(st.booleans()) and len(gen.data["models"]) > 1:
        name = data.draw(st.sampled_from([m["name"] for m in gen.data["models"][1:]]))
        assert doc.delete_model(name)
        expected["models"] = [m for m in expected["models"] if m["name"] != name]
        key = f"models:{name}"
    else:
        name = data.draw(st.sampled_from([p["name"] for p in gen.data["providers"]]))
        assert doc.delete_provider(name)
        expected["providers"] = [p for p in expected["providers"] if p["name"] != name]
        key = f"providers:{name}"
    assert tomllib.loads(doc.text) == {k: v for k, v in expected.items() if v != []}
    _untouched(gen, doc.text, {key})
    assert gen.blocks[key].strip("\n") not in doc.text
