"""Signatures for the thinking blocks ccm makes from a non-Anthropic answer.

Claude Code drops a thinking block without a signature (and can then end a turn empty), so every thinking
block ccm emits is signed `ccm1:<digest>`. The prefix lets ccm recognise its own blocks in later requests:
their text goes back to providers that need it (reasoning round-trip), and they are removed before a
request reaches a real Anthropic upstream, which would reject a signature it did not make.

Some providers return opaque reasoning state that must come back verbatim on the next request (OpenRouter's
`reasoning_details`: Claude's thinking signatures, Gemini's thought signatures, OpenAI's encrypted
reasoning). It rides in the signature, after the digest, as base64url JSON; Claude Code stores and replays
the signature untouched:

    sign_thinking("text")                         -> "ccm1:3f2a..."
    sign_thinking("text", [{"type": ...}])        -> "ccm1:3f2a....eyJ0eXBlIj..."
    signature_details(signature)                  -> [{"type": ...}] or None
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import orjson

from ccm.translate.anthropic import CCM_SIGNATURE_PREFIX, is_ccm_signature

__all__ = ["is_ccm_signature", "sign_thinking", "signature_details"]


def sign_thinking(text: str, details: list[Any] | None = None) -> str:
    """A deterministic signature for a thinking text (and the provider's reasoning state, if any)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    signature = CCM_SIGNATURE_PREFIX + digest
    if details:
        signature += "." + base64.urlsafe_b64encode(orjson.dumps(details)).decode().rstrip("=")
    return signature


def signature_details(signature: object) -> list[Any] | None:
    """The provider reasoning state carried by a ccm signature, or None."""
    if not is_ccm_signature(signature):
        return None
    assert isinstance(signature, str)
    _, dot, payload = signature.partition(".")
    if not dot or not payload:
        return None
    try:
        value = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, list) else None
