"""ccm.observe.journal: requests.jsonl gets every record, rotates at its size limit and keeps five files."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


class FullDisk:
    """os.write at the OS boundary on a disk with `room` bytes left: a short write, then ENOSPC (what a
    full filesystem does); `room` may be raised again (space freed)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.real = os.write

    def __call__(self, fd: int, data: bytes | memoryview) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = self.real(fd, bytes(data[: self.room]))
        self.room -= n
        return n


def lines_of(path: Path) -> list[bytes]:
    raw = path.read_bytes()
    assert raw == b"" or raw.endswith(b"\n"), "a half record was left at the end"
    return raw.splitlines()


async def test_a_full_disk_leaves_whole_records_counts_the_dropped_and_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "requests.jsonl"
    size = len(line(rec(10)))
    disk = FullDisk(room=size * 3 + size // 2)  # three and a half records fit
    monkeypatch.setattr(os, "write", disk)
    dropped: list[int] = []
    journal = Journal(path, on_dropped=dropped.append)
    for i in range(10, 15):
        journal.append(rec(i))
    await journal.flush()
    for i in range(15, 20):
        journal.append(rec(i))
        await journal.flush()  # the disk stays full: said once, each record counted
    assert [json.loads(x)["input_tokens"] for x in lines_of(path)] == [10, 11, 12]
    assert sum(dropped) == 7
    full = [r for r in caplog.records if "requests.jsonl" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(full) == 1 and "No space left" in full[0].getMessage()
    disk.room = 10 * size  # space freed: records are whole again, and the loss is said once more
    journal.append(rec(20))
    await journal.flush()
    assert [json.loads(x)["input_tokens"] for x in lines_of(path)] == [10, 11, 12, 20]
    assert any("dropped 7" in r.getMessage() for r in caplog.records)


def test_a_short_write_is_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write may take fewer bytes than given without any error (a signal, a pipe-like file): the rest goes next."""
    real = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real(fd, bytes(data[:7])))
    path = tmp_path / "requests.jsonl"
    Journal(path).write([line(rec(i)) for i in range(3)])
    assert [json.loads(x)["input_tokens"] for x in lines_of(path)] == [0, 1, 2]


def test_a_half_line_left_by_a_crash_is_cut_before_the_next_record(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_bytes(line(rec(1)) + line(rec(2))[:20])
    Journal(path).write([line(rec(3))])
    assert [json.loads(x)["input_tokens"] for x in lines_of(path)] == [1, 3]


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="mounting a small tmpfs needs root on Linux")
async def test_a_real_full_tmpfs(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], check=True)
    try:
        path = mount / "requests.jsonl"
        dropped: list[int] = []
        journal = Journal(path, on_dropped=dropped.append)
        for i in range(1000):  # ~300 KiB of records into 64 KiB
            journal.append(rec(i))
            if i % 50 == 49:
                await journal.flush()
        await journal.flush()
        written = [json.loads(x)["input_tokens"] for x in lines_of(path)]
        assert written == list(range(len(written))) and len(written) > 50
        assert sum(dropped) == 1000 - len(written)
    finally:
        subprocess.run(["umount", str(mount)], check=True)
