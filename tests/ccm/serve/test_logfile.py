"""ccm.log and its rotations are 0600 from their first byte under the usual umask (ccm.serve.logfile);
this fails if the standard library ever opens a rotation's new file another way."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ccm.serve.logfile import file_handler


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_log_and_every_rotation_are_0600(tmp_path: Path, umask_022: None) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    path = folder / "ccm.log"
    handler = file_handler(path, max_bytes=2_000, backups=3)
    logger = logging.getLogger("test.logfile")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for i in range(400):
            logger.warning("line %d %s", i, "x" * 40)
    finally:
        logger.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["ccm.log", "ccm.log.1", "ccm.log.2", "ccm.log.3"]
    assert {name: stat.S_IMODE((folder / name).stat().st_mode) for name in files} == dict.fromkeys(files, 0o600)


def test_an_existing_readable_log_is_tightened(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "ccm.log"
    path.write_text("from an older version\n")
    path.chmod(0o644)
    handler = file_handler(path)
    handler.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "from an older version\n"
