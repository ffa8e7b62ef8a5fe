"""ccm.observe.journal: requests.jsonl gets every record, rotates at its size limit and keeps five files."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from pathlib import Path

from ccm.observe.journal import Journal, files, line
from ccm.observe.requestlog import AttemptRecord, RequestRecord


def rec(i: int, kind: str = "messages", error: str | None = None) -> RequestRecord:
    return RequestRecord(
        id=i,
        time=1000.0 + i,
        model="claude-sonnet-4-5",
        route="default",
        routed_model="main",
        provider="zai",
        actual_model="glm-4.6",
        status=200,
        attempts=[AttemptRecord("zai", "glm-4.6", "ok", 200, 12)],
        latency_ms=40,
        input_tokens=i,
        error=error,
        kind=kind,
    )


def test_line_is_one_json_object_without_error_text_or_id() -> None:
    data = json.loads(line(rec(7, error="HTTP 401: Incorrect API key provided: sk-abc")))
    assert "error" not in data and "id" not in data
    assert data["attempts"] == [{"provider": "zai", "model": "glm-4.6", "outcome": "ok", "status": 200, "ms": 12}]
    assert data["input_tokens"] == 7


def test_rotation_keeps_five_files_under_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    size = len(line(rec(100)))
    journal = Journal(path, max_bytes=size * 10, keep=5)
    for start in range(0, 120, 7):  # batches that straddle the limit
        journal.write([line(rec(i)) for i in range(start, min(start + 7, 120))])
    kept = files(path)
    assert [p.name for p in kept] == ["requests.jsonl", *(f"requests.jsonl.{i}" for i in range(1, 5))]
    assert all(p.stat().st_size <= size * 10 for p in kept)
    ids = [json.loads(x)["input_tokens"] for p in reversed(kept) for x in p.read_text().splitlines()]
    assert ids == list(range(120 - len(ids), 120))  # the newest, in order, none twice, none lost in between
    assert len(ids) > 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_append_is_buffered_and_flushed_by_the_writer_task(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    journal = Journal(path)
    journal.start()
    journal.append(rec(1))
    journal.append(rec(2, kind="count_tokens"))  # never journaled
    assert not path.exists()  # append only buffers: the loop never waits for the disk
    deadline = time.monotonic() + 5
    while not path.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    journal.append(rec(3))
    await journal.close()  # flushes the rest
    assert [json.loads(x)["input_tokens"] for x in path.read_text().splitlines()] == [1, 3]


def test_as_dict_is_dataclasses_asdict() -> None:
    """The hand-written (fast) as_dict must stay what dataclasses.asdict gives, field for field."""
    from dataclasses import asdict

    record = rec(3, error="boom")
    whole = asdict(record)
    assert whole.pop("price_key") is None  # internal: a record waiting for a table price is never shown so
    assert record.as_dict() == whole


async def test_a_disk_that_refuses_keeps_the_records_for_later(tmp_path: Path) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("a file where the folder should be")
    journal = Journal(blocker / "requests.jsonl")
    journal.append(rec(1))
    await journal.flush()  # OSError: logged once, nothing raised, nothing lost
    journal.append(rec(2))
    await journal.flush()
    blocker.unlink()
    await journal.flush()
    assert [json.loads(x)["input_tokens"] for x in (blocker / "requests.jsonl").read_text().splitlines()] == [1, 2]
