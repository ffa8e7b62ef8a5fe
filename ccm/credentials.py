"""The credential of one upstream call, resolved in one place for dispatch, count_tokens and the check.

Adapters receive a ready `Credential` and never read config, keyring or token files themselves:

    cred = await credentials.resolve(provider, client_headers)   # Credential, or raises NoCredential
    ctx = RequestContext(attempt, cred, client_headers, ...)
    # apikey / adc / oauth: cred.secret is the key or bearer token; oauth adds cred.account_id
    # passthrough: cred.forward holds the client's own Authorization / x-api-key and identity headers
    # none: a keyless local server
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Credential:
    kind: str
    """"none", "apikey", "passthrough", "oauth" or "adc"."""
    secret: str | None = None
    """The API key, OAuth access token or Google access token (never logged)."""
    account_id: str | None = None
    """ChatGPT's account id (`chatgpt-account-id`), for oauth."""
    forward: Mapping[str, str] = field(default_factory=dict)
    """passthrough: the client's own auth and identity headers, forwarded as they came."""


NO_CREDENTIAL = Credential("none")


def api_key(key: str | None) -> Credential:
    """An API-key credential, or none for a keyless local server."""
    return Credential("apikey", key) if key else NO_CREDENTIAL


class CredentialError(Exception):
    """No usable credential for this call: a failed attempt (never fatal), whose message says the fix.

    `status` is what the attempt counts as: 403 for a missing key or file (fail over), 401 for a refused
    login (`ccm oauth login NAME`); `transient` marks a refresh that failed for a reason that may pass
    (a network error at the token endpoint), which counts like a 5xx.
    """

    def __init__(self, message: str, status: int = 403, *, transient: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.transient = transient
