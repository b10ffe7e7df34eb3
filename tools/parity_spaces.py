"""The parity figures of the feature spaces, as tests/test_space_parity.py checks them, printed as a table.

    python tools/parity_spaces.py            # about 2 minutes on 2 CPU cores

Seeded weights in each official layout (tests/layouts.py), 8 lossless CIFAR-10 images, the oracles of the
tests (timm, torch-fidelity 0.4.0, open_clip); prints the largest relative difference of the features
(max |ours - oracle| / max |oracle|) per space, size and mode.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganeval.features.registry import NetworkExtractor  # noqa: E402
from tests import test_space_parity as t  # noqa: E402
from tests.layouts import dinov2_state, write_clip_torchscript, write_vgg16  # noqa: E402


def main() -> None:
    warnings.simplefilter("ignore")
    data = ROOT.parent / "shared" / "datasets" / "cifar10-exact-subset" / "cifar10_train_first4000.npz"
    images = torch.from_numpy(np.load(data)["x"][:8]).permute(0, 3, 1, 2).contiguous()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = {"tiny (128-d, 2 blocks)": (128, 2), "ViT-S/14 (384-d, 12 blocks)": (384, 12)}
        for size, (dim, depth) in sizes.items():
            path = folder / f"dinov2-{dim}.pth"
            torch.save(dinov2_state(dim, depth, seed=21), path)
            state = torch.load(path, weights_only=True)
            oracle = t.timm_dinov2(state, 224, resample=True)
            for mode, x in t._dinov2_modes(images).items():
                ours = NetworkExtractor("dinov2-vit-s-14", weights=path, mode=mode, device="cpu").forward(images)[0]
                with torch.no_grad():
                    rows.append(("DINOv2 vs timm", size, mode, t.rel(ours, oracle(x))))
        shapes = {"tiny (128 wide, 2 blocks)": (128, 2, 8, 4, 64), "ViT-B/32": (768, 12, 32, 7, 512)}
        for size, shape in shapes.items():
            path = write_clip_torchscript(folder / f"clip-{shape[0]}.pt", *shape, seed=22)
            ours = NetworkExtractor("clip-vit-b-32", weights=path, mode="tf", device="cpu").forward(images)[0]
            with torch.no_grad():
                rows.append(("CLIP vs torch-fidelity", size, "tf", t.rel(ours, t.torch_fidelity_clip(path)(images)[0])))
            extractor = NetworkExtractor("clip-vit-b-32", weights=path, mode="clean", device="cpu")
            model = t.open_clip_visual(path)
            with torch.no_grad():
                want = model.encode_image(t._clean_fid_clip_input(images, extractor.resolution))
            rows.append(("CLIP vs open_clip", size, "clean", t.rel(extractor.forward(images)[0], want)))
        from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

        path = write_vgg16(folder / "vgg16.pth", seed=14)
        out = NetworkExtractor("vgg16", weights=path, device="cpu").run(images[:4], ("fc2_relu",))["fc2_relu"]
        oracle = FeatureExtractorVGG16("vgg16", ["fc2_relu"], feature_extractor_weights_path=str(path))
        with torch.no_grad():
            rows.append(("VGG16 vs torch-fidelity", "VGG16", "tf (fc2_relu)", t.rel(out, oracle(images[:4])[0])))
    print("| comparison | network | mode | max relative difference |\n|---|---|---|---|")
    for name, size, mode, value in rows:
        print(f"| {name} | {size} | {mode} | {value:.2g} |")


if __name__ == "__main__":
    main()
