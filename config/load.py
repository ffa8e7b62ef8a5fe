"""Read and validate a config file into a Config, collecting every problem at once.

Read with tomllib (9x faster than tomlkit: the proxy re-reads on every change). Errors name the file,
the line and the key; unknown keys are warnings with the nearest known key, never fatal, so configs from
claude-code-mux and its forks load unchanged.

    result = load_config(path)     # raises ConfigError listing every error
    result.config, result.warnings
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Iterator
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config.catalog import ALIASES, CATALOG, ProviderSpec, lookup
from config.errors import ConfigError, Problem
from config.locate import Locator
from config.schema import (
    AS_ASKED,
    AS_ASKED_TYPES,
    CLIENT_NAME,
    LOG_LEVELS,
    STRATEGIES,
    ClientConfig,
    Config,
    FailoverConfig,
    LoadBalancingConfig,
    Mapping,
    ModelConfig,
    ProviderConfig,
    RouterConfig,
    ServerConfig,
    TelemetryConfig,
    Timeouts,
    bounds_of,
    default_of,
    keys_of,
)

#: Every table's keys come from its schema class; `models` in a provider is claude-code-mux's legacy list,
#: accepted and ignored.
_PROVIDER_KEYS = (*keys_of(ProviderConfig), "models")
_PRICE_KEYS = tuple(key for key in keys_of(Mapping) if key.startswith("price_"))
_AUTH_TYPES = {"apikey": "apikey", "api_key": "apikey", "oauth": "oauth", "passthrough": "passthrough", "adc": "adc"}
_PASSTHROUGH_TYPES = ("anthropic", "anthropic-compatible")
#: Provider types whose default auth_type is not "apikey".
_DEFAULT_AUTH = {"vertex-ai": "adc"}
_ADC_TYPES = frozenset({"vertex-ai"})
_TOML_INT_MAX = 2**63 - 1
_GLOBAL_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")
_TYPE_NAMES = (*CATALOG, *ALIASES)


@dataclass(slots=True)
class LoadResult:
    config: Config
    warnings: list[Problem] = field(default_factory=list)
    advice: list[Problem] = field(default_factory=list)
    """Valid but worth a second look, shown by `ccm config validate` only (e.g. a Claude login
    forwarded to a host other than api.anthropic.com)."""
    refused: list[Problem] = field(default_factory=list)
    """Errors for `ccm config validate` (exit 1) that the proxy tolerates, so that claude-code-mux configs
    still load (e.g. `auth_type = "oauth"` on an anthropic provider: ccm has no Claude login)."""


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a router regex, moving Rust-style mid-pattern global flags (`^(?i)claude`) to the front."""
    flags = "".join(_GLOBAL_FLAGS.findall(pattern))
    if flags and not pattern.startswith(f"(?{flags})"):
        pattern = f"(?{''.join(sorted(set(flags)))})" + _GLOBAL_FLAGS.sub("", pattern)
    return re.compile(pattern)


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to `word` (compared case-insensitively), as the choice is spelled; None if none is close."""
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(choice.lower(), choice)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    guess = nearest(word, choices)
    return f" (did you mean '{guess}'?)" if guess else ""


class _Checker:
    """Collects problems while building the typed config; one instance per load."""

    def __init__(self, text: str, file: str) -> None:
        self.file = file
        self._locator: Locator | None = None
        self._text = text
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.advice: list[Problem] = []
        self.refused: list[Problem] = []

    def _problem(self, path: tuple[str | int, ...], message: str) -> Problem:
        key = ""
        for part in path:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else part)
        if self._locator is None:  # scanned once per load, and only when there is something to report
            self._locator = Locator(self._text)
        return Problem(message, key=key, file=self.file, line=self._locator.line(path))

    def error(self, path: tuple[str | int, ...], message: str) -> None:
        self.errors.append(self._problem(path, message))

    def warn(self, path: tuple[str | int, ...], message: str) -> None:
        self.warnings.append(self._problem(path, message))

    def advise(self, path: tuple[str | int, ...], message: str) -> None:
        self.advice.append(self._problem(path, message))

    def refuse(self, path: tuple[str | int, ...], message: str) -> None:
        self.refused.append(self._problem(path, message))

    def unknown_keys(self, table: AbcMapping[str, Any], known: tuple[str, ...], path: tuple[str | int, ...]) -> None:
        for key in table:
            if key not in known:
                self.warn((*path, key), f"unknown key, ignored{_did_you_mean(key, known)}")

    def entries(
        self, raw: Any, path: tuple[str | int, ...], header: str
    ) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
        """Each table of an array of tables (`[[providers]]`) with its path; what is not one is said."""
        if raw is None:
            return
        if not isinstance(raw, list):
            self.error(path, f"must be an array of tables ({header})")
            return
        for i, item in enumerate(raw):
            if isinstance(item, dict):
                yield (*path, i), item
            else:
                self.error((*path, i), "must be a table")

    def name(self, item: dict[str, Any], path: tuple[str | int, ...], seen: dict[str, int], what: str) -> str | None:
        """An entry's required, non-empty, unique name; `seen` maps each lower-case name to its first index."""
        name = self.string(item, "name", path, required=True)
        if name is not None and not name.strip():
            self.error((*path, "name"), "must not be empty")
            return None
        if name is not None:
            if name.lower() in seen:
                self.error((*path, "name"), f"duplicate {what} name {name!r} (also {path[0]}[{seen[name.lower()]}])")
            seen.setdefault(name.lower(), int(path[-1]))
        return name

    def table(self, value: Any, path: tuple[str | int, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, f"must be a table, not {type(value).__name__}")
            return {}
        return value

    def string(
        self,
        table: AbcMapping[str, Any],
        key: str,
        path: tuple[str | int, ...],
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        value = table.get(key)
        if value is None:
            if required:
                self.error((*path, key), "is required")
            return default
        if not isinstance(value, str):
            self.error((*path, key), f"must be a string, not {type(value).__name__}")
            return default
        return value

    def setting(
        self, table: AbcMapping[str, Any], schema: type, key: str, path: tuple[str | int, ...], **default: int | None
    ) -> int | None:
        """An integer key with its schema's bounds, and its schema's default unless `default=` is given."""
        minimum, maximum = bounds_of(schema, key)
        fallback = default["default"] if "default" in default else default_of(schema, key)
        return self.integer(table, key, path, default=fallback, minimum=minimum, maximum=maximum)

    def settings(self, table: AbcMapping[str, Any], schema: type, path: tuple[str | int, ...]) -> dict[str, Any]:
        """Every key of a table of true/false and integer keys (its unknown keys warned), by the schema."""
        self.unknown_keys(table, keys_of(schema), path)
        out: dict[str, Any] = {}
        for key in keys_of(schema):
            default = default_of(schema, key)
            if isinstance(default, bool):
                out[key] = self.boolean(table, key, path, default)
            else:
                value = self.setting(table, schema, key, path)
                out[key] = default if value is None else value
        return out

    def integer(
        self,
        table: AbcMapping[str, Any],
        key: str,
        path: tuple[str | int, ...],
        *,
        default: int | None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = table.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error((*path, key), f"must be an integer, not {value!r}")
            return default
        if value > _TOML_INT_MAX:  # Python reads it, but other TOML tools (and claude-code-mux) would not
            self.error((*path, key), f"is larger than a TOML integer can be ({value})")
            return default
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
            self.error((*path, key), f"must be {bounds}, not {value}")
            return default
        return value

    def price(self, table: AbcMapping[str, Any], key: str, path: tuple[str | int, ...]) -> float | None:
        """USD per million tokens: a number >= 0 (integers welcome), or absent."""
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            self.error((*path, key), f"must be a number (USD per million tokens), not {value!r}")
            return None
        if value < 0 or value == float("inf"):
            self.error((*path, key), f"must be a finite number >= 0, not {value!r}")
            return None
        return float(value)

    def boolean(self, table: AbcMapping[str, Any], key: str, path: tuple[str | int, ...], default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.error((*path, key), f"must be true or false, not {value!r}")
            return default
        return value

    def regex(self, table: AbcMapping[str, Any], key: str, default: str) -> tuple[str, re.Pattern[str]]:
        raw = self.string(table, key, ("router",))
        pattern = raw if raw else default  # missing or "" -> the default (as claude-code-mux)
        try:
            return pattern, compile_regex(pattern)
        except re.error as exc:
            self.error(("router", key), f"invalid regex {pattern!r}: {exc}")
            return default, re.compile(default)


def _server(c: _Checker, raw: dict[str, Any]) -> ServerConfig:
    path = ("server",)
    c.unknown_keys(raw, keys_of(ServerConfig), path)
    timeouts = Timeouts(**c.settings(c.table(raw.get("timeouts"), (*path, "timeouts")), Timeouts, (*path, "timeouts")))
    level_default: str = default_of(ServerConfig, "log_level")
    log_level = (c.string(raw, "log_level", path, default=level_default) or level_default).lower()
    if log_level not in LOG_LEVELS:
        c.error((*path, "log_level"), f"must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}")
        log_level = level_default
    host_default: str = default_of(ServerConfig, "host")
    port_default: int = default_of(ServerConfig, "port")
    return ServerConfig(
        host=c.string(raw, "host", path, default=host_default) or host_default,
        port=c.setting(raw, ServerConfig, "port", path) or port_default,
        log_level=log_level,
        api_key=c.string(raw, "api_key", path) or None,
        timeouts=timeouts,
    )


def _load_balancing(c: _Checker, raw: dict[str, Any]) -> LoadBalancingConfig:
    path = ("load_balancing",)
    c.unknown_keys(raw, keys_of(LoadBalancingConfig), path)
    fallback: str = default_of(LoadBalancingConfig, "strategy")
    strategy = c.string(raw, "strategy", path, default=fallback) or fallback
    if strategy not in STRATEGIES:
        hint = _did_you_mean(strategy, STRATEGIES)
        c.error((*path, "strategy"), f"must be one of {', '.join(STRATEGIES)}, not {strategy!r}{hint}")
        strategy = fallback
    return LoadBalancingConfig(strategy)


def _router(c: _Checker, raw: dict[str, Any], present: bool) -> RouterConfig:
    c.unknown_keys(raw, keys_of(RouterConfig), ("router",))
    default = c.string(raw, "default", ("router",), required=present) or ""
    if present and "default" in raw and isinstance(raw["default"], str) and not default.strip():
        c.error(("router", "default"), "must name a model (it is where every request goes by default)")
    slots = {k: (c.string(raw, k, ("router",)) or None) for k in ("think", "background", "websearch", "long_context")}
    auto_src, auto = c.regex(raw, "auto_map_regex", default_of(RouterConfig, "auto_map_regex"))
    bg_src, bg = c.regex(raw, "background_regex", default_of(RouterConfig, "background_regex"))
    threshold = c.setting(raw, RouterConfig, "long_context_threshold", ("router",))
    return RouterConfig(
        default=default.strip(),
        long_context_threshold=threshold or default_of(RouterConfig, "long_context_threshold"),
        auto_map_regex=auto_src,
        background_regex=bg_src,
        auto_map=auto,
        background_pattern=bg,
        **{k: (v.strip() or None) if v else None for k, v in slots.items()},
    )


def _providers(c: _Checker, raw: Any) -> list[ProviderConfig]:
    out: list[ProviderConfig] = []
    seen: dict[str, int] = {}
    for path, item in c.entries(raw, ("providers",), "[[providers]]"):
        provider = _provider(c, item, path, seen)
        if provider is not None:
            out.append(provider)
    return out


def _provider(
    c: _Checker, item: dict[str, Any], path: tuple[str | int, ...], seen: dict[str, int]
) -> ProviderConfig | None:
    """One [[providers]] entry (None when its name or type is unusable: the error is said)."""
    c.unknown_keys(item, _PROVIDER_KEYS, path)
    name = c.name(item, path, seen, "provider")
    if name is not None and "," in name:
        c.warn((*path, "name"), f"{name!r} contains ',': it cannot be selected as `provider,model`")
    ptype = c.string(item, "provider_type", path, required=True)
    spec = lookup(ptype) if ptype else None
    if ptype is not None and spec is None:
        guess = nearest(ptype, _TYPE_NAMES)
        hint = f" (did you mean '{ALIASES.get(guess, guess)}'?)" if guess else ""
        c.error((*path, "provider_type"), f"unknown provider type {ptype!r}{hint}")
    auth_type = _auth_type(c, item, path, spec)
    base_url = c.string(item, "base_url", path) or None
    if base_url is not None and not re.match(r"^https?://", base_url):
        c.error((*path, "base_url"), f"must start with http:// or https://, not {base_url!r}")
    if spec is not None and spec.base_url is None and not base_url:
        c.error((*path, "base_url"), f"is required for provider type {spec.type!r} (the server's URL)")
    headers_raw = c.table(item.get("headers"), (*path, "headers"))
    for key, value in headers_raw.items():
        if not isinstance(value, str):
            c.error((*path, "headers", key), f"must be a string, not {type(value).__name__}")
    headers = tuple((str(k), v) for k, v in headers_raw.items() if isinstance(v, str))
    enabled = c.boolean(item, "enabled", path, default_of(ProviderConfig, "enabled"))
    api_key = c.string(item, "api_key", path) or None
    oauth_provider = c.string(item, "oauth_provider", path) or None
    project_id = c.string(item, "project_id", path) or None
    location = c.string(item, "location", path) or None
    credentials_file = c.string(item, "credentials_file", path) or None
    if spec is not None and spec.type == "vertex-ai" and not project_id:
        c.warn((*path, "project_id"), "is needed for provider type 'vertex-ai' (your Google Cloud project)")
    if location is not None and not re.fullmatch(r"[a-z0-9-]+", location):
        c.error((*path, "location"), f'must be "global", a region or a multi-region, not {location!r}')
    if name is None or spec is None:
        return None
    if auth_type == "passthrough":
        _advise_passthrough_host(c, path, base_url or spec.base_url)
    return ProviderConfig(
        name=name,
        provider_type=spec.type,
        spec=spec,
        enabled=enabled,
        auth_type=auth_type,
        api_key=api_key,
        base_url=base_url,
        oauth_provider=oauth_provider,
        project_id=project_id,
        location=location,
        credentials_file=credentials_file,
        headers=headers,
    )


def _auth_type(c: _Checker, item: dict[str, Any], path: tuple[str | int, ...], spec: ProviderSpec | None) -> str:
    """The provider's auth_type, normalised ("api_key" -> "apikey"), refused where its type cannot take it."""
    default_auth = _DEFAULT_AUTH.get(spec.type, "apikey") if spec is not None else "apikey"
    auth_raw = (c.string(item, "auth_type", path, default=default_auth) or default_auth).lower()
    auth_type = _AUTH_TYPES.get(auth_raw)
    where = (*path, "auth_type")
    if auth_type is None:
        c.error(where, f"must be one of {', '.join(sorted(set(_AUTH_TYPES.values())))}, not {auth_raw!r}")
        return "apikey"
    if auth_type == "oauth" and spec is not None and spec.type in _PASSTHROUGH_TYPES:
        c.refuse(
            where,
            "Claude Pro/Max logins work only inside Claude Code, so ccm has no Claude OAuth: use auth_type = "
            '"passthrough" (Claude Code\'s own login is forwarded), or "apikey"',
        )
    elif auth_type == "oauth" and spec is not None and not spec.oauth:
        c.error(where, f'provider type {spec.type!r} has no OAuth login; use "apikey"')
    elif auth_type == "passthrough" and spec is not None and spec.type not in _PASSTHROUGH_TYPES:
        c.error(
            where,
            f'"passthrough" forwards Claude Code\'s own login, so only types anthropic and '
            f"anthropic-compatible take it, not {spec.type!r}",
        )
    elif auth_type == "adc" and spec is not None and spec.type not in _ADC_TYPES:
        c.error(where, f'"adc" (Google credentials) is for vertex-ai, not {spec.type!r}')
    return auth_type


def _models(c: _Checker, raw: Any, providers: dict[str, str], types: dict[str, str]) -> list[ModelConfig]:
    """`providers`: every configured provider name, lower-case -> as written (valid entries or not);
    `types`: lower-case name -> catalog type, for the providers whose type is known."""
    out: list[ModelConfig] = []
    seen: dict[str, int] = {}
    for path, item in c.entries(raw, ("models",), "[[models]]"):
        c.unknown_keys(item, keys_of(ModelConfig), path)
        name = c.name(item, path, seen, "model")
        if name is not None and "," in name:
            c.error((*path, "name"), f"must not contain ',' (it selects a provider explicitly): {name!r}")
        maps_raw = item.get("mappings", [])
        if name is not None and not (isinstance(maps_raw, list) and maps_raw):
            c.warn(path, f"model {name!r} has no [[models.mappings]]: a request routed to it cannot be served")
        mappings: list[tuple[int, int, Mapping]] = []
        for mpath, m in c.entries(maps_raw, (*path, "mappings"), "[[models.mappings]]"):
            j = int(mpath[-1])
            mapping = _mapping(c, m, mpath, j, providers, types)
            if mapping is not None:
                mappings.append((mapping.priority, j, mapping))
        if name is None:
            continue
        mappings.sort(key=lambda t: (t[0], t[1]))
        out.append(ModelConfig(name=name, mappings=tuple(m for _, _, m in mappings)))
    return out


def _mapping(
    c: _Checker,
    m: dict[str, Any],
    mpath: tuple[str | int, ...],
    index: int,
    providers: dict[str, str],
    types: dict[str, str],
) -> Mapping | None:
    """One [[models.mappings]] entry, the `index`-th of its model (its priority when none is written)."""
    c.unknown_keys(m, keys_of(Mapping), mpath)
    provider = c.string(m, "provider", mpath, required=True)
    actual = c.string(m, "actual_model", mpath, required=True)
    if actual is not None and not actual.strip():
        c.error((*mpath, "actual_model"), "must not be empty")
        actual = None
    priority = c.setting(m, Mapping, "priority", mpath, default=index)
    max_out = c.setting(m, Mapping, "max_output_tokens", mpath)
    weight = c.setting(m, Mapping, "weight", mpath)
    prices = {key: c.price(m, key, mpath) for key in _PRICE_KEYS}
    window = c.setting(m, Mapping, "context_window", mpath)
    allow = _globs(c, m, mpath)
    if actual == AS_ASKED and provider is not None and types.get(provider.lower()) not in (None, *AS_ASKED_TYPES):
        c.error(
            (*mpath, "actual_model"),
            f'"*" (the name the client asked for) works only on types {", ".join(sorted(AS_ASKED_TYPES))}; '
            f"provider {provider!r} is {types[provider.lower()]!r}: name the model it serves",
        )
    if provider is not None and provider.lower() not in providers:
        hint = _did_you_mean(provider, providers.values())
        known = ", ".join(providers.values()) or "none"
        c.error((*mpath, "provider"), f"unknown provider {provider!r}{hint}; configured: {known}")
        return None
    if provider is None or actual is None:
        return None
    return Mapping(
        providers[provider.lower()],
        actual,
        index if priority is None else priority,
        max_out,
        default_of(Mapping, "weight") if weight is None else weight,
        **prices,
        allow=allow,
        context_window=window,
    )


def _globs(
    c: _Checker, table: AbcMapping[str, Any], path: tuple[str | int, ...], key: str = "allow"
) -> tuple[str, ...]:
    """A list of non-empty glob strings (`["claude-*"]`), or absent: a mapping's `allow`, a client's `models`."""
    value = table.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(g, str) and g.strip() for g in value):
        c.error((*path, key), f'must be a list of name patterns such as ["claude-*"], not {value!r}')
        return ()
    return tuple(g.strip() for g in value)


def _telemetry(c: _Checker, raw: dict[str, Any]) -> TelemetryConfig:
    c.unknown_keys(raw, keys_of(TelemetryConfig), ("telemetry",))
    endpoint = c.string(raw, "otlp_endpoint", ("telemetry",)) or None
    if endpoint is not None and not re.match(r"^https?://", endpoint):
        c.error(("telemetry", "otlp_endpoint"), f"must start with http:// or https://, not {endpoint!r}")
        endpoint = None
    return TelemetryConfig(endpoint.rstrip("/") if endpoint else None)


def _clients(c: _Checker, raw: Any, router_key: str | None) -> list[ClientConfig]:
    """[[clients]]: each a name, a key (literal, $VAR, or the keyring's `client:NAME`), globs and limits."""
    if raw and not router_key:
        c.error(
            ("clients",),
            "[[clients]] needs server.api_key: the operator's router key, the one key that opens the admin API",
        )
    out: list[ClientConfig] = []
    seen: dict[str, int] = {}
    for path, item in c.entries(raw, ("clients",), "[[clients]]"):
        c.unknown_keys(item, keys_of(ClientConfig), path)
        name = c.name(item, path, seen, "client")
        if name is not None and not CLIENT_NAME.match(name):
            c.error(
                (*path, "name"), f"must be 1-64 letters, digits or ._@- (starting with a letter or digit), not {name!r}"
            )
            name = None
        api_key = c.string(item, "api_key", path) or None
        globs = _globs(c, item, path, "models")
        counts = {key: c.setting(item, ClientConfig, key, path) for key in ("rpm", "tpm", "daily_tokens")}
        usd = c.price(item, "monthly_usd", path)
        if usd is not None and usd <= 0:
            c.error((*path, "monthly_usd"), f"must be a number of USD > 0, not {usd!r}")
            usd = None
        if name is not None:
            out.append(ClientConfig(name, api_key, globs, **counts, monthly_usd=usd))
    return out


def _provider_types(raw: Any) -> dict[str, str]:
    """Lower-case provider name -> catalog type, for every provider entry whose type the catalog knows."""
    out: dict[str, str] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("provider_type"), str):
            spec = lookup(item["provider_type"])
            if spec is not None:
                out.setdefault(item["name"].lower(), spec.type)
    return out


def _check_slot_refs(c: _Checker, router: RouterConfig, providers: dict[str, str], models: dict[str, str]) -> None:
    """Every router slot names a configured model, or a configured provider and a model (`provider,model`)."""
    for slot, value in router.slots().items():
        if not value:
            continue
        if "," in value:
            provider, actual = (part.strip() for part in value.split(",", 1))
            if provider.lower() not in providers:
                hint = _did_you_mean(provider, providers.values())
                c.error(("router", slot), f"names provider {provider!r}, which is not configured{hint}")
            if not actual:
                c.error(("router", slot), f"{value!r} names no model after the ','")
        elif value.lower() not in models:
            hint = _did_you_mean(value, models.values())
            known = ", ".join(models.values()) or "none"
            c.error(
                ("router", slot), f"names model {value!r}, which is not a [[models]] name{hint}; configured: {known}"
            )


def _warn_as_asked_slots(c: _Checker, router: RouterConfig, models: list[ModelConfig], types: dict[str, str]) -> None:
    """A slot other than `default` may receive any name the client sends (`ccm code --model glm` sends
    "glm"), not only the claude-* names auto-map gives `default`. When that slot's model first sends the
    name as asked (`*`) to Anthropic or Vertex AI, which serve only Claude names, say so: `allow` fixes it."""
    by_name = {m.name.lower(): m for m in models}
    for slot, value in router.slots().items():
        model = by_name.get((value or "").lower())
        if slot == "default" or model is None or not model.mappings:
            continue
        first = model.mappings[0]
        kind = types.get(first.provider.lower())
        if not first.as_asked or first.allow or kind not in ("anthropic", "vertex-ai"):
            continue
        if slot == "background":  # only names matching background_regex reach it: which configured ones?
            reach = [
                m.name
                for m in models
                if not m.name.lower().startswith("claude") and router.background_pattern.search(m.name)
            ]
            if not reach:
                continue
        c.warn(
            ("router", slot),
            f'routes to {model.name!r}, whose first mapping sends the name asked for (actual_model = "*") to '
            f"provider {first.provider!r} ({kind}), which serves only Claude names; a request for another name "
            f'(e.g. `ccm code --model NAME`) would be refused there: add allow = ["claude-*"] to that mapping',
        )


def _names(raw: Any) -> dict[str, str]:
    """The `name` of every table in an array (valid entry or not, so one bad entry does not cascade)."""
    out: dict[str, str] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"].strip():
            out.setdefault(item["name"].lower(), item["name"])
    return out


def parse_config(text: str, file: str | Path = "config.toml") -> LoadResult:
    """Validate TOML text into a Config; raise ConfigError with every error found."""
    file_s = str(file)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            [Problem(f"not valid TOML: {exc}", file=file_s, line=int(match.group(1)) if match else None)]
        ) from None
    c = _Checker(text, file_s)
    c.unknown_keys(raw, keys_of(Config), ())
    server = _server(c, c.table(raw.get("server"), ("server",)))
    if "router" not in raw:
        c.errors.append(Problem("missing [router] table (router.default is required)", key="router", file=file_s))
    router = _router(c, c.table(raw.get("router"), ("router",)), "router" in raw)
    provider_names = _names(raw.get("providers"))
    providers = _providers(c, raw.get("providers"))
    models = _models(c, raw.get("models"), provider_names, _provider_types(raw.get("providers")))
    _check_slot_refs(c, router, provider_names, _names(raw.get("models")))
    _warn_as_asked_slots(c, router, models, _provider_types(raw.get("providers")))
    failover = FailoverConfig(**c.settings(c.table(raw.get("failover"), ("failover",)), FailoverConfig, ("failover",)))
    balancing = _load_balancing(c, c.table(raw.get("load_balancing"), ("load_balancing",)))
    clients = _clients(c, raw.get("clients"), server.api_key)
    telemetry = _telemetry(c, c.table(raw.get("telemetry"), ("telemetry",)))
    if c.errors:
        raise ConfigError(c.errors)
    config = Config(
        router=router,
        server=server,
        providers=tuple(providers),
        models=tuple(models),
        failover=failover,
        load_balancing=balancing,
        clients=tuple(clients),
        telemetry=telemetry,
        path=Path(file),
    )
    return LoadResult(config, c.warnings, c.advice, c.refused)


def _advise_passthrough_host(c: _Checker, path: tuple[str | int, ...], url: str | None) -> None:
    """A passthrough provider forwards the user's Claude login: say so when it goes anywhere but Anthropic."""
    host = (urlsplit(url).hostname or "") if url else ""
    if host != "api.anthropic.com":
        c.advise(
            (*path, "base_url"),
            f"this passthrough provider forwards Claude Code's own login to {host or 'an unknown host'}, "
            "not api.anthropic.com: only do this for a gateway you trust",
        )


def load_config(path: str | Path) -> LoadResult:
    """Read and validate a config file. A missing or unreadable file is a ConfigError too."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [Problem("config file not found", file=str(p))],
            hint="run `ccm config init` to create one, or `ccm start` to use the default",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(f"cannot read config: {exc}", file=str(p))]) from None
    return parse_config(text, p)
