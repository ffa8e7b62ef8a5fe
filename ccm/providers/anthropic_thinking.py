"""Thinking signatures on the Anthropic wire: each goes back only to the host that made it.

Anthropic-format hosts other than api.anthropic.com (z.ai, MiniMax, Kimi, …) sign thinking with keys of
their own, which Anthropic rejects ("Invalid `signature` in `thinking` block"). Their signatures are
wrapped in a ccm signature naming the provider on the way back to Claude Code, unwrapped for that
provider, and removed for any other; api.anthropic.com gets only its own (unwrapped) ones. That is what
lets one session go "Max limit -> GLM -> back to Claude".

    wrap(provider_key, signature)                 -> "ccm1:<digest>.<base64 details>"
    own_thinking(messages, provider_key, anthropic_host) -> (messages, removed_from_last_turn)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ccm.translate.anthropic import is_ccm_signature
from ccm.translate.signature import sign_thinking, signature_details
from config.schema import ProviderConfig

ANTHROPIC_HOST = "api.anthropic.com"
_KIND = "anthropic-host"


def is_anthropic_host(provider: ProviderConfig) -> bool:
    """Anthropic's own API: type `anthropic` (at api.anthropic.com or a gateway in front of it), or any
    Anthropic-format provider whose host is api.anthropic.com."""
    return provider.provider_type == "anthropic" or urlsplit(provider.effective_base_url).hostname == ANTHROPIC_HOST


def key_of(provider: ProviderConfig) -> str:
    return provider.name.lower()


def wrap(provider_key: str, signature: str) -> str:
    """A host's own signature, carried in a ccm signature that names the host."""
    if not signature or is_ccm_signature(signature):
        return signature
    return sign_thinking(signature, [{"type": _KIND, "provider": provider_key, "signature": signature}])


def unwrap(signature: object, provider_key: str) -> str | None:
    """The host's own signature when `signature` wraps one made by this provider, else None."""
    for detail in signature_details(signature) or []:
        if isinstance(detail, dict) and detail.get("type") == _KIND and detail.get("provider") == provider_key:
            value = detail.get("signature")
            return value if isinstance(value, str) else None
    return None


def own_thinking(messages: Any, provider_key: str, anthropic_host: bool) -> tuple[Any, bool]:
    """The messages with every thinking block this provider did not sign removed (its own unwrapped), and
    whether the last assistant turn lost one (then an open tool loop may need `thinking` dropped)."""
    if not isinstance(messages, list):
        return messages, False
    out: list[Any] = []
    changed = False
    last_assistant = max(
        (i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") == "assistant"), default=-1
    )
    lost_last = False
    for index, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not (isinstance(content, list) and message.get("role") == "assistant"):
            out.append(message)
            continue
        kept: list[Any] = []
        for block in content:
            if not (isinstance(block, dict) and block.get("type") == "thinking"):
                kept.append(block)
                continue
            signature = block.get("signature")
            if is_ccm_signature(signature):
                own = unwrap(signature, provider_key)
                if own is not None:
                    kept.append({**block, "signature": own})
                    continue
            elif anthropic_host:
                kept.append(block)  # Anthropic's own signature, going back to Anthropic
                continue
            changed = True
            lost_last = lost_last or index == last_assistant
        if len(kept) != len(content) or kept != content:
            changed = True
            message = {**message, "content": kept or [{"type": "text", "text": "(thinking)"}]}
        out.append(message)
    return (out if changed else messages), lost_last


def in_open_tool_loop(messages: Any) -> bool:
    """The request continues a tool loop: the last message carries tool results for the turn before it."""
    if not isinstance(messages, list) or not messages:
        return False
    last = messages[-1]
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)
