"""A model name is one path segment of the upstream URL, whatever it holds: a client that can name a model
(any holder of the router key on a team gateway) cannot reach another path of the provider's host with
ccm's credential."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.upstream import FakeUpstream, Reply

Px = Callable[[str], InProcessProxy]
HOSTILE = "../../../../admin/secret?steal=1#"
ENCODED = "..%2F..%2F..%2F..%2Fadmin%2Fsecret%3Fsteal%3D1%23"


def gemini(url: str) -> dict[str, Any]:
    return {"name": "gem", "provider_type": "gemini", "base_url": f"{url}/v1beta", "api_key": "gm-key-0123456789"}


def vertex(url: str) -> dict[str, Any]:
    return {
        "name": "gem",
        "provider_type": "vertex-ai",
        "base_url": f"{url}/v1",
        "project_id": "proj",
        "location": "us-east5",
        "auth_type": "apikey",
        "api_key": "ya29.static-token-0123456789",
    }


def openai(url: str) -> dict[str, Any]:
    return {"name": "gem", "provider_type": "openai-compatible", "base_url": f"{url}/v1", "api_key": "sk-0123456789ab"}


CASES = {
    "openai": (openai, HOSTILE, "/v1/chat/completions"),
    "gemini": (gemini, HOSTILE, f"/v1beta/models/{ENCODED}:generateContent"),
    "vertex": (
        vertex,
        HOSTILE,
        f"/v1/projects/proj/locations/us-east5/publishers/google/models/{ENCODED}:generateContent",
    ),
    "vertex-claude": (
        vertex,
        "claude-" + HOSTILE,
        f"/v1/projects/proj/locations/us-east5/publishers/anthropic/models/claude-{ENCODED}:rawPredict",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_model_name_stays_one_encoded_segment(
    case: str, upstreams: Callable[[], FakeUpstream], proxy: Px
) -> None:
    make_provider, model, expected = CASES[case]
    up = upstreams().script(Reply.error(404, "no such model", "not_found_error"))
    p = proxy(make_config([make_provider(up.url)], {"m": [("gem", "gemini-2.5-pro")]}))
    response = httpx.post(
        f"{p.url}/v1/messages",
        json={"model": f"gem,{model}", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        trust_env=False,
        timeout=30,
    )
    assert response.status_code == 404, response.text
    paths = [r.path for r in up.received]
    assert paths == [expected]
    assert not any("/admin" in path for path in paths)
