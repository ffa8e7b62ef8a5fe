"""Talk to the running proxy's admin API (/api/...): reload, provider checks, OAuth tokens.

http.client, not httpx: a handful of loopback calls does not justify 50 ms of imports, and http.client
never consults HTTP_PROXY, so a corporate proxy cannot intercept them. When the config sets
`server.api_key`, it is sent as `x-api-key` (resolved here as the proxy resolves it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ccm import pidfile
from cli import common
from config import secrets
from config.errors import CcmError


class RouterKeyRefused(CcmError):
    """The proxy answered 401: this shell does not have the router key the proxy expects."""


def _raw_key(info: pidfile.PidInfo) -> str | None:
    try:
        return common.raw_router_key(info.config)
    except CcmError:  # mid-edit or broken (the proxy then serves the last good one): its [server] table alone
        return _server_key_only(info.config)


def _key(info: pidfile.PidInfo) -> str | None:
    return secrets.interpolate(_raw_key(info))


_SINCE_EDITED = "the file changed since the proxy loaded it: `ccm restart` serves it as it is now"


def _refused(info: pidfile.PidInfo) -> RouterKeyRefused:
    """Why this shell's router key was refused, naming what to set: the variable, or the file."""
    raw = _raw_key(info)
    var = secrets.env_reference(raw)
    lead = "the proxy refused the router key"
    if var and os.environ.get(var) is None:
        return RouterKeyRefused(f"{lead}: export {var} (the variable server.api_key names) in this shell")
    if var:
        return RouterKeyRefused(
            f"{lead}: ${var} in this shell is not the key it serves",
            hint="set it as in the shell that started the proxy, or `ccm restart` from this one",
        )
    if raw:
        return RouterKeyRefused(
            f"{lead}: server.api_key in {info.config} is not the key it serves", hint="see `ccm status`"
        )
    return RouterKeyRefused(
        f"{lead}: {info.config} sets no server.api_key, but the proxy has one", hint="see `ccm status`"
    )


def _server_key_only(config: str) -> str | None:
    """server.api_key from the `[server]` table of a file that does not parse as a whole, when that table
    does: `ccm status` must still reach a proxy whose file someone broke, to say the reload was refused."""
    import re
    import tomllib
    from pathlib import Path

    try:
        text = Path(config).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r"^\[server\][ \t]*$(.*?)(?=^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    if match is None:
        return None
    try:
        value = tomllib.loads(match.group(1)).get("api_key")
    except tomllib.TOMLDecodeError:
        return None
    return value if isinstance(value, str) and value else None


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    info: pidfile.PidInfo | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """One admin request to the running proxy; (status, parsed JSON or None). CcmError when unreachable."""
    import http.client  # ~10 ms with ssl and email: only commands that talk to the proxy pay it

    info = info or common.require_running()
    url = common.proxy_url(info)
    headers = {"accept": "application/json"}
    key = _key(info)
    if key:
        headers["x-api-key"] = key
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    conn = http.client.HTTPConnection(url.split("://", 1)[1], timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise CcmError(f"the proxy at {url} does not answer ({exc})", hint="see `ccm status` and `ccm logs`") from None
    finally:
        conn.close()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    if response.status == 401:
        raise _refused(info)
    return response.status, data


def error_message(data: Any, status: int) -> str:
    """The message of an Anthropic-shaped error body, else the status."""
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("message") or status)
    return f"HTTP {status}"


def serves(info: pidfile.PidInfo, path: str | os.PathLike[str]) -> bool:
    """Whether the running proxy serves this config file."""
    try:
        return Path(info.config).resolve() == Path(path).resolve()
    except OSError:
        return False


def reload_if_running(written: str | os.PathLike[str] | None = None) -> None:
    """Ask a running proxy to reload its config and keys now (it caches resolved keys per config load).

    `written`: the config file just saved; a proxy serving another file is left alone (and said so), since
    a reload would not show it this edit."""
    info = common.running()
    if info is None:
        return
    if written is not None and not serves(info, written):
        common.note(f"ccm: the running proxy serves {info.config}, not {written}: it was not reloaded")
        return
    try:
        status, data = call("POST", "/api/config/reload", info=info)
    except CcmError as exc:
        common.note(f"ccm: could not reload the running proxy: {exc.message}")
        return
    if status == 200:
        restart = (data or {}).get("restart_required") if isinstance(data, dict) else None
        extra = f"; restart it for {', '.join(map(str, restart))} (`ccm restart`)" if restart else ""
        common.note(f"ccm: the running proxy reloaded its config{extra}")
    elif status == 422 and isinstance(data, dict):
        common.note("ccm: the running proxy refused the new config and keeps the previous one:")
        for problem in data.get("errors") or []:
            common.note(f"  {problem}")
    else:
        common.note(f"ccm: the running proxy did not reload: {error_message(data, status)}")
