"""Exceptions ganeval raises on purpose.

Every error a user can cause is a `GanevalError`: the CLI prints its message as one line and exits
non-zero, never a traceback. Anything else escaping is a bug.
"""

from __future__ import annotations


class GanevalError(Exception):
    """Base class: a problem the user can fix, described in one line."""


class InputError(GanevalError):
    """Images, arrays or paths that cannot be evaluated as given."""


class BadImageError(InputError):
    """A file that should be an image could not be decoded."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"cannot decode image {path}: {reason} (use --skip-bad to skip such files)")


class WeightsError(GanevalError):
    """The Inception weights are missing, corrupt, or lack a part a metric needs."""


class StatisticsError(GanevalError):
    """A statistics file or statistics object that cannot be used."""


def check(condition: bool, message: str, error: type[GanevalError] = InputError) -> None:
    """Raise `error(message)` unless `condition` holds (unlike `assert`, survives `python -O`)."""
    if not condition:
        raise error(message)
