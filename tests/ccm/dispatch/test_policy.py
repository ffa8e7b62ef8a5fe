"""ccm.dispatch.policy: the failure table against the failover rules as documented (the README's Failover
section), one test per rule list, so an edit of the table or of a rule shows here.

Each list below is the rule's own words mapped to kinds; a kind the rule does not name must not do what
the rule says (the sets are compared whole)."""

from __future__ import annotations

import pytest

from ccm.dispatch.attempt import Failure
from ccm.dispatch.policy import (
    POLICY,
    Action,
    Corrective,
    Kind,
    kind_for_event,
    kind_for_status,
)
from ccm.dispatch.verdict import summary, verdict

K = Kind


def kinds(**where: object) -> set[Kind]:
    """The kinds whose rule has every given column value."""
    return {kind for kind, rule in POLICY.items() if all(getattr(rule, k) == v for k, v in where.items())}


def api_key(status: int) -> Kind:
    return kind_for_status(status, auth_type="apikey", provider_type="openai")


def test_every_kind_has_a_rule() -> None:
    assert set(POLICY) == set(Kind)


def test_retry_the_same_mapping() -> None:
    """Retry the same mapping: connection refused/reset, timeout before the first event, 408, 429, 500,
    502, 503, 504, 529."""
    named = {K.CONNECTION_ERROR, K.TIMEOUT, K.HTTP_408, K.HTTP_429, K.HTTP_5XX, K.HTTP_529}
    assert kinds(action=Action.RETRY) == named
    assert {api_key(s) for s in (408, 429, 500, 502, 503, 504, 529)} <= named


def test_fail_over_at_once() -> None:
    """Fail over at once, without retry: 401 (except a passthrough provider's), 402, 403, 404, 409, no key
    / no login, wire not built, an invalid answer; 400, 413, 422 from every host but Anthropic itself."""
    by_status = {api_key(s) for s in (401, 402, 403, 404, 409, 400, 413, 422)}
    named = by_status | {K.NO_KEY, K.WIRE_NOT_BUILT, K.INVALID_ANSWER}
    assert by_status == {K.UNAUTHORIZED, K.PAYMENT, K.FORBIDDEN, K.NOT_FOUND, K.CONFLICT, K.REFUSED_REQUEST}
    assert all(POLICY[kind].action is Action.FAIL_OVER and POLICY[kind].corrective is None for kind in named)
    third_party = kind_for_status(400, auth_type="apikey", provider_type="anthropic-compatible")
    assert third_party is K.REFUSED_REQUEST  # an Anthropic-format host that is not Anthropic: fail over


def test_pass_through() -> None:
    """400, 413 and 422 pass through at once from Anthropic itself (the request itself is wrong), and a
    passthrough provider's 401 goes back to the client (it refreshes its own login): nothing else does."""
    assert kinds(action=Action.PASS_THROUGH) == {K.REFUSED_BY_ANTHROPIC, K.PASSTHROUGH_401}
    for status in (400, 413, 422):
        assert kind_for_status(status, auth_type="apikey", provider_type="anthropic") is K.REFUSED_BY_ANTHROPIC
    assert kind_for_status(401, auth_type="passthrough", provider_type="anthropic") is K.PASSTHROUGH_401


def test_the_circuit_breaker_counts_only() -> None:
    """The circuit breaker counts only connection errors, timeouts, 408, 429, 5xx, 529 and invalid answers
    (never a 4xx that is the request's or the key's fault). A token endpoint that could not be reached is a
    connection error on the way to that provider."""
    five = {K.HTTP_5XX, K.HTTP_OTHER_5XX}
    named = {K.CONNECTION_ERROR, K.TIMEOUT, K.HTTP_408, K.HTTP_429, K.HTTP_529, K.INVALID_ANSWER} | five
    assert kinds(breaker=True) == named | {K.TOKEN_FETCH_FAILED}
    assert {api_key(s) for s in range(500, 600) if s != 529} == five
    assert not any(POLICY[api_key(s)].breaker for s in range(400, 500) if s not in (408, 429))


def test_fail_over_on() -> None:
    """Fail over on: connection errors, timeouts, 401 (not passthrough), 402, 403, 404, 408, 409, 429, 5xx,
    529, 400/413/422 from every host but Anthropic, no key, a wire format not built, an invalid answer.
    A retried kind fails over once its retries are spent: every one of these ends on the next mapping."""
    statuses = (401, 402, 403, 404, 408, 409, 429, *range(500, 600), 400, 413, 422)
    named = {api_key(s) for s in statuses} | {K.CONNECTION_ERROR, K.TIMEOUT, K.NO_KEY, K.WIRE_NOT_BUILT}
    assert all(POLICY[kind].action is not Action.PASS_THROUGH for kind in named | {K.INVALID_ANSWER})


def test_passthrough_credentials() -> None:
    """A passthrough provider (the client's own login forwarded): a request without a client credential
    fails over; a 429 fails over as usual; so does a 400 that says the account is out of usage or the
    credential is refused; a 401 is passed through and does not count for the breaker."""
    passthrough = {"auth_type": "passthrough", "provider_type": "anthropic"}
    assert POLICY[K.NO_CLIENT_LOGIN].action is Action.FAIL_OVER
    assert kind_for_status(429, **passthrough) is K.HTTP_429
    for message in ("You're out of extra usage", "This credential is only authorized for use with Claude Code"):
        assert kind_for_status(400, message=message, **passthrough) is K.ACCOUNT_REFUSED
    assert POLICY[K.ACCOUNT_REFUSED].action is Action.FAIL_OVER
    assert kind_for_status(400, message="messages: field required", **passthrough) is K.REFUSED_BY_ANTHROPIC
    assert kind_for_status(401, **passthrough) is K.PASSTHROUGH_401
    assert not POLICY[K.PASSTHROUGH_401].breaker
    assert kind_for_status(403, **passthrough) is K.PASSTHROUGH_403
    assert not POLICY[K.PASSTHROUGH_403].ccm_credential  # the client's login, not one ccm holds
    # The client's credential forwarded: none of these is a credential ccm holds.
    assert not any(POLICY[k].ccm_credential for k in (K.PASSTHROUGH_401, K.PASSTHROUGH_403, K.NO_CLIENT_LOGIN))


def test_corrective_retries() -> None:
    """Corrective retries (a forced OAuth refresh after a 401; dropping what the upstream named) happen at
    most once each and never feed the circuit breaker."""
    assert kind_for_status(401, auth_type="oauth", provider_type="openai") is K.CORRECTIVE_REFRESH
    assert kinds(corrective=Corrective.REFRESH) == {K.CORRECTIVE_REFRESH}
    assert kinds(corrective=Corrective.LEARNED) == {K.CORRECTIVE_LEARNED}
    assert not any(POLICY[k].breaker for k in (K.CORRECTIVE_REFRESH, K.CORRECTIVE_LEARNED))


def test_the_verdict_lists() -> None:
    """When every mapping fails: (1) a transient failure (connection error, timeout, 408, 429, 5xx, 529, an
    OAuth refresh or token fetch that failed transiently; an invalid answer is ccm's own 502) gives its
    status; (2) else a 401/403 on a credential ccm holds (an API key, an OAuth token after its one refresh,
    ADC, or no key at all) gives 403."""
    transient = {K.CONNECTION_ERROR, K.TIMEOUT, K.HTTP_408, K.HTTP_429, K.HTTP_5XX, K.HTTP_OTHER_5XX, K.HTTP_529}
    assert kinds(transient=True) == transient | {K.TOKEN_FETCH_FAILED, K.INVALID_ANSWER}
    assert kinds(ccm_credential=True) == {K.UNAUTHORIZED, K.FORBIDDEN, K.NO_KEY, K.CORRECTIVE_REFRESH}


def fail(kind: Kind, status: int, error_type: str = "api_error") -> Failure:
    return Failure("p", "m", f"HTTP {status}", status, error_type, kind)


@pytest.mark.parametrize(
    ("failures", "expected"),
    [
        # (1) the last transient failure wins over everything after it
        ([fail(K.HTTP_5XX, 503), fail(K.UNAUTHORIZED, 401), fail(K.REFUSED_REQUEST, 400)], 503),
        ([fail(K.TIMEOUT, 504), fail(K.HTTP_429, 429), fail(K.NOT_FOUND, 404)], 429),
        ([fail(K.HTTP_OTHER_5XX, 520), fail(K.NOT_FOUND, 404)], 520),
        # (2) a credential ccm holds, refused, wins over a refusal
        ([fail(K.REFUSED_REQUEST, 400), fail(K.NO_KEY, 403)], 403),
        ([fail(K.CORRECTIVE_REFRESH, 401)], 403),
        # (3) refusals: 400, or 413 when every one was a 413
        ([fail(K.REFUSED_REQUEST, 413), fail(K.NOT_FOUND, 404)], 413),
        ([fail(K.REFUSED_REQUEST, 413), fail(K.REFUSED_REQUEST, 422)], 400),
        # (4) the last attempt's status; the client's own login refused is not ccm's credential
        ([fail(K.NOT_FOUND, 404), fail(K.PASSTHROUGH_403, 403)], 403),
        ([fail(K.PAYMENT, 402), fail(K.NOT_FOUND, 404)], 404),
        ([fail(K.CCM_ERROR, 502)], 502),
    ],
)
def test_the_verdict_order(failures: list[Failure], expected: int) -> None:
    assert verdict(failures)[0] == expected


def test_a_ccm_credential_gives_403_permission_error_with_the_fix() -> None:
    status, error_type, lead = verdict([fail(K.UNAUTHORIZED, 401)])
    assert (status, error_type) == (403, "permission_error") and lead.startswith("ccm's credentials were refused")
    assert verdict([fail(K.PASSTHROUGH_403, 403, "permission_error")])[2] == ""


def test_an_error_event_before_content() -> None:
    """An error event before the first content is a failed attempt like an HTTP error: a transient one
    (overloaded, rate limited) is that status's kind; any other fails over without feeding the breaker."""
    assert kind_for_event(529) is K.HTTP_529 and kind_for_event(429) is K.HTTP_429
    assert kind_for_event(400) is K.ERROR_EVENT and kind_for_event(401) is K.ERROR_EVENT
    assert POLICY[K.ERROR_EVENT] == POLICY[K.NOT_FOUND]


def test_a_missing_credential_is_said_to_be_missing_not_refused() -> None:
    missing = Failure(
        "zai", "glm", "no key: set ZAI_API_KEY", 403, "permission_error", K.NO_KEY, hint="no key: set ZAI_API_KEY"
    )
    assert verdict([missing])[2] == "ccm has no credential to send: no key: set ZAI_API_KEY"
    assert verdict([missing, fail(K.UNAUTHORIZED, 401)])[2].startswith("ccm's credentials are missing or were refused")


def test_the_summary_counts_tries_and_says_a_fix_once() -> None:
    missing = Failure(
        "zai", "glm", "no key: set ZAI_API_KEY", 403, "permission_error", K.NO_KEY, hint="no key: set ZAI_API_KEY"
    )
    lead = verdict([missing])[2]
    flaky = [fail(K.CONNECTION_ERROR, 502), fail(K.CONNECTION_ERROR, 502), fail(K.HTTP_5XX, 503)]
    assert summary([*flaky, missing], lead) == [
        "p/m: HTTP 502 (tried 2×)",
        "p/m: HTTP 503",
        "zai/glm: no credential (above)",
    ]
    assert summary([missing], "") == ["zai/glm: no key: set ZAI_API_KEY"]
