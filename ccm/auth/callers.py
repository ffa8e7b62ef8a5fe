"""Who is calling: the router key (the operator's) and each [[clients]] key, known by a keyed digest.

The edge (ccm.api.guard) hashes each key a request offers and looks the digest up: one HMAC per offered
key, however many clients are configured. The digest is keyed with a secret drawn at start, so an
attacker cannot predict any digest, and the dictionary lookup's timing (which compares digests, not keys)
says nothing about a key's bytes: the "double HMAC" way of comparing secrets in constant time.

    owners = key_owners(router_key, {"alice": alice_key})    # digest -> "" (the operator) or a client name
    owners.get(digest(offered))                                 # None: not a key ccm knows
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

from config.errors import CcmError

OPERATOR = ""
"""The owner of the router key (server.api_key): the operator, no globs, no limits."""
_SECRET = os.urandom(32)


def digest(value: str) -> bytes:
    """The keyed digest ccm knows a key by (never the key itself)."""
    return hmac.digest(_SECRET, value.encode("utf-8", "surrogatepass"), "sha256")


def key_owners(router_key: str | None, clients: Mapping[str, str]) -> dict[bytes, str]:
    """Digest -> OPERATOR or the client's name. Two owners of one key are refused (CcmError): ccm could not
    tell them apart, and a client holding the router key would open the admin API."""
    owners: dict[bytes, str] = {}
    if router_key:
        owners[digest(router_key)] = OPERATOR
    for name, key in clients.items():
        known = owners.setdefault(digest(key), name)
        if known == name:
            continue
        if known == OPERATOR:
            raise CcmError(
                f"client '{name}' has the router key (server.api_key) as its key; give it a key of its own",
                hint=f"ccm clients add {name} --replace",
            )
        raise CcmError(f"clients '{known}' and '{name}' have the same key; give each a key of its own")
    return owners
