"""Named datasets (`mnist:test`, `cifar10-jpeg:train`) read from their standard files under a data root.

Data root: `--data-root` / `data_root=`, else `$GANEVAL_DATA`, else `$GANEVAL_HOME/data` (default
`~/.cache/ganeval/data`, where torchvision's downloaders put what they fetch). Each dataset's files are
looked for in the layout of `../shared/datasets` and in torchvision's own layout:

- `mnist`, `fashion-mnist`: `{train,t10k}-images-idx3-ubyte[.gz]` in `mnist/` or `MNIST/raw/`
  (`fashion-mnist/` or `FashionMNIST/raw/`); 28x28 greyscale, in file order.
- `cifar10`: the python pickle batches `data_batch_1..5` / `test_batch` in `cifar-10-batches-py/`
  (directly under the root or in `cifar10/`); in file order.
- `cifar10-jpeg`: `cifar10_{train,test}_jpeg.tar.gz` in `cifar10-jpeg/`, members
  `<split>/<class>/NNNN.jpg`, ordered by member path: class name, then number within the class.

Every dataset carries labels (`dataset_labels`, `load_dataset`): the IDX label files beside the images,
the labels of the CIFAR-10 batches, and for `cifar10-jpeg` the class folder of each member (classes in
sorted order, which is CIFAR-10's own label order). Missing files are downloaded with torchvision where
it has a downloader and the network allows; otherwise the error names the files and where to put them.
"""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganeval.errors import InputError, check
from ganeval.paths import data_root as resolve_data_root
from ganeval.sources.archive import TarSource
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource

SPLITS = ("train", "test")


def read_idx_images(path: Path) -> np.ndarray:
    """An IDX3 ubyte file (optionally gzipped) -> uint8 N x H x W."""
    raw = _read_bytes(path)
    if len(raw) < 16 or raw[:4] != b"\x00\x00\x08\x03":
        raise InputError(f"{path} is not an IDX file of uint8 images (magic {raw[:4].hex()})")
    n, h, w = (int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    if len(raw) != 16 + n * h * w:
        raise InputError(f"{path} is truncated: header says {n} images of {h}x{w}, file has {len(raw) - 16} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)


def read_idx_labels(path: Path) -> np.ndarray:
    """An IDX1 ubyte label file (optionally gzipped) -> int64 (N,)."""
    raw = _read_bytes(path)
    if len(raw) < 8 or raw[:4] != b"\x00\x00\x08\x01":
        raise InputError(f"{path} is not an IDX file of uint8 labels (magic {raw[:4].hex()})")
    n = int.from_bytes(raw[4:8], "big")
    if len(raw) != 8 + n:
        raise InputError(f"{path} is truncated: header says {n} labels, file has {len(raw) - 8} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def read_cifar_batches(paths: list[Path]) -> np.ndarray:
    """CIFAR-10 python pickle batches -> uint8 N x 32 x 32 x 3, batches in the order given."""
    chunks = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="latin1")  # the official format is a pickle, as torchvision reads it
            chunks.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        except (OSError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as exc:
            raise InputError(f"cannot read CIFAR-10 batch {path}: {exc}") from None
    return np.ascontiguousarray(np.concatenate(chunks).transpose(0, 2, 3, 1))


def read_cifar_labels(paths: list[Path]) -> np.ndarray:
    labels = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                labels.append(np.asarray(pickle.load(f, encoding="latin1")["labels"], dtype=np.int64))
        except (OSError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as exc:
            raise InputError(f"cannot read CIFAR-10 batch {path}: {exc}") from None
    return np.concatenate(labels)


def folder_labels(names: list[str], where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Labels of images named by relative paths, one folder per class: (label of each, sorted class names)."""
    parents = [n.replace("\\", "/").rstrip("/").rsplit("/", 2) for n in names]
    missing = [n for n, parts in zip(names, parents, strict=True) if len(parts) < 2]
    if missing:
        raise InputError(f"{where}: {missing[0]} is not in a class folder (labels need one subfolder per class)")
    classes = tuple(sorted({parts[-2] for parts in parents}))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[parts[-2]] for parts in parents], dtype=np.int64), classes


@dataclass(frozen=True)
class Dataset:
    """Where a named dataset's files live, how they become an `ImageSource`, and where its labels are."""

    name: str
    folders: tuple[str, ...]  # candidate folders under the data root, in order
    files: dict[str, tuple[str, ...]]  # split -> file names (a ".gz" variant is accepted for IDX)
    read: Callable[[list[Path]], ImageSource]
    download: Callable[[Path, str], None] | None = None
    labels: Callable[[list[Path], ImageSource], np.ndarray] | None = None  # (paths, source) -> int64 (N,)
    label_files: dict[str, tuple[str, ...]] = field(default_factory=dict)  # split -> extra files the labels need
    read_raw: Callable[[list[Path]], np.ndarray] | None = None  # uint8 N x H x W [x C] as stored (training data)
    n_classes: int = 10

    def needed(self, split: str, labels: bool) -> tuple[str, ...]:
        return self.files[split] + (self.label_files.get(split, ()) if labels else ())

    def find(self, root: Path, split: str, labels: bool = False) -> list[Path] | None:
        """The split's files under `root` (all in one folder), or None if any is missing."""
        for folder in self.folders:
            found = [_existing(root / folder / name) for name in self.needed(split, labels)]
            if all(found):
                return found
        return None


def _existing(path: Path) -> Path | None:
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def _torchvision_download(class_name: str) -> Callable[[Path, str], None]:
    def download(root: Path, split: str) -> None:
        import torchvision.datasets

        dataset_class = getattr(torchvision.datasets, class_name)
        dataset_class(str(root), train=split == "train", download=True)

    return download


def _idx(paths: list[Path]) -> ImageSource:
    return ArraySource(read_idx_images(paths[0]))


def _tar_labels(paths: list[Path], source: ImageSource) -> np.ndarray:
    return folder_labels(source.members, str(paths[0]))[0]


DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> None:
    """Add a named dataset; names are lowercase words with hyphens, splits are train and test."""
    if not dataset.name.replace("-", "").isalnum() or dataset.name != dataset.name.lower():
        raise ValueError(f"dataset names are lowercase letters, digits and hyphens, got {dataset.name!r}")
    if set(dataset.files) != set(SPLITS):
        raise ValueError(f"dataset {dataset.name} must define files for the splits {SPLITS}")
    DATASETS[dataset.name] = dataset


_IDX_IMAGES = {"train": ("train-images-idx3-ubyte",), "test": ("t10k-images-idx3-ubyte",)}
_IDX_LABELS = {"train": ("train-labels-idx1-ubyte",), "test": ("t10k-labels-idx1-ubyte",)}
for _name, _folders, _class in (
    ("mnist", ("mnist", "MNIST/raw"), "MNIST"),
    ("fashion-mnist", ("fashion-mnist", "FashionMNIST/raw"), "FashionMNIST"),
):
    register_dataset(Dataset(
        _name, _folders, _IDX_IMAGES, _idx, _torchvision_download(_class),
        labels=lambda paths, source: read_idx_labels(paths[-1]), label_files=_IDX_LABELS,
        read_raw=lambda paths: read_idx_images(paths[0]),
    ))  # fmt: skip
register_dataset(Dataset(
    "cifar10", ("cifar-10-batches-py", "cifar10/cifar-10-batches-py", "cifar10"),
    {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
    lambda paths: ArraySource(read_cifar_batches(paths)), _torchvision_download("CIFAR10"),
    labels=lambda paths, source: read_cifar_labels(paths), read_raw=read_cifar_batches,
))  # fmt: skip
register_dataset(Dataset(
    "cifar10-jpeg", ("cifar10-jpeg", "."),
    {"train": ("cifar10_train_jpeg.tar.gz",), "test": ("cifar10_test_jpeg.tar.gz",)},
    lambda paths: TarSource(paths[0]), labels=_tar_labels,
))  # fmt: skip


def _dataset(name: str, split: str) -> Dataset:
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r} of {name}; choose train or test")
    return DATASETS[name]


def _files(name: str, split: str, data_root: str | os.PathLike | None, download: bool, labels: bool) -> list[Path]:
    """The split's files, downloading them first where possible; an error names the files it looked for."""
    dataset = _dataset(name, split)
    root = resolve_data_root(data_root)
    paths = dataset.find(root, split, labels)
    failure = ""
    if paths is None and download and dataset.download is not None:
        try:
            dataset.download(root, split)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes the offline message below
            failure = f"; downloading it with torchvision failed ({type(exc).__name__}: no network?)"
        paths = dataset.find(root, split, labels)
    if paths is None:
        folder = root / dataset.folders[0]
        missing = [f for f in dataset.needed(split, labels) if _existing(folder / f) is None]
        raise InputError(
            f"{name}:{split} needs {', '.join(missing)} in {folder} (data root {root}; set --data-root "
            f"or GANEVAL_DATA){failure or _no_download_reason(dataset, download)}"
        )
    return paths


def open_dataset(
    name: str, split: str, data_root: str | os.PathLike | None = None, download: bool = True
) -> ImageSource:
    """The images of `name:split` as a source (RGB, as the metrics read them)."""
    dataset = _dataset(name, split)
    return dataset.read(_files(name, split, data_root, download, labels=False)[: len(dataset.files[split])])


def dataset_labels(
    name: str, split: str, data_root: str | os.PathLike | None = None, download: bool = True
) -> np.ndarray:
    """The int64 class label of every image of `name:split`, in the order of `open_dataset`'s images."""
    dataset = _dataset(name, split)
    paths = _files(name, split, data_root, download, labels=True)
    source = dataset.read(paths[: len(dataset.files[split])])
    labels = dataset.labels(paths, source)
    check(len(labels) == len(source), f"{name}:{split} has {len(source)} images but {len(labels)} labels")
    return labels


@dataclass(frozen=True)
class LabelledImages:
    """A whole split in memory: uint8 images N x C x H x W as stored (1 channel for MNIST), int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor
    n_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])


def load_dataset(
    name: str, split: str = "train", data_root: str | os.PathLike | None = None, download: bool = True
) -> LabelledImages:
    """`name:split` decoded into memory with its labels: the training data of the baselines."""
    dataset = _dataset(name, split)
    paths = _files(name, split, data_root, download, labels=True)
    image_paths = paths[: len(dataset.files[split])]
    if dataset.read_raw is not None:
        raw = dataset.read_raw(image_paths)
        source = None
    else:
        source = dataset.read(image_paths)
        raw = np.stack([source.load(i) for i in range(len(source))])
    images = raw[:, None] if raw.ndim == 3 else raw.transpose(0, 3, 1, 2)
    labels = dataset.labels(paths, source if source is not None else dataset.read(image_paths))
    check(len(labels) == len(images), f"{name}:{split} has {len(images)} images but {len(labels)} labels")
    images = np.require(images, requirements=["C", "W"])  # a tensor must own writable memory
    return LabelledImages(torch.from_numpy(images), torch.from_numpy(labels), dataset.n_classes)


def _no_download_reason(dataset: Dataset, download: bool) -> str:
    if dataset.download is None:
        return "; there is no downloader for it: copy the files there"
    return "" if download else "; downloads are disabled"
