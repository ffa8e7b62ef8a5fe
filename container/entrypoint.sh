#!/bin/sh
# The container's entry point: the config on the /config volume (on first start, created from ccm's
# shipped default with server.api_key = "$CCM_API_KEY" turned on), then the proxy in the foreground,
# listening on $CCM_HOST:$CCM_PORT and logging one JSON object per line on stderr ($CCM_LOG_FORMAT).
# Arguments are passed on to `ccm start --foreground` (e.g. --port).
set -eu
config="${CCM_CONFIG:-/config/config.toml}"
if [ ! -e "$config" ]; then
    python3 - "$config" <<'PY'
import os
import sys

from config.paths import default_config_text

text = default_config_text()
line = '\n# api_key = "$CCM_API_KEY"'
if line not in text:
    sys.exit("ccm: the shipped default config has no api_key line to turn on")
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as out:
    out.write(text.replace(line, '\napi_key = "$CCM_API_KEY"', 1))
PY
fi
exec ccm start --foreground --config "$config" "$@"
