"""ccm.serve.watch: a config changed in place is ready only after a second without change; one renamed into
place is ready at once; an edit that keeps size and mtime is still seen (the content's hash)."""

from __future__ import annotations

import os
from pathlib import Path

from ccm.serve.watch import STABLE_S, FileWatch


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_in_place_change_waits_for_a_still_second(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = 1\n")
    clock = Clock()
    watch = FileWatch(path, clock)
    watch.seen()
    assert not watch.ready()
    with open(path, "a") as fh:  # same inode, still being written
        fh.write("b = 2\n")
    assert not watch.ready()
    clock.now += STABLE_S / 2
    with open(path, "a") as fh:
        fh.write("c = 3\n")
    assert not watch.ready()  # changed again: the second starts over
    clock.now += STABLE_S / 2
    assert not watch.ready()
    clock.now += STABLE_S / 2
    assert watch.ready()
    watch.seen()
    assert not watch.ready()


def test_a_renamed_file_is_ready_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = 1\n")
    watch = FileWatch(path, Clock())
    watch.seen()
    tmp = tmp_path / "new.toml"
    tmp.write_text("a = 2\nb = 3\n")
    os.replace(tmp, path)
    assert watch.ready()


def test_an_edit_keeping_size_and_mtime_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = 1\n")
    clock = Clock()
    watch = FileWatch(path, clock)
    watch.seen()
    before = path.stat()
    with open(path, "r+") as fh:
        fh.write("a = 2\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert not watch.ready()
    clock.now += STABLE_S
    assert watch.ready()


def test_a_missing_file_is_never_ready(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = 1\n")
    watch = FileWatch(path, Clock())
    watch.seen()
    path.unlink()
    assert not watch.ready()
