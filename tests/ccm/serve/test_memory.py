"""ccm.serve.memory: freed stream buffers that glibc keeps go back to the system once connections close,
and only then. Real allocations in this process: 4,000 buffers of 64 KiB, every other one freed, so the
freed ones are holes between live blocks that glibc cannot give back on its own."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Iterator

import pytest

from ccm.serve import memory

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's"
)
MIB = 2**20


@pytest.fixture
def holes() -> Iterator[int]:
    """Leave ~125 MiB of freed-but-kept memory behind; yields RSS with the holes in it."""
    blocks = [bytes(65536) for _ in range(4000)]
    kept = blocks[::2]
    del blocks
    size = memory.rss()
    assert size is not None
    yield size
    del kept


def test_trim_gives_freed_memory_back(holes: int) -> None:
    assert memory.trim()
    after = memory.rss()
    assert after is not None and holes - after > 64 * MIB


async def watch(monkeypatch: pytest.MonkeyPatch, connections: tuple[int, int], baseline: int) -> int:
    """Run the watcher for a few looks with these (open now, peak) connection counts; RSS after."""
    monkeypatch.setattr(memory, "INTERVAL", 0.02)
    task = asyncio.get_running_loop().create_task(
        memory.give_back_after_bursts(lambda _reset: connections, baseline=baseline)
    )
    await asyncio.sleep(0.2)
    task.cancel()
    after = memory.rss()
    assert after is not None
    return after


async def test_memory_is_given_back_once_connections_have_closed(holes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    after = await watch(monkeypatch, (0, 300), baseline=holes - 130 * MIB)
    assert holes - after > 64 * MIB


async def test_memory_is_left_alone_while_connections_stay(holes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    after = await watch(monkeypatch, (300, 300), baseline=holes - 130 * MIB)
    assert holes - after < 16 * MIB


async def test_memory_is_left_alone_near_its_baseline(holes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    after = await watch(monkeypatch, (0, 300), baseline=holes - 8 * MIB)
    assert holes - after < 16 * MIB
