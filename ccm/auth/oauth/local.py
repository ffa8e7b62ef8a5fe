"""Token work done without a proxy (the CLI and the TUI when none runs): list, refresh, explain.

While a proxy runs, use its /api/oauth/* instead: the refresh token rotates, and two processes spending
it would log the user out.
"""

from __future__ import annotations

from typing import Any

from ccm.auth.oauth import tokens
from config.schema import Config, ProviderConfig

CLAUDE_WHY = (
    "ccm does not log in to Claude. Anthropic allows Claude Pro/Max credentials only inside Claude Code, "
    "so ccm never stores, refreshes or copies a Claude token: it passes Claude Code's own login through. "
    'With auth_type = "passthrough", log in inside Claude Code (`claude /login`) and start it with '
    "`ccm code`: your subscription serves the main model, and when its limit is reached the session fails "
    "over to your other providers."
)
GEMINI_WHY = (
    "ccm does not log in to Google. The Gemini CLI's login serves Gemini Code Assist Standard/Enterprise "
    "licences only, and Google forbids its use by other tools (accounts have been suspended for it). "
    "Use a Gemini API key with this provider (`ccm keys set {name}`), or a `vertex-ai` provider with "
    "application default credentials (`gcloud auth application-default login`)."
)
PASSTHROUGH_TYPES = ("anthropic", "anthropic-compatible")
GOOGLE_TYPES = ("gemini", "vertex-ai")


def login_kind(provider: ProviderConfig) -> str:
    """What `login` means for a provider: "chatgpt", "claude" (explain + passthrough), "google"
    (explain + API key / ADC), "apikey" (an openai provider not set to oauth) or "none"."""
    if provider.provider_type in PASSTHROUGH_TYPES:
        return "claude"
    if provider.provider_type in GOOGLE_TYPES:
        return "google"
    if provider.spec.oauth and provider.spec.oauth_wire == "responses":
        return "chatgpt" if provider.auth_type == "oauth" else "apikey"
    return "none"


def views(config: Config) -> list[dict[str, Any]]:
    """The stored tokens of the config's oauth providers, as the admin API lists them (blocks on the
    keyring: call from a thread in async code)."""
    rows = []
    for tid in dict.fromkeys(tokens.token_id(p) for p in config.providers if p.auth_type == "oauth"):
        token = tokens.load(tid)
        if token is not None:
            rows.append(tokens.view(tid, token))
    return rows


async def refresh(tid: str, label: str) -> tokens.Token:
    """One refresh, written back; CredentialError (with the login hint) when it fails."""
    import httpx

    from ccm.auth.oauth.manager import TokenManager

    async with httpx.AsyncClient() as client:
        return await TokenManager(client).refresh_now(tid, label)
