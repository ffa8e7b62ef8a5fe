"""The config as plain JSON-ready data with every secret masked: what `ccm config show --json` prints and
the proxy's `/api/config/json` serves (one shape for both).

Every table shows every key its schema class declares (config.schema.keys_of), so a key added there shows
here with no second list to keep; what is a secret is masked, and a provider also says what ccm derived
(its effective URL, its wire format, the key it found and where)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import is_dataclass
from typing import Any

from config import secrets
from config.catalog import BUILT_WIRES
from config.schema import Config, ProviderConfig, keys_of


def shown(raw: str | None, *, prefix: bool = True) -> str | None:
    """A config value that may be a secret: a `$VAR` reference is shown (it is not a secret), a literal masked."""
    if raw is None:
        return None
    return raw if secrets.env_reference(raw) else secrets.mask(raw, prefix=prefix)


def plain(value: Any) -> Any:
    """A schema object as JSON-ready data: a table's keys in declaration order, tuples as lists."""
    if is_dataclass(value) and not isinstance(value, type):
        return {key: plain(getattr(value, key)) for key in keys_of(type(value))}
    if isinstance(value, tuple | list):
        return [plain(item) for item in value]
    return value


def masked_view(config: Config, keys: Mapping[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    """`keys` maps a provider's lower-case name to its resolved key and where it came from (or None)."""
    server = {**plain(config.server), "api_key": shown(config.server.api_key)}
    return {
        "path": str(config.path) if config.path else None,
        "server": server,
        "failover": plain(config.failover),
        "load_balancing": plain(config.load_balancing),
        "router": plain(config.router),
        "providers": [_provider(p, *keys.get(p.name.lower(), (None, None))) for p in config.providers],
        "models": plain(config.models),
        "clients": [{**plain(c), "api_key": shown(c.api_key, prefix=False)} for c in config.clients],  # a chosen key
        "telemetry": plain(config.telemetry),
    }


def _provider(provider: ProviderConfig, key: str | None, source: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        **plain(provider),
        "base_url": secrets.shown_url(provider.effective_base_url),
        "api_key": shown(provider.api_key),
        "headers": {name: shown(value) for name, value in provider.headers},  # a header may carry a secret
        "wire": provider.wire,
        "wire_supported": provider.wire in BUILT_WIRES,
        "key": secrets.mask(key) if key else None,
    }
    if source is not None:
        entry["key_source"] = source
    return entry
