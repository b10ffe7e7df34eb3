"""Training data held in memory as uint8, read once from the standard files under a data root.

Root: `data_root` argument (`--data-root`) > `$GANEVAL_DATA` > `../shared/datasets` beside the
repository, when present. Files expected under it:

- `mnist/`, `fashion-mnist/`: `{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz` (IDX format);
- `cifar10-jpeg/`: `cifar10_{train,test}_jpeg.tar.gz` with members `<split>/<class>/NNNN.jpg`;
- `cifar10/`: the python version, `cifar-10-batches-py/{data_batch_1..5,test_batch}`.

Deliberately small: the shared named-dataset sources may replace it.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganeval.errors import InputError, check

REPO_DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class ImageData:
    """uint8 images N x C x H x W with int64 labels (N,) and the number of classes."""

    images: torch.Tensor
    labels: torch.Tensor
    n_classes: int

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])


def _idx_files(split: str) -> list[str]:
    prefix = "train" if split == "train" else "t10k"
    return [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]


def _cifar_jpeg_files(split: str) -> list[str]:
    return [f"cifar10_{split}_jpeg.tar.gz"]


def _cifar_files(split: str) -> list[str]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    return [f"cifar-10-batches-py/{n}" for n in names]


FILES = {"mnist": _idx_files, "fashion-mnist": _idx_files, "cifar10-jpeg": _cifar_jpeg_files, "cifar10": _cifar_files}


def resolve_root(data_root: str | os.PathLike | None = None) -> Path:
    """The data root by the order in the module docstring; an error names the places tried."""
    if data_root:
        return Path(data_root)
    if os.environ.get("GANEVAL_DATA"):
        return Path(os.environ["GANEVAL_DATA"])
    if REPO_DATA.is_dir():
        return REPO_DATA
    raise InputError(f"no data root: pass --data-root or set $GANEVAL_DATA (looked for {REPO_DATA})")


def load_dataset(name: str, split: str = "train", data_root: str | os.PathLike | None = None) -> ImageData:
    """Dataset `name` ("mnist", "fashion-mnist", "cifar10-jpeg", "cifar10"), split "train" or "test"."""
    check(name in FILES, f"unknown dataset {name!r}; choose from {', '.join(FILES)}")
    check(split in SPLITS, f"unknown split {split!r}; choose train or test")
    folder = resolve_root(data_root) / name
    paths = [folder / f for f in FILES[name](split)]
    missing = [str(p) for p in paths if not p.is_file()]
    check(not missing, f"dataset {name} ({split}) not found: missing {', '.join(missing)}")
    if name == "cifar10-jpeg":
        images, labels = _read_cifar_jpeg(paths[0], split)
    elif name == "cifar10":
        images, labels = _read_cifar_pickles(paths)
    else:
        images, labels = _read_idx(paths[0]), _read_idx(paths[1])
        images = images[:, None]
    return ImageData(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), 10)


def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (uint8 data): magic 0x0000_08_NN, NN dimensions as big-endian int32, then the data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    check(raw[:3] == b"\0\0\x08" and len(raw) >= 4, f"{path} is not a uint8 IDX file")
    ndim = raw[3]
    shape = tuple(int(v) for v in np.frombuffer(raw, ">i4", ndim, 4))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    check(data.size == int(np.prod(shape)), f"{path}: {data.size} values for shape {shape}")
    return data.reshape(shape).copy()


def _read_cifar_jpeg(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Members `<split>/<class>/NNNN.jpg`, ordered by class name then number; label = class index."""
    with tarfile.open(path, "r:gz") as tar:
        entries = []
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 3 and parts[0] == split and parts[2].endswith(".jpg"):
                entries.append((parts[1], parts[2], tar.extractfile(member).read()))
    check(entries, f"{path} holds no {split}/<class>/*.jpg images")
    entries.sort(key=lambda e: (e[0], int(e[1].split(".")[0])))
    classes = sorted({e[0] for e in entries})
    images = np.stack([np.asarray(Image.open(io.BytesIO(e[2])).convert("RGB")) for e in entries])
    labels = np.array([classes.index(e[0]) for e in entries])
    return images.transpose(0, 3, 1, 2).copy(), labels


def _read_cifar_pickles(paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for path in paths:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        images.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch[b"labels"]))
    return np.concatenate(images), np.concatenate(labels)


class BatchStream:
    """Shuffled minibatches without replacement, reshuffled each epoch; resumable from (epoch, position).

    Epoch e's order is `torch.randperm` seeded with (seed, e), so the order never depends on how many
    batches were drawn before a restart. Images become floats in [-1, 1] on the data's device.
    """

    def __init__(self, data: ImageData, batch_size: int, seed: int, device: torch.device):
        check(batch_size <= len(data.images), f"batch size {batch_size} exceeds the {len(data.images)} images")
        self.images, self.labels = data.images.to(device), data.labels.to(device)
        self.batch_size, self.seed = batch_size, seed
        self.epoch, self.position = 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=gen).to(self.images.device)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.position + self.batch_size > len(self._order):  # drop the incomplete tail batch
            self.epoch, self.position = self.epoch + 1, 0
            self._order = self._permutation(self.epoch)
        index = self._order[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return self.images[index].float() / 127.5 - 1.0, self.labels[index]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self._order = self._permutation(self.epoch)
