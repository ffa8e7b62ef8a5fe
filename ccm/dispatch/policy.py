"""The failure policy: every kind of failed attempt, and what it leads to, in one table.

An attempt that did not answer is classified once, into a `Kind` (ccm.dispatch.attempt for what the
upstream said or did, ccm.dispatch.failover for a credential that could not be had); everything that
follows reads `POLICY[kind]`:

    rule = POLICY[failure.kind]
    rule.action        # RETRY the same mapping (with backoff, up to failover.max_retries), FAIL_OVER, PASS_THROUGH
    rule.breaker       # counts against the provider's circuit breaker (ccm.dispatch.breaker)
    rule.transient     # may pass by itself: when every mapping failed, the last such status wins (ccm.dispatch.verdict)
    rule.ccm_credential  # a credential ccm holds was refused or is missing: the user fixes it in ccm (verdict)
    rule.corrective    # one immediate retry of the same mapping after a fix, even with max_retries = 0

Why the lines fall where they do: a failure that may pass by itself (a dropped connection, a timeout, a
rate limit, an overloaded or failing server) is worth another try of the same mapping and says the
provider is unhealthy; a failure that will not change on a second try (a refused key, a model the host
does not serve, a shape it does not take) moves on to the next mapping at once and says nothing about the
provider's health. Anthropic's own refusal of a request (400, 413, 422) is the request's fault wherever it
goes, so the client gets it as it is; every other host's refusal is usually its own limit, a shape it does
not accept, or ccm's translation, so another mapping may well serve it. A passthrough provider's 401 is
the client's own login expiring: the client refreshes it and tries again, so it goes back at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "POLICY",
    "REFUSALS",
    "RETRYABLE",
    "Action",
    "Corrective",
    "Kind",
    "Rule",
    "account_refused",
    "kind_for_event",
    "kind_for_status",
]

#: Statuses another try of the same mapping may get past.
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504, 529})
#: Statuses that refuse the request itself (too large, malformed, unprocessable).
REFUSALS = frozenset({400, 413, 422})
#: What a passthrough provider's 400 says when the account, not the request, is the problem (Claude's
#: subscription plans out of usage, or a login that only Claude Code may use): another mapping may serve.
ACCOUNT_PHRASES = ("out of extra usage", "only authorized for use with claude code", "credit balance is too low")


class Kind(enum.Enum):
    """What went wrong in one attempt."""

    CONNECTION_ERROR = "connection_error"
    """Refused, reset or closed before an answer: ccm answers 502."""
    TIMEOUT = "timeout"
    """No connection, headers or first event in time: 504."""
    HTTP_408 = "http_408"
    HTTP_429 = "http_429"
    HTTP_5XX = "http_5xx"
    """500, 502, 503, 504."""
    HTTP_529 = "http_529"
    """Anthropic's "overloaded"."""
    HTTP_OTHER_5XX = "http_other_5xx"
    """Any other 5xx (501, 505, a gateway's 520-524, ...): the server failing, but not one a second try is
    known to get past."""
    UNAUTHORIZED = "unauthorized"
    """401 on a credential ccm holds (an API key, ADC)."""
    PAYMENT = "payment"
    """402."""
    FORBIDDEN = "forbidden"
    """403 on a credential ccm holds, or a key with a character HTTP cannot send."""
    NOT_FOUND = "not_found"
    """404: usually a model the host does not serve."""
    CONFLICT = "conflict"
    """409."""
    OTHER_STATUS = "other_status"
    """Any other error status (405, 410, 451, ...)."""
    NO_KEY = "no_key"
    """No key, no login, an unreadable credentials file: nothing to send."""
    TOKEN_FETCH_FAILED = "token_fetch_failed"
    """An OAuth refresh or Google token fetch that failed for a reason that may pass (its endpoint was
    unreachable or failing): 502."""
    WIRE_NOT_BUILT = "wire_not_built"
    """The provider's wire format has no adapter yet."""
    UNTRANSLATABLE = "untranslatable"
    """The adapter cannot express this request on the provider's wire: a 400 of ccm's own."""
    INVALID_ANSWER = "invalid_answer"
    """Not an answer: a cut or invalid body, an invalid first event, a redirect (never followed: it would
    carry the key)."""
    ERROR_EVENT = "error_event"
    """An error event before the first content that is not transient (its status is read from its type;
    a transient one is classified like that status)."""
    REFUSED_REQUEST = "refused_request"
    """400, 413 or 422 from any host but Anthropic itself."""
    REFUSED_BY_ANTHROPIC = "refused_by_anthropic"
    """400, 413 or 422 from a provider of type `anthropic`: the request itself is wrong."""
    ACCOUNT_REFUSED = "account_refused"
    """A passthrough provider's 400 about the account (out of usage, a login refused), not the request."""
    PASSTHROUGH_401 = "passthrough_401"
    """401 on the client's own login, forwarded by a passthrough provider."""
    PASSTHROUGH_403 = "passthrough_403"
    """403 on the client's own login, forwarded by a passthrough provider."""
    NO_CLIENT_LOGIN = "no_client_login"
    """A passthrough provider, and the request carried no credential of the client's own to forward."""
    CORRECTIVE_REFRESH = "corrective_refresh"
    """401 on an OAuth token: one forced refresh, then one more try."""
    CORRECTIVE_LEARNED = "corrective_learned"
    """A refusal the adapter read and will avoid (a beta flag, a schema form, a field the host named)."""
    CCM_ERROR = "ccm_error"
    """A bug in ccm's own code during the attempt: logged with its traceback and counted."""


class Action(enum.Enum):
    RETRY = "retry the same mapping"
    """With backoff (or the upstream's short Retry-After), up to failover.max_retries; then fail over."""
    FAIL_OVER = "fail over"
    """To the next mapping at once."""
    PASS_THROUGH = "pass through"
    """The upstream's answer goes to the client as it is: no other mapping is tried."""


class Corrective(enum.Enum):
    REFRESH = "refresh"
    """Force an OAuth token refresh, then try again."""
    LEARNED = "learned"
    """The adapter remembered what was refused (per provider and model); try again without it."""


@dataclass(frozen=True, slots=True)
class Rule:
    action: Action
    breaker: bool = False
    """Counts as a failure for the provider's circuit breaker."""
    transient: bool = False
    """May pass by itself: ranks first when the summary status is chosen."""
    ccm_credential: bool = False
    """A credential ccm holds (API key, OAuth token, ADC, or none) was refused or is missing."""
    corrective: Corrective | None = None
    """One immediate retry after this fix, once per request and mapping; never counted by the breaker."""


_FLAKY = Rule(Action.RETRY, breaker=True, transient=True)
_UNHEALTHY = Rule(Action.FAIL_OVER, breaker=True, transient=True)
_MOVE_ON = Rule(Action.FAIL_OVER)
_OWN_CREDENTIAL = Rule(Action.FAIL_OVER, ccm_credential=True)

POLICY: dict[Kind, Rule] = {
    Kind.CONNECTION_ERROR: _FLAKY,
    Kind.TIMEOUT: _FLAKY,
    Kind.HTTP_408: _FLAKY,
    Kind.HTTP_429: _FLAKY,
    Kind.HTTP_5XX: _FLAKY,
    Kind.HTTP_529: _FLAKY,
    Kind.HTTP_OTHER_5XX: _UNHEALTHY,
    Kind.INVALID_ANSWER: _UNHEALTHY,
    Kind.TOKEN_FETCH_FAILED: _UNHEALTHY,
    Kind.UNAUTHORIZED: _OWN_CREDENTIAL,
    Kind.FORBIDDEN: _OWN_CREDENTIAL,
    Kind.NO_KEY: _OWN_CREDENTIAL,
    Kind.PAYMENT: _MOVE_ON,
    Kind.NOT_FOUND: _MOVE_ON,
    Kind.CONFLICT: _MOVE_ON,
    Kind.OTHER_STATUS: _MOVE_ON,
    Kind.WIRE_NOT_BUILT: _MOVE_ON,
    Kind.UNTRANSLATABLE: _MOVE_ON,
    Kind.ERROR_EVENT: _MOVE_ON,
    Kind.REFUSED_REQUEST: _MOVE_ON,
    Kind.ACCOUNT_REFUSED: _MOVE_ON,
    Kind.PASSTHROUGH_403: _MOVE_ON,
    Kind.NO_CLIENT_LOGIN: _MOVE_ON,
    Kind.CCM_ERROR: _MOVE_ON,
    Kind.REFUSED_BY_ANTHROPIC: Rule(Action.PASS_THROUGH),
    Kind.PASSTHROUGH_401: Rule(Action.PASS_THROUGH),
    Kind.CORRECTIVE_REFRESH: Rule(Action.FAIL_OVER, ccm_credential=True, corrective=Corrective.REFRESH),
    Kind.CORRECTIVE_LEARNED: Rule(Action.FAIL_OVER, corrective=Corrective.LEARNED),
}

_BY_STATUS = {
    401: Kind.UNAUTHORIZED,
    402: Kind.PAYMENT,
    403: Kind.FORBIDDEN,
    404: Kind.NOT_FOUND,
    408: Kind.HTTP_408,
    409: Kind.CONFLICT,
    429: Kind.HTTP_429,
    500: Kind.HTTP_5XX,
    502: Kind.HTTP_5XX,
    503: Kind.HTTP_5XX,
    504: Kind.HTTP_5XX,
    529: Kind.HTTP_529,
}


def account_refused(auth_type: str, message: str) -> bool:
    """A passthrough provider's refusal that names the account, not the request."""
    lowered = message.lower()
    return auth_type == "passthrough" and any(phrase in lowered for phrase in ACCOUNT_PHRASES)


def kind_for_status(status: int, *, auth_type: str, provider_type: str, message: str = "") -> Kind:
    """The kind of an upstream's error status, for the provider that answered it (`message`: the
    upstream's own error message, read only for a passthrough provider's 400)."""
    if status in REFUSALS:
        if account_refused(auth_type, message):
            return Kind.ACCOUNT_REFUSED
        return Kind.REFUSED_BY_ANTHROPIC if provider_type == "anthropic" else Kind.REFUSED_REQUEST
    if auth_type == "passthrough" and status in (401, 403):
        return Kind.PASSTHROUGH_401 if status == 401 else Kind.PASSTHROUGH_403
    if auth_type == "oauth" and status == 401:
        return Kind.CORRECTIVE_REFRESH
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return Kind.HTTP_OTHER_5XX if 500 <= status < 600 else Kind.OTHER_STATUS


def kind_for_event(status: int) -> Kind:
    """The kind of an error event ahead of the first content, given the status its type maps to: a
    transient one is that status's kind (an `overloaded_error` is a 529), any other an ERROR_EVENT."""
    return _BY_STATUS[status] if status in RETRYABLE else Kind.ERROR_EVENT
