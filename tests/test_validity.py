"""Metric validity: the disturbances, and a reduced run of Heusel et al.'s Figure 1 on real CIFAR-10.

The full experiment (six disturbances, five levels, thousands of images, Fashion-MNIST and CIFAR-10) is
`benchmarks/validity.py` on the GPU machine; here two disturbances at three levels on 32 images against
48 clean ones (160 forward passes, plus the session's 48) check that FID and KID rise with the level.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

from ganeval.disturbances import DISTURBANCES, disturb
from ganeval.errors import InputError
from ganeval.metrics import RankDeficientWarning, fid_from_features, kernel_inception_distance
from ganeval.metrics.prdc import precision_recall_density_coverage
from tests.conftest import data_root

LEVELS = (0.0, 0.5, 1.0)
N_DISTURBED = 32


def _options(name: str, images: np.ndarray) -> dict:
    return {"other": images[::-1].copy()} if name == "contamination" else {}


@pytest.fixture(scope="module")
def small_images() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(4, 16, 12, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", list(DISTURBANCES))
def test_disturbance_is_seeded_pure_and_grows_with_level(name, small_images):
    before = small_images.copy()
    options = _options(name, small_images)

    outputs = [disturb(name, small_images, level, seed=3, **options) for level in LEVELS]

    np.testing.assert_array_equal(small_images, before)  # input untouched
    np.testing.assert_array_equal(outputs[0], small_images)  # level 0 is the identity
    np.testing.assert_array_equal(disturb(name, small_images, 1.0, seed=3, **options), outputs[2])
    for out in outputs:
        assert out.dtype == np.uint8 and out.shape == small_images.shape
    change = [np.abs(out.astype(int) - small_images).mean() for out in outputs]
    assert change[0] == 0 < change[1] < change[2]


def test_disturbance_errors(small_images):
    with pytest.raises(InputError, match="unknown disturbance"):
        disturb("fog", small_images, 0.5)
    with pytest.raises(InputError, match=r"level must be in \[0, 1\]"):
        disturb("swirl", small_images, 1.5)
    with pytest.raises(InputError, match="uint8 N x H x W x 3"):
        disturb("swirl", small_images.astype(np.float32), 0.5)
    with pytest.raises(InputError, match="needs other="):
        disturb("contamination", small_images, 0.5)
    with pytest.raises(InputError, match="must match"):
        disturb("contamination", small_images, 0.5, other=small_images[:, :8])


@pytest.fixture(scope="module")
def disturbed_set() -> np.ndarray:
    """32 real CIFAR-10 training images, disjoint from the 48 of the session fixture."""
    path = data_root() / "cifar10-exact-subset" / "cifar10_train_first4000.npz"
    if not path.is_file():
        pytest.skip(f"real data not found at {path} (set GANEVAL_DATA)")
    return np.load(path)["x"][48 : 48 + N_DISTURBED]


def _pool3(extractor, images: np.ndarray) -> torch.Tensor:
    return extractor.forward(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())[0]


@pytest.fixture(scope="module")
def clean_features(extractor, disturbed_set) -> torch.Tensor:
    """Level 0 is the same for every disturbance: computed once."""
    return _pool3(extractor, disturbed_set)


@pytest.mark.parametrize("name", ["gaussian_noise", "gaussian_blur"])
def test_fid_and_kid_rise_with_disturbance_level(name, extractor, ganeval_tf_features, disturbed_set, clean_features):
    """The FID paper's Figure 1 in small, with the fidelity metrics beside it: as images get worse, FID and KID
    rise and precision and density (how much of the generated set lies on the real manifold) fall."""
    reference = ganeval_tf_features[0]  # pool3 of the 48 clean images, computed once per session
    fids, kids, precisions, densities = [], [], [], []
    start = time.perf_counter()
    for level in LEVELS:
        features = clean_features if level == 0 else _pool3(extractor, disturb(name, disturbed_set, level, seed=0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RankDeficientWarning)  # n < 2048: biased, but ordered
            fids.append(fid_from_features(reference, features))
        kids.append(kernel_inception_distance(reference, features, subset_size=N_DISTURBED)[0])
        knn = precision_recall_density_coverage(reference, features)
        precisions.append(knn["precision"])
        densities.append(knn["density"])
    elapsed = time.perf_counter() - start
    print(f"\n{name}: levels {LEVELS} FID {np.round(fids, 2)} KID {np.round(kids, 5)} precision "
          f"{np.round(precisions, 3)} density {np.round(densities, 3)} ({elapsed:.0f} s)")  # fmt: skip

    assert fids[0] < fids[1] < fids[2], fids
    assert kids[0] < kids[1] < kids[2], kids
    assert precisions[0] > precisions[2] and precisions[1] >= precisions[2], precisions
    assert densities[0] > densities[1] > densities[2], densities
