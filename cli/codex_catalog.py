"""The model list `ccm codex` gives the Codex CLI: ccm's configured models as a Codex model catalog.

Codex does not read `/v1/models` for a custom provider: it knows models from its catalog, and for a name
not in it uses fallback metadata (and says "Model metadata for `glm` not found" at every start; its /model
picker lists OpenAI's models). Codex 0.171 takes a catalog file with `-c model_catalog_json="<path>"`, which
replaces its own list. Each entry needs some fields of Codex's `ModelInfo` (read against 0.171.0:
`supported_reasoning_levels`, `shell_type`, `visibility`, `supported_in_api`, `priority`,
`support_verbosity`, `truncation_policy`, `experimental_supported_tools`, and `base_instructions`); every
other field keeps Codex's default, which is what its fallback metadata uses too (no freeform apply_patch, no
tool search: only function tools and web search, which every ccm mapping can serve).

`base_instructions` (the agent's system prompt) and the enum-valued fields come from the installed Codex's
own catalog (`codex debug models`), from its first listed model that uses ordinary function tools (no
`tool_mode`), so the prompt is always the installed version's. What is read from a Codex binary is kept in
`$CCM_HOME/codex-catalog.json`, keyed by the binary (path, size, mtime), and checked once with `codex debug
models -c model_catalog_json=...`: a Codex that refuses the catalog (a newer version that wants more fields)
gets none, and `ccm codex` says so, rather than a Codex that cannot start. The catalog file of a session is
written under `$CCM_HOME/sessions/` and removed when the session ends; nothing is written in `~/.codex`.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from cli import sessions
from cli.claude_session import reachable_window
from config import paths
from config.schema import Config

TIMEOUT_S = 30.0
CACHE_NAME = "codex-catalog.json"
#: Fields read from the installed Codex's own catalog entry (enum values its version knows).
_COPIED = ("shell_type", "truncation_policy", "supported_reasoning_levels")
_DEFAULT_LEVELS = [
    {"effort": "low", "description": "Fast responses with lighter reasoning"},
    {"effort": "medium", "description": "Balances speed and reasoning depth for everyday tasks"},
    {"effort": "high", "description": "Greater reasoning depth for complex problems"},
]


def entries(config: Config, template: dict[str, Any]) -> list[dict[str, Any]]:
    """One catalog entry per configured model, in config order (the first is Codex's default pick)."""
    out = []
    for priority, model in enumerate(config.models):
        entry: dict[str, Any] = {
            "slug": model.name,
            "display_name": model.name,
            "description": f"{model.name} through ccm",
            "visibility": "list",
            "supported_in_api": True,
            "priority": priority,
            "support_verbosity": False,
            "experimental_supported_tools": [],
            "supported_reasoning_levels": _DEFAULT_LEVELS,
            **{k: template[k] for k in _COPIED if k in template},
            "base_instructions": template["base_instructions"],
        }
        window = reachable_window(config, model.name)
        if window:
            entry["context_window"] = entry["max_context_window"] = window
        out.append(entry)
    return out


def template_of(catalog: Any) -> dict[str, Any] | None:
    """From Codex's own catalog: the fields ccm copies, of its first listed function-tools model."""
    models = catalog.get("models") if isinstance(catalog, dict) else None
    for model in models if isinstance(models, list) else []:
        if not isinstance(model, dict) or model.get("visibility") != "list" or model.get("tool_mode"):
            continue
        instructions = model.get("base_instructions")
        if isinstance(instructions, str) and instructions.strip():
            return {k: model[k] for k in (*_COPIED, "base_instructions") if k in model}
    return None


def _identity(codex: str) -> list[Any]:
    real = os.path.realpath(codex)
    stat = os.stat(real)
    return [real, stat.st_size, stat.st_mtime_ns]


def _run(codex: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            [codex, *args, "debug", "models"], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


def _write(path: Path, data: Any) -> None:
    """A file only this user reads (0600), written whole."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)


def template(codex: str, config: Config) -> tuple[dict[str, Any] | None, str | None]:
    """The installed Codex's template (cached per binary), or None and why it has none."""
    cache = paths.ensure_home() / CACHE_NAME
    try:
        key = _identity(codex)
    except OSError as exc:
        return None, f"cannot read {codex}: {exc.strerror or exc}"
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = None
    if isinstance(cached, dict) and cached.get("codex") == key:
        return cached.get("template"), cached.get("why")
    found, why = _read_template(codex, config)
    if found is not None or why not in (_NO_RUN, _NO_CHECK):  # a run that did not happen is tried again
        _write(cache, {"codex": key, "template": found, "why": why})
    return found, why


_NO_RUN = "`codex debug models` did not run (timed out, or could not start)"
_NO_CHECK = "`codex debug models` did not run to check ccm's catalog"


def _read_template(codex: str, config: Config) -> tuple[dict[str, Any] | None, str | None]:
    done = _run(codex)
    if done is None:
        return None, _NO_RUN
    if done.returncode != 0:
        return None, "this Codex has no `codex debug models` to read its model catalog from"
    try:
        found = template_of(json.loads(done.stdout))
    except ValueError:
        found = None
    if found is None:
        return None, "this Codex's own model catalog has no model ccm can describe its models by"
    if not config.models:
        return found, None
    probe = sessions.sessions_dir() / f".probe-{os.getpid()}-codex-models.json"
    try:
        _write(probe, {"models": entries(config, found)[:1]})
        checked = _run(codex, "-c", f"model_catalog_json={json.dumps(str(probe))}")
    finally:
        probe.unlink(missing_ok=True)
    if checked is None:
        return None, _NO_CHECK
    if checked.returncode != 0:
        return None, "this Codex does not take ccm's model catalog (a newer catalog format?)"
    return found, None


def write(config: Config, found: dict[str, Any]) -> Path:
    """This session's catalog file (removed when the session ends: `remove`)."""
    path = sessions.sessions_dir() / f"{os.getpid()}-{os.urandom(4).hex()}-codex-models.json"
    _write(path, {"models": entries(config, found)})
    return path
