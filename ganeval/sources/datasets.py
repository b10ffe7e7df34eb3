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

Missing files are downloaded with torchvision where it has a downloader and the network allows;
otherwise the error names the files and where to put them.
"""

from __future__ import annotations

import gzip
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganeval.errors import InputError
from ganeval.inception.store import ganeval_home
from ganeval.sources.archive import TarSource
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource

SPLITS = ("train", "test")


def resolve_data_root(explicit: str | os.PathLike | None = None) -> Path:
    """Where named datasets are read from (and downloaded to): option, `$GANEVAL_DATA`, `$GANEVAL_HOME/data`."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("GANEVAL_DATA"):
        return Path(os.environ["GANEVAL_DATA"]).expanduser()
    return ganeval_home() / "data"


def read_idx_images(path: Path) -> np.ndarray:
    """An IDX3 ubyte file (optionally gzipped) -> uint8 N x H x W."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if len(raw) < 16 or raw[:4] != b"\x00\x00\x08\x03":
        raise InputError(f"{path} is not an IDX file of uint8 images (magic {raw[:4].hex()})")
    n, h, w = (int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    if len(raw) != 16 + n * h * w:
        raise InputError(f"{path} is truncated: header says {n} images of {h}x{w}, file has {len(raw) - 16} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, h, w)


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


@dataclass(frozen=True)
class Dataset:
    """Where a named dataset's files live and how they become an `ImageSource`."""

    name: str
    folders: tuple[str, ...]  # candidate folders under the data root, in order
    files: dict[str, tuple[str, ...]]  # split -> file names (a ".gz" variant is accepted for IDX)
    read: Callable[[list[Path]], ImageSource]
    download: Callable[[Path, str], None] | None = None

    def find(self, root: Path, split: str) -> list[Path] | None:
        """The split's files under `root` (all in one folder), or None if any is missing."""
        for folder in self.folders:
            found = [_existing(root / folder / name) for name in self.files[split]]
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


DATASETS: dict[str, Dataset] = {}


def register_dataset(dataset: Dataset) -> None:
    """Add a named dataset; names are lowercase words with hyphens, splits are train and test."""
    if not dataset.name.replace("-", "").isalnum() or dataset.name != dataset.name.lower():
        raise ValueError(f"dataset names are lowercase letters, digits and hyphens, got {dataset.name!r}")
    if set(dataset.files) != set(SPLITS):
        raise ValueError(f"dataset {dataset.name} must define files for the splits {SPLITS}")
    DATASETS[dataset.name] = dataset


register_dataset(Dataset(
    "mnist", ("mnist", "MNIST/raw"),
    {"train": ("train-images-idx3-ubyte",), "test": ("t10k-images-idx3-ubyte",)},
    _idx, _torchvision_download("MNIST"),
))  # fmt: skip
register_dataset(Dataset(
    "fashion-mnist", ("fashion-mnist", "FashionMNIST/raw"),
    {"train": ("train-images-idx3-ubyte",), "test": ("t10k-images-idx3-ubyte",)},
    _idx, _torchvision_download("FashionMNIST"),
))  # fmt: skip
register_dataset(Dataset(
    "cifar10", ("cifar-10-batches-py", "cifar10/cifar-10-batches-py", "cifar10"),
    {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)},
    lambda paths: ArraySource(read_cifar_batches(paths)), _torchvision_download("CIFAR10"),
))  # fmt: skip
register_dataset(Dataset(
    "cifar10-jpeg", ("cifar10-jpeg", "."),
    {"train": ("cifar10_train_jpeg.tar.gz",), "test": ("cifar10_test_jpeg.tar.gz",)},
    lambda paths: TarSource(paths[0]),
))  # fmt: skip


def open_dataset(
    name: str, split: str, data_root: str | os.PathLike | None = None, download: bool = True
) -> ImageSource:
    """The images of `name:split`, downloading them first where possible; a clear error otherwise."""
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r} of {name}; choose train or test")
    dataset = DATASETS[name]
    root = resolve_data_root(data_root)
    paths = dataset.find(root, split)
    failure = ""
    if paths is None and download and dataset.download is not None:
        try:
            dataset.download(root, split)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes the offline message below
            failure = f"; the download failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        paths = dataset.find(root, split)
    if paths is None:
        wanted = ", ".join(dataset.files[split])
        raise InputError(
            f"{name}:{split} needs {wanted} in {root / dataset.folders[0]} (data root {root}; set --data-root "
            f"or GANEVAL_DATA){failure or _no_download_reason(dataset, download)}"
        )
    return dataset.read(paths)


def _no_download_reason(dataset: Dataset, download: bool) -> str:
    if dataset.download is None:
        return "; there is no downloader for it: copy the files there"
    return "" if download else "; downloads are disabled"
