"""Typed, immutable config objects. Built only by config.load; everything else reads them.

A Config is a snapshot: the proxy swaps whole snapshots on reload, so a request in flight keeps the one
it started with.

    cfg = load_config(path).config
    cfg.model("GLM-4.6")          -> ModelConfig (names match case-insensitively)
    cfg.provider("zai")           -> ProviderConfig
    cfg.router.default            -> "minimax-m2"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from config.catalog import ProviderSpec, Wire, join_url, lookup, vertex_base_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 13456
DEFAULT_AUTO_MAP = "^claude-"
DEFAULT_BACKGROUND = "(?i)claude.*haiku"
DEFAULT_LONG_CONTEXT_THRESHOLD = 60_000


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Upstream deadlines.

    connect_timeout_ms bounds the TCP/TLS connect; api_timeout_ms bounds the wait for the upstream's
    headers and first event, and any later silence between chunks (a stream may run as long as it talks).
    """

    api_timeout_ms: int = 600_000
    connect_timeout_ms: int = 10_000


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    log_level: str = "info"
    api_key: str | None = None
    """As written (literal or $VAR): clients must send it when set. Resolved by config.secrets."""
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True, slots=True)
class RouterConfig:
    default: str
    think: str | None = None
    background: str | None = None
    websearch: str | None = None
    long_context: str | None = None
    long_context_threshold: int = DEFAULT_LONG_CONTEXT_THRESHOLD
    auto_map_regex: str = DEFAULT_AUTO_MAP
    background_regex: str = DEFAULT_BACKGROUND
    auto_map: re.Pattern[str] = field(default=re.compile(DEFAULT_AUTO_MAP), compare=False, repr=False)
    background_pattern: re.Pattern[str] = field(default=re.compile(DEFAULT_BACKGROUND), compare=False, repr=False)

    def slots(self) -> dict[str, str | None]:
        """The model-valued router slots by name, in rule order."""
        return {
            "default": self.default,
            "websearch": self.websearch,
            "long_context": self.long_context,
            "think": self.think,
            "background": self.background,
        }


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    provider_type: str
    spec: ProviderSpec = field(compare=False, repr=False)
    enabled: bool = True
    auth_type: str = "apikey"
    """"apikey", "oauth" or "adc" ("api_key" is accepted and normalised; "adc" is vertex-ai's default)."""
    api_key: str | None = None
    """As written: a literal, "$VAR"/"${VAR}", or None when kept in the keyring."""
    base_url: str | None = None
    oauth_provider: str | None = None
    project_id: str | None = None
    """vertex-ai: the Google Cloud project whose Vertex AI serves the models."""
    location: str | None = None
    """vertex-ai: "global" when unset, a region ("us-east5") or a multi-region ("us", "eu")."""
    credentials_file: str | None = None
    """adc: a service-account or authorized-user JSON file; else GOOGLE_APPLICATION_CREDENTIALS, else
    gcloud's application default credentials file."""
    headers: tuple[tuple[str, str], ...] = ()
    """Extra request headers for this provider (e.g. attribution)."""

    @property
    def wire(self) -> Wire:
        return self.spec.wire_for(self.auth_type)

    @property
    def effective_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        if self.auth_type == "oauth" and self.spec.oauth_base_url:
            return self.spec.oauth_base_url
        if self.spec.wire == "vertex":
            return vertex_base_url(self.location)
        base = self.spec.base_url or ""
        if "{location}" in base:
            base = base.replace("{location}", self.location or "us-central1")
        return base.rstrip("/")

    def url(self, endpoint: str) -> str:
        return join_url(self.effective_base_url, endpoint)

    @property
    def secret_name(self) -> str:
        """The keyring username for this provider's API key."""
        return f"provider:{self.name}"

    @property
    def key_env(self) -> str:
        """The env var ccm also reads this provider's key from: ZAI_API_KEY for a provider named zai."""
        return re.sub(r"[^A-Za-z0-9]+", "_", self.name).strip("_").upper() + "_API_KEY"


@dataclass(frozen=True, slots=True)
class Mapping:
    provider: str
    actual_model: str
    priority: int = 0
    max_output_tokens: int | None = None
    """Clamp the request's max_tokens to this for this mapping."""


@dataclass(frozen=True, slots=True)
class ModelConfig:
    name: str
    mappings: tuple[Mapping, ...] = ()
    """In priority order (lower first; ties keep file order)."""


@dataclass(frozen=True, slots=True)
class Config:
    router: RouterConfig
    server: ServerConfig = field(default_factory=ServerConfig)
    providers: tuple[ProviderConfig, ...] = ()
    models: tuple[ModelConfig, ...] = ()
    path: Path | None = None
    # Lookup tables, built from providers/models (not init fields: dataclasses.replace() rebuilds them).
    _providers_by_name: dict[str, ProviderConfig] = field(init=False, compare=False, repr=False)
    _models_by_name: dict[str, ModelConfig] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # setdefault: with duplicate names (only possible when built by hand) the first one wins, as in files.
        providers: dict[str, ProviderConfig] = {}
        for p in self.providers:
            providers.setdefault(p.name.lower(), p)
        models: dict[str, ModelConfig] = {}
        for m in self.models:
            models.setdefault(m.name.lower(), m)
        object.__setattr__(self, "_providers_by_name", providers)
        object.__setattr__(self, "_models_by_name", models)

    def provider(self, name: str) -> ProviderConfig | None:
        return self._providers_by_name.get(name.lower())

    def model(self, name: str) -> ModelConfig | None:
        return self._models_by_name.get(name.lower())

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]


def spec_for(provider_type: str) -> ProviderSpec:
    spec = lookup(provider_type)
    if spec is None:
        raise KeyError(provider_type)
    return spec
