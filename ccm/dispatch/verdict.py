"""The one status a client gets when every mapping failed, and what its message says first.

The order (each rule only when the ones before it found nothing):

1. a transient failure (connection error, timeout, 408, 429, 5xx, 529, a token fetch that failed for a
   reason that may pass): the last one's status, so Claude Code backs off and tries again;
2. a 401/403 on a credential ccm holds (an API key, an OAuth token after its one refresh, ADC, or no key at
   all): 403 `permission_error` naming each provider and its fix. Claude Code retries a 401 for about
   three minutes, as if its own login had expired; it stops at a 403 and shows the message;
3. a 400/413/422 from any host: 400 (413 when every refusal was a 413);
4. else the last attempt's status.

    status, error_type, lead = verdict(failures)     # lead: "" or the sentence that goes before the summary
"""

from __future__ import annotations

from collections.abc import Sequence

from ccm.dispatch.attempt import Failure
from ccm.dispatch.policy import REFUSALS, Kind
from ccm.providers.base import error_type_for
from config import secrets
from config.schema import ProviderConfig

__all__ = ["credential_hint", "summary", "verdict"]


def verdict(failures: Sequence[Failure]) -> tuple[int, str, str]:
    """Status, error type and a leading sentence ("" when the summary says enough) for the summary error."""
    transient = next((f for f in reversed(failures) if f.rule.transient), None)
    if transient is not None:
        return transient.status, transient.error_type or error_type_for(transient.status), ""
    refused = [f for f in failures if f.rule.ccm_credential]
    if refused:
        fixes = "; ".join(dict.fromkeys(f.hint or f.reason for f in refused))
        missing = sum(f.kind is Kind.NO_KEY for f in refused)
        what = (
            "ccm has no credential to send"
            if missing == len(refused)
            else "ccm's credentials were refused"
            if not missing
            else "ccm's credentials are missing or were refused"
        )
        return 403, "permission_error", f"{what}: {fixes}"
    refusals = [f for f in failures if f.status in REFUSALS]
    if refusals:
        status = 413 if all(f.status == 413 for f in refusals) else 400
        return status, error_type_for(status), ""
    last = failures[-1]
    return last.status, last.error_type or error_type_for(last.status), ""


def summary(failures: Sequence[Failure], lead: str) -> list[str]:
    """The attempts as the summary error lists them: one line per mapping and reason, its tries counted
    ("tried 2×": a retry is not another mapping), and a missing credential's fix only where `lead` does
    not already say it."""
    lines: list[tuple[str, int]] = []
    for failure in failures:
        reason = failure.reason
        if failure.hint and failure.reason == failure.hint and failure.hint in lead:
            reason = "no credential (above)"  # the lead says it, and what fixes it
        text = f"{failure.provider}/{failure.model}: {reason}"
        if lines and lines[-1][0] == text:
            lines[-1] = (text, lines[-1][1] + 1)
        else:
            lines.append((text, 1))
    return [text + (f" (tried {count}×)" if count > 1 else "") for text, count in lines]


def attempts(count: int) -> str:
    return f"{count} attempt" + ("" if count == 1 else "s")


def credential_hint(provider: ProviderConfig, status: int) -> str:
    """What to do when an upstream refused the credential ccm sent for this provider."""
    name = provider.name
    what = f"provider '{name}' refused its {_kind(provider)} (HTTP {status})"
    if provider.auth_type == "oauth":
        return f"{what}: run `ccm oauth login {name}`"
    if provider.auth_type == "adc":
        return f"{what}: run `gcloud auth application-default login`, or check project_id and the account's roles"
    var = secrets.env_reference(provider.api_key) or provider.key_env
    return f"{what}: check the key, then run `ccm keys set {name}` or set {var}"


def _kind(provider: ProviderConfig) -> str:
    return {"oauth": "login", "adc": "Google credentials"}.get(provider.auth_type, "API key")
