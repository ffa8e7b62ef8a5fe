"""The config as plain JSON-ready data with every secret masked: what `ccm config show --json` prints and
the proxy's `/api/config/json` serves (one shape for both)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from config import secrets
from config.catalog import BUILT_WIRES
from config.schema import Config


def shown(raw: str | None) -> str | None:
    """A config value that may be a secret: a `$VAR` reference is shown (it is not a secret), a literal masked."""
    if raw is None:
        return None
    return raw if secrets.env_reference(raw) else secrets.mask(raw)


def masked_view(config: Config, keys: Mapping[str, tuple[str | None, str | None]]) -> dict[str, Any]:
    """`keys` maps a provider's lower-case name to its resolved key and where it came from (or None)."""
    providers = []
    for p in config.providers:
        value, source = keys.get(p.name.lower(), (None, None))
        entry: dict[str, Any] = {
            "name": p.name,
            "provider_type": p.provider_type,
            "enabled": p.enabled,
            "auth_type": p.auth_type,
            "base_url": p.effective_base_url,
            "wire": p.wire,
            "wire_supported": p.wire in BUILT_WIRES,
            "api_key": shown(p.api_key),
            "key": secrets.mask(value) if value else None,
        }
        if source is not None:
            entry["key_source"] = source
        providers.append(entry)
    server = config.server
    return {
        "path": str(config.path) if config.path else None,
        "server": {
            "host": server.host,
            "port": server.port,
            "log_level": server.log_level,
            "api_key": shown(server.api_key),
            "timeouts": {
                "api_timeout_ms": server.timeouts.api_timeout_ms,
                "connect_timeout_ms": server.timeouts.connect_timeout_ms,
                "headers_timeout_ms": server.timeouts.headers_timeout_ms,
            },
        },
        "failover": {f.name: getattr(config.failover, f.name) for f in fields(config.failover)},
        "load_balancing": {"strategy": config.load_balancing.strategy},
        "router": {
            **config.router.slots(),
            "long_context_threshold": config.router.long_context_threshold,
            "auto_map_regex": config.router.auto_map_regex,
            "background_regex": config.router.background_regex,
        },
        "providers": providers,
        "models": [
            {
                "name": m.name,
                "mappings": [
                    {
                        "provider": x.provider,
                        "actual_model": x.actual_model,
                        "priority": x.priority,
                        "max_output_tokens": x.max_output_tokens,
                    }
                    for x in m.mappings
                ],
            }
            for m in config.models
        ],
    }
