"""Progress of every long pass (feature extraction, training steps, benchmarks, downloads), in one place.

On a terminal a pass shows a tqdm bar. On a file or a pipe (`2> log`, CI, a job scheduler) a bar's `\\r` and
cursor codes would litter the log, so a pass writes plain lines instead, at a modest rate: when it starts,
at each further tenth (at most one line per `MIN_GAP_S`), at least every `EVERY_S` seconds, and when it
ends. Each line names what is computed, the count and the total:

    reference fashion-mnist:test[:1000]: 312/1000 img (31%, 38 s, 8.1 img/s)

The loop that runs a pass rarely knows what it is for, so `progress_label` lets a caller name the passes
started inside a block (an `Evaluator` calls its reference pass "reference ..."); labels nest.
`progress_write` prints a line on stderr without breaking a live bar.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

MIN_GAP_S = 1.0  # plain lines: at most one per tenth of a pass within this many seconds
EVERY_S = 15.0  # plain lines: at least one this often while a pass runs

_labels: ContextVar[tuple[str, ...]] = ContextVar("ganeval_progress_labels", default=())
_live: list[Progress] = []  # bars open now, outermost first


class Progress:
    """A pass's progress. This base class shows nothing (progress disabled); the subclasses draw a bar or
    write lines."""

    def __init__(self, total: int | None, desc: str | None, unit: str, initial: int = 0):
        self.total, self.desc, self.unit = total, desc, unit
        self.n = self.initial = initial
        self.postfix = ""

    def update(self, n: int) -> None:
        self.n += n

    def set_description(self, desc: str) -> None:
        self.desc = desc

    def set_postfix(self, values: dict[str, Any]) -> None:
        """Short values shown after the count (a training step's losses)."""
        self.postfix = ", ".join(f"{k} {v}" for k, v in values.items())

    def close(self, completed: bool) -> None:
        """End of the pass; `completed` is False when it ended by an exception."""


class _Bar(Progress):
    """A tqdm bar, for a terminal. Nested bars (an extraction inside a training run) vanish when done."""

    def __init__(self, total: int | None, desc: str | None, unit: str, initial: int, stream: TextIO):
        from tqdm import tqdm

        super().__init__(total, desc, unit, initial)
        self._bar = tqdm(total=total, desc=desc, unit=unit, initial=initial, file=stream, leave=not _live,
                         unit_scale=unit == "B")  # fmt: skip

    def update(self, n: int) -> None:
        super().update(n)
        self._bar.update(n)

    def set_description(self, desc: str) -> None:
        super().set_description(desc)
        self._bar.set_description(desc)

    def set_postfix(self, values: dict[str, Any]) -> None:
        super().set_postfix(values)
        self._bar.set_postfix_str(self.postfix, refresh=False)

    def close(self, completed: bool) -> None:
        self._bar.close()


class _Lines(Progress):
    """Plain lines for a file or a pipe (see the module docstring for when they are written)."""

    def __init__(self, total: int | None, desc: str | None, unit: str, initial: int, stream: TextIO):
        super().__init__(total, desc, unit, initial)
        self._stream = stream
        self._started = self._last = time.monotonic()
        self._shown = -1  # the count of the last line written
        self._emit(self._started)

    def update(self, n: int) -> None:
        super().update(n)
        now = time.monotonic()
        since = now - self._last
        if since >= EVERY_S or (since >= MIN_GAP_S and self._tenth(self.n) > self._tenth(self._shown)):
            self._emit(now, done=self.total is not None and self.n >= self.total)

    def close(self, completed: bool) -> None:
        if completed and self.n != self._shown:
            self._emit(time.monotonic(), done=True)

    def _tenth(self, n: int) -> int:
        return math.floor(10 * n / self.total) if self.total else 0

    def _emit(self, now: float, done: bool = False) -> None:
        elapsed = now - self._started
        details = [f"{100 * self.n / self.total:.0f}%"] if self.total else []
        if done or elapsed >= 1:
            details.append(f"{elapsed:.0f} s")
        rate = (self.n - self.initial) / elapsed if elapsed > 0 else 0.0
        if rate > 0 and (done or elapsed >= 1):
            details.append(_rate(rate, self.unit))
        line = f"{self.desc + ': ' if self.desc else ''}{_count(self.n, self.total, self.unit)}"
        line += f" ({', '.join(details)})" if details else ""
        line += f" {self.postfix}" if self.postfix else ""
        self._stream.write(line + "\n")
        self._stream.flush()
        self._shown, self._last = self.n, now


def _count(n: int, total: int | None, unit: str) -> str:
    if unit == "B":
        return f"{n / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{n / 1e6:.1f} MB"
    return f"{n}/{total} {unit}" if total is not None else f"{n} {unit}"


def _rate(rate: float, unit: str) -> str:
    return f"{rate / 1e6:.3g} MB/s" if unit == "B" else f"{rate:.3g} {unit}/s"


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is an interactive terminal (a bar can redraw itself there)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


@contextmanager
def progress_label(label: str) -> Iterator[None]:
    """Put `label` before the description of every pass started inside the block ("" adds nothing)."""
    token = _labels.set((*_labels.get(), label) if label else _labels.get())
    try:
        yield
    finally:
        _labels.reset(token)


@contextmanager
def progress_bar(
    total: int | None, desc: str | None = None, *, enabled: bool = True, unit: str = "img", initial: int = 0
) -> Iterator[Progress]:
    """The progress of one pass of `total` items (None: unknown) named `desc`, after the active labels.

    A tqdm bar on a terminal, plain lines on a file or a pipe, nothing when not `enabled`. `initial` is where
    a resumed pass starts (its rate counts only what this run did).
    """
    desc = " ".join((*_labels.get(), desc)) if desc else " ".join(_labels.get()) or None
    stream = sys.stderr
    if not enabled:
        bar = Progress(total, desc, unit, initial)
    elif is_terminal(stream):
        bar = _Bar(total, desc, unit, initial, stream)
    else:
        bar = _Lines(total, desc, unit, initial, stream)
    _live.append(bar)
    completed = False
    try:
        yield bar
        completed = True
    finally:
        _live.remove(bar)
        bar.close(completed)


def progress_write(line: str) -> None:
    """`line` on stderr; above a live bar on a terminal (the bar is redrawn below it)."""
    if any(isinstance(bar, _Bar) for bar in _live):
        from tqdm import tqdm

        tqdm.write(line, file=sys.stderr)
    else:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


__all__ = ["Progress", "is_terminal", "progress_bar", "progress_label", "progress_write"]
