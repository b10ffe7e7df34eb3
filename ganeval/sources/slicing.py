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
from ganeval.sources.subset import IndexedSource

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


class SliceSource(IndexedSource):
    """Images `base[part]`, in the base source's order; the fingerprint covers the base and the slice."""

    def __init__(self, base: ImageSource, part: slice):
        super().__init__(base, np.arange(len(base))[part], slice_label(part, len(base)))
        check(len(self.indices) > 0, f"slice {self.label} of {base!r} selects no images")

    def _digest(self) -> str:
        return hashlib.sha256(f"ganeval-slice-v1\0{self.base.fingerprint}\0{self.label}".encode()).hexdigest()

    def __repr__(self) -> str:
        return f"{self.base!r}{self.label}"
