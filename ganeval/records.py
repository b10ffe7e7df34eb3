"""Result records as JSON lines: appended one whole line at a time, flushed and synced, so a kill at any
moment leaves a file whose every complete line is a valid record; a torn last line (a kill mid-write) is
dropped when the file is next opened for appending.

A record (`ganeval benchmark` writes them, `ganeval report` reads them; the baselines' studies too):

    {"format": "ganeval-record/1", "status": "ok" | "error", "error": null | "one line",
     "input": {"path", "kind", "fingerprint", "step", "recipe", "run"},
     "repeat": 0, "seed": 2020, "metrics": {"fid": ..., "n_real": ..., "n_fake": ...},
     "reference": {"name", "fingerprint"}, "settings": {...}, "settings_key": "sha256 of settings",
     "versions": {"ganeval", "torch"}, "device": "cpu", "seconds": 12.3, "timestamp": "..."}
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ganeval.errors import InputError

FORMAT = "ganeval-record/1"


def settings_key(settings: dict[str, Any]) -> str:
    """A digest of everything that decides a record's numbers: records with different keys never mix."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def read_records(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Every complete, valid record of a file (torn or foreign lines are skipped); [] when it is missing."""
    return list(iter_records(path))


def iter_records(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # the torn line of a killed writer
        if isinstance(record, dict) and record.get("format") == FORMAT:
            yield record


class RecordWriter:
    """Appends records to one JSONL file, each line written whole and synced before the next begins."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        with open(self.path, "rb+") as f:
            data = f.read()
            end = data.rfind(b"\n") + 1  # everything after the last newline is a partial line
            if end < len(data):
                f.truncate(end)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({"format": FORMAT, **record}, sort_keys=False, default=_plain) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
