"""Commands under torchrun: every rank joins the process group, extraction is sharded, rank 0 prints."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any


def launched_by_torchrun() -> bool:
    """torchrun (or another launcher of its protocol) started this process as one rank of several."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def is_rank0() -> bool:
    """True outside a process group, else on rank 0: the one process that prints and writes files."""
    if not launched_by_torchrun():
        return True
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def torchrun_aware(func: Callable) -> Callable:
    """Under torchrun every rank runs the command inside the process group with extraction sharded over
    the ranks (`Settings.distributed`), each on its own device unless --device names one; rank 0 prints."""

    @functools.wraps(func)
    def wrapper(*args: Any, **options: Any) -> Any:
        if not launched_by_torchrun():
            return func(*args, **options)
        from ganeval.distributed import local_device, process_group

        with process_group() as grouped:
            options["distributed"] = grouped
            options["device"] = options["device"] or str(local_device())
            return func(*args, **options) if is_rank0() else _quietly(func, *args, **options)

    return wrapper


def _quietly(func: Callable, *args: Any, **options: Any) -> Any:
    """A rank other than 0: no progress, results or warnings, and no repeat of the error rank 0 reports."""
    from ganeval.distributed import RankFailedError

    options["quiet"] = True
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return func(*args, **options)
        except RankFailedError:  # another rank's failure, which that rank and rank 0 print
            sys.exit(1)
