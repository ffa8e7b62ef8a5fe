"""The persisted request log: `$CCM_HOME/requests.jsonl`, one JSON line per finished request.

Appending must never stall the event loop: `append` only puts the record in a buffer, and a writer task
flushes the buffer in a thread every half second (or sooner when it fills up). That thread also prices the
records that wait for the maintained price table (ccm.observe.prices) before it writes them, and tells
`on_priced` (the metrics), so the table is loaded neither at start-up nor on a request's path. The file is
rotated at 10 MiB, keeping 5 files (`requests.jsonl`, `.1` ... `.4`, oldest last); `ccm usage` reads
them all. Lines carry no request or answer content and no error text (an upstream message may quote a
key): counts, names, statuses and times only. The file is created 0600.

    journal = Journal(paths.requests_path())
    journal.start()            # on the serving loop
    journal.on_priced = metrics.add_cost   # optional: told of each record priced from the table
    journal.append(record)     # cheap, any time
    await journal.close()      # flushes what is left
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from ccm.observe.prices import price_records
from ccm.observe.requestlog import RequestRecord

log = logging.getLogger("ccm.observe.journal")

MAX_BYTES = 10 * 2**20
FILES = 5
FLUSH_INTERVAL = 0.5
FLUSH_LINES = 256
MAX_BUFFER = 20_000
"""Lines kept while the disk refuses writes; beyond that the oldest are dropped (and the loss logged)."""
_LEFT_OUT = ("error", "id")


def line(record: RequestRecord) -> bytes:
    data: dict[str, Any] = {k: v for k, v in record.as_dict().items() if k not in _LEFT_OUT}
    return orjson.dumps(data) + b"\n"


def files(path: Path) -> list[Path]:
    """The journal's files, newest first (the ones that exist)."""
    candidates = [path, *(path.with_name(f"{path.name}.{i}") for i in range(1, FILES))]
    return [p for p in candidates if p.exists()]


class Journal:
    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, keep: int = FILES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self._buffer: list[RequestRecord | bytes] = []
        self.on_priced: Callable[[RequestRecord], None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0
        self._failing = False

    def append(self, record: RequestRecord) -> None:
        if record.kind != "messages":
            return
        self._buffer.append(record)
        if len(self._buffer) > MAX_BUFFER:
            del self._buffer[: len(self._buffer) - MAX_BUFFER]
            self._dropped += 1
        if len(self._buffer) >= FLUSH_LINES:
            self._wake.set()

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
        except OSError as exc:
            if not self._failing:  # said once, not every half second while the disk stays full
                log.warning("cannot write %s (%s); keeping records in memory to try again", self.path, exc)
            self._failing = True
            self._buffer[:0] = lines
            del self._buffer[: max(0, len(self._buffer) - MAX_BUFFER)]
            return
        if self._failing:
            log.info("writing %s again", self.path)
            self._failing = False
        if self._dropped:
            log.warning("the request journal dropped %d records it could not write", self._dropped)
            self._dropped = 0

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    def write(self, items: list[RequestRecord | bytes]) -> None:
        """Price what waits for the table, then append the lines, rotating first whenever the next line
        would take the file past max_bytes. Items already turned into lines (a write that failed) stay so."""
        price_records((r for r in items if isinstance(r, RequestRecord)), self.on_priced)
        pending = [item if isinstance(item, bytes) else line(item) for item in items]
        items[:] = pending  # a failed write keeps lines, not records: priced once
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
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
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b"".join(batch))
            finally:
                os.close(fd)
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
