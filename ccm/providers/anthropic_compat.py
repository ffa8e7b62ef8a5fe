"""Third-party Anthropic-format hosts: adapt what each refuses of the request shapes Claude Code sends.

Claude Code sends mid-conversation `role: "system"` messages, `tool_reference` blocks, `context_management`
and beta flags that only Anthropic serves; many hosts answer such a request with a 400. The catalog lists,
per provider_type, what each host is reported to refuse (config.catalog.REJECTS); beyond that list, a 400
that names a field, block type, beta flag or the system role is learnt for the provider and model, and the
dispatcher's one corrective retry sends the request without it (the adapter's `learn` hook, as Vertex's
refused beta flags).

    fix = adaptations(provider, model)                 # listed + learnt; None for anthropic and passthrough
    body, headers = adapt(body, headers, fix)          # what goes out
    sent = Sent.of(body, headers)                      # kept for the answer
    if learn_from(status, content, sent, provider, model):   # a 400 named something it can adapt
        ... build() again and retry once ...

Learning never drops messages, tools or `system`: it drops optional top-level fields and beta flags, and
turns block types and system messages into text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from config.catalog import rejected_shapes
from config.schema import ProviderConfig

log = logging.getLogger("ccm.providers.anthropic")

OLD_VERSION = "2023-06-01"
#: Top-level fields a request cannot do without: never dropped, whatever a 400 says.
KEPT_FIELDS = frozenset({"model", "messages", "system", "tools", "max_tokens", "stream"})
#: Block types that carry the conversation itself: never turned into text (a host that refuses them is
#: failed over instead).
KEPT_BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"})
#: A beta flag whose body field goes with it (OpenRouter names the flag when it refuses the field).
_FIELD_OF_BETA = {"context-management-": "context_management"}
#: The system role named in a 400: "messages[3].role: system is not supported", "unknown variant `system`",
#: "invalid message role: system", z.ai's 422 `"loc": [..., "role"], ..., "input": "system"`.
_SYSTEM_ROLE = re.compile(r"\brole\b.{0,80}?\bsystem\b|\bsystem\b.{0,20}?\brole\b", re.I | re.S)
#: Statuses whose body may name what the host refused (z.ai validates with 422).
_LEARNABLE = frozenset({400, 422})


@dataclass(frozen=True, slots=True)
class Fix:
    """What to change in a request before it goes to one provider and model."""

    fields: frozenset[str] = frozenset()
    """Top-level fields left out."""
    betas: frozenset[str] = frozenset()
    """Beta flags left out of `anthropic-beta`."""
    blocks: frozenset[str] = frozenset()
    """Block types turned into text."""
    system_messages: bool = False
    """`role: "system"` messages turned into user text."""
    version: bool = False
    """`anthropic-version` sent as 2023-06-01."""

    def __or__(self, other: Fix) -> Fix:
        return Fix(
            self.fields | other.fields,
            self.betas | other.betas,
            self.blocks | other.blocks,
            self.system_messages or other.system_messages,
            self.version or other.version,
        )

    def __bool__(self) -> bool:
        return bool(self.fields or self.betas or self.blocks or self.system_messages or self.version)

    def describe(self) -> str:
        parts = [*sorted(self.fields), *sorted(f"{b} blocks" for b in self.blocks), *sorted(self.betas)]
        if self.system_messages:
            parts.append("system messages")
        if self.version:
            parts.append("anthropic-version")
        return ", ".join(parts)


_LISTED: dict[str, Fix] = {
    "system-messages": Fix(system_messages=True),
    "tool-reference": Fix(blocks=frozenset({"tool_reference"})),
    "context-management": Fix(fields=frozenset({"context_management"})),
    "anthropic-version": Fix(version=True),
}
_learnt: dict[tuple[str, str], Fix] = {}


def applies(provider: ProviderConfig) -> bool:
    """Anthropic itself, and Claude Code's own login (passthrough), get the body as Claude Code sent it."""
    return provider.provider_type != "anthropic" and provider.auth_type != "passthrough"


def adaptations(provider: ProviderConfig, model: str) -> Fix | None:
    """The catalog's listed adaptations for this type plus what was learnt for this provider and model."""
    if not applies(provider):
        return None
    fix = Fix()
    for shape in rejected_shapes(provider.provider_type):
        fix |= _LISTED.get(shape, Fix())
    return fix | learnt(provider.name, model)


def learnt(provider: str, model: str) -> Fix:
    return _learnt.get((provider.lower(), model), Fix())


def remember(provider: str, model: str, fix: Fix) -> None:
    key = (provider.lower(), model)
    _learnt[key] = _learnt.get(key, Fix()) | fix


def forget_all() -> None:
    """Tests start from nothing learnt."""
    _learnt.clear()


def adapt(body: dict[str, Any], headers: dict[str, str], fix: Fix) -> dict[str, Any]:
    """A copy of the body with `fix` applied (the client's own is left alone); `headers` is changed in place."""
    if fix.version and "anthropic-version" in headers:
        headers["anthropic-version"] = OLD_VERSION
    if fix.betas and headers.get("anthropic-beta"):
        kept = [f for f in _flags(headers["anthropic-beta"]) if f not in fix.betas]
        if kept:
            headers["anthropic-beta"] = ",".join(kept)
        else:
            del headers["anthropic-beta"]
    dropped = fix.fields | {name for prefix, name in _FIELD_OF_BETA.items() if _any_prefix(fix.betas, prefix)}
    out = {k: v for k, v in body.items() if k not in dropped or k in KEPT_FIELDS}
    messages = body.get("messages")
    if isinstance(messages, list) and (fix.blocks or fix.system_messages):
        if fix.blocks:
            messages = [_with_text_blocks(m, fix.blocks) for m in messages]
        if fix.system_messages:
            messages = system_as_user(messages)
        out["messages"] = messages
    return out


@dataclass(slots=True)
class Sent:
    """What a request carried that a 400 may name: the candidates for learning."""

    fields: frozenset[str] = frozenset()
    betas: tuple[str, ...] = ()
    blocks: frozenset[str] = frozenset()
    system_messages: bool = False
    version: str | None = None

    @classmethod
    def of(cls, body: dict[str, Any], headers: dict[str, str]) -> Sent:
        messages = body.get("messages")
        listed = messages if isinstance(messages, list) else []
        return cls(
            frozenset(k for k in body if k not in KEPT_FIELDS),
            tuple(_flags(headers.get("anthropic-beta") or "")),
            frozenset(t for t in _block_types(listed) if t not in KEPT_BLOCKS),
            any(isinstance(m, dict) and m.get("role") == "system" for m in listed),
            headers.get("anthropic-version"),
        )


def named(status: int, content: bytes, sent: Sent) -> Fix:
    """What a refusal names of what the request carried (an empty Fix when nothing it can adapt)."""
    if status not in _LEARNABLE:
        return Fix()
    text = error_text(content)
    fields = frozenset(f for f in sent.fields if _field_named(f, text))
    betas = frozenset(f for f in sent.betas if f in text)
    blocks = frozenset(b for b in sent.blocks if re.search(rf"(?<![\w-]){re.escape(b)}(?![\w-])", text))
    system = sent.system_messages and bool(_SYSTEM_ROLE.search(text))
    version = sent.version not in (None, OLD_VERSION) and "anthropic-version" in text.lower()
    return Fix(fields, betas, blocks, system, version)


def error_text(content: bytes) -> str:
    """The refusal's text to search: its JSON without echoed request parts (a validator may quote the whole
    body as `input`, which would name every field); a short scalar `input` stays (z.ai's `"input": "system"`)."""
    try:
        data = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content[:8192].decode("utf-8", "replace")
    return orjson.dumps(_without_echo(data)).decode()[:8192]


def _without_echo(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_echo(v)
            for k, v in value.items()
            if k != "input" or (isinstance(v, str | int | float) and len(str(v)) <= 100)
        }
    if isinstance(value, list):
        return [_without_echo(v) for v in value]
    return value


def learn_from(status: int, content: bytes, sent: Sent | None, provider: ProviderConfig, model: str) -> bool:
    """Remember what a host's refusal named, for this provider and model; True when there was something."""
    if sent is None or not applies(provider):
        return False
    fix = named(status, content, sent)
    if not fix:
        return False
    remember(provider.name, model, fix)
    log.warning(
        "provider '%s' (%s) refused %s: left out or turned into text from now on", provider.name, model, fix.describe()
    )
    return True


def system_as_user(messages: list[Any]) -> list[Any]:
    """System messages as user text in <system-reminder>, merged into the neighbouring user turn so roles
    still alternate: into the user turn before it (Claude Code sends them after the user's turn, sometimes
    last), else the one after it (after that turn's tool results, which must come first), else on its own."""
    out: list[Any] = []
    pending: list[dict[str, Any]] = []  # reminders waiting for the next user turn
    for message in messages:
        if not isinstance(message, dict):
            out.append(message)
            continue
        role = message.get("role")
        if role == "system":
            reminder = _reminder(message.get("content"))
            previous = out[-1] if out and not pending else None
            if isinstance(previous, dict) and previous.get("role") == "user":
                out[-1] = {**previous, "content": [*_blocks(previous.get("content")), reminder]}
            else:
                pending.append(reminder)
            continue
        if pending and role == "user":
            content = _blocks(message.get("content"))
            lead = 0
            while (
                lead < len(content) and isinstance(content[lead], dict) and content[lead].get("type") == "tool_result"
            ):
                lead += 1
            message = {**message, "content": [*content[:lead], *pending, *content[lead:]]}
            pending = []
        elif pending:
            out.append({"role": "user", "content": pending})
            pending = []
        out.append(message)
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def _reminder(content: Any) -> dict[str, Any]:
    """One text block: the system message's text in <system-reminder> (its cache breakpoint kept)."""
    blocks = _blocks(content)
    text = "\n\n".join(str(b.get("text") or "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    block: dict[str, Any] = {"type": "text", "text": f"<system-reminder>\n{text}\n</system-reminder>"}
    cache = next((b["cache_control"] for b in reversed(blocks) if isinstance(b, dict) and "cache_control" in b), None)
    if cache is not None:
        block["cache_control"] = cache
    return block


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def _with_text_blocks(message: Any, kinds: frozenset[str]) -> Any:
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return message
    content = _texts(message["content"], kinds)
    return message if content is message["content"] else {**message, "content": content}


def _texts(blocks: list[Any], kinds: frozenset[str]) -> list[Any]:
    """Blocks of the given types as text blocks, tool results' own content included (a copy when changed)."""
    out: list[Any] = []
    changed = False
    for block in blocks:
        new = block
        if isinstance(block, dict):
            if block.get("type") in kinds:
                new = {"type": "text", "text": block_text(block)}
            elif block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                inner = _texts(block["content"], kinds)
                if inner is not block["content"]:
                    new = {**block, "content": inner}
        changed = changed or new is not block
        out.append(new)
    return out if changed else blocks


def block_text(block: dict[str, Any]) -> str:
    """A block a host refuses, as text the model can still read."""
    kind = block.get("type")
    if kind == "tool_reference":
        return f"Tool loaded: {block.get('tool_name') or block.get('name') or 'unknown'}"
    if isinstance(block.get("text"), str):
        return str(block["text"])
    rest = {k: v for k, v in block.items() if k != "type" and not _opaque(k)}
    return f"[{kind}] {orjson.dumps(rest).decode()[:4000]}"


def _opaque(key: str) -> bool:
    """Fields that mean nothing to a model (encrypted or signed payloads, cache markers)."""
    return key in ("signature", "data", "cache_control") or key.startswith("encrypted")


def _block_types(value: Any) -> Iterable[str]:
    if isinstance(value, list):
        for item in value:
            yield from _block_types(item)
    elif isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str) and "role" not in value:
            yield kind
        content = value.get("content")
        if isinstance(content, list):
            yield from _block_types(content)


def _field_named(name: str, text: str) -> bool:
    """A top-level field named as such: `context_management: Extra inputs ...`, "unknown field
    `output_config`", ["body", "safeguards"]; not a nested path's last part (`messages.1.content.0.thinking`),
    nor a path into a field the host knows (`thinking.budget_tokens: ...`, ["body", "thinking", "type"])."""
    pattern = rf'(?<![\w-])(?<!\d\.)(?<!\]\.){re.escape(name)}(?![\w.\[-])(?!",")'
    return re.search(pattern, text) is not None


def _flags(header: str) -> list[str]:
    return [f.strip() for f in header.split(",") if f.strip()]


def _any_prefix(flags: frozenset[str], prefix: str) -> bool:
    return any(f.startswith(prefix) for f in flags)
