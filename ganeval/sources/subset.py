"""The images of a source at given indices: a class of a labelled set (`SubsetSource`), and the base of
slices (`ganeval.sources.slicing.SliceSource`)."""

from __future__ import annotations

import hashlib

import numpy as np

from ganeval.errors import check
from ganeval.sources.base import ImageSource


class IndexedSource(ImageSource):
    """`base` at `indices`, in that order; subclasses say what the fingerprint covers besides the base."""

    def __init__(self, base: ImageSource, indices: np.ndarray, label: str):
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.label = label
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def load(self, index: int) -> np.ndarray:
        return self.base.load(int(self.indices[index]))

    def describe(self, index: int) -> str:
        return self.base.describe(int(self.indices[index]))

    def _digest(self) -> str:
        raise NotImplementedError

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = self._digest()
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


class SubsetSource(IndexedSource):
    """`base` restricted to `indices` (sorted, unique); the fingerprint covers the base and the indices."""

    def __init__(self, base: ImageSource, indices: np.ndarray, label: str):
        super().__init__(base, np.unique(np.asarray(indices, dtype=np.int64)), label)
        check(len(self.indices) > 0, f"{label} of {base!r} holds no images")
        check(int(self.indices[-1]) < len(base) and int(self.indices[0]) >= 0, f"{label}: index out of range")

    def _digest(self) -> str:
        digest = hashlib.sha256(f"ganeval-subset-v1\0{self.base.fingerprint}\0{self.label}\0".encode())
        digest.update(self.indices.astype("<i8").tobytes())
        return digest.hexdigest()

    def __repr__(self) -> str:
        return f"{self.base!r}{{{self.label}}}"
