"""Which module speaks each wire format; each exposes `ADAPTER` (see ccm.providers.base.Adapter)."""

from __future__ import annotations

import importlib

from ccm.providers.base import Adapter

#: wire format -> module that implements it. A wire missing here is "not built yet": such a mapping
#: fails over with a message that says so.
_MODULES: dict[str, str] = {
    "anthropic": "ccm.providers.anthropic",
    "openai": "ccm.providers.openai",
    "responses": "ccm.providers.responses",
    "gemini": "ccm.providers.gemini",
    "vertex": "ccm.providers.vertex",
}
_cache: dict[str, Adapter | None] = {}


def adapter_for(wire: str) -> Adapter | None:
    """The adapter for a wire format, or None when ccm cannot speak it yet."""
    if wire not in _cache:
        module_name = _MODULES.get(wire)
        adapter: Adapter | None = None
        if module_name is not None:
            try:
                adapter = importlib.import_module(module_name).ADAPTER
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
        _cache[wire] = adapter
    return _cache[wire]
