"""Secrets out of error text: every secret ccm holds, and anything that looks like a credential.

Upstreams quote what they were sent ("Incorrect API key provided: sk-…"), token endpoints echo tokens,
and a library's exception may carry a header. Such text is logged (ccm.log), recorded (/api/requests,
the live feed) and relayed to the client, so it is redacted first:

    held.hold(key, router_key)     # a secret ccm now holds: its value is replaced wherever it shows
    redact(text)                   # "Incorrect API key provided: [redacted]"

It lives in ccm.auth because auth is where secrets are resolved (the credential resolver, the OAuth token
manager, Google's tokens) and so where they are registered as they come into use; dispatch, the relay,
the request log, the admin API and the log file only call `redact`.

Two passes. By value: each secret registered here (provider keys and the router key when a config is
loaded; every credential when it is resolved, a passthrough client's own login included; OAuth access and
refresh tokens when read or refreshed); a secret shorter than 8 characters is left alone, since
replacing it would mangle ordinary words. By look: what follows `Bearer `, `sk-…` keys, Google's
`AIza…` keys and `ya29.…` tokens, and JWTs (`eyJ….….…`), whoever they belong to.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

__all__ = ["MIN_LENGTH", "REDACTED", "held", "redact"]

REDACTED = "[redacted]"
MIN_LENGTH = 8
"""Shorter secrets are not replaced inside text (they would match ordinary words)."""
MAX_HELD = 256
"""Secrets remembered at most (the oldest go first): each client's login is held when it is used, and
logins rotate. A few hundred keep a log line's redaction well under a millisecond."""

_LOOKS = re.compile(
    r"(?P<bearer>\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+)[A-Za-z0-9._~+/=\-]+"
    r"|\bsk-[A-Za-z0-9_*\-]{8,}"
    r"|\bAIza[0-9A-Za-z_\-]{20,}"
    r"|\bya29\.[0-9A-Za-z_.\-]+"
    r"|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
)


_TRIGGERS = ("earer", "EARER", "sk-", "AIza", "ya29.", "eyJ")
"""Substrings every credential by look contains: text with none of them skips the pattern (a log line)."""


def _by_look(match: re.Match[str]) -> str:
    bearer = match.group("bearer")
    return f"{bearer}{REDACTED}" if bearer else REDACTED


class Held:
    """The secrets this process holds, as one compiled pattern (rebuilt only when a new one arrives)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, None] = {}
        self._pattern: re.Pattern[str] | None = None

    def hold(self, *values: str | None) -> None:
        """Remember secrets: from now on their value is redacted wherever it shows (cheap when known)."""
        new = [v for v in values if v and len(v) >= MIN_LENGTH and v not in self._values]
        if not new:
            return
        with self._lock:
            for value in new:
                self._values[value] = None
            for old in list(self._values)[: max(0, len(self._values) - MAX_HELD)]:
                del self._values[old]
            longest_first = sorted(self._values, key=len, reverse=True)  # a key inside a longer one
            self._pattern = re.compile("|".join(map(re.escape, longest_first)))

    def hold_all(self, values: Iterable[str | None]) -> None:
        self.hold(*values)

    def forget(self) -> None:
        """Tests only: start from nothing."""
        with self._lock:
            self._values.clear()
            self._pattern = None

    def sub(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(REDACTED, text) if pattern is not None else text


held = Held()


def redact(text: str, *extra: str | None) -> str:
    """`text` with every held secret (and `extra` ones) and anything that looks like a credential
    replaced by `[redacted]`."""
    if not text:
        return text
    for value in extra:
        if value and len(value) >= MIN_LENGTH:
            text = text.replace(value, REDACTED)
    text = held.sub(text)
    if any(trigger in text for trigger in _TRIGGERS):
        text = _LOOKS.sub(_by_look, text)
    return text


def redact_bytes(data: bytes) -> bytes:
    """The same for an SSE event or a body on its way out (UTF-8; `[redacted]` needs no JSON escaping)."""
    text = data.decode("utf-8", "replace")
    clean = redact(text)
    return data if clean == text else clean.encode()
