"""`spec[start:stop:step]`: a part of any source, for quick runs (`fashion-mnist:train[:5000]`).

A slice is normalised against the source's length before it is fingerprinted or printed, so `[:8]`,
`[0:8]` and `[0:8:1]` name the same images and share one cache entry.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from ganeval.errors import InputError, check
from ganeval.sources.base import ImageSource

_SUFFIX = re.compile(r"^(?P<base>.+?)\[(?P<body>[^\[\]]*)\]$")
_INT = r"\s*(-?\d+)?\s*"
_BODY = re.compile(rf"^{_INT}:{_INT}(?::{_INT})?$")


def split_slice(spec: str) -> tuple[str, slice | None]:
    """`"name[a:b:c]"` -> ("name", slice(a, b, c)); a spec without a bracket suffix -> (spec, None)."""
    match = _SUFFIX.match(spec)
    if match is None:
        return spec, None
    body = _BODY.match(match["body"])
    if body is None:
        raise InputError(f"bad slice [{match['body']}] in {spec!r}: expected [start:stop] or [start:stop:step]")
    start, stop, step = (int(v) if v is not None else None for v in body.groups())
    check(step != 0, f"slice step cannot be zero in {spec!r}")
    return match["base"], slice(start, stop, step)


def slice_label(part: slice, length: int) -> str:
    """The canonical text of `part` on a sequence of `length`: `[0:8]`, or `[0:100:2]` with a step."""
    start, stop, step = part.indices(length)
    return f"[{start}:{stop}]" if step == 1 else f"[{start}:{stop}:{step}]"


class SliceSource(ImageSource):
    """Images `base[part]`, in the base source's order; the fingerprint covers the base and the slice."""

    def __init__(self, base: ImageSource, part: slice):
        self.base = base
        self.label = slice_label(part, len(base))
        self.indices = np.arange(len(base))[part]
        check(len(self.indices) > 0, f"slice {self.label} of {base!r} selects no images")
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> np.ndarray:
        return self.base.load(int(self.indices[index]))

    def describe(self, index: int) -> str:
        return self.base.describe(int(self.indices[index]))

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            text = f"ganeval-slice-v1\0{self.base.fingerprint}\0{self.label}"
            self._fingerprint = hashlib.sha256(text.encode()).hexdigest()
        return self._fingerprint

    @property
    def skipped(self) -> int:
        return self.base.skipped

    @property
    def decodes(self) -> bool:
        return self.base.decodes

    @property
    def cacheable(self) -> bool:
        return self.base.cacheable

    def __repr__(self) -> str:
        return f"{self.base!r}{self.label}"
