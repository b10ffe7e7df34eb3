"""The two image folders and the weights file that every tool in the benchmark reads.

All tools must see the same files, so inputs are flat folders of png/jpg files (pytorch-fid does not
search sub-folders, torch-fidelity only knows png/jpg/jpeg), built once and reused.
"""

from __future__ import annotations

import os
import tarfile
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("GANEVAL_DATA") or ROOT.parent / "shared" / "datasets")  # as tests/conftest.py
EXACT_NPZ = "cifar10-exact-subset/cifar10_train_first4000.npz"
JPEG_TARS = {"train": "cifar10-jpeg/cifar10_train_jpeg.tar.gz", "test": "cifar10-jpeg/cifar10_test_jpeg.tar.gz"}
# pytorch-fid loads only through the torch hub cache, under this exact name.
PFID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
EXTENSIONS = (".png", ".jpg", ".jpeg")


def image_files(folder: Path) -> list[Path]:
    """The image files of `folder` and its sub-folders, sorted (what every tool is given)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in EXTENSIONS)


def cifar10_exact(datasets: Path, data_dir: Path, n_a: int, n_b: int) -> tuple[Path, Path]:
    """A = the first n_a lossless CIFAR-10 training images, B = the next n_b, as PNG folders."""
    x = np.load(datasets / EXACT_NPZ)["x"]
    if n_a + n_b > len(x):
        raise SystemExit(f"the exact subset holds {len(x)} images; {n_a} + {n_b} asked (use --cifar10 jpeg)")
    base = data_dir / f"cifar10-exact-{n_a}-{n_b}"
    return _png_folder(x[:n_a], base / "a"), _png_folder(x[n_a : n_a + n_b], base / "b")


def _png_folder(images: np.ndarray, folder: Path) -> Path:
    if len(image_files(folder)) != len(images):
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(images):
            Image.fromarray(img).save(folder / f"{i:05d}.png")
    return folder


def cifar10_jpeg(datasets: Path, data_dir: Path, n_a: int, n_b: int) -> tuple[Path, Path]:
    """A = n_a of the 50k training JPEGs, B = n_b of the 10k test JPEGs, copied byte for byte.

    A subset takes evenly spaced members of the sorted (class-ordered) list, so every class is present.
    """
    base = data_dir / f"cifar10-jpeg-{n_a}-{n_b}"
    train, test = (datasets / JPEG_TARS[split] for split in ("train", "test"))
    return _jpeg_folder(train, n_a, base / "a"), _jpeg_folder(test, n_b, base / "b")


def _jpeg_folder(tar_path: Path, n: int, folder: Path) -> Path:
    if len(image_files(folder)) == n:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".jpg")), key=lambda m: m.name)
        if n > len(members):
            raise SystemExit(f"{tar_path.name} holds {len(members)} images; {n} asked")
        for i in range(n):
            member = members[i * len(members) // n]
            flat = member.name.replace("/", "_")  # train/airplane/0001.jpg -> train_airplane_0001.jpg
            (folder / flat).write_bytes(tar.extractfile(member).read())
    return folder


def weights_with_head(weights: Path | None, data_dir: Path) -> Path:
    """A weights file all three tools load, named as pytorch-fid expects.

    The file reachable on the development machines lacks the 1008-way classifier head that
    torch-fidelity's and pytorch-fid's networks require; a seeded head is added, exactly as the tests'
    `weights_with_head` fixture does (it does not affect pool3, FID or KID). Canonical files pass through.
    """
    from ganeval.inception.store import resolve_weights
    from ganeval.inception.weights import read_state_dict

    source = resolve_weights(weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = read_state_dict(source)
    if "fc.weight" in state and source.name == PFID_WEIGHTS_NAME:
        return source
    target = data_dir / "weights" / f"{source.stem}-with-head" / PFID_WEIGHTS_NAME
    if not target.is_file():
        if "fc.weight" not in state:
            gen = torch.Generator().manual_seed(1234)
            state["fc.weight"] = torch.randn(1008, 2048, generator=gen) * 0.05
            state["fc.bias"] = torch.randn(1008, generator=gen) * 0.1
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)
    return target
