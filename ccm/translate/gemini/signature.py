"""Where Gemini's `thoughtSignature`s ride through Claude Code, and who may get them back.

Gemini signs parts of its answer (thought parts, function calls, sometimes the last text part) and wants
every signature back "exactly as received" at the same part of the next request; Gemini 3 answers 400
when a function call of the current turn lacks one. Claude Code keeps only Anthropic fields, so:

- a signed thought part becomes a thinking block whose ccm signature carries the Gemini signature;
- a signed text part is followed by an empty thinking block marked `on: previous`: on replay its
  signature goes back onto the part just before it (the text);
- a signed functionCall gets a tool_use id that embeds the signature (`toolu_gs<scope><nonce>_<b64url>`):
  the id is the one thing Claude Code always sends back verbatim with the call.

Each carrier names a scope (a hash of wire, provider and model): a signature returns only to what made
it; any other Gemini target gets the call unsigned, and the request builder then puts the documented
dummy on the first call of the turn.

    scope = signature_scope("gemini", "google", "gemini-3-pro-preview")
    tool_id = signed_tool_id(signature, scope)          # or plain_tool_id() for an unsigned call
    call_signature(tool_id, scope)                      # the signature, or None for another scope
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from typing import Any

#: Documented stand-in for a signature ccm does not have (ai.google.dev thought-signatures FAQ).
DUMMY_SIGNATURE = "skip_thought_signature_validator"
KIND = "gemini"
_SIGNED = re.compile(r"^toolu_gs([0-9a-f]{8})[A-Za-z0-9]{12}_([A-Za-z0-9_-]+)$")


def signature_scope(wire: str, provider: str, model: str) -> str:
    """Eight hex characters naming one wire + provider + model."""
    key = f"{wire}\x00{provider.lower()}\x00{model}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=4).hexdigest()


def plain_tool_id() -> str:
    return "toolu_" + secrets.token_hex(12)


def signed_tool_id(signature: str, scope: str) -> str:
    """A tool_use id (`[A-Za-z0-9_-]+`, as Anthropic requires) carrying a base64 signature."""
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raw = signature.encode("utf-8", "surrogatepass")
        payload = "t" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    else:
        payload = "b" + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"toolu_gs{scope}{secrets.token_hex(6)}_{payload}"


def call_signature(tool_id: Any, scope: str) -> str | None:
    """The signature a tool_use id carries, when it was made for `scope`."""
    match = _SIGNED.match(tool_id) if isinstance(tool_id, str) else None
    if match is None or match.group(1) != scope:
        return None
    payload = match.group(2)
    kind, data = payload[:1], payload[1:]
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return None
    if kind == "b":
        return base64.b64encode(raw).decode()
    if kind == "t":
        return raw.decode("utf-8", "replace")
    return None


def detail(signature: str, scope: str, *, on_previous: bool = False) -> dict[str, Any]:
    """The entry a ccm thinking signature carries for one Gemini signature."""
    entry: dict[str, Any] = {"type": KIND, "scope": scope, "signature": signature}
    if on_previous:
        entry["on"] = "previous"
    return entry


def gemini_details(details: list[Any] | None, scope: str) -> list[dict[str, Any]] | None:
    """The Gemini entries of a ccm signature made for `scope`; None when the block is not Gemini's
    (another wire, another provider or model: the block is then dropped)."""
    found = [
        d
        for d in details or ()
        if isinstance(d, dict) and d.get("type") == KIND and isinstance(d.get("signature"), str)
    ]
    if not found:
        return None
    if any(d.get("scope") != scope for d in found):
        return None
    return found
