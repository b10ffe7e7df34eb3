"""The GPU layout (folded BatchNorm) computes the same network; precision names resolve and file apart."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ganeval.errors import InputError, StatisticsError
from ganeval.inception.precision import fold_all_batchnorm, protocol, resolve_precision
from ganeval.metrics.gaussian import GaussianStats
from ganeval.statsfile import LoadedStats, check_settings, stats_metadata

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


def test_folded_batchnorm_gives_the_same_pool3(extractor, cifar_tensor, ganeval_tf_features):
    """The GPU path folds BatchNorm into the convolutions; on real images and weights pool3 must not move."""
    from ganeval.inception.preprocess import preprocess

    folded = fold_all_batchnorm(copy.deepcopy(extractor.net))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    with torch.no_grad():
        pool3, _ = folded(preprocess(cifar_tensor[:8], "tf"))
    reference = ganeval_tf_features[0][:8]
    assert (pool3 - reference).abs().max() / reference.abs().max() < 1e-5


def test_precision_names_resolve_per_device():
    assert resolve_precision("default", CPU) == "strict"
    assert resolve_precision(None, CPU) == "strict"
    assert resolve_precision("default", CUDA) == "fp16"
    assert resolve_precision("fast", CUDA) == "bf16"
    assert resolve_precision("tf32", CUDA) == "tf32"
    with pytest.raises(InputError, match="for GPUs"):
        resolve_precision("fast", CPU)
    with pytest.raises(InputError, match="unknown precision"):
        resolve_precision("fp8", CUDA)


def test_fast_results_are_filed_and_checked_apart():
    assert protocol("tf", "strict") == protocol("tf", "fp16") == protocol("tf", "default") == "tf"
    assert protocol("tf", "fast") == protocol("tf", "bf16") == "tf+fast"
    meta = stats_metadata(weights_sha256="w", mode="tf+fast", layer="pool3", source="s", source_fingerprint="f")
    stats = GaussianStats(mu=np.zeros(2048), sigma=np.eye(2048), n=10)
    loaded = LoadedStats(stats=stats, meta=meta, path="fast.npz")
    check_settings(loaded, {"weights_sha256": "w", "mode": "tf+fast", "layer": "pool3"})
    with pytest.raises(StatisticsError, match=r"mode=tf\+fast \(requested tf\)"):
        check_settings(loaded, {"weights_sha256": "w", "mode": "tf", "layer": "pool3"}, force=False)
