"""How every `ganeval` command reports problems: one line on stderr, never a traceback."""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Callable

import click

from ganeval.errors import GanevalError
from ganeval.progress import progress_write


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    progress_write(f"ganeval: warning: {message}")  # above a live bar, which stays intact


def friendly_errors(interrupted: str = "interrupted") -> Callable[[Callable], Callable]:
    """Decorator: GanevalError -> one line and exit status 1; Ctrl-C -> `interrupted` and status 130."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            warnings.showwarning = _one_line_warning
            try:
                return func(*args, **kwargs)
            except GanevalError as exc:
                click.echo(f"ganeval: error: {exc}", err=True)
                sys.exit(1)
            except KeyboardInterrupt:
                click.echo(f"ganeval: {interrupted}", err=True)
                sys.exit(130)

        return wrapper

    return decorate
