"""The provider catalog: every provider_type ccm knows, as data, in one place.

Each entry says where the API lives by default, how a request authenticates and which wire format the
provider speaks. The proxy picks its provider module from `wire`; the CLI and TUI fill forms from it.

    spec = CATALOG["z.ai"]
    spec.base_url   -> "https://api.z.ai/api/anthropic"   (Anthropic format: /v1/messages is appended)
    spec.wire       -> "anthropic"
    spec.auth       -> "bearer+x-api-key"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Wire = Literal["anthropic", "openai", "gemini", "vertex", "responses"]
Auth = Literal["x-api-key", "bearer", "bearer+x-api-key", "x-goog-api-key", "google-adc", "none"]

#: Wire formats the proxy can speak today; a mapping of any other format fails over with a clear message.
#: The Anthropic-format types that are Anthropic's API itself or speak all of it: the client's query string
#: (`?beta=true`) is forwarded to them, and their count_tokens endpoint is asked (others may not have one).
FORWARD_QUERY_TYPES: frozenset[str] = frozenset({"anthropic", "anthropic-compatible"})
BUILT_WIRES: frozenset[str] = frozenset({"anthropic", "openai", "responses", "gemini", "vertex"})


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
    """Whether `auth_type = "oauth"` is accepted (subscriptions). Gemini keeps it only so claude-code-mux
    configs load: without an `oauth_wire` there is no login behind it (the table says so)."""
    oauth_wire: Wire | None = None
    oauth_base_url: str | None = None
    notes: str = ""
    quirks: frozenset[str] = field(default_factory=frozenset)
    """Names of behaviours the translators must apply; see QUIRKS for the vocabulary."""
    key_optional: bool = False
    """Local servers (Ollama, LM Studio, vLLM) often need no key: a missing one is not a failed attempt."""

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
        notes="Claude API; Claude Pro/Max through Claude Code's own login (passthrough)",
    ),
    ProviderSpec(
        "anthropic-compatible",
        "Anthropic-compatible (custom URL)",
        "anthropic",
        "bearer+x-api-key",
        None,
        notes="any server speaking /v1/messages",
        key_optional=True,
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
    # Vendors' own Anthropic-format endpoints (each vendor documents its URL for Claude Code).
    ProviderSpec(
        "deepseek-anthropic",
        "DeepSeek (Anthropic API)",
        "anthropic",
        "bearer+x-api-key",
        "https://api.deepseek.com/anthropic",
        "DEEPSEEK_API_KEY",
    ),
    ProviderSpec(
        "moonshot-anthropic",
        "Moonshot AI (Anthropic API)",
        "anthropic",
        "bearer+x-api-key",
        "https://api.moonshot.ai/anthropic",
        "MOONSHOT_API_KEY",
    ),
    ProviderSpec(
        "openrouter-anthropic",
        "OpenRouter (Anthropic API)",
        "anthropic",
        "bearer+x-api-key",
        "https://openrouter.ai/api",
        "OPENROUTER_API_KEY",
    ),
    ProviderSpec(
        "fireworks-anthropic",
        "Fireworks AI (Anthropic API)",
        "anthropic",
        "bearer+x-api-key",
        "https://api.fireworks.ai/inference",
        "FIREWORKS_API_KEY",
    ),
    ProviderSpec(
        "ollama-anthropic",
        "Ollama (Anthropic API)",
        "anthropic",
        "bearer+x-api-key",
        "http://localhost:11434",
        notes="a local Ollama's /v1/messages; no key needed",
        key_optional=True,
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
        quirks=_s("user", "max-completion-tokens", "json-schema", "max-tools-128", "stop-4"),
    ),
    ProviderSpec(
        "openai-responses",
        "OpenAI (Responses API)",
        "responses",
        "bearer",
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        notes="API key, /responses: models served only there (gpt-5-pro, the codex models)",
    ),
    ProviderSpec(
        "openai-compatible",
        "OpenAI-compatible (custom URL)",
        "openai",
        "bearer",
        None,
        notes="Ollama, LM Studio, vLLM, llama.cpp and other /chat/completions servers",
        quirks=_s("top-k", "json-schema"),
        key_optional=True,
    ),
    ProviderSpec(
        "openrouter",
        "OpenRouter",
        "openai",
        "bearer",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        quirks=_s("openrouter", "top-k", "user", "json-schema"),
    ),
    ProviderSpec(
        "groq",
        "Groq",
        "openai",
        "bearer",
        "https://api.groq.com/openai/v1",
        "GROQ_API_KEY",
        quirks=_s("user"),
    ),
    ProviderSpec(
        "together",
        "Together AI",
        "openai",
        "bearer",
        "https://api.together.xyz/v1",
        "TOGETHER_API_KEY",
        quirks=_s("top-k"),
    ),
    ProviderSpec(
        "fireworks",
        "Fireworks AI",
        "openai",
        "bearer",
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        quirks=_s("top-k", "user", "json-schema"),
    ),
    ProviderSpec(
        "deepinfra",
        "DeepInfra",
        "openai",
        "bearer",
        "https://api.deepinfra.com/v1/openai",
        "DEEPINFRA_API_KEY",
        quirks=_s("top-k"),
    ),
    ProviderSpec(
        "cerebras",
        "Cerebras",
        "openai",
        "bearer",
        "https://api.cerebras.ai/v1",
        "CEREBRAS_API_KEY",
    ),
    ProviderSpec(
        "moonshot",
        "Moonshot AI (Kimi)",
        "openai",
        "bearer",
        "https://api.moonshot.ai/v1",
        "MOONSHOT_API_KEY",
        quirks=_s("reasoning-roundtrip"),
    ),
    ProviderSpec(
        "nebius",
        "Nebius AI Studio",
        "openai",
        "bearer",
        "https://api.studio.nebius.com/v1",
        "NEBIUS_API_KEY",
    ),
    ProviderSpec(
        "novita",
        "NovitaAI",
        "openai",
        "bearer",
        "https://api.novita.ai/v3/openai",
        "NOVITA_API_KEY",
        quirks=_s("top-k"),
    ),
    ProviderSpec(
        "baseten",
        "Baseten",
        "openai",
        "bearer",
        "https://inference.baseten.co/v1",
        "BASETEN_API_KEY",
    ),
    ProviderSpec(
        "deepseek",
        "DeepSeek",
        "openai",
        "bearer",
        "https://api.deepseek.com/v1",
        "DEEPSEEK_API_KEY",
        quirks=_s("reasoning-roundtrip"),
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
        notes="API key from Google AI Studio (the Gemini CLI login is not usable by other tools)",
    ),
    ProviderSpec(
        "vertex-ai",
        "Google Vertex AI",
        "vertex",
        "google-adc",
        "https://aiplatform.googleapis.com/v1",
        notes="needs project_id (location defaults to global); Application Default Credentials",
    ),
)

CATALOG: dict[str, ProviderSpec] = {spec.type: spec for spec in _SPECS}

#: What each quirk name means to the OpenAI-format translator (ccm.translate). Anything not listed is the
#: safe default: no cache_control, no top_k, no `user`, no reasoning switch, `max_tokens`, every tool.
QUIRKS: dict[str, str] = {
    "cache-control": "keep Anthropic cache_control on system, message and tool parts (OpenRouter: Claude, Gemini)",
    "top-k": "top_k is accepted",
    "user": "the `user` field is accepted (metadata.user_id, hashed to <= 64 characters)",
    "json-schema": "response_format json_schema works (output_config.format); otherwise the schema is asked for in the system prompt",
    "max-completion-tokens": "send max_completion_tokens instead of max_tokens",
    "max-tools-128": "at most 128 tools per request",
    "stop-4": "at most 4 stop sequences",
    "no-sampling": "temperature/top_p are rejected (OpenAI reasoning and search models)",
    "reasoning-effort": "thinking maps to reasoning_effort (low/medium/high)",
    "reasoning-off-minimal": "thinking disabled maps to reasoning_effort minimal (gpt-5, gpt-5-mini/nano)",
    "reasoning-off-none": "thinking disabled maps to reasoning_effort none (gpt-5.1 and later, Groq's qwen3)",
    "reasoning-roundtrip": "the previous assistant turns' reasoning must be sent back (reasoning_content)",
    "openrouter": "OpenRouter: attribution headers, the `reasoning` object, the web plugin for web search",
    "web-search-options": "an OpenAI search model: web_search_options answers the web_search server tool",
    "no-stream-usage": "stream_options.include_usage is rejected",
}


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request shape Claude Code sends that one Anthropic-format host is reported to refuse."""

    shape: str
    """One of ADAPTATIONS."""
    source: str
    """Where it was reported (a public link)."""


#: What ccm does to a request shape an Anthropic-format host refuses (ccm.providers.anthropic_compat).
ADAPTATIONS: dict[str, str] = {
    "system-messages": 'a mid-conversation `role: "system"` message becomes user text in <system-reminder>',
    "tool-reference": "a `tool_reference` block (Claude Code's tool search) becomes text naming the tool",
    "context-management": "the top-level `context_management` field is left out",
    "anthropic-version": "`anthropic-version` is sent as 2023-06-01",
}

#: The Anthropic API version every third-party host implements: the only one before 2026-10-21, which
#: changed what a body means (https://platform.claude.com/docs/en/api/versioning). No host below is
#: reported to accept the newer one, so they get this one.
_VERSION = Rejection("anthropic-version", "https://platform.claude.com/docs/en/api/versioning")

#: Per provider_type, what that host is reported to refuse of what Claude Code sends; ccm adapts exactly
#: these before the request goes out, and learns the rest from the host's own 400s. `anthropic` gets the
#: body as sent; `anthropic-compatible` and `zenmux` (gateways, often in front of Anthropic itself) get
#: only what was learned.
REJECTS: dict[str, tuple[Rejection, ...]] = {
    "z.ai": (
        # 422 "Input should be 'user' or 'assistant'" for messages[1].role (glm-4.6, glm-5, glm-5.1).
        Rejection("system-messages", "https://github.com/zai-org/GLM-5/issues/74"),
        Rejection("system-messages", "https://github.com/diegosouzapw/OmniRoute/issues/1447"),
        _VERSION,
    ),
    "minimax": (
        # 400 "invalid params, chat content has invalid message role: system (2013)".
        Rejection("system-messages", "https://github.com/MiniMax-AI/MiniMax-M2.7/issues/43"),
        _VERSION,
    ),
    "kimi-coding": (
        # 400 "Invalid request Error" once a ToolSearch result (tool_reference) is in the conversation.
        Rejection("tool-reference", "https://github.com/farion1231/cc-switch/issues/2941"),
        Rejection("tool-reference", "https://github.com/router-for-me/CLIProxyAPI/issues/4405"),
        _VERSION,
    ),
    "deepseek-anthropic": (
        # 400 "messages[1].role: unknown variant `system`, expected `user` or `assistant`".
        Rejection("system-messages", "https://github.com/agentclientprotocol/claude-agent-acp/issues/720"),
        Rejection("system-messages", "https://github.com/anthropics/claude-code/issues/63544"),
        _VERSION,
    ),
    "moonshot-anthropic": (
        # 400 "unsupported content type in ContentBlockParamUnion: tool_reference" (api.moonshot.cn/anthropic).
        Rejection("tool-reference", "https://github.com/MoonshotAI/Kimi-K2/issues/118"),
        _VERSION,
    ),
    "openrouter-anthropic": (
        # 400 "No endpoints available that support Anthropic's context management features": the body's
        # context_management, not the beta flag, is what it refuses.
        Rejection("context-management", "https://github.com/anthropics/claude-code/issues/44219"),
        Rejection("context-management", "https://github.com/farion1231/cc-switch/issues/1929"),
    ),
    "fireworks-anthropic": (_VERSION,),
    "ollama-anthropic": (
        # 400 "unknown variant 'system', expected 'user' or 'assistant'" (Ollama 0.23.0).
        Rejection("system-messages", "https://github.com/ollama/ollama/issues/16372"),
        _VERSION,
    ),
}


def rejected_shapes(provider_type: str) -> frozenset[str]:
    """The shapes a provider_type is reported to refuse (see REJECTS)."""
    return frozenset(r.shape for r in REJECTS.get(provider_type, ()))


@dataclass(frozen=True, slots=True)
class ModelRule:
    """Knowledge about one family of models behind OpenAI-format providers, applied when `pattern` (a
    case-insensitive regex) is found in the mapping's actual_model.

    Every matching rule adds its quirks; the first matching rule with `max_output_tokens` sets the output
    limit (`max_tokens` is clamped to it), unless the mapping sets its own `max_output_tokens`.

        ModelRule(r"^deepseek-chat$", types=_s("deepseek"), max_output_tokens=8192)
    """

    pattern: str
    types: frozenset[str] = frozenset()
    """Provider types the rule applies to; empty: every OpenAI-format type."""
    max_output_tokens: int | None = None
    quirks: frozenset[str] = frozenset()
    context_window: int | None = None
    """The model's context window in tokens, where its vendor documents one."""


MODEL_RULES: tuple[ModelRule, ...] = (
    # OpenAI: reasoning models take reasoning_effort and reject sampling parameters; search models search.
    ModelRule(r"^(o\d|gpt-5)", _s("openai"), quirks=_s("reasoning-effort", "no-sampling")),
    ModelRule(r"search", _s("openai"), quirks=_s("web-search-options", "no-sampling")),
    ModelRule(r"^gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$", _s("openai"), quirks=_s("reasoning-off-minimal")),
    ModelRule(r"^gpt-5\.\d", _s("openai"), quirks=_s("reasoning-off-none")),
    # GPT-6.x reasons and samples as GPT-5.1 and later do: `temperature` is a 400 unless effort is none
    # (REPORTED: https://dev.to/aihubmix, https://github.com/raine/claude-code-proxy/issues/10). Its output
    # limit is not in a source we hold: left unset (the upstream checks it).
    ModelRule(r"^gpt-6", _s("openai"), quirks=_s("reasoning-effort", "no-sampling", "reasoning-off-none")),
    ModelRule(r"qwen3", _s("groq"), quirks=_s("reasoning-off-none")),
    ModelRule(r"^gpt-5", _s("openai"), 128_000),
    ModelRule(r"^o1-mini", _s("openai"), 65_536),
    ModelRule(r"^o\d", _s("openai"), 100_000),
    ModelRule(r"^gpt-4\.1", _s("openai"), 32_768),
    ModelRule(r"^(gpt-4o|chatgpt-4o)", _s("openai"), 16_384),
    ModelRule(r"^gpt-4-turbo|^gpt-4-\d{4}-preview", _s("openai"), 4_096),
    ModelRule(r"^gpt-4(-\d{4})?$", _s("openai"), 8_192),
    ModelRule(r"^gpt-3\.5", _s("openai"), 4_096),
    # DeepSeek V4 (deepseek-v4-pro, deepseek-v4-flash, deepseek-flash = V4.1-Flash): 1M context, up to 384K
    # output (https://api-docs.deepseek.com/quick_start/pricing).
    ModelRule(r"^deepseek-(v4|flash)", _s("deepseek", "deepseek-anthropic"), 384_000, context_window=1_000_000),
    # Retired names, kept working with their old limits: deepseek-chat (8K output) and deepseek-reasoner (64K)
    # were retired 2026-07-24 (REPORTED: https://github.com/arikusi/deepseek-mcp-server, v2.0.0). Any other
    # DeepSeek name is not clamped: the upstream checks its own limit.
    ModelRule(r"^deepseek-reasoner$", _s("deepseek"), 65_536),
    ModelRule(r"^deepseek-chat$", _s("deepseek"), 8_192),
    # Groq checks max_tokens against each model's own limit.
    ModelRule(r"kimi", _s("groq"), 16_384),
    ModelRule(r"gpt-oss", _s("groq"), 65_536),
    ModelRule(r"qwen3", _s("groq"), 40_960),
    ModelRule(r"llama-3\.1-8b", _s("groq"), 131_072),
    ModelRule(r"", _s("groq"), 32_768),
    ModelRule(r"thinking", _s("moonshot"), 65_536),
    # z.ai's GLM-5.x and Moonshot's Kimi K3: their windows and output limits are not in a source we hold
    # (UNKNOWN), so no rule clamps them; a mapping's max_output_tokens / context_window says it.
    # Claude Code asks for 32,000-128,000 output tokens; hosted vLLM-style APIs (and OpenRouter) refuse a
    # request whose prompt + max_tokens exceeds the model's context, so the default stays at 32,000 (what
    # Claude Code itself uses for models it does not know). A mapping's max_output_tokens overrides it.
    ModelRule(
        r"",
        _s("openrouter", "together", "fireworks", "deepinfra", "cerebras", "moonshot", "nebius", "novita", "baseten"),
        32_000,
    ),
    # OpenRouter: prompt caching for the models that take cache_control; DeepSeek and Kimi need their
    # reasoning back in tool conversations there too.
    ModelRule(r"^(anthropic/|google/gemini)", _s("openrouter"), quirks=_s("cache-control")),
    ModelRule(r"deepseek|kimi|moonshot", _s("openrouter"), quirks=_s("reasoning-roundtrip")),
)

#: Where a type's models are in the maintained price table (genai-prices' provider ids): a mapping of an
#: API-key or ADC provider that sets no price of its own is priced from it. Types missing here (custom URLs,
#: local servers, subscription plans) have no table price. https://github.com/pydantic/genai-prices
PRICE_TABLE_PROVIDERS: dict[str, str] = {
    "anthropic": "anthropic",
    "z.ai": "zai",
    "minimax": "minimax",
    "openai": "openai",
    "openai-responses": "openai",
    "openrouter": "openrouter",
    "groq": "groq",
    "together": "together",
    "fireworks": "fireworks",
    "cerebras": "cerebras",
    "moonshot": "moonshotai",
    "novita": "novita",
    "baseten": "baseten",
    "deepseek": "deepseek",
    "gemini": "google",
    "vertex-ai": "google",
}

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


#: Vertex AI's multi-region locations, served from their own hosts (not `{location}-aiplatform`).
VERTEX_MULTI_REGIONS = frozenset({"us", "eu"})


def vertex_base_url(location: str | None) -> str:
    """Vertex AI's default base URL for a location (https://cloud.google.com/vertex-ai/docs/general/locations)."""
    where = (location or "global").strip().lower()
    if where == "global":
        return "https://aiplatform.googleapis.com/v1"
    if where in VERTEX_MULTI_REGIONS:
        return f"https://aiplatform.{where}.rep.googleapis.com/v1"
    return f"https://{where}-aiplatform.googleapis.com/v1"


def join_url(base_url: str, endpoint: str) -> str:
    """Append an endpoint path to a base URL: the Anthropic format's root gets `/v1/messages`, the OpenAI
    format's URL ends in its version (`.../v1`) and gets `/chat/completions`.

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
        rows.append(
            f"| `{s.type}` | {s.label} | {s.wire} | {base} | {s.auth} | {'yes' if s.oauth and s.oauth_wire else ''} | {works} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":  # python -m config.catalog  -> the README table
    print(markdown_table())


# -- Model limits -------------------------------------------------------------------------------------------

#: Claude Code's default haiku: the `haiku` alias of its built-in model catalog (`aliases.haiku.default`) in
#: Claude Code 2.1.329 and 2.1.332 (npm @anthropic-ai/claude-code), what its `"model": "haiku"` subagents
#: ask for when ANTHROPIC_DEFAULT_HAIKU_MODEL is unset. `ccm code` sets that variable (and
#: ANTHROPIC_SMALL_FAST_MODEL, for titles) to it, so both reach `router.background`.
CLAUDE_CODE_HAIKU = "claude-haiku-5-5"


@dataclass(frozen=True, slots=True)
class Limits:
    """What a model takes in (context window, input tokens) and gives out at most (output tokens).

    `window_1m`: the larger window Anthropic opens with the `context-1m-2025-08-07` beta (Claude Code adds
    it for a `[1m]` model name), for the Claude models that take it."""

    context_window: int
    max_output_tokens: int | None = None
    window_1m: int | None = None


_M = 1_000_000
#: Claude models by their id without a date or provider decoration: `context.window` (and
#: `maximum_window` where the 1M beta applies) and `max_output_tokens.upper` of Claude Code 2.1.332's
#: built-in model catalog (npm @anthropic-ai/claude-code; 2.1.329 has the same figures), itself
#: Anthropic's (https://docs.anthropic.com/en/docs/about-claude/models/overview). The 3.x models list no
#: window there: 200,000 is Anthropic's published one.
CLAUDE_LIMITS: dict[str, Limits] = {
    "claude-3-5-haiku": Limits(200_000, 8_192),
    "claude-3-5-sonnet": Limits(200_000, 8_192),
    "claude-3-7-sonnet": Limits(200_000, 64_000),
    "claude-haiku-4-5": Limits(200_000, 64_000),
    "claude-haiku-5-5": Limits(_M, 128_000),
    "claude-sonnet-4-0": Limits(200_000, 64_000, _M),
    "claude-sonnet-4-5": Limits(200_000, 64_000, _M),
    "claude-sonnet-4-6": Limits(200_000, 128_000, _M),
    "claude-sonnet-5": Limits(_M, 128_000),
    "claude-sonnet-5-5": Limits(_M, 128_000),
    "claude-opus-4-0": Limits(200_000, 32_000),
    "claude-opus-4-1": Limits(200_000, 32_000),
    "claude-opus-4-5": Limits(200_000, 64_000),
    "claude-opus-4-6": Limits(200_000, 128_000, _M),
    "claude-opus-4-7": Limits(_M, 128_000),
    "claude-opus-4-8": Limits(_M, 128_000),
    "claude-opus-5": Limits(_M, 128_000),
    "claude-opus-5-5": Limits(_M, 128_000),
    "claude-fable-5": Limits(_M, 128_000),
    "claude-fable-5-1": Limits(_M, 128_000),
    "claude-fable-5-2": Limits(_M, 128_000),
    "claude-mythos-5": Limits(_M, 128_000),
    "claude-mythos-5-1": Limits(_M, 128_000),
    "claude-mythos-5-2": Limits(_M, 128_000),
}
_CLAUDE_SHORT = {"claude-sonnet-4": "claude-sonnet-4-0", "claude-opus-4": "claude-opus-4-0"}
#: A provider's decoration of a Claude id: `anthropic/`, `us.anthropic.`, a date (`-20250929`,
#: `@20250929`), a Bedrock version (`-v1:0`), a `[1m]` selector, `-latest`.
_CLAUDE_ID = re.compile(r"(claude(?:-[a-z]+|-\d{1,2})+?)(?:-latest|[-@]\d{8})?(?:-v\d+(?::\d+)?)?(?:\[1m\])?$", re.I)


@dataclass(frozen=True, slots=True)
class LimitRule:
    """Limits of a family of other vendors' models, matched by `pattern` (a case-insensitive regex searched
    in the actual model name); the first matching rule wins."""

    pattern: str
    limits: Limits
    types: frozenset[str] = frozenset()
    """Provider types the rule applies to; empty: every type."""


LIMIT_RULES: tuple[LimitRule, ...] = (
    # GPT-5: 272,000 input + 128,000 output = 400,000 of context
    # (https://openai.com/index/introducing-gpt-5-for-developers/).
    LimitRule(r"^(openai/)?gpt-5(-mini|-nano)?(-\d{4}-\d{2}-\d{2})?$", Limits(272_000, 128_000)),
    # Gemini 2.5 Pro and Flash: 1,048,576 input, 65,536 output (https://ai.google.dev/gemini-api/docs/models).
    LimitRule(r"^(google/)?gemini-2\.5-(pro|flash)", Limits(1_048_576, 65_536)),
)


def limits_of(provider_type: str, model: str) -> Limits | None:
    """The catalog's limits for a model as a provider of this type names it, or None when it does not
    know (then nothing is skipped for size, and the host's own limit decides)."""
    name = model.strip().lower().replace(".", "-") if "claude" in model.lower() else model.strip().lower()
    if "claude" in name:
        match = _CLAUDE_ID.search(name)
        if match is not None:
            key = _CLAUDE_SHORT.get(match.group(1), match.group(1))
            return CLAUDE_LIMITS.get(key)
        return None
    for rule in LIMIT_RULES:
        if (not rule.types or provider_type in rule.types) and re.search(rule.pattern, name, re.I):
            return rule.limits
    return None
