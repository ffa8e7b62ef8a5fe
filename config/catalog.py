"""The provider catalog: every provider_type ccm knows, as data, in one place.

Each entry says where the API lives by default, how a request authenticates and which wire format the
provider speaks. The proxy picks its provider module from `wire`; the CLI and TUI fill forms from it.

    spec = CATALOG["z.ai"]
    spec.base_url   -> "https://api.z.ai/api/anthropic"   (Anthropic format: /v1/messages is appended)
    spec.wire       -> "anthropic"
    spec.auth       -> "bearer+x-api-key"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Wire = Literal["anthropic", "openai", "gemini", "vertex", "responses"]
Auth = Literal["x-api-key", "bearer", "bearer+x-api-key", "x-goog-api-key", "google-adc", "none"]

#: Wire formats the proxy can speak today; a mapping of any other format fails over with a clear message.
BUILT_WIRES: frozenset[str] = frozenset({"anthropic"})


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What ccm knows about one provider_type."""

    type: str
    label: str
    wire: Wire
    auth: Auth
    base_url: str | None
    """None: the user must give `base_url` (the *-compatible types)."""
    key_env: str | None = None
    """The conventional env var for this provider's key, suggested by the wizard."""
    oauth: bool = False
    """Whether `auth_type = "oauth"` is offered (subscriptions)."""
    oauth_wire: Wire | None = None
    oauth_base_url: str | None = None
    notes: str = ""
    quirks: frozenset[str] = field(default_factory=frozenset)
    """Names of behaviours the translators must apply (e.g. "no-cache-control", "reasoning-roundtrip")."""

    def wire_for(self, auth_type: str) -> Wire:
        return self.oauth_wire if auth_type == "oauth" and self.oauth_wire else self.wire


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


_SPECS: tuple[ProviderSpec, ...] = (
    # Anthropic Messages format: base_url is the root to which /v1/messages is appended.
    ProviderSpec(
        "anthropic",
        "Anthropic",
        "anthropic",
        "x-api-key",
        "https://api.anthropic.com",
        "ANTHROPIC_API_KEY",
        oauth=True,
        notes="Claude API; OAuth for Claude Pro/Max",
    ),
    ProviderSpec(
        "anthropic-compatible",
        "Anthropic-compatible (custom URL)",
        "anthropic",
        "bearer+x-api-key",
        None,
        notes="any server speaking /v1/messages",
    ),
    ProviderSpec(
        "zenmux", "ZenMux", "anthropic", "bearer+x-api-key", "https://zenmux.ai/api/anthropic", "ZENMUX_API_KEY"
    ),
    ProviderSpec(
        "z.ai", "z.ai (GLM)", "anthropic", "bearer+x-api-key", "https://api.z.ai/api/anthropic", "ZAI_API_KEY"
    ),
    ProviderSpec(
        "minimax", "MiniMax", "anthropic", "bearer+x-api-key", "https://api.minimax.io/anthropic", "MINIMAX_API_KEY"
    ),
    ProviderSpec(
        "kimi-coding", "Kimi For Coding", "anthropic", "bearer+x-api-key", "https://api.kimi.com/coding", "KIMI_API_KEY"
    ),
    # OpenAI Chat Completions format: base_url ends with the version, /chat/completions is appended.
    ProviderSpec(
        "openai",
        "OpenAI",
        "openai",
        "bearer",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        oauth=True,
        oauth_wire="responses",
        oauth_base_url="https://chatgpt.com/backend-api/codex",
        notes="API key: Chat Completions; OAuth: ChatGPT Plus/Pro via the Responses API",
        quirks=_s("no-cache-control", "reasoning-models"),
    ),
    ProviderSpec(
        "openai-compatible",
        "OpenAI-compatible (custom URL)",
        "openai",
        "bearer",
        None,
        notes="Ollama, LM Studio, vLLM, llama.cpp and other /chat/completions servers",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "openrouter",
        "OpenRouter",
        "openai",
        "bearer",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        quirks=_s("openrouter"),
    ),
    ProviderSpec(
        "groq",
        "Groq",
        "openai",
        "bearer",
        "https://api.groq.com/openai/v1",
        "GROQ_API_KEY",
        quirks=_s("no-cache-control", "no-schema-keyword", "no-top-k"),
    ),
    ProviderSpec(
        "together",
        "Together AI",
        "openai",
        "bearer",
        "https://api.together.xyz/v1",
        "TOGETHER_API_KEY",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "fireworks",
        "Fireworks AI",
        "openai",
        "bearer",
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "deepinfra",
        "DeepInfra",
        "openai",
        "bearer",
        "https://api.deepinfra.com/v1/openai",
        "DEEPINFRA_API_KEY",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "cerebras",
        "Cerebras",
        "openai",
        "bearer",
        "https://api.cerebras.ai/v1",
        "CEREBRAS_API_KEY",
        quirks=_s("no-cache-control", "no-schema-keyword", "no-top-k"),
    ),
    ProviderSpec(
        "moonshot",
        "Moonshot AI (Kimi)",
        "openai",
        "bearer",
        "https://api.moonshot.ai/v1",
        "MOONSHOT_API_KEY",
        quirks=_s("no-cache-control", "reasoning-roundtrip"),
    ),
    ProviderSpec(
        "nebius",
        "Nebius AI Studio",
        "openai",
        "bearer",
        "https://api.studio.nebius.com/v1",
        "NEBIUS_API_KEY",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "novita",
        "NovitaAI",
        "openai",
        "bearer",
        "https://api.novita.ai/v3/openai",
        "NOVITA_API_KEY",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "baseten",
        "Baseten",
        "openai",
        "bearer",
        "https://inference.baseten.co/v1",
        "BASETEN_API_KEY",
        quirks=_s("no-cache-control"),
    ),
    ProviderSpec(
        "deepseek",
        "DeepSeek",
        "openai",
        "bearer",
        "https://api.deepseek.com/v1",
        "DEEPSEEK_API_KEY",
        quirks=_s("no-cache-control", "reasoning-roundtrip", "max-output-8192"),
    ),
    # Google.
    ProviderSpec(
        "gemini",
        "Google Gemini",
        "gemini",
        "x-goog-api-key",
        "https://generativelanguage.googleapis.com/v1beta",
        "GEMINI_API_KEY",
        oauth=True,
        notes="API key, or OAuth for Google AI Pro/Ultra",
    ),
    ProviderSpec(
        "vertex-ai",
        "Google Vertex AI",
        "vertex",
        "google-adc",
        "https://{location}-aiplatform.googleapis.com/v1",
        notes="needs project_id and location; Application Default Credentials",
    ),
)

CATALOG: dict[str, ProviderSpec] = {spec.type: spec for spec in _SPECS}

#: Spellings seen in other tools' configs that mean a catalog type.
ALIASES: dict[str, str] = {
    "zai": "z.ai",
    "z-ai": "z.ai",
    "kimi": "kimi-coding",
    "kimi-for-coding": "kimi-coding",
    "vertex": "vertex-ai",
    "vertexai": "vertex-ai",
    "google": "gemini",
    "anthropic_compatible": "anthropic-compatible",
    "openai_compatible": "openai-compatible",
    "ollama": "openai-compatible",
    "lmstudio": "openai-compatible",
    "novitaai": "novita",
    "together-ai": "together",
    "fireworks-ai": "fireworks",
}


def lookup(provider_type: str) -> ProviderSpec | None:
    """The spec for a provider_type as written in a config (case-insensitive, aliases accepted)."""
    key = provider_type.strip().lower()
    return CATALOG.get(ALIASES.get(key, key))


def join_url(base_url: str, endpoint: str) -> str:
    """Append an endpoint path to a base URL, by each API's convention (see DESIGN.md, base_url).

    A trailing slash is dropped; a URL that already ends with the endpoint path is used as it is.
    """
    base = base_url.rstrip("/")
    endpoint = "/" + endpoint.lstrip("/")
    if base.endswith(endpoint):
        return base
    return base + endpoint


def markdown_table() -> str:
    """The catalog as the README's table (kept in sync by tests/test_readme.py)."""
    rows = [
        "| `provider_type` | provider | wire format | default `base_url` | auth | OAuth | works today |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in CATALOG.values():
        base = f"`{s.base_url}`" if s.base_url else "*(required)*"
        works = "yes" if s.wire in BUILT_WIRES else "not yet (fails over)"
        rows.append(f"| `{s.type}` | {s.label} | {s.wire} | {base} | {s.auth} | {'yes' if s.oauth else ''} | {works} |")
    return "\n".join(rows)


if __name__ == "__main__":  # python -m config.catalog  -> the README table
    print(markdown_table())
