"""One small exception hierarchy; the CLI turns each class into a message and an exit code."""

from __future__ import annotations


class PromoterError(Exception):
    """Base of every error promoter reports to its user."""

    exit_code = 1


class UsageError(PromoterError):
    """Bad arguments or a bad config file (exit 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """promotion.yaml is invalid; the message names file and line."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(f"{where}{message}")
        self.file = file
        self.line = line


class Refused(PromoterError):
    """A check failed; nothing was written (exit 3)."""

    exit_code = 3


class ExternalError(PromoterError):
    """git, the network or another outside party failed (exit 4)."""

    exit_code = 4
