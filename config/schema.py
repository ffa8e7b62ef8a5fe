"""Typed, immutable config objects. Built only by config.load; everything else reads them.

A Config is a snapshot: the proxy swaps whole snapshots on reload, so a request in flight keeps the one
it started with.

    cfg = load_config(path).config
    cfg.model("GLM-4.6")          -> ModelConfig (names match case-insensitively)
    cfg.provider("zai")           -> ProviderConfig
    cfg.router.default            -> "minimax-m2"

The classes are the one statement of the file's shape: a table's keys are its fields (less those marked
NOT_A_KEY), each key's default is the field's, and an integer's bounds are in its field's `limits(...)`.
The loader (config.load) checks a file against them and the masked view (config.view) shows them:

    keys_of(FailoverConfig)              -> ("enabled", "max_retries", ...)
    bounds_of(ServerConfig, "port")      -> (1, 65535)
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from config.catalog import ProviderSpec, Wire, join_url, lookup, vertex_base_url
from config.paths import MAX_PORT
from config.secrets import client_key_name, key_name

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 13456
DEFAULT_AUTO_MAP = "^claude-"
DEFAULT_BACKGROUND = "(?i)claude.*haiku"
DEFAULT_LONG_CONTEXT_THRESHOLD = 60_000
AS_ASKED = "*"
"""`actual_model = "*"`: the mapping sends the model name the client asked for (Opus stays Opus)."""
AS_ASKED_TYPES = frozenset({"anthropic", "anthropic-compatible", "vertex-ai"})
"""The provider types that take `*`: they serve Claude's own model names."""


NOT_A_KEY = {"key": False}
"""Field metadata: made by the loader (a compiled regex, a catalog entry), never written in the file."""
LOG_LEVELS = ("trace", "debug", "info", "warning", "warn", "error", "critical")
STRATEGIES = ("priority", "round-robin", "weighted", "latency")


def limits(minimum: int | None = None, maximum: int | None = None) -> dict[str, int | None]:
    """Field metadata: the bounds an integer key must keep (either may be None: unbounded)."""
    return {"minimum": minimum, "maximum": maximum}


def keys_of(table: type) -> tuple[str, ...]:
    """The keys of a config table, in declaration order."""
    return tuple(f.name for f in fields(table) if f.init and f.metadata.get("key", True))


def bounds_of(table: type, key: str) -> tuple[int | None, int | None]:
    metadata = _field(table, key).metadata
    return metadata.get("minimum"), metadata.get("maximum")


def default_of(table: type, key: str) -> Any:
    found = _field(table, key)
    if found.default is not MISSING:
        return found.default
    if found.default_factory is not MISSING:
        return found.default_factory()
    raise KeyError(f"{table.__name__}.{key} has no default")


def _field(table: type, key: str) -> Any:
    for found in fields(table):
        if found.name == key:
            return found
    raise KeyError(f"{table.__name__} has no field {key!r}")


def key_env(provider: str) -> str:
    """The env var ccm also reads a provider's key from (zai -> ZAI_API_KEY): the one place it is derived."""
    return re.sub(r"[^A-Za-z0-9]+", "_", provider).strip("_").upper() + "_API_KEY"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Upstream deadlines.

    connect_timeout_ms bounds the TCP/TLS connect; api_timeout_ms bounds the wait for the upstream's
    headers and first event, and any later silence between chunks (a stream may run as long as it talks).
    """

    api_timeout_ms: int = field(default=600_000, metadata=limits(minimum=1))
    """The wait for a first event, and any later silence between chunks; bounds a whole JSON answer."""
    connect_timeout_ms: int = field(default=10_000, metadata=limits(minimum=1))
    """The TCP/TLS connect."""
    headers_timeout_ms: int = field(default=30_000, metadata=limits(minimum=1))
    """Streams only: a healthy streaming server sends its headers at once; past this, the next mapping."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = DEFAULT_HOST
    """The address the proxy listens on ($CCM_HOST overrides); not loopback: any Host header is accepted."""
    port: int = field(default=DEFAULT_PORT, metadata=limits(minimum=1, maximum=MAX_PORT))
    """The port the proxy listens on ($CCM_PORT and --port override); a change needs a restart."""
    log_level: str = "info"
    """debug, info, warning or error (trace and warn are accepted); applied on reload too."""
    api_key: str | None = None
    """As written (literal or $VAR): clients must send it when set. Resolved by config.secrets."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Upstream deadlines ([server.timeouts])."""


@dataclass(frozen=True, slots=True)
class FailoverConfig:
    """Retries, backoff, the deadline and the circuit breaker.

    retry n (0 first) waits random(0, min(max_backoff_ms, backoff_ms * 2**n)), or the upstream's
    Retry-After when that is at most max_retry_after_ms (a longer one fails over at once)
    """

    enabled: bool = True
    """False: one attempt per request, no retry, no failover."""
    max_retries: int = field(default=1, metadata=limits(minimum=0))
    """Extra tries of the same mapping on a retryable failure, before any byte reached the client."""
    backoff_ms: int = field(default=250, metadata=limits(minimum=0))
    """The base of the exponential backoff (full jitter)."""
    max_backoff_ms: int = field(default=8_000, metadata=limits(minimum=0))
    """The cap of one backoff wait."""
    max_retry_after_ms: int = field(default=20_000, metadata=limits(minimum=0))
    """A longer Retry-After is not waited for (nor passed on): fail over instead."""
    deadline_ms: int = field(default=600_000, metadata=limits(minimum=1))
    """All attempts of one request must reach a first byte within this, or the answer is a 504."""
    circuit_failures: int = field(default=5, metadata=limits(minimum=1))
    """Consecutive failed attempts that open a provider's circuit."""
    circuit_cooldown_ms: int = field(default=30_000, metadata=limits(minimum=1))
    """Then one probe (half-open); a failed probe doubles it, up to 5 minutes."""


@dataclass(frozen=True, slots=True)
class LoadBalancingConfig:
    strategy: str = "priority"
    """Among mappings of equal priority: "priority" (file order), "round-robin", "weighted", "latency"."""


@dataclass(frozen=True, slots=True)
class RouterConfig:
    default: str
    """The model for everything no other rule takes, and what auto-mapped claude-* names become (required)."""
    think: str | None = None
    """The model for requests with thinking.type = "enabled" (Claude Code's "adaptive" is not think)."""
    background: str | None = None
    """The model for requests whose original model name matches background_regex (Claude Code's haiku)."""
    websearch: str | None = None
    """The model for requests that offer the web_search tool."""
    long_context: str | None = None
    """The model for requests whose estimated input exceeds long_context_threshold."""
    long_context_threshold: int = field(default=DEFAULT_LONG_CONTEXT_THRESHOLD, metadata=limits(minimum=1))
    """Input tokens (estimated from the body's size) above which long_context takes a request."""
    auto_map_regex: str = DEFAULT_AUTO_MAP
    """Model names matching it (and not themselves configured) become router.default; as written."""
    background_regex: str = DEFAULT_BACKGROUND
    """Original model names matching it go to router.background; as written."""
    auto_map: re.Pattern[str] = field(
        default=re.compile(DEFAULT_AUTO_MAP), compare=False, repr=False, metadata=NOT_A_KEY
    )
    """auto_map_regex compiled (global flags moved to the front, as claude-code-mux's engine reads them)."""
    background_pattern: re.Pattern[str] = field(
        default=re.compile(DEFAULT_BACKGROUND), compare=False, repr=False, metadata=NOT_A_KEY
    )
    """background_regex compiled, likewise."""

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
    """Any string without ','; compared case-insensitively; names the keyring entry `provider:NAME`."""
    provider_type: str
    """A catalog type (config.catalog): decides the default base URL, the auth style and the wire format."""
    spec: ProviderSpec = field(compare=False, repr=False, metadata=NOT_A_KEY)
    """The catalog entry for provider_type."""
    enabled: bool = True
    """False: the provider's mappings are skipped (and `provider,model` to it is a 404)."""
    auth_type: str = "apikey"
    """"apikey", "oauth" (ChatGPT's login, `ccm oauth login`), "passthrough" (anthropic types only: the
    client's own credential, i.e. Claude Code's Pro/Max login, is forwarded) or "adc" (vertex-ai's default:
    Google application default credentials); "api_key" is normalised."""
    api_key: str | None = None
    """As written: a literal, "$VAR"/"${VAR}", or None when kept in the keyring."""
    base_url: str | None = None
    """Overrides the catalog's URL (required for the *-compatible types): the Anthropic format's root, or
    the OpenAI format's URL ending in the version (…/v1)."""
    oauth_provider: str | None = None
    """The OAuth token's id when it is not the provider's name."""
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
        return key_name(self.name)

    @property
    def key_env(self) -> str:
        """The env var ccm also reads this provider's key from: ZAI_API_KEY for a provider named zai."""
        return key_env(self.name)


@dataclass(frozen=True, slots=True)
class Mapping:
    provider: str
    """The [[providers]] name this mapping sends to."""
    actual_model: str
    """The model name as the provider knows it; "*" (AS_ASKED_TYPES only): the name the client asked for."""
    priority: int = field(default=0, metadata=limits(minimum=0))
    """Lower is tried first; ties keep file order (unset: the mapping's place in the list)."""
    max_output_tokens: int | None = field(default=None, metadata=limits(minimum=1))
    """Clamp the request's max_tokens to this for this mapping."""
    weight: int = field(default=1, metadata=limits(minimum=0, maximum=1_000_000))
    """Share of requests among mappings of equal priority when `load_balancing.strategy = "weighted"`."""
    price_in: float | None = None
    """USD per million (uncached) input tokens; with price_out, turns usage into cost in metrics."""
    price_out: float | None = None
    """USD per million output tokens."""
    price_cache_read: float | None = None
    """USD per million cache-read input tokens (unset: priced as price_in)."""
    price_cache_write: float | None = None
    """USD per million cache-write input tokens (unset: priced as price_in)."""
    allow: tuple[str, ...] = ()
    """Globs (`claude-*`, case-insensitive) the name asked for must match, or the mapping is skipped; empty:
    every name. Keeps a `*` mapping from sending a non-Claude name to Anthropic."""
    context_window: int | None = field(default=None, metadata=limits(minimum=1))
    """Input tokens the model takes (overrides the catalog's): a request that does not fit skips the mapping."""

    @property
    def as_asked(self) -> bool:
        return self.actual_model == AS_ASKED

    @property
    def priced(self) -> bool:
        """Whether cost can be computed: a price for input or output is given."""
        return self.price_in is not None or self.price_out is not None


@dataclass(frozen=True, slots=True)
class ModelConfig:
    name: str
    """What Claude Code or a router slot asks for; matched case-insensitively."""
    mappings: tuple[Mapping, ...] = ()
    """In priority order (lower first; ties keep file order)."""


CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
"""A client's name: what its records, metrics labels and keyring entry (`client:NAME`) carry."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One team member's (or tool's) way in: its own key, the models it may use and its limits."""

    name: str
    """Letters, digits and `._@-`; names the client in records, metrics and `ccm usage --by client`."""
    api_key: str | None = None
    """As written: a literal or "$VAR"; None: the keyring's `client:NAME` (`ccm clients add`)."""
    models: tuple[str, ...] = ()
    """Globs (case-insensitive) the routed [[models]] name must match; empty: every model."""
    rpm: int | None = field(default=None, metadata=limits(minimum=1))
    """Requests per minute (a sliding minute); None: no limit."""
    tpm: int | None = field(default=None, metadata=limits(minimum=1))
    """Tokens per minute (input, cached and output, charged after each answer)."""
    daily_tokens: int | None = field(default=None, metadata=limits(minimum=1))
    """Tokens per UTC day."""
    monthly_usd: float | None = None
    """USD per UTC month, from the mappings' prices; such a client cannot use a mapping with no price."""

    @property
    def secret_name(self) -> str:
        """The keyring username for this client's key."""
        return client_key_name(self.name)

    @property
    def limited(self) -> bool:
        return any(v is not None for v in (self.rpm, self.tpm, self.daily_tokens, self.monthly_usd))

    def allows(self, model: str) -> bool:
        """Whether the globs admit a routed name (a [[models]] name, or `provider,model` as written)."""
        if not self.models:
            return True
        name = model.lower()
        return any(fnmatch.fnmatchcase(name, glob.lower()) for glob in self.models)


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    otlp_endpoint: str | None = None
    """OTLP/HTTP base URL for traces and metrics (the `otel` extra); $OTEL_EXPORTER_OTLP_ENDPOINT wins."""


@dataclass(frozen=True, slots=True)
class Config:
    router: RouterConfig
    """[router]: which model each rule sends to."""
    server: ServerConfig = field(default_factory=ServerConfig)
    """[server]: address, log level, router key and timeouts."""
    providers: tuple[ProviderConfig, ...] = ()
    """[[providers]] in file order."""
    models: tuple[ModelConfig, ...] = ()
    """[[models]] in file order."""
    failover: FailoverConfig = field(default_factory=FailoverConfig)
    """[failover]: retries, backoff, the deadline and the circuit breaker."""
    load_balancing: LoadBalancingConfig = field(default_factory=LoadBalancingConfig)
    """[load_balancing]: how mappings of equal priority are ordered."""
    clients: tuple[ClientConfig, ...] = ()
    """[[clients]] in file order: each its own key, model globs and limits (needs server.api_key)."""
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    """[telemetry]: where OpenTelemetry traces and metrics go."""
    path: Path | None = field(default=None, metadata=NOT_A_KEY)
    """The file this was loaded from (None when parsed from text)."""
    # Lookup tables, built from providers/models (not init fields: dataclasses.replace() rebuilds them).
    _providers_by_name: dict[str, ProviderConfig] = field(init=False, compare=False, repr=False)
    _models_by_name: dict[str, ModelConfig] = field(init=False, compare=False, repr=False)
    _clients_by_name: dict[str, ClientConfig] = field(init=False, compare=False, repr=False)

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
        object.__setattr__(self, "_clients_by_name", {c.name.lower(): c for c in reversed(self.clients)})

    def provider(self, name: str) -> ProviderConfig | None:
        return self._providers_by_name.get(name.lower())

    def model(self, name: str) -> ModelConfig | None:
        return self._models_by_name.get(name.lower())

    def client(self, name: str) -> ClientConfig | None:
        return self._clients_by_name.get(name.lower())

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]


def spec_for(provider_type: str) -> ProviderSpec:
    spec = lookup(provider_type)
    if spec is None:
        raise KeyError(provider_type)
    return spec
