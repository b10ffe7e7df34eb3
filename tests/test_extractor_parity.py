"""The extractor against the anchors' networks on the same real images and the same weights file.

"Relative error" here is max |ours - theirs| / max |theirs| over the whole feature matrix: per-element
ratios are meaningless for pool3 entries that are (near) zero after the ReLUs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from ganeval.inception.preprocess import preprocess


def rel_err(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return float((ours - theirs).abs().max() / theirs.abs().max())


def test_tf_mode_matches_torch_fidelity(weights_with_head, cifar_tensor, ganeval_tf_features, exact_extractor):
    """exact: bit-identical to torch-fidelity; the default (strict) within 1e-5 of it."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    tfd = FeatureExtractorInceptionV3(
        "inception-v3-compat",
        ["2048", "logits_unbiased"],
        feature_extractor_weights_path=str(weights_with_head),
    )
    with torch.no_grad():
        pool3, logits = tfd(cifar_tensor)
    ours_pool3, ours_logits = ganeval_tf_features
    assert ours_pool3.shape == (48, 2048) and ours_logits.shape == (48, 1008)
    assert rel_err(ours_pool3, pool3) <= 1e-5
    assert rel_err(ours_logits, logits) <= 1e-5
    exact_pool3, exact_logits = exact_extractor.forward(cifar_tensor, with_logits=True)
    assert torch.equal(exact_pool3, pool3) and torch.equal(exact_logits, logits)


def test_pytorch_mode_matches_pytorch_fid(weights_with_head, cifar_tensor):
    """pytorch-fid loads the same file from a private torch hub directory (its only loading route)."""
    from pytorch_fid.inception import InceptionV3

    from ganeval.extractor import InceptionExtractor

    images = cifar_tensor[:16]
    hub_dir = torch.hub.get_dir()
    checkpoints = weights_with_head.parent / "hub"
    (checkpoints / "checkpoints").mkdir(parents=True, exist_ok=True)
    target = checkpoints / "checkpoints" / weights_with_head.name
    if not target.exists():
        target.symlink_to(weights_with_head)
    torch.hub.set_dir(str(checkpoints))
    try:
        pfid = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    finally:
        torch.hub.set_dir(hub_dir)
    with torch.no_grad():
        theirs = pfid(images.float() / 255)[0].squeeze(-1).squeeze(-1)
    ours, _ = InceptionExtractor(weights_with_head, mode="pytorch", device="cpu").forward(images)
    assert rel_err(ours, theirs) <= 1e-5
    exact, _ = InceptionExtractor(weights_with_head, mode="pytorch", device="cpu", precision="exact").forward(images)
    assert torch.equal(exact, theirs)


def test_clean_mode_resize_matches_clean_fid(cifar_images):
    from cleanfid.resize import build_resizer

    resize = build_resizer("clean")
    theirs = np.stack([resize(img) for img in cifar_images[:4]]).transpose(0, 3, 1, 2)
    theirs = (torch.from_numpy(theirs) - 128) / 128
    ours = preprocess(torch.from_numpy(cifar_images[:4]).permute(0, 3, 1, 2).contiguous(), "clean")
    assert torch.equal(ours, theirs)


def test_torchscript_conversion_matches_its_source(torchscript_weights, cifar_tensor):
    """The converted network reproduces the NVIDIA TorchScript model it was converted from."""
    from ganeval.inception.weights import build_network, read_state_dict

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = torch.jit.load(str(torchscript_weights), map_location="cpu").eval()
        net = build_network(read_state_dict(torchscript_weights))
    x = preprocess(cifar_tensor[:4], "tf")
    with torch.no_grad():
        theirs = source(x).reshape(4, 2048)
        ours, _ = net(x)
    assert rel_err(ours, theirs) <= 2e-6


def test_mixed_sizes_match_one_by_one(extractor, cifar_images):
    """Images of different sizes in one batch give the features each gets alone."""
    big = np.kron(cifar_images[0], np.ones((2, 2, 1), dtype=np.uint8))  # 64 x 64
    images = [torch.from_numpy(a).permute(2, 0, 1).contiguous() for a in (cifar_images[1], big, cifar_images[2])]
    together, _ = extractor.forward(images)
    alone = torch.cat([extractor.forward(img[None])[0] for img in images])
    assert rel_err(together, alone) <= 1e-6


def test_is_requires_head(headless_weights, cifar_tensor):
    from ganeval.errors import WeightsError
    from ganeval.extractor import InceptionExtractor

    headless = InceptionExtractor(headless_weights, device="cpu")
    if headless.has_head:
        pytest.skip("the resolved weights carry a classifier head")
    with pytest.raises(WeightsError, match="classifier head"):
        headless.forward(cifar_tensor[:2], with_logits=True)
