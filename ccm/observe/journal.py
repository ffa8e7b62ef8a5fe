"""The persisted request log: `$CCM_HOME/requests.jsonl`, one JSON line per finished request.

Appending must never stall the event loop: `append` only puts the record in a buffer, and a writer task
flushes the buffer in a thread every half second (or sooner when it fills up). That thread also prices the
records that wait for the maintained price table (ccm.observe.prices) before it writes them, and tells
`on_priced` (the metrics), so the table is loaded neither at start-up nor on a request's path. The file is
rotated at 10 MiB, keeping 5 files (`requests.jsonl`, `.1` ... `.4`, oldest last); `ccm usage` reads
them all. Lines carry no request or answer content and no error text (an upstream message may quote a
key): counts, names, statuses and times only. The file is created 0600.

A record is appended whole or not at all: a short write is completed, and a write that fails half-way
(a full disk) is cut back to the last whole line, so a reader never meets half a record. On a full disk
the records that did not fit are dropped and counted (`on_dropped`, the proxy's
`ccm_request_log_dropped_total`), and the problem is logged once until writing works again; other
errors (a missing folder, too many open files) keep the records in memory to try again.

    journal = Journal(paths.requests_path())
    journal.start()            # on the serving loop
    journal.on_priced = metrics.add_cost   # optional: told of each record priced from the table
    journal.append(record)     # cheap, any time
    await journal.close()      # flushes what is left
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from ccm.observe.prices import price_records
from ccm.observe.requestlog import RequestRecord
from config.atomic import open_private

log = logging.getLogger("ccm.observe.journal")

MAX_BYTES = 10 * 2**20
FILES = 5
FLUSH_INTERVAL = 0.5
FLUSH_LINES = 256
MAX_LINE = 64 * 1024
"""Longer than any record: how far back a half line left by a crash is looked for."""
MAX_BUFFER = 20_000
"""Lines kept while the disk refuses writes; beyond that the oldest are dropped (and the loss logged)."""
_LEFT_OUT = ("error", "id")
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
"""Errors that will not pass by the next flush: the records are dropped (and counted), not kept."""


#: The request kinds the journal keeps: every answered request (count_tokens never reaches the request log).
JOURNALED = frozenset({"messages", "chat_completions", "responses"})


class WriteFailed(Exception):
    """`done` of the lines given were written whole before `error`; none of the rest was."""

    def __init__(self, done: int, error: OSError) -> None:
        super().__init__(str(error))
        self.done = done
        self.error = error


def line(record: RequestRecord) -> bytes:
    data: dict[str, Any] = {k: v for k, v in record.as_dict().items() if k not in _LEFT_OUT}
    return orjson.dumps(data) + b"\n"


def files(path: Path) -> list[Path]:
    """The journal's files, newest first (the ones that exist)."""
    candidates = [path, *(path.with_name(f"{path.name}.{i}") for i in range(1, FILES))]
    return [p for p in candidates if p.exists()]


def read(path: Path) -> Iterator[dict[str, Any]]:
    """Every record of the journal and its rotated files, oldest first; a line that does not parse (a file
    cut by a crash) is skipped."""
    for file in reversed(files(path)):
        try:
            handle = file.open("rb")
        except OSError:
            continue
        with handle:
            for raw in handle:
                try:
                    record = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    yield record


class Journal:
    def __init__(
        self,
        path: Path,
        max_bytes: int = MAX_BYTES,
        keep: int = FILES,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.on_dropped = on_dropped
        """Told how many records were lost each time some are (the proxy's dropped-records counter)."""
        self.on_priced: Callable[[RequestRecord], None] | None = None
        """Told of each record priced from the price table (the proxy's cost counters)."""
        self._buffer: list[RequestRecord | bytes] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self._failing = False

    def append(self, record: RequestRecord) -> None:
        if record.kind not in JOURNALED:
            return
        self._buffer.append(record)
        if len(self._buffer) > MAX_BUFFER:
            del self._buffer[: len(self._buffer) - MAX_BUFFER]
            self._drop(1)
        if len(self._buffer) >= FLUSH_LINES:
            self._wake.set()

    def _drop(self, count: int) -> None:
        self._dropped += count
        if self.on_dropped is not None:
            self.on_dropped(count)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_INTERVAL)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        if not self._buffer:
            return
        lines, self._buffer = self._buffer, []
        try:
            await asyncio.to_thread(self.write, lines)
        except WriteFailed as exc:
            self._failed(lines[exc.done :], exc.error)
            return
        if self._failing:
            log.info("writing %s again", self.path)
            self._failing = False
        if self._dropped:
            log.warning("the request log dropped %d records it could not write", self._dropped)
            self._dropped = 0

    def _failed(self, rest: list[RequestRecord | bytes], error: OSError) -> None:
        full = error.errno in _FULL
        if not self._failing:  # said once, not every half second while the disk stays full
            then = "dropping records until it has room" if full else "keeping records in memory to try again"
            log.warning("cannot write %s (%s); %s", self.path, error, then)
        self._failing = True
        if full:
            self._drop(len(rest))
            return
        self._buffer[:0] = rest
        excess = max(0, len(self._buffer) - MAX_BUFFER)
        if excess:
            del self._buffer[:excess]
            self._drop(excess)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def write(self, items: list[RequestRecord | bytes]) -> None:
        """Price what waits for the table, then append the lines, rotating first whenever the next line
        would take the file past max_bytes. Items already turned into lines (a write that failed) stay so.

        Raises WriteFailed (how many lines were written whole, and the error) when the disk refuses."""
        price_records((r for r in items if isinstance(r, RequestRecord)), self.on_priced)
        lines = [item if isinstance(item, bytes) else line(item) for item in items]
        items[:] = lines  # a failed write keeps lines, not records: priced once
        done = 0
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            for count in self._batches(lines):
                done += count
        except WriteFailed as exc:
            raise WriteFailed(done + exc.done, exc.error) from None
        except OSError as exc:
            raise WriteFailed(done, exc) from None

    def _batches(self, lines: list[bytes]) -> Iterator[int]:
        """Write the lines in batches that fit the current file; yields each batch's line count once written."""
        pending = list(lines)
        while pending:
            try:
                size = self.path.stat().st_size
            except FileNotFoundError:
                size = 0
            room = self.max_bytes - size
            batch: list[bytes] = []
            used = 0
            while pending and (used + len(pending[0]) <= room or (not batch and size == 0)):
                used += len(pending[0])
                batch.append(pending.pop(0))
            if not batch:
                self.rotate()
                continue
            fd = open_private(self.path, os.O_RDWR | os.O_APPEND)
            try:
                append_whole(fd, batch)
            finally:
                os.close(fd)
            yield len(batch)
            if pending:
                self.rotate()

    def rotate(self) -> None:
        """requests.jsonl -> .1 -> .2 ...; the oldest beyond `keep` files goes."""
        oldest = self.path.with_name(f"{self.path.name}.{self.keep - 1}")
        oldest.unlink(missing_ok=True)
        for i in range(self.keep - 2, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{i}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
        if self.path.exists():
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))


def append_whole(fd: int, batch: list[bytes]) -> None:
    """Append whole lines: a short write is completed; a failed one is cut back to its last whole line
    (raising WriteFailed with the lines that made it). A half line a crash left at the end goes first."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end and os.pread(fd, 1, end - 1) != b"\n":
        tail = os.pread(fd, min(end, 2 * MAX_LINE), max(0, end - 2 * MAX_LINE))
        end -= len(tail) - (tail.rfind(b"\n") + 1)
        os.ftruncate(fd, end)
    data = memoryview(b"".join(batch))
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError as exc:
        whole = bytes(data[:written]).rfind(b"\n") + 1
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end + whole)
        done = bytes(data[:whole]).count(b"\n")
        raise WriteFailed(done, exc) from None
