"""Signatures for the thinking blocks ccm makes from a non-Anthropic answer.

Claude Code drops a thinking block without a signature (and can then end a turn empty), so every thinking
block ccm emits is signed `ccm1:<digest>`. The prefix lets ccm recognise its own blocks in later requests:
their text goes back to providers that need it (reasoning round-trip), and they are removed before a
request reaches a real Anthropic upstream, which would reject a signature it did not make.
"""

from __future__ import annotations

import hashlib

from ccm.providers.base import CCM_SIGNATURE_PREFIX, is_ccm_signature

__all__ = ["is_ccm_signature", "sign_thinking"]


def sign_thinking(text: str) -> str:
    """A deterministic signature for a thinking text: the same reasoning always signs the same way."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()
    return CCM_SIGNATURE_PREFIX + digest
