"""The exception tree every room of ccm shares.

    CcmError(message, hint)          one readable line for a user, plus an optional fix
    ├── ConfigError(problems)        a config file that cannot be used (each Problem names file:line key)
    ├── SecretError                  a secret store that cannot be read or written
    └── RoutingError(status, type)   a request that cannot be routed (404 unknown model/provider)

The proxy's own upstream outcomes are data, not exceptions (see ccm.dispatch.failover).
"""

from __future__ import annotations

from dataclasses import dataclass


class CcmError(Exception):
    """A user-facing error: `message` is one line, `hint` says what fixes it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or suspicious) in a config file, located as precisely as we can."""

    message: str
    key: str = ""
    file: str = ""
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "config"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(CcmError):
    """A config that cannot be used; `problems` lists every error found, not just the first."""

    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = problems
        first = str(problems[0]) if problems else "invalid config"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first + more, hint)


class SecretError(CcmError):
    """The secret store could not be read or written."""


class RoutingError(CcmError):
    """A request that cannot be routed; carries the HTTP status and Anthropic error type to answer with."""

    def __init__(self, message: str, status: int = 404, error_type: str = "not_found_error") -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
