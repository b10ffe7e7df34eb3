"""The `ganeval` command: a thin click layer over the Python API.

Every module here imports only click and ganeval's torch-free parts at import time, so `--help`, argument
errors, `refs list` and `cache list` answer without loading torch; each command imports what it runs.
`main` (the click group) is looked up on first use, so command modules elsewhere (`ganeval.baselines.cli`)
can use `ganeval.cli.errors` without a cycle through the group.
"""

from __future__ import annotations

from typing import Any

__all__ = ["main"]


def __getattr__(name: str) -> Any:
    if name == "main":
        from ganeval.cli.group import main

        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
