"""Atomic file writes: a reader sees the old file or the complete new one, never a partial one.

The data goes to a temporary file in the target's folder (same filesystem), is flushed to disk, and
is renamed over the target with `os.replace`, which is atomic on POSIX and Windows. A process killed
mid-write leaves only a `.tmp-*` file, which readers ignore; concurrent writers of one target each
write their own temporary file, and the last rename wins with a complete file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = ".tmp-"


def atomic_write(target: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(f)` on a temporary file next to `target`, then rename it to `target`."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
