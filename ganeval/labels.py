"""The class of every image of an input, for class-conditional metrics (intra-FID).

Classes are strings, so that the label numbers of a named dataset or a conditional generator and the
subfolder names of a folder compare alike ("3" is class 3 either way). Where they come from:

- a named dataset (`cifar10-jpeg:test`, sliced or not) or a reference built on one: its label files;
- a folder, zip or tar archive with one subfolder per class: the subfolder of each image;
- anything else (arrays, tensors, generators): the labels passed with it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ganeval.errors import InputError, check
from ganeval.inputs import Input, StoreOptions
from ganeval.references import REF_PREFIX
from ganeval.sources import FolderSource, SliceSource, parse_dataset, split_slice
from ganeval.sources.archive import TarSource, ZipSource
from ganeval.sources.base import ImageSource
from ganeval.sources.datasets import dataset_labels, folder_labels
from ganeval.sources.subset import SubsetSource

HOW = (
    "give a labelled dataset (mnist, fashion-mnist, cifar10, cifar10-jpeg), a folder with one subfolder per class, "
    "or labels"
)


def as_classes(labels: Any, n: int, where: str) -> np.ndarray:
    """Given labels (numbers or names) as an array of class strings, checked against the image count."""
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    array = np.asarray(labels)
    check(array.ndim == 1, f"{where}: labels must be one per image, got shape {array.shape}")
    check(len(array) == n, f"{where}: {len(array)} labels for {n} images")
    if array.dtype.kind in "iu":
        return array.astype(np.int64).astype(str)
    check(array.dtype.kind in "US", f"{where}: labels must be integers or strings, got {array.dtype}")
    return array.astype(str)


def input_classes(obj: Any, item: Input, store: StoreOptions, given: Any = None) -> np.ndarray:
    """The class of every image of `item` (resolved from `obj`), as strings."""
    if given is not None:
        return as_classes(given, item.count(), item.label)
    if item.reference is not None:
        _, ref, _ = item.reference
        part = split_slice(obj[len(REF_PREFIX) :])[1]
        return _dataset_classes(ref.source, part, store, item.label)
    if isinstance(obj, str) and not os.path.exists(obj):
        base, part = split_slice(obj)
        if parse_dataset(base) is not None:
            return _dataset_classes(base, part, store, item.label)
    return source_classes(item.source, item.label)


def _dataset_classes(spec: str, part: slice | None, store: StoreOptions, where: str) -> np.ndarray:
    name, split = parse_dataset(spec) or (None, None)
    check(name is not None, f"{where}: {spec} is not a labelled dataset; {HOW}")
    labels = dataset_labels(name, split, data_root=store.data_root, download=store.download)
    return (labels[part] if part is not None else labels).astype(str)


def source_classes(source: ImageSource, where: str) -> np.ndarray:
    """Classes from the folder layout of a folder or archive source (and slices of one)."""
    if isinstance(source, SliceSource):
        return source_classes(source.base, where)[source.indices]
    if isinstance(source, SubsetSource):
        return source_classes(source.base, where)[source.indices]
    if isinstance(source, (FolderSource, ZipSource, TarSource)):
        codes, names = folder_labels(source.files if isinstance(source, FolderSource) else source.members, where)
        return np.asarray(names)[codes]
    raise InputError(f"{where}: no labels known for these images; {HOW}")


def class_subsets(source: ImageSource, classes: np.ndarray, where: str) -> dict[str, SubsetSource]:
    """One source per class, in sorted class order."""
    return {c: SubsetSource(source, np.flatnonzero(classes == c), f"class {c}") for c in sorted(set(classes.tolist()))}
