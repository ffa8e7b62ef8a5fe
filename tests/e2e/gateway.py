"""The config the [[clients]] tests share: a proxy with the operator's router key, one Anthropic-format
upstream serving model "m", no retries (a test counts the upstream's requests), and the clients a test adds."""

from __future__ import annotations

ROUTER = "router-key-0123456789abcdef"
PROVIDER_KEY = "provider-key-PPPPPPPPPPPP"


def gateway_config(
    url: str, clients: str, *, models: str = "", prices: str = "", provider_type: str = "anthropic-compatible"
) -> str:
    """`clients`: the [[clients]] tables; `models`: more [[models]] tables on the same upstream;
    `prices`: keys added to m's mapping (such as price_in); `provider_type`: the upstream's wire."""
    base_url = url if provider_type == "anthropic-compatible" else f"{url}/v1"
    return f"""
[server]
host = "127.0.0.1"
api_key = "{ROUTER}"

[router]
default = "m"

[failover]
max_retries = 0

[[providers]]
name = "up"
provider_type = "{provider_type}"
base_url = "{base_url}"
api_key = "{PROVIDER_KEY}"

[[models]]
name = "m"
[[models.mappings]]
provider = "up"
actual_model = "real"
{prices}
{models}
{clients}
"""
