"""Each feature space against an oracle that shares none of ganeval's code, on real CIFAR-10 images and
seeded weights written in the network's official file layout (tests/layouts.py):

- DINOv2 against timm's ViT, given the position embedding resampled with the official formula (and the raw
  network at 518 x 518 without any resampling), in the edm2, pil and tf modes;
- CLIP against torch-fidelity 0.4.0's extractor (tf mode, end to end through its FID) and open_clip (clean
  and cmmd modes);
- VGG16 against torch-fidelity's extractor (fc2_relu) and its `prc` end to end;
- the sFID tensor's properties, and CMMD against the formula written out here in float64.

Small networks keep the suite fast; one full-size network per family (DINOv2 ViT-S/14, CLIP ViT-B/32, VGG16)
checks that the official sizes load and agree too.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import ganeval
from ganeval.features.registry import NetworkExtractor
from tests.conftest import write_folder
from tests.layouts import dinov2_state, write_clip_torchscript

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max() / b.double().abs().max())


def normalise(x: torch.Tensor, stats) -> torch.Tensor:
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in stats)
    return (x / 255 - mean) / std


# ---------------------------------------------------------------- DINOv2 against timm


def official_positions(pos_embed: torch.Tensor, patches: int) -> torch.Tensor:
    """The official DINOv2 `interpolate_pos_encoding` for a square input, written out for the oracle."""
    grid = int((pos_embed.shape[1] - 1) ** 0.5)
    scale = (patches + 0.1) / grid
    grid_part = pos_embed[:, 1:].reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
    grid_part = F.interpolate(grid_part, scale_factor=(scale, scale), mode="bicubic", antialias=False)
    return torch.cat([pos_embed[:, :1], grid_part.permute(0, 2, 3, 1).reshape(1, patches * patches, -1)], dim=1)


def timm_dinov2(state: dict, size: int, resample: bool):
    import timm

    dim = state["cls_token"].shape[-1]
    depth = len({k.split(".")[1] for k in state if k.startswith("blocks.")})
    model = timm.create_model(
        "vit_small_patch14_dinov2", pretrained=False, img_size=size, embed_dim=dim, depth=depth,
        num_heads=dim // 64, init_values=1.0, num_classes=0,
    )  # fmt: skip
    weights = {k: v for k, v in state.items() if k != "mask_token"}
    if resample:
        weights["pos_embed"] = official_positions(state["pos_embed"], size // 14)
    model.load_state_dict(weights, strict=True)
    return model.eval()


@pytest.fixture(scope="module")
def dinov2_full(tmp_path_factory) -> Path:
    """A full-size ViT-S/14 backbone file (384-d, 12 blocks) with seeded weights."""
    path = tmp_path_factory.mktemp("dinov2") / "dinov2_vits14_pretrain.pth"
    torch.save(dinov2_state(384, 12, seed=21), path)
    return path


def _dinov2_modes(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The three suites' preprocessing as they write it: EDM2 (torch bicubic, antialias), dgm-eval (PIL bicubic
    on uint8), torch-fidelity (TF1 bilinear)."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    edm2 = normalise(F.interpolate(images.float(), size=(224, 224), mode="bicubic", antialias=True), IMAGENET)
    pil = torch.from_numpy(
        np.stack(
            [
                np.asarray(Image.fromarray(im).resize((224, 224), Image.BICUBIC))
                for im in images.permute(0, 2, 3, 1).numpy()
            ]
        )
    ).permute(0, 3, 1, 2)
    tf = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(224, 224), align_corners=False)
    mean, std = (torch.tensor([255 * v for v in s]).view(1, 3, 1, 1) for s in IMAGENET)
    return {"edm2": edm2, "pil": normalise(pil.float(), IMAGENET), "tf": (tf - mean) / std}


@pytest.mark.parametrize("size", ["tiny", "full"])
def test_dinov2_equals_timm_in_every_mode(size, space_weights, dinov2_full, cifar_tensor):
    path = space_weights["dinov2-vit-s-14"] if size == "tiny" else dinov2_full
    state = torch.load(path, weights_only=True)
    oracle = timm_dinov2(state, 224, resample=True)
    images = cifar_tensor[:6]
    inputs = _dinov2_modes(images)
    for mode, x in inputs.items():
        ours = NetworkExtractor("dinov2-vit-s-14", weights=path, mode=mode, device="cpu").forward(images)[0]
        with torch.no_grad():
            want = oracle(x)
        assert ours.shape == want.shape == (6, state["cls_token"].shape[-1])
        assert rel(ours, want) <= 1e-4, mode


def test_dinov2_raw_network_at_518_equals_timm_without_resampling(space_weights):
    """At the training resolution the position grid is used as stored: both networks see the same tensor."""
    from ganeval.features.dinov2 import build

    state = torch.load(space_weights["dinov2-vit-s-14"], weights_only=True)
    ours = build(state, "test")
    oracle = timm_dinov2(state, 518, resample=False)
    x = torch.randn(2, 3, 518, 518, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        assert rel(ours(x), oracle(x)) <= 1e-5


def test_dinov2_resampling_follows_the_scale_factor_not_the_size(space_weights):
    """The official scale factor (16.1 / 37) and a plain resize to 16 x 16 give different grids: ganeval must
    give the official one (other ViT libraries give the other)."""
    from ganeval.features.dinov2 import interpolate_positions

    pos = torch.load(space_weights["dinov2-vit-s-14"], weights_only=True)["pos_embed"]
    ours = interpolate_positions(pos, 16, 16)
    assert torch.equal(ours, official_positions(pos, 16))
    grid = pos[:, 1:].reshape(1, 37, 37, -1).permute(0, 3, 1, 2)
    by_size = (
        F.interpolate(grid, size=(16, 16), mode="bicubic", antialias=False).permute(0, 2, 3, 1).reshape(1, 256, -1)
    )
    assert rel(ours[:, 1:], by_size) > 1e-3


# ---------------------------------------------------------------- CLIP against torch-fidelity and open_clip


@pytest.fixture(scope="module")
def clip_full(tmp_path_factory) -> Path:
    """A full-size ViT-B/32 TorchScript file (768 wide, 12 blocks, 512-d embedding) with seeded float16 weights."""
    return write_clip_torchscript(tmp_path_factory.mktemp("clip") / "ViT-B-32.pt", 768, 12, 32, 7, 512, seed=22)


def torch_fidelity_clip(path: Path):
    from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FeatureExtractorCLIP("clip-vit-b-32", ["clip"], feature_extractor_weights_path=str(path)).eval()


@pytest.mark.parametrize("size", ["tiny", "full"])
def test_clip_tf_mode_equals_torch_fidelity(size, space_weights, clip_full, cifar_tensor):
    path = space_weights["clip-vit-b-32"] if size == "tiny" else clip_full
    images = cifar_tensor[:8]
    ours = NetworkExtractor("clip-vit-b-32", weights=path, mode="tf", device="cpu").forward(images)[0]
    with torch.no_grad():
        want = torch_fidelity_clip(path)(images)[0]
    assert rel(ours, want) <= 1e-5


def test_clip_fd_equals_torch_fidelity_end_to_end(space_weights, cifar_images, tmp_path):
    """torch-fidelity reads the PNG folders, runs its CLIP extractor and its FID; ganeval does the same."""
    import torch_fidelity

    real = write_folder(cifar_images[:20], tmp_path / "real")
    fake = write_folder(cifar_images[20:40], tmp_path / "fake")
    path = space_weights["clip-vit-b-32"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch_fidelity.calculate_metrics(
            input1=str(fake), input2=str(real), fid=True, feature_extractor="clip-vit-b-32",
            feature_extractor_weights_path=str(path), cuda=False, verbose=False, cache=False,
            samples_shuffle=False,
        )["frechet_inception_distance"]  # fmt: skip
    got = ganeval.score(real, fake, "fd", features="clip-vit-b-32", mode="tf", weights={"clip-vit-b-32": path},
                        device="cpu", progress=False, cache=False)  # fmt: skip
    assert got["fd"] == pytest.approx(want, rel=1e-6)
    assert got["features"] == "clip-vit-b-32" and got["spaces"]["fd"]["mode"] == "tf"


def open_clip_visual(path: Path):
    import open_clip

    state = torch.jit.load(str(path), map_location="cpu").state_dict()
    return open_clip.model.build_model_from_openai_state_dict(state).float().eval()


def _clean_fid_clip_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """clean-fid's CLIP preprocessing as it writes it: torchvision Resize(size, bicubic) and CenterCrop(size) on
    the PIL image, then /255 and CLIP's Normalize."""
    import torchvision.transforms as T

    crop = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(size)])
    arrays = [np.asarray(crop(Image.fromarray(im))) for im in images.permute(0, 2, 3, 1).numpy()]
    return normalise(torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float(), CLIP)


@pytest.mark.parametrize("size", ["tiny", "full"])
def test_clip_clean_mode_equals_open_clip_with_clean_fid_preprocessing(size, space_weights, clip_full, cifar_tensor):
    path = space_weights["clip-vit-b-32"] if size == "tiny" else clip_full
    model = open_clip_visual(path)
    images = cifar_tensor[:6]
    extractor = NetworkExtractor("clip-vit-b-32", weights=path, mode="clean", device="cpu")
    ours = extractor.forward(images)[0]
    with torch.no_grad():
        want = model.encode_image(_clean_fid_clip_input(images, extractor.resolution))
    assert rel(ours, want) <= 1e-5


def _cmmd_input(images: np.ndarray, size: int) -> torch.Tensor:
    """The CMMD reference's reading: centred square crop, PIL bicubic resize, float /255; then its torch bicubic
    resize (to the same size) and CLIP's normalisation."""
    out = []
    for im in images:
        pil = Image.fromarray(im)
        w, h = pil.size
        side = min(w, h)
        box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
        out.append(np.asarray(pil.crop(box).resize((size, size), resample=Image.BICUBIC)).astype(np.float32) / 255)
    x = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)
    x = F.interpolate(x, size=(size, size), mode="bicubic")
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in CLIP)
    return (x - mean) / std


def cmmd_float64(x: np.ndarray, y: np.ndarray, sigma: float = 10.0) -> float:
    """The formula of Jayasumana et al. 2024 written out: biased MMD^2, diagonals included, times 1000."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def k(a, b):
        d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
        return np.exp(-d2 / (2 * sigma**2)).mean()

    return 1000 * (k(x, x) + k(y, y) - 2 * k(x, y))


def test_cmmd_metric_equals_the_formula_and_float32_differs_by_little():
    from ganeval.metrics.cmmd import cmmd

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(60, 32)), rng.normal(size=(50, 32)) + 0.3
    assert cmmd(x, y, device="cpu") == pytest.approx(cmmd_float64(x, y), rel=1e-10)
    assert cmmd(x, x, device="cpu") == pytest.approx(0.0, abs=1e-9)
    # The reference computes in float32 (JAX): measured here, its value moves by under 1e-3 relative.
    x32, y32 = (v / np.linalg.norm(v, axis=1, keepdims=True) for v in (x.astype(np.float32), y.astype(np.float32)))
    gamma = np.float32(1 / 200)

    def k32(a, b):
        d2 = -2 * a @ b.T + (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :]
        return np.exp(-gamma * d2).mean(dtype=np.float32)

    ref32 = 1000 * (k32(x32, x32) + k32(y32, y32) - 2 * k32(x32, y32))
    assert abs(ref32 - cmmd_float64(x, y)) / cmmd_float64(x, y) < 1e-3


def test_cmmd_pipeline_equals_open_clip_with_the_reference_preprocessing(space_weights, cifar_images):
    path = space_weights["clip-vit-l-14-336"]
    real, fake = cifar_images[:10], cifar_images[10:20]
    model = open_clip_visual(path)
    with torch.no_grad():
        x = model.encode_image(_cmmd_input(real, 336)).double().numpy()
        y = model.encode_image(_cmmd_input(fake, 336)).double().numpy()
    got = ganeval.score(real, fake, "cmmd", weights={"clip-vit-l-14-336": path}, device="cpu", progress=False)
    assert got["cmmd"] == pytest.approx(cmmd_float64(x, y), rel=1e-5)
    assert got["spaces"]["cmmd"] | {"weights_sha256": None} == {
        "features": "clip-vit-l-14-336", "layer": "embed", "mode": "cmmd", "weights_sha256": None
    }  # fmt: skip


# ---------------------------------------------------------------- VGG16 against torch-fidelity


def test_vgg16_fc2_relu_equals_torch_fidelity(space_weights, cifar_tensor):
    from torch_fidelity.feature_extractor_vgg16 import FeatureExtractorVGG16

    path = space_weights["vgg16"]
    images = cifar_tensor[:4]
    extractor = NetworkExtractor("vgg16", weights=path, device="cpu")
    out = extractor.run(images, ("fc2_relu", "fc2"))
    oracle = FeatureExtractorVGG16("vgg16", ["fc2", "fc2_relu"], feature_extractor_weights_path=str(path))
    with torch.no_grad():
        fc2, fc2_relu = oracle(images)
    assert out["fc2_relu"].shape == (4, 4096)
    assert rel(out["fc2_relu"], fc2_relu) <= 1e-5 and rel(out["fc2"], fc2) <= 1e-5


def test_vgg16_precision_recall_equal_torch_fidelity_prc(space_weights, cifar_images, tmp_path):
    import torch_fidelity

    real = write_folder(cifar_images[:10], tmp_path / "real")
    fake = write_folder(cifar_images[8:18], tmp_path / "fake")  # two shared images: not all balls are empty
    path = space_weights["vgg16"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch_fidelity.calculate_metrics(
            input1=str(fake), input2=str(real), prc=True, feature_extractor="vgg16",
            feature_extractor_weights_path=str(path), cuda=False, verbose=False, cache=False, samples_shuffle=False,
        )  # fmt: skip
    got = ganeval.score(real, fake, "pr", features="vgg16", weights=str(path), device="cpu", progress=False)
    assert (got["precision"], got["recall"]) == (pytest.approx(want["precision"]), pytest.approx(want["recall"]))
    assert got["features"] == "vgg16" and got["spaces"]["pr"]["layer"] == "fc2_relu"


# ---------------------------------------------------------------- inception-spatial


def test_sfid_tensor_is_a_relu_output_of_2023_values_and_flatten_order_does_not_move_fd(extractor, cifar_tensor):
    out = extractor.run(cifar_tensor[:10], ("pool3", "mixed_6/conv"))
    spatial = out["mixed_6/conv"]
    assert spatial.shape == (10, 2023) and bool((spatial >= 0).all())
    assert torch.equal(out["pool3"], extractor.forward(cifar_tensor[:10])[0])  # the same pass gives both
    hwc = spatial.view(10, 17, 17, 7)
    chw = hwc.permute(0, 3, 1, 2).reshape(10, -1)  # another flatten order permutes the coordinates
    a, b = spatial[:5].double(), spatial[5:].double()
    fd_hwc = ganeval.fid_from_features(a, b)
    fd_chw = ganeval.fid_from_features(chw[:5].double(), chw[5:].double())
    assert fd_hwc == pytest.approx(fd_chw, rel=1e-9)


def test_sfid_of_identical_sets_is_zero(extractor, cifar_images):
    got = ganeval.score(cifar_images[:6], cifar_images[:6].copy(), "sfid,fid", extractor=extractor, progress=False)
    assert got["sfid"] == 0.0 and got["fid"] == 0.0
    assert got["spaces"]["sfid"]["features"] == "inception-spatial"
