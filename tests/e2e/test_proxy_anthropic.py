"""The proxy end to end with Anthropic-format upstreams, driven by the official anthropic SDK."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import anthropic
import httpx
import pytest

from tests.e2e.harness import InProcessProxy, anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message, anthropic_stream, sse

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]


def sdk(p: InProcessProxy, **kw: object) -> anthropic.Anthropic:
    # NO_PROXY covers 127.0.0.1 (tests/conftest.py); the SDK brings its own HTTP client.
    return anthropic.Anthropic(base_url=p.url, api_key="client-key-never-forwarded", max_retries=0, **kw)  # type: ignore[arg-type]


def one_model(url: str, ptype: str = "anthropic-compatible", **router: object) -> str:
    return make_config(
        [anthropic_provider("up", url, key="provider-key-123456", ptype=ptype)],
        {"m": [("up", "actual-m")]},
        router=dict(router),
    )


def test_non_streaming_answer_and_forwarded_request(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("hi there", "actual-m")))
    p = proxy(one_model(up.url))
    raw = sdk(
        p, default_headers={"anthropic-beta": "b1,b2", "anthropic-version": "2023-06-01"}
    ).messages.with_raw_response.create(model="m", max_tokens=50, messages=[{"role": "user", "content": "hello"}])
    message = raw.parse()
    assert message.content[0].text == "hi there"  # type: ignore[union-attr]
    assert message.model == "m"  # the name asked for; x-ccm-actual-model says what served it
    assert raw.headers["x-ccm-route"] == "default"
    assert raw.headers["x-ccm-model"] == "m"
    assert raw.headers["x-ccm-provider"] == "up"
    assert raw.headers["x-ccm-actual-model"] == "actual-m"
    assert raw.headers["x-ccm-attempts"] == "1"
    got = up.received[0]
    assert got.path == "/v1/messages"
    assert got.json["model"] == "actual-m"
    assert got.json["messages"] == [{"role": "user", "content": "hello"}]
    assert got.headers["anthropic-beta"] == "b1,b2"
    assert got.headers["anthropic-version"] == "2023-06-01"
    # The client's key never reaches the provider; the provider's key does.
    assert "client-key-never-forwarded" not in str(got.headers)
    assert got.headers["x-api-key"] == "provider-key-123456"
    assert got.headers["authorization"] == "Bearer provider-key-123456"


def test_streaming_passes_events_through(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply.stream(anthropic_stream("streamed words here", "actual-m", pieces=4)))
    p = proxy(one_model(up.url))
    with sdk(p).messages.stream(model="m", max_tokens=50, messages=[{"role": "user", "content": "x"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "streamed words here"
    assert final.stop_reason == "end_turn"
    assert final.model == "m"  # message_start names the model asked for, as every wire does
    assert up.received[0].json["stream"] is True


def test_query_string_forwarded_only_to_anthropic_types(upstreams: Up, proxy: Px) -> None:
    a, z = upstreams(), upstreams()
    for up in (a, z):
        up.script(Reply(200, json=anthropic_message()))
    cfg = make_config(
        [anthropic_provider("a", a.url, ptype="anthropic"), anthropic_provider("z", z.url, ptype="z.ai")],
        {"ma": [("a", "x")], "mz": [("z", "y")]},
    )
    p = proxy(cfg)
    for model in ("ma", "mz"):
        httpx.post(
            f"{p.url}/v1/messages?beta=true",
            trust_env=False,
            json={"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]},
        )
    assert a.received[0].path == "/v1/messages?beta=true"
    assert z.received[0].path == "/v1/messages"
    assert a.received[0].headers["x-api-key"] and "authorization" not in a.received[0].headers


def test_max_output_tokens_clamps_per_mapping(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    cfg = make_config([anthropic_provider("up", up.url)], {"m": [("up", "x", 8192)]})
    p = proxy(cfg)
    sdk(p).messages.create(model="m", max_tokens=20000, messages=[{"role": "user", "content": "q"}])
    assert up.received[0].json["max_tokens"] == 8192


def test_unknown_model_is_404_listing_configured(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    p = proxy(one_model(up.url, auto_map_regex="^nothing$"))
    with pytest.raises(anthropic.NotFoundError) as info:
        sdk(p).messages.create(model="nope", max_tokens=5, messages=[{"role": "user", "content": "q"}])
    assert "configured models: m" in str(info.value)
    assert info.value.response.headers["x-ccm-route"] == "default"
    assert up.received == []


def test_explicit_unknown_provider_is_404(upstreams: Up, proxy: Px) -> None:
    p = proxy(one_model(upstreams().url))
    with pytest.raises(anthropic.NotFoundError) as info:
        sdk(p).messages.create(model="ghost,some-model", max_tokens=5, messages=[{"role": "user", "content": "q"}])
    assert "provider 'ghost' is not configured" in str(info.value)


def test_bad_json_body_is_anthropic_400(upstreams: Up, proxy: Px) -> None:
    p = proxy(one_model(upstreams().url))
    response = httpx.post(f"{p.url}/v1/messages", content=b"{not json", trust_env=False)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_endpoint_is_anthropic_404(upstreams: Up, proxy: Px) -> None:
    p = proxy(one_model(upstreams().url))
    response = httpx.get(f"{p.url}/v1/nothing", trust_env=False)
    assert response.status_code == 404
    assert response.json()["type"] == "error"


def test_head_api_hello_is_200(upstreams: Up, proxy: Px) -> None:
    p = proxy(one_model(upstreams().url))
    assert httpx.head(f"{p.url}/api/hello", trust_env=False).status_code == 200


def test_large_body_accepted_and_oversized_refused_as_json(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url))
    big = "x" * (20 * 2**20)  # over Quart's 16 MiB default, under Anthropic's 32 MB
    ok = httpx.post(
        f"{p.url}/v1/messages",
        trust_env=False,
        timeout=60,
        json={"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": big}]},
    )
    assert ok.status_code == 200
    too_big = httpx.post(
        f"{p.url}/v1/messages", trust_env=False, timeout=60, content=b'{"model":"m","x":"' + b"y" * (33 * 2**20) + b'"}'
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["type"] == "request_too_large"


def test_an_oversized_body_without_a_length_is_refused_as_json(upstreams: Up, proxy: Px) -> None:
    """Chunked upload (no content-length): the limit is counted as the body arrives (ccm/serve/edge.py)."""
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url))

    def pieces() -> Iterator[bytes]:
        yield b'{"model":"m","x":"'
        for _ in range(33):
            yield b"y" * 2**20
        yield b'"}'

    too_big = httpx.post(f"{p.url}/v1/messages", trust_env=False, timeout=60, content=pieces())
    assert too_big.status_code == 413
    assert too_big.json()["error"]["type"] == "request_too_large"
    assert up.received == []


def test_other_methods_on_messages_are_json_errors(upstreams: Up, proxy: Px) -> None:
    p = proxy(one_model(upstreams().url))
    response = httpx.get(f"{p.url}/v1/messages", trust_env=False)
    assert response.status_code == 405 and response.json()["type"] == "error"
    assert response.headers["allow"] == "POST"
    for path in ("/health", "/api/hello"):
        response = httpx.post(f"{p.url}{path}", content=b"{}", trust_env=False)
        assert response.status_code == 405, path
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert response.headers["allow"] == "GET, HEAD"
    # A web page's request is refused as one (403) whatever its method, as on every other route.
    response = httpx.get(f"{p.url}/v1/messages", headers={"origin": "https://evil.example"}, trust_env=False)
    assert response.status_code == 403 and response.json()["error"]["type"] == "permission_error"


def test_a_model_name_with_a_control_character_is_a_400_before_any_upstream_call(upstreams: Up, proxy: Px) -> None:
    """It would go back in x-ccm-model, where HTTP cannot carry it: refused up front, naming the field."""
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url))
    for model in ("m\nx", "up,actual-m\rx", "m\x00"):
        for stream in (False, True):
            body = {"model": model, "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "q"}]}
            response = httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False)
            assert response.status_code == 400, (model, response.text)
            assert response.json()["error"]["message"] == "model: must not contain control characters"
    assert up.received == []


def test_the_router_key_is_checked_before_the_body_is_read_and_may_come_twice(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    cfg = make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}, server={"api_key": "router-secret-1"})
    p = proxy(cfg)
    url = f"{p.url}/v1/messages"
    # No key and a 40 MiB body announced, none of it sent: the answer is the missing key, at once.
    host, port = p.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /v1/messages HTTP/1.1\r\nhost: {host}\r\ncontent-length: {40 * 2**20}\r\n\r\n".encode())
        answer = b""
        while b"}}" not in answer and (piece := sock.recv(65536)):  # the head and the error, in one write or two
            answer += piece
    assert answer.startswith(b"HTTP/1.1 401 ") and b"authentication_error" in answer
    # The key sent twice (a stale copy beside the right one) is still the key, as with one copy.
    body = b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}]}'
    for name in ("x-api-key", "x-ccm-key"):
        headers = [(name, "stale-key"), (name, "router-secret-1"), ("content-type", "application/json")]
        response = httpx.post(url, content=body, headers=headers, trust_env=False)
        assert response.status_code == 200, (name, response.text)
    headers = [("x-api-key", "stale-key"), ("x-api-key", "also-wrong")]
    assert httpx.post(url, content=body, headers=headers, trust_env=False).status_code == 401


def test_messages_query_and_repeated_headers(upstreams: Up, proxy: Px) -> None:
    """The lean path passes the query on (beta=true) and joins a repeated header into one list."""
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url))
    body = b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"q"}]}'
    headers = [("content-type", "application/json"), ("anthropic-beta", "first-beta"), ("anthropic-beta", "second")]
    response = httpx.post(f"{p.url}/v1/messages?beta=true", content=body, headers=headers, trust_env=False)
    assert response.status_code == 200
    assert up.received[0].path == "/v1/messages?beta=true"
    assert up.received[0].headers["anthropic-beta"] == "first-beta, second"


def test_quart_defaults_that_cut_streams_are_off(tmp_path: object) -> None:
    from pathlib import Path

    from ccm.serve.app import create_app
    from config.paths import default_config_text

    path = Path(str(tmp_path)) / "c.toml"
    path.write_text(default_config_text())
    app = create_app(path, watch=False)
    assert app.config["RESPONSE_TIMEOUT"] is None
    assert app.config["MAX_CONTENT_LENGTH"] >= 32 * 2**20
    assert app.config["BODY_TIMEOUT"] >= 120


def test_router_key_required_when_configured(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    cfg = make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]}, server={"api_key": "router-secret-1"})
    p = proxy(cfg)
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
    assert httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False).status_code == 401
    assert httpx.get(f"{p.url}/api/config/json", trust_env=False).status_code == 401
    assert httpx.get(f"{p.url}/health", trust_env=False).status_code == 200
    ok = httpx.post(f"{p.url}/v1/messages", json=body, headers={"x-api-key": "router-secret-1"}, trust_env=False)
    assert ok.status_code == 200
    bearer = httpx.get(f"{p.url}/api/config/json", headers={"authorization": "Bearer router-secret-1"}, trust_env=False)
    assert bearer.status_code == 200
    # Neither the router key nor provider keys are served in full.
    assert "router-secret-1" not in bearer.text and "x" * 12 not in bearer.text
    # The router key is not forwarded upstream.
    assert "router-secret-1" not in str(up.received[0].headers)


def test_count_tokens_local_estimate_for_non_anthropic_first_mapping(upstreams: Up, proxy: Px) -> None:
    up = upstreams()
    cfg = make_config([anthropic_provider("o", up.url, ptype="z.ai")], {"m": [("o", "x")]})
    p = proxy(cfg)
    result = sdk(p).messages.count_tokens(model="m", messages=[{"role": "user", "content": "hello " * 400}])
    assert 300 < result.input_tokens < 1500
    assert up.received == []


def test_count_tokens_forwarded_to_anthropic_then_falls_back(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json={"input_tokens": 4242}), Reply.error(500))
    cfg = make_config([anthropic_provider("a", up.url, ptype="anthropic")], {"m": [("a", "x")]})
    p = proxy(cfg)
    client = sdk(p)
    raw = client.messages.with_raw_response.count_tokens(model="m", messages=[{"role": "user", "content": "q"}])
    assert raw.parse().input_tokens == 4242
    assert raw.headers["x-ccm-provider"] == "a"
    assert up.received[0].path == "/v1/messages/count_tokens"
    assert up.received[0].json["model"] == "x"
    fallback = client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "q"}])
    assert fallback.input_tokens >= 1


def test_request_log_records_each_request(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url))
    sdk(p).messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "q"}])
    records = httpx.get(f"{p.url}/api/requests?limit=5", trust_env=False).json()
    assert records[0]["provider"] == "up" and records[0]["status"] == 200
    assert records[0]["input_tokens"] == 10 and records[0]["output_tokens"] == 5


def test_ccm_signed_thinking_is_removed_before_an_anthropic_upstream(upstreams: Up, proxy: Px) -> None:
    """Turn 1 answered by an OpenAI-format provider (ccm signed its thinking), turn 2 by Anthropic: the real
    API would reject a signature it did not make, so only ccm's own thinking blocks are removed."""
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url, ptype="anthropic"))
    history = [
        {"role": "user", "content": "q1"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "from deepseek", "signature": "ccm1:abc"},
                {"type": "thinking", "thinking": "from claude", "signature": "EqQBCkYIBxgCKkB..."},
                {"type": "text", "text": "a1"},
            ],
        },
        {"role": "user", "content": "q2"},
    ]
    body = {"model": "m", "max_tokens": 10, "messages": history}
    assert httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False).status_code == 200
    sent = up.received[0].json["messages"]
    assert sent[1]["content"] == history[1]["content"][1:]  # type: ignore[index]
    assert sent[0] == history[0] and sent[2] == history[2]


def test_upstream_cookies_are_not_kept(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message(), headers={"set-cookie": "session=abc; Path=/"}))
    p = proxy(one_model(up.url))
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}]}
    for _ in range(20):  # more than the proxy's number of upstream clients: each sees a second request
        assert httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False).status_code == 200
    assert all("cookie" not in r.headers for r in up.received)


def _thinking_answer(signature: str) -> dict[str, object]:
    message = anthropic_message("a1")
    message["content"] = [{"type": "thinking", "thinking": "glm thinks", "signature": signature}, *message["content"]]  # type: ignore[misc]
    return message


def test_another_hosts_signature_is_wrapped_and_goes_back_only_to_that_host(upstreams: Up, proxy: Px) -> None:
    """Max limit -> GLM -> back to Claude in one session: z.ai's signature is wrapped for Claude Code,
    unwrapped for z.ai, and never reaches Anthropic (which rejects signatures it did not make)."""
    glm, claude = upstreams(), upstreams()
    glm.script(Reply(200, json=_thinking_answer("zai-own-signature")))
    claude.script(Reply(200, json=anthropic_message("claude")))
    text = make_config(
        [
            anthropic_provider("glm", glm.url, key="glm-key-123456", ptype="anthropic-compatible"),
            anthropic_provider("claude", claude.url, key="ant-key-123456", ptype="anthropic"),
        ],
        {"glm-4.6": [("glm", "glm-4.6")], "opus": [("claude", "claude-opus-5-5")]},
    )
    p = proxy(text)
    first = httpx.post(
        f"{p.url}/v1/messages",
        json={"model": "glm-4.6", "max_tokens": 10, "messages": [{"role": "user", "content": "q1"}]},
        trust_env=False,
    ).json()
    signature = first["content"][0]["signature"]
    assert signature.startswith("ccm1:") and "zai-own-signature" not in signature
    history = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": "q2"},
    ]
    for model in ("glm-4.6", "opus"):
        body = {"model": model, "max_tokens": 10, "messages": history, "thinking": {"type": "adaptive"}}
        assert httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False).status_code == 200
    back_to_glm = glm.received[1].json["messages"][1]["content"]
    assert back_to_glm[0] == {"type": "thinking", "thinking": "glm thinks", "signature": "zai-own-signature"}
    to_claude = claude.received[0].json["messages"][1]["content"]
    assert all(b["type"] != "thinking" for b in to_claude)


def test_dropping_foreign_thinking_in_an_open_tool_loop_drops_thinking_too(upstreams: Up, proxy: Px) -> None:
    """Anthropic requires the open tool loop's last assistant turn to start with thinking when thinking is
    on: without the (foreign) block, the request goes without `thinking` instead of failing with a 400."""
    up = upstreams().script(Reply(200, json=anthropic_message()))
    p = proxy(one_model(up.url, ptype="anthropic"))
    history = [
        {"role": "user", "content": "q1"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "t", "signature": "ccm1:abc"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a"}]},
    ]
    body = {"model": "m", "max_tokens": 10, "messages": history, "thinking": {"type": "enabled", "budget_tokens": 2000}}
    assert httpx.post(f"{p.url}/v1/messages", json=body, trust_env=False).status_code == 200
    sent = up.received[0].json
    assert "thinking" not in sent and sent["messages"][1]["content"][0]["type"] == "tool_use"


def test_a_streamed_signature_from_another_host_is_wrapped(upstreams: Up, proxy: Px) -> None:
    events = anthropic_stream("a1")
    thinking = [
        sse(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
        ),
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        ),
        sse(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "kimi-sig"}},
        ),
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ]
    text = [e.replace(b'"index": 0', b'"index": 1') for e in events[2:]]
    up = upstreams().script(Reply.stream([events[0], *thinking, *text]))
    p = proxy(one_model(up.url))
    with anthropic.Anthropic(base_url=p.url, api_key="k", max_retries=0).messages.stream(
        model="m", max_tokens=10, messages=[{"role": "user", "content": "q"}]
    ) as s:
        final = s.get_final_message()
    block = final.content[0]
    assert block.type == "thinking" and block.signature.startswith("ccm1:") and "kimi-sig" not in block.signature
