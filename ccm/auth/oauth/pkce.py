"""PKCE (RFC 7636, S256) and the `state` value, as the Codex CLI makes them."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def challenge(verifier: str) -> str:
    """The S256 challenge of a verifier: base64url(sha256(verifier)), no padding."""
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    """32 random bytes, base64url: ties the callback to the login that asked for it."""
    return _b64url(secrets.token_bytes(32))


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str
    challenge: str


def new_pkce() -> Pkce:
    """A fresh verifier (64 random bytes, 86 characters: inside RFC 7636's 43..128) and its challenge."""
    verifier = _b64url(secrets.token_bytes(64))
    return Pkce(verifier, challenge(verifier))
