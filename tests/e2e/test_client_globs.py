"""A client's `models` globs: what it may ask for, what rules fall back to, what /v1/models lists, and that
its answers name only the configured model (never a provider or an actual model)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream, sse

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]

ROUTER = "router-key-0123456789abcdef"
ALICE = "alice-key-AAAAAAAAAAAAAAAA"  # cheap* only: the default is open to her
CAROL = "carol-key-CCCCCCCCCCCCCCCC"  # big only: the default is not
BOB = "bob-key-BBBBBBBBBBBBBBBBBBBB"  # explicit provider,model by glob


def config(url: str) -> str:
    return f"""
[server]
host = "127.0.0.1"
api_key = "{ROUTER}"

[router]
default = "cheap"
think = "big"

[failover]
max_retries = 0

[[providers]]
name = "secret-provider"
provider_type = "anthropic-compatible"
base_url = "{url}"
api_key = "provider-key-PPPPPPPPPPPP"

[[models]]
name = "cheap"
[[models.mappings]]
provider = "secret-provider"
actual_model = "hidden-cheap-model"

[[models]]
name = "big"
[[models.mappings]]
provider = "secret-provider"
actual_model = "hidden-big-model"

[[clients]]
name = "alice"
api_key = "{ALICE}"
models = ["cheap*"]

[[clients]]
name = "carol"
api_key = "{CAROL}"
models = ["BIG"]

[[clients]]
name = "bob"
api_key = "{BOB}"
models = ["secret-provider,special-*"]
"""


def post(url: str, key: str, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], **extra}
    return httpx.post(f"{url}/v1/messages", json=body, headers={"x-api-key": key}, trust_env=False, timeout=30)


def test_globs_admit_fall_back_and_refuse(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok")))
    px = proxy(config(up.url))
    assert post(px.url, ALICE, "cheap").status_code == 200
    assert post(px.url, ALICE, "claude-sonnet-5").status_code == 200  # auto-mapped to the default, open to her
    # a rule (think) chose `big`, outside her globs: the default serves her instead
    thinking = post(px.url, ALICE, "claude-sonnet-5", thinking={"type": "enabled", "budget_tokens": 1024})
    assert thinking.status_code == 200
    assert thinking.headers["x-ccm-model"] == "cheap"
    assert up.received[-1].json["model"] == "hidden-cheap-model"
    # a model she named herself is refused, naming it
    named = post(px.url, ALICE, "big")
    assert named.status_code == 403
    assert named.json()["error"]["type"] == "permission_error"
    assert "'big'" in named.json()["error"]["message"]
    # the default is not open to carol: auto-map to it is refused; her own model serves (globs ignore case)
    refused = post(px.url, CAROL, "claude-sonnet-5")
    assert refused.status_code == 403 and "'cheap'" in refused.json()["error"]["message"]
    assert post(px.url, CAROL, "big").status_code == 200
    # provider,model: only when a glob matches the literal text
    assert post(px.url, BOB, "secret-provider,special-1").status_code == 200
    assert up.received[-1].json["model"] == "special-1"
    assert post(px.url, BOB, "secret-provider,other").status_code == 403
    assert post(px.url, ALICE, "secret-provider,cheap-x").status_code == 403
    # the router key is the operator's: no globs
    assert post(px.url, ROUTER, "big").status_code == 200
    assert post(px.url, ROUTER, "secret-provider,anything").status_code == 200


def test_models_lists_only_what_the_key_may_use(upstreams: Up, proxy: Px) -> None:
    px = proxy(config(upstreams().url))

    def ids(key: str) -> list[str]:
        answer = httpx.get(f"{px.url}/v1/models", headers={"x-api-key": key}, trust_env=False)
        assert answer.status_code == 200
        return [item["id"] for item in answer.json()["data"]]

    assert ids(ALICE) == ["cheap", "claude-via-ccm/cheap"]
    assert ids(CAROL) == ["big", "claude-via-ccm/big"]
    assert ids(BOB) == []
    assert ids(ROUTER) == ["cheap", "claude-via-ccm/cheap", "big", "claude-via-ccm/big"]
    one = httpx.get(f"{px.url}/v1/models/big", headers={"x-api-key": ALICE}, trust_env=False)
    assert one.status_code == 404


def test_a_clients_answers_name_no_provider_or_actual_model(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    px = proxy(config(up.url))
    up.script(Reply(200, json=anthropic_message("ok")))
    served = post(px.url, ALICE, "cheap")
    assert "x-ccm-provider" not in served.headers and "x-ccm-actual-model" not in served.headers
    assert served.headers["x-ccm-model"] == "cheap"
    operator = post(px.url, ROUTER, "cheap")
    assert operator.headers["x-ccm-provider"] == "secret-provider"
    up.script(Reply.error(500, "hidden-cheap-model on secret-provider melted"))
    failed = post(px.url, ALICE, "cheap")
    assert failed.status_code == 500
    assert "cheap" in failed.json()["error"]["message"]
    for word in ("secret-provider", "hidden-cheap-model", "melted"):
        assert word not in failed.text and word not in str(failed.headers)
    # mid-stream: an upstream error event after the first content names neither
    events = anthropic_stream("hello there", model="hidden-cheap-model")
    error = sse("error", {"type": "error", "error": {"type": "overloaded_error", "message": "secret-provider down"}})
    up.script(Reply.stream([*events[:4], error]))
    streamed = post(px.url, ALICE, "cheap", stream=True)
    assert streamed.status_code == 200
    assert "event: error" in streamed.text and "overloaded_error" in streamed.text
    for word in ("secret-provider", "hidden-cheap-model"):
        assert word not in streamed.text


@pytest.mark.parametrize("key", [ALICE, ROUTER])
def test_count_tokens_follows_the_globs(upstreams: Up, proxy: Px, key: str) -> None:
    px = proxy(config(upstreams().url))
    body = {"model": "big", "messages": [{"role": "user", "content": "hi"}]}
    answer = httpx.post(
        f"{px.url}/v1/messages/count_tokens", json=body, headers={"x-api-key": key}, trust_env=False, timeout=30
    )
    assert answer.status_code == (403 if key == ALICE else 200)
