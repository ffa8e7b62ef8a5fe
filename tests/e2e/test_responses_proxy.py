"""The proxy end to end on the Responses wire: the official anthropic SDK talks to ccm, ccm talks Responses
to a fake on 127.0.0.1 that refuses every request breaking the API's rules (tests/fakes/responses.py).

The API-key type `openai-responses` runs through today's dispatcher; the ChatGPT backend (type `openai` with
an OAuth login) needs the credential resolver, so its one test is expected to fail until that is wired.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import keyring
import pytest

from tests.e2e.harness import InProcessProxy, make_config
from tests.fakes.responses import FakeResponses, failed, output_items, response, responses_stream, usage, usage_limit
from tests.fakes.upstream import FakeUpstream, Received, Reply

Px = Callable[[str], InProcessProxy]
Fakes = Callable[..., FakeResponses]
KEY = "sk-responses-key-123456"
MODEL = "gpt-5.5"
ENC = "gAAAAB-round-trip-encrypted"
BASH = {
    "name": "Bash",
    "description": "Run",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
READ = {"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}}
CALLS = [("call_1", "Bash", {"command": "ls"}), ("call_2", "Read", {"file_path": "/etc/hostname"})]


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    started: list[FakeResponses] = []

    def make(*, backend: bool = False) -> FakeResponses:
        fake = FakeResponses(backend=backend).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        assert fake.rejected == [], fake.rejected  # ccm never sent a request the service would refuse
        fake.stop()


def start(proxy: Px, *fakes: FakeResponses, failover: dict[str, Any] | None = None) -> InProcessProxy:
    providers = [
        {"name": f"r{i}", "provider_type": "openai-responses", "base_url": f"{f.url}/v1", "api_key": KEY}
        for i, f in enumerate(fakes)
    ]
    return proxy(make_config(providers, {"m": [(f"r{i}", MODEL) for i in range(len(fakes))]}, failover=failover))


def sdk(p: InProcessProxy) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=p.url, api_key="client-key", max_retries=0)


def sent(fake: FakeResponses, i: int = 0) -> dict[str, Any]:
    got = fake.received[i]
    assert got.path == "/v1/responses" and got.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in got.headers and "anthropic-beta" not in got.headers
    body: dict[str, Any] = got.json
    return body


def ask(**kw: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 1000, "messages": [{"role": "user", "content": "hello"}], **kw}


def test_non_streaming_json(fakes: Fakes, proxy: Px) -> None:
    fake = fakes().script(Reply(200, json=response(output_items("Hi there!"), usage=usage(50, 3, cached=40))))
    p = start(proxy, fake)
    raw = sdk(p).messages.with_raw_response.create(**ask(system="Be kind."))
    message = raw.parse()
    assert message.content[0].text == "Hi there!" and message.model == "m"  # type: ignore[union-attr]
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens, message.usage.output_tokens) == (
        10,
        40,
        3,
    )
    assert raw.headers["x-ccm-provider"] == "r0" and raw.headers["x-ccm-actual-model"] == MODEL
    body = sent(fake)
    assert body["instructions"] == "Be kind." and body["max_output_tokens"] == 1000 and "stream" not in body
    assert body["store"] is False and body["include"] == ["reasoning.encrypted_content"]


def test_non_streaming_client_gets_the_accumulated_stream(fakes: Fakes, proxy: Px) -> None:
    fake = fakes().script(Reply.stream(responses_stream("streamed anyway", summary=["Thinking."], encrypted=ENC)))
    message = sdk(start(proxy, fake)).messages.create(**ask())
    assert [b.type for b in message.content] == ["thinking", "text"]
    assert message.content[1].text == "streamed anyway"  # type: ignore[union-attr]


def test_streaming_text(fakes: Fakes, proxy: Px) -> None:
    fake = fakes().script(
        Reply.stream(responses_stream("Hello from Responses!", pieces=5, usage_=usage(30, 9, cached=10)))
    )
    with sdk(start(proxy, fake)).messages.stream(**ask()) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == "Hello from Responses!" and final.stop_reason == "end_turn"  # type: ignore[union-attr]
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens) == (20, 10, 9)
    assert sent(fake)["stream"] is True


def test_streaming_parallel_tool_calls(fakes: Fakes, proxy: Px) -> None:
    fake = fakes().script(Reply.stream(responses_stream("Looking.", CALLS, interleave=True, pieces=4)))
    with sdk(start(proxy, fake)).messages.stream(**ask(tools=[BASH, READ])) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    tools = [(b.id, b.name, b.input) for b in final.content if b.type == "tool_use"]
    assert tools == [("call_1", "Bash", {"command": "ls"}), ("call_2", "Read", {"file_path": "/etc/hostname"})]
    assert final.stop_reason == "tool_use"
    assert [t["name"] for t in sent(fake)["tools"]] == ["Bash", "Read"]


def test_reasoning_round_trip_over_two_turns(fakes: Fakes, proxy: Px) -> None:
    def second_turn(rec: Received) -> Reply:
        reasoning = [i for i in rec.json["input"] if i["type"] == "reasoning"]
        assert reasoning == [{"type": "reasoning", "summary": [], "encrypted_content": ENC}]
        return Reply.stream(responses_stream("It is Monday."))

    fake = fakes().script(
        Reply.stream(responses_stream(None, CALLS[:1], summary=["Need the date."], encrypted=ENC)),
        Reply(handler=second_turn),
    )
    client = sdk(start(proxy, fake))
    history: list[Any] = [{"role": "user", "content": "what day is it?"}]
    with client.messages.stream(**ask(tools=[BASH], messages=history)) as s:  # type: ignore[arg-type]
        first = s.get_final_message()
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    assert first.content[0].thinking == "Need the date."  # type: ignore[union-attr]
    history += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "Monday"}]},
    ]
    with client.messages.stream(**ask(tools=[BASH], messages=history)) as s:  # type: ignore[arg-type]
        assert s.get_final_message().content[0].text == "It is Monday."  # type: ignore[union-attr]
    items = sent(fake, 1)["input"]
    assert [i["type"] for i in items] == ["message", "reasoning", "function_call", "function_call_output"]
    assert items[3] == {"type": "function_call_output", "call_id": "call_1", "output": "Monday"}


def test_quota_failure_in_the_stream_fails_over(fakes: Fakes, proxy: Px) -> None:
    spent, spare = fakes(), fakes()
    spent.script(Reply.stream([*responses_stream("x")[:1], failed("insufficient_quota", "You exceeded your quota")]))
    spare.script(Reply.stream(responses_stream("from the second mapping")))
    p = start(proxy, spent, spare)
    raw = httpx.post(f"{p.url}/v1/messages", json=ask(stream=True), trust_env=False, timeout=30)
    assert raw.headers["x-ccm-provider"] == "r1" and raw.headers["x-ccm-attempts"] == "2"
    assert raw.text.startswith("event: message_start") and "quota" not in raw.text
    message = sdk(p).messages.create(**ask())
    assert message.content[0].text == "from the second mapping"  # type: ignore[union-attr]


def test_usage_limit_429_passes_its_reset_on(fakes: Fakes, proxy: Px) -> None:
    fake = fakes().script(usage_limit(resets_in_seconds=7))
    p = start(proxy, fake, failover={"max_retries": 0})
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk(p).messages.create(**ask())
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert "usage limit reached (plus plan), resets in 7 s" in caught.value.message


def test_usage_limit_with_resets_at(fakes: Fakes, proxy: Px) -> None:
    fake = fakes().script(usage_limit(resets_in_seconds=None, resets_at=int(time.time()) + 2 * 3600))
    p = start(proxy, fake, failover={"max_retries": 0})
    with pytest.raises(anthropic.RateLimitError) as caught:
        sdk(p).messages.create(**ask())
    assert "resets in 1h 59m" in caught.value.message or "resets in 2h 0m" in caught.value.message


@pytest.mark.parametrize("cut", ["text", "tool call"])
def test_a_cut_stream_ends_with_an_error_event(fakes: Fakes, proxy: Px, cut: str) -> None:
    chunks = responses_stream("partial answer", CALLS[:1], pieces=4)
    if cut == "text":
        at = next(i for i, c in enumerate(chunks) if b"output_text.delta" in c) + 2
    else:
        at = next(i for i, c in enumerate(chunks) if b"function_call_arguments.delta" in c) + 2
    fake = fakes().script(Reply.stream(chunks, cut_after=at))
    p = start(proxy, fake)
    raw = httpx.post(f"{p.url}/v1/messages", json=ask(stream=True, tools=[BASH]), trust_env=False, timeout=30)
    assert raw.status_code == 200 and raw.text.startswith("event: message_start")
    assert raw.text.rstrip().split("\n\n")[-1].startswith("event: error")
    assert "message_stop" not in raw.text and '"tool_use"' not in raw.text
    with pytest.raises(anthropic.APIError), sdk(p).messages.stream(**ask(tools=[BASH])) as s:  # type: ignore[arg-type]
        s.get_final_message()


def test_chatgpt_backend_with_an_oauth_login(fakes: Fakes, proxy: Px) -> None:
    backend = fakes(backend=True)
    backend.script(Reply.stream(responses_stream("Hello from ChatGPT.")))
    token = {"type": "oauth", "access": "at-123", "refresh": "rt-456", "expires_at": int(time.time()) + 3600}
    keyring.set_password("ccm", "oauth:chatgpt", json.dumps({**token, "account_id": "acc-1"}, separators=(",", ":")))
    provider = {
        "name": "chatgpt",
        "provider_type": "openai",
        "auth_type": "oauth",
        "base_url": f"{backend.url}/backend-api/codex",
    }
    p = proxy(make_config([provider], {"m": [("chatgpt", MODEL)]}))
    message = sdk(p).messages.create(**ask())  # non-streaming client: the backend streams regardless
    assert message.content[0].text == "Hello from ChatGPT."  # type: ignore[union-attr]
    got = backend.received[0]
    assert got.path == "/backend-api/codex/responses"
    assert got.headers["authorization"] == "Bearer at-123" and got.headers["chatgpt-account-id"] == "acc-1"
    assert got.json["stream"] is True and "max_output_tokens" not in got.json


def test_provider_check_lists_models(proxy: Px) -> None:
    with FakeUpstream() as up:
        up.script(Reply(200, json={"object": "list", "data": [{"id": MODEL, "object": "model"}]}))
        provider = {"name": "r0", "provider_type": "openai-responses", "base_url": f"{up.url}/v1", "api_key": KEY}
        p = proxy(make_config([provider], {"m": [("r0", MODEL)]}))
        checked = httpx.post(f"{p.url}/api/providers/r0/test", trust_env=False, timeout=30)
        assert checked.status_code == 200 and checked.json()["ok"] is True
        assert up.received[0].method == "GET" and up.received[0].path == "/v1/models"
        assert up.received[0].headers["authorization"] == f"Bearer {KEY}"
