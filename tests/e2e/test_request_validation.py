"""Any JSON value as a request body gets a 2xx or a 4xx Anthropic error from the real proxy, never a 5xx,
and a body that fails validation never reaches an upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ccm.api.validate import validate_messages_request
from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import (
    FakeUpstream,
    Received,
    Reply,
    anthropic_message,
    anthropic_stream,
    openai_completion,
    openai_stream,
)


def _answer(rec: Received) -> Reply:
    """Whatever was asked, answer it well: a failure seen by the test is then ccm's own."""
    body = rec.json if isinstance(rec.json, dict) else {}
    if rec.path.endswith("/count_tokens"):
        return Reply(200, json={"input_tokens": 3})
    if "/chat/completions" in rec.path:
        return Reply.stream(openai_stream("fine")) if body.get("stream") else Reply(200, json=openai_completion("fine"))
    return Reply.stream(anthropic_stream("fine")) if body.get("stream") else Reply(200, json=anthropic_message("fine"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessProxy, FakeUpstream]]:
    """One proxy for every example: an Anthropic-format model `m` and an OpenAI-format model `o`. It starts
    before any test's own CCM_HOME is set, so it gets one of its own (its request journal goes there)."""
    with FakeUpstream() as up, pytest.MonkeyPatch.context() as env:
        env.setenv("CCM_HOME", str(tmp_path_factory.mktemp("validation-home")))
        up.script(Reply(handler=_answer))
        providers = [
            anthropic_provider("anth", up.url),
            {"name": "oai", "provider_type": "openai-compatible", "base_url": f"{up.url}/v1", "api_key": "k" * 16},
        ]
        path = tmp_path_factory.mktemp("validation") / "config.toml"
        path.write_text(make_config(providers, {"m": [("anth", "a1")], "o": [("oai", "o1")]}))
        proxy = InProcessProxy(path).start()
        try:
            yield proxy, up
        finally:
            proxy.stop()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
blocks = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": st.text(max_size=10)}),
    st.fixed_dictionaries({"type": st.sampled_from(["image", "tool_use", "tool_result", "thinking", "x"])}),
    values,
)
messages = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "role": st.one_of(st.sampled_from(["user", "assistant", "system"]), values),
                "content": st.one_of(st.text(max_size=10), st.lists(blocks, max_size=3), values),
            }
        ),
        values,
    ),
    max_size=3,
)
# Nearly valid requests, each field either right or any JSON value: where validation really has to look.
nearly = st.fixed_dictionaries(
    {},
    optional={
        "model": st.one_of(st.sampled_from(["m", "o", "claude-x", "anth,a1", ""]), values),
        "messages": st.one_of(messages, values),
        "max_tokens": st.one_of(st.integers(-2, 10**6), values),
        "stream": st.one_of(st.booleans(), values),
        "tools": st.one_of(st.lists(st.one_of(st.just({"name": "t", "input_schema": {}}), values), max_size=2), values),
        "system": st.one_of(st.text(max_size=8), st.lists(blocks, max_size=2), values),
        "thinking": values,
        "extra": values,
    },
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(values, nearly), count=st.booleans())
def test_any_body_gets_2xx_or_anthropic_4xx_and_no_invalid_body_is_forwarded(
    served: tuple[InProcessProxy, FakeUpstream], body: Any, count: bool
) -> None:
    proxy, up = served
    path = "/v1/messages/count_tokens" if count else "/v1/messages"
    before = len(up.received)
    content = json.dumps(body)
    response = httpx.post(
        proxy.url + path,
        content=content,
        headers={"content-type": "application/json"},
        trust_env=False,
        timeout=30,
    )
    try:
        problem = validate_messages_request(orjson.loads(content), count_tokens=count)
    except orjson.JSONDecodeError:  # integers beyond 64 bits: not JSON ccm (or Anthropic) reads
        problem = response.json()["error"]["message"]
        assert problem.startswith("request body is not valid JSON")
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()
        assert error["type"] == "error" and isinstance(error["error"]["message"], str)
    if problem is not None:
        assert response.status_code == 400 and response.json()["error"]["message"] == problem
        assert len(up.received) == before, "an invalid body was forwarded"
        assert not [h for h in response.headers if h.startswith("x-ccm-")]


def test_a_lost_prompt_is_a_400_not_an_empty_openai_request(served: tuple[InProcessProxy, FakeUpstream]) -> None:
    proxy, up = served
    before = len(up.received)
    for body, message in [
        ({"model": "o", "max_tokens": 5}, "messages: must be a non-empty list of messages"),
        ({"model": "o", "max_tokens": "lots", "messages": [{"role": "user", "content": "q"}]}, "max_tokens: must be"),
    ]:
        response = httpx.post(proxy.url + "/v1/messages", json=body, trust_env=False)
        assert response.status_code == 400
        assert response.json()["error"] == {
            "type": "invalid_request_error",
            "message": response.json()["error"]["message"],
        }
        assert response.json()["error"]["message"].startswith(message)
        assert "x-ccm-route" not in response.headers
    assert len(up.received) == before
    good = {
        "model": "o",
        "max_tokens": 5,
        "messages": [{"role": "system", "content": "late"}, {"role": "user", "content": "q"}],
    }
    response = httpx.post(proxy.url + "/v1/messages", json=good, trust_env=False)
    assert response.status_code == 200 and response.headers["x-ccm-route"]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": "x"}}, "thinking.budget_tokens: must be an integer"),
        ({"tools": [{"name": 5, "input_schema": {}}]}, "tools.0.name: must be a string"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": 5}]}]},
            "messages.0.content.0.source: must be an object",
        ),
    ],
)
@pytest.mark.parametrize("model", ["m", "o"])
def test_a_wrong_budget_tool_name_or_image_source_is_a_400_naming_it(
    served: tuple[InProcessProxy, FakeUpstream], over: dict[str, Any], message: str, model: str
) -> None:
    proxy, up = served
    before = len(up.received)
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "q"}], **over}
    response = httpx.post(proxy.url + "/v1/messages", json=body, trust_env=False)
    assert response.status_code == 400
    assert response.json()["error"] == {"type": "invalid_request_error", "message": message}
    assert len(up.received) == before
