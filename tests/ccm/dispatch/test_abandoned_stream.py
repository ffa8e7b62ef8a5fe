"""A streaming answer the server never starts sending (the client left between the handler's return and
the first chunk) still closes its upstream and is recorded as 499."""

from __future__ import annotations

import asyncio
import gc
import time

import httpx

from ccm.dispatch.failover import Call, Dispatcher
from ccm.dispatch.relay import Done
from ccm.routing import resolve, route
from ccm.serve.state import Snapshot
from config.load import parse_config
from tests.e2e.harness import anthropic_provider, make_config
from tests.fakes.upstream import FakeUpstream, Reply, anthropic_stream


async def test_an_unstarted_stream_closes_its_upstream() -> None:
    with FakeUpstream() as up:
        up.script(Reply.stream(anthropic_stream("a long answer " * 20, pieces=40), delay=0.05))
        config = parse_config(make_config([anthropic_provider("up", up.url)], {"m": [("up", "x")]})).config
        body = {"model": "m", "max_tokens": 10, "stream": True, "messages": [{"role": "user", "content": "q"}]}
        decision = route(body, config)
        seen: list[Done] = []
        async with httpx.AsyncClient() as client:
            snapshot = Snapshot(config, {"up": "k" * 12})
            call = Call(body, decision, resolve(decision.model, config), snapshot, {}, "", seen.append)
            result = await Dispatcher(client).run(call)
            assert result.stream is not None and seen == []
            del result  # never iterated: as when Quart is cancelled before sending the body
            gc.collect()
            deadline = time.monotonic() + 5
            while up.disconnects == 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        assert [d.status for d in seen] == [499]
        assert up.disconnects == 1
