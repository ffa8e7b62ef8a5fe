"""ccm.log: a rotating log file that is the user's alone (0600, its rotations too), in a 0700 CCM_HOME; and,
for containers and journald (`--log-format json`), the same lines on stderr as one JSON object each.

`logging.handlers.RotatingFileHandler` opens its file with `open()`, so under the usual umask of 022 a
new ccm.log (and each rotation's new file) would be 0644; it is reopened here through `os.open` with
mode 0600. Read for Python 3.11-3.13's `logging.FileHandler._open` (the one method overridden); the test
tests/ccm/serve/test_logfile.py fails if a rotation is ever created another way.
"""

from __future__ import annotations

import datetime
import io
import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from ccm.auth.redact import redact
from config import paths
from config.atomic import open_private

log = logging.getLogger("ccm")

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST = "ccm_request"
"""The attribute (`extra={REQUEST: record.as_dict()}`) by which a request's log line carries its record."""


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    def _open(self) -> io.TextIOWrapper:
        # Always appended: RotatingFileHandler forces mode "a" whenever it rotates (maxBytes > 0).
        fd = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
        return open(fd, "a", encoding=self.encoding, errors=self.errors)  # the handler closes it


class RedactingFormatter(logging.Formatter):
    """The last guard before the disk: a secret that reached a log line (a library's exception, a
    traceback) is redacted like error text (ccm.auth.redact)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (UTC, ISO 8601), `level`, `logger`, `message`, an `exception`'s
    traceback, and for a finished request its record's fields (status, route, model, provider, client,
    tokens, ...). Every string is redacted before it is encoded (ccm.auth.redact), and the line again after."""

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        data: dict[str, Any] = {
            "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        fields = getattr(record, REQUEST, None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                if key not in data and key != "time":  # the log line's own time stands for the request's end
                    data[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info))
        return redact(orjson.dumps(data, default=str).decode())


def stderr_json_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    return handler


def file_handler(path: Path, max_bytes: int = 10 * 2**20, backups: int = 3) -> logging.Handler:
    handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(FORMAT))
    return handler


def open_log(json_stderr: bool = False) -> None:
    """Send the process's log to ccm.log (and, with `json_stderr`, to stderr as JSON lines), tightening
    CCM_HOME first (said once, in the log itself)."""
    was = paths.tighten_home()
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = [file_handler(paths.log_path())]
    if json_stderr:
        root.handlers.append(stderr_json_handler())
    if was is not None:
        log.warning("CCM_HOME %s was %04o; made it 0700 (it holds keys and logs)", paths.ccm_home(), was)
