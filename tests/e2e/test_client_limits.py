"""Client limits through the real proxy: rpm and tpm answer 429 with retry-after naming the limit;
count_tokens and /v1/models never count; a budgeted client is kept off unpriced mappings; and what the
request log says a client spent this month is counted again after a restart."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import anthropic
import httpx
import pytest

from tests.e2e.gateway import ROUTER, gateway_config
from tests.e2e.harness import InProcessProxy
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_message

Up = Callable[[], FakeUpstream]
Px = Callable[[str], InProcessProxy]

KEY = "client-key-LLLLLLLLLLLLLLLLLL"
BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def config(url: str, limits: str, *, priced: bool = True) -> str:
    prices = "price_in = 1.0\nprice_out = 2.0" if priced else ""
    return gateway_config(url, f'[[clients]]\nname = "limited"\napi_key = "{KEY}"\n{limits}\n', prices=prices)


def sdk(url: str, key: str = KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)


def ask(client: anthropic.Anthropic) -> None:
    client.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])


def test_rpm_is_a_429_with_retry_after_and_count_tokens_and_models_do_not_count(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok")))
    px = proxy(config(up.url, "rpm = 2"))
    client = sdk(px.url)
    for _ in range(5):  # neither counts
        client.messages.count_tokens(model="m", messages=[{"role": "user", "content": "hi"}])
        client.models.list()
    ask(client)
    ask(client)
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask(client)
    error = caught.value
    assert error.status_code == 429
    assert 1 <= int(error.response.headers["retry-after"]) <= 60
    assert "2 requests per minute (rpm)" in error.message
    assert [r.path for r in up.received].count("/v1/messages") == 2  # the refused one never went upstream
    ask(sdk(px.url, ROUTER))  # the operator has no limits


def test_tpm_charges_each_answer_after_it(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok", input_tokens=20, output_tokens=10)))
    px = proxy(config(up.url, "tpm = 50"))
    client = sdk(px.url)
    ask(client)  # 0 spent before: admitted, 30 charged
    ask(client)  # 30 < 50: admitted, 60 charged
    with pytest.raises(anthropic.RateLimitError) as caught:
        ask(client)
    assert "50 tokens per minute (tpm)" in caught.value.message
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 60
    logged = httpx.get(
        f"{px.url}/api/requests", params={"limit": 10}, headers={"x-api-key": ROUTER}, trust_env=False
    ).json()
    assert [r["status"] for r in logged] == [429, 200, 200]
    assert {r["client"] for r in logged} == {"limited"}


def test_a_monthly_budget_refuses_a_model_without_a_price(upstreams: Up, proxy: Px) -> None:
    up = upstreams().script(Reply(200, json=anthropic_message("ok")))
    px = proxy(config(up.url, "monthly_usd = 5", priced=False))
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        ask(sdk(px.url))
    assert "model 'm' has no price" in caught.value.message
    assert "up" not in caught.value.message.split("'m'")[1].split()  # the provider is not named
    assert up.received == []


def test_spending_in_the_request_log_counts_after_a_restart(upstreams: Up, proxy: Px, isolated_env: Path) -> None:
    now = time.time()
    lines = [
        {"time": now - 60, "client": "limited", "input_tokens": 900, "output_tokens": 200, "status": 200},
        {"time": now - 30, "client": "someone-else", "input_tokens": 99999, "status": 200},
    ]
    (isolated_env / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    up = upstreams().script(Reply(200, json=anthropic_message("ok")))
    px = proxy(config(up.url, "daily_tokens = 1000"))
    with pytest.raises(anthropic.PermissionDeniedError) as caught:
        ask(sdk(px.url))
    assert "daily budget of 1,000 tokens (daily_tokens)" in caught.value.message
    assert "T00:00:00Z" in caught.value.message


def test_a_monthly_budget_counts_the_price_tables_cost(upstreams: Up, proxy: Px) -> None:
    """A mapping with no prices of its own on a type the maintained price table covers: a budgeted client
    is served, and what the table says the answer cost is charged to its month (priced off the request
    path, so the refusal comes once the journal has priced it: polled with a deadline)."""
    up = upstreams().script(Reply(200, json=anthropic_message("ok", input_tokens=100_000, output_tokens=10)))
    text = config(up.url, "monthly_usd = 0.05", priced=False)
    text = text.replace('provider_type = "anthropic-compatible"', 'provider_type = "anthropic"')
    px = proxy(text.replace('actual_model = "real"', 'actual_model = "claude-sonnet-4-5"'))
    client = sdk(px.url)
    ask(client)  # nothing spent yet: admitted; 100k input tokens at the table's price is well over $0.05
    deadline = time.monotonic() + 20
    while True:
        try:
            ask(client)
        except anthropic.PermissionDeniedError as refused:
            assert "monthly budget of $0.05 (monthly_usd" in refused.message
            break
        assert time.monotonic() < deadline, "the table's cost never reached the client's budget"
        time.sleep(0.05)
    logged = httpx.get(f"{px.url}/api/requests", params={"limit": 50}, headers={"x-api-key": ROUTER}, trust_env=False)
    priced = [r for r in logged.json() if r["status"] == 200]
    assert priced and all(r["client"] == "limited" for r in priced)
