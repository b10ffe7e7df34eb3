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


def _rel(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return float((ours - theirs).abs().max() / theirs.abs().max())


def test_each_step_of_the_fast_layout_computes_the_same_network(exact_extractor, cifar_tensor):
    """BatchNorm folded, then the pool branches' pools moved after their 1x1 convolutions, then channels-last:
    each step changes rounding only (measured here: pool3 within 2e-6 relative of the exact layout)."""
    from ganeval.inception.preprocess import preprocess

    x = preprocess(cifar_tensor[:8], "tf")
    with torch.no_grad():
        exact, _ = exact_extractor.net(x)
        folded_net = fold_all_batchnorm(copy.deepcopy(exact_extractor.net))
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded_net.modules())
        folded, _ = folded_net(x)
        commuted, _ = folded_net.pool_after_conv()(x)
        last = folded_net.to(memory_format=torch.channels_last)
        channels_last, _ = last(x.contiguous(memory_format=torch.channels_last))
    assert 0 < _rel(folded, exact) < 1e-5
    assert 0 < _rel(commuted, folded) < 1e-6  # the pool commutes with the 1x1 convolution
    assert _rel(channels_last, exact) < 1e-5


def test_the_default_cpu_arithmetic_is_batch_invariant(extractor, cifar_tensor):
    """The pool3 of 12 images is bit-identical in one batch, in 12 batches of one and in 5 + 7, so streamed
    updates equal one pass (the Scorer's tests rely on it)."""
    images = cifar_tensor[:12]
    whole, _ = extractor.forward(images)
    ones = torch.cat([extractor.forward(images[i : i + 1])[0] for i in range(12)])
    split = torch.cat([extractor.forward(images[:5])[0], extractor.forward(images[5:])[0]])
    assert torch.equal(whole, ones) and torch.equal(whole, split)


def test_precision_names_resolve_per_device():
    assert resolve_precision("default", CPU) == "strict"
    assert resolve_precision(None, CPU) == "strict"
    assert resolve_precision("exact", CPU) == "exact" and resolve_precision("exact", CUDA) == "exact"
    assert resolve_precision("default", CUDA) == "fp16"
    assert resolve_precision("fast", CUDA) == "bf16"
    assert resolve_precision("tf32", CUDA) == "tf32"
    with pytest.raises(InputError, match="for GPUs"):
        resolve_precision("fast", CPU)
    with pytest.raises(InputError, match="unknown precision"):
        resolve_precision("fp8", CUDA)


def test_fast_results_are_filed_and_checked_apart():
    assert protocol("tf", "exact") == protocol("tf", "strict") == protocol("tf", "fp16") == protocol("tf", "default")
    assert protocol("tf", "strict") == "tf"
    assert protocol("tf", "fast") == protocol("tf", "bf16") == "tf+fast"
    meta = stats_metadata(weights_sha256="w", mode="tf+fast", layer="pool3", source="s", source_fingerprint="f")
    stats = GaussianStats(mu=np.zeros(2048), sigma=np.eye(2048), n=10)
    loaded = LoadedStats(stats=stats, meta=meta, path="fast.npz")
    check_settings(loaded, {"weights_sha256": "w", "mode": "tf+fast", "layer": "pool3"})
    with pytest.raises(StatisticsError, match=r"mode=tf\+fast \(requested tf\)"):
        check_settings(loaded, {"weights_sha256": "w", "mode": "tf", "layer": "pool3"}, force=False)
