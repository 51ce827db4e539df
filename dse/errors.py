"""The errors a user can cause, one type per kind, all exit code 2 at the CLI.

Each subclasses ValueError, so broad handlers still catch them, and carries the
place (file and key path) beside the message, so every one reads
``studies/x.toml: [space].weight_bits: expected integers 1..32, got 64``.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input: the CLI prints the message alone and exits 2."""

    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        self.detail = message
        super().__init__(f"{where}: {message}" if where else message)


class SpecError(UserError):
    """A study spec that cannot run: the file, the key path, what was expected."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file = file
        self.key = key
        where = f"{file}: {key}" if key else file
        super().__init__(message, where=where)


class DataError(UserError):
    """A data set that is missing, unknown or malformed."""


class StudyNotFound(UserError):
    """A study name that the storage does not hold."""


class TrialDiverged(RuntimeError):
    """Training produced NaN or inf: the trial fails alone, with this reason."""


def hw_message(exc: ValueError) -> str:
    """A hwmodels error as a spec or CLI message: the place and what was expected, no package prefix."""
    return str(exc)
