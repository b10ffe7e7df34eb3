"""The registry of feature spaces: which network, which layer, which preprocessing modes (torch-free).

A *space* is what a metric looks through: a network, the layer read from it, and the preprocessing
modes that reproduce the published suites. Its name is part of every result, cache key, statistics file
and benchmark record, so two numbers computed in different spaces are never mixed. A *network* is what
a weights file holds; several spaces may read one network (`inception` and `inception-spatial`).

This module imports no torch: the command line builds its choices and checks its arguments from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ganeval.errors import InputError, check

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class WeightsFile:
    """The official file of a network, as its publisher names and addresses it."""

    filename: str
    url: str | None
    sha256: str | None = None  # the full digest, where the publisher gives one
    sha256_prefix: str | None = None  # torchvision names files after the first hex digits of theirs
    size: str = ""  # for messages: "1.2 GB"
    layout: str = ""  # what the file holds, for `weights import` errors
    other_names: tuple[str, ...] = ()  # names under which other tools keep it in the torch hub cache


@dataclass(frozen=True)
class Network:
    """A network family member: how to build it (`family`) and where its weights come from."""

    name: str
    family: str  # inception | dinov2 | clip | vgg16: the module of ganeval.features that builds it
    weights: WeightsFile | None  # None: Inception, whose weights ganeval.inception.store resolves
    resolution: int  # input size in pixels


@dataclass(frozen=True)
class FeatureSpace:
    """One space: a network, the layer read from it, and the preprocessing modes it supports."""

    name: str
    network: str
    layers: tuple[str, ...]  # the first is the default
    dim: int  # of the default layer with the official weights (smaller seeded test networks differ)
    modes: tuple[str, ...]  # the first is the default
    about: str  # one line: what it is and which suites use it
    layer_dims: dict[str, int] = field(default_factory=dict)

    @property
    def layer(self) -> str:
        return self.layers[0]

    @property
    def default_mode(self) -> str:
        return self.modes[0]


_DINOV2_URL = "https://dl.fbaipublicfiles.com/dinov2/{short}/{short}_pretrain.pth"
_CLIP_URL = "https://openaipublic.azureedge.net/clip/models/{sha}/{name}.pt"
_DINOV2_LAYOUT = (
    "the official DINOv2 backbone state dict (cls_token, pos_embed, mask_token, patch_embed.proj.*, blocks.N.*, norm.*)"
)
_CLIP_LAYOUT = "OpenAI's CLIP TorchScript archive (or its state dict) with visual.* tensors"

NETWORKS: dict[str, Network] = {"inception": Network("inception", "inception", None, 299)}
_DINOV2 = {"s": ("vits14", 384, "84 MB"), "b": ("vitb14", 768, "330 MB"), "l": ("vitl14", 1024, "1.2 GB"),
           "g": ("vitg14", 1536, "4.2 GB")}  # fmt: skip
for _size, (_arch, _dim, _bytes) in _DINOV2.items():
    _short = f"dinov2_{_arch}"
    NETWORKS[f"dinov2-vit-{_size}-14"] = Network(
        f"dinov2-vit-{_size}-14",
        "dinov2",
        WeightsFile(f"{_short}_pretrain.pth", _DINOV2_URL.format(short=_short), size=_bytes, layout=_DINOV2_LAYOUT),
        224,
    )
# OpenAI publishes each file's sha256 as part of its address.
_CLIP = {
    "clip-vit-b-32": ("ViT-B-32", "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", 224, 512),
    "clip-vit-b-16": ("ViT-B-16", "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f", 224, 512),
    "clip-vit-l-14": ("ViT-L-14", "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836", 224, 768),
    "clip-vit-l-14-336": (
        "ViT-L-14-336px", "3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02", 336, 768
    ),
}  # fmt: skip
_CLIP_BYTES = {"clip-vit-b-32": "350 MB", "clip-vit-b-16": "350 MB", "clip-vit-l-14": "890 MB",
               "clip-vit-l-14-336": "890 MB"}  # fmt: skip
for _name, (_file, _sha, _res, _dim) in _CLIP.items():
    _bytes = _CLIP_BYTES[_name]
    NETWORKS[_name] = Network(
        _name,
        "clip",
        WeightsFile(
            f"{_file}.pt",
            _CLIP_URL.format(sha=_sha, name=_file),
            sha256=_sha,
            size=_bytes,
            layout=_CLIP_LAYOUT,
            # torch-fidelity keeps its download as "<space>-<sha>.pt" in the torch hub cache.
            other_names=(f"{_name.replace('-336', '-336px')}-{_sha}.pt",),
        ),
        _res,
    )
NETWORKS["vgg16"] = Network(
    "vgg16",
    "vgg16",
    WeightsFile(
        "vgg16-397923af.pth",
        "https://download.pytorch.org/models/vgg16-397923af.pth",
        sha256_prefix="397923af",
        size="528 MB",
        layout="torchvision's VGG16 state dict (features.N.*, classifier.{0,3,6}.*)",
    ),
    224,
)

SPACES: dict[str, FeatureSpace] = {
    "inception": FeatureSpace(
        "inception", "inception", ("pool3",), 2048, ("tf", "pytorch", "clean"),
        "FID Inception (2015-12-05 TF graph) pool3: FID, KID, IS, precision/recall of every classic suite",
    ),
    "inception-spatial": FeatureSpace(
        "inception-spatial", "inception", ("mixed_6/conv",), 2023, ("tf", "pytorch", "clean"),
        "the same network's Mixed_6d 1x1 branch, first 7 channels at 17 x 17, flattened H, W, C: ADM's sFID",
    ),
    "vgg16": FeatureSpace(
        "vgg16", "vgg16", ("fc2_relu", "fc2"), 4096, ("tf",),
        "torchvision VGG16 fc2 after ReLU: precision/recall as published (torch-fidelity prc, StyleGAN pr50k3)",
        {"fc2_relu": 4096, "fc2": 4096},
    ),
}  # fmt: skip
for _size, (_arch, _dim, _) in _DINOV2.items():
    SPACES[f"dinov2-vit-{_size}-14"] = FeatureSpace(
        f"dinov2-vit-{_size}-14",
        f"dinov2-vit-{_size}-14",
        ("cls",),
        _dim,
        ("edm2", "pil", "tf"),
        f"DINOv2 ViT-{_size.upper()}/14 CLS token after the final LayerNorm (EDM2's FD_DINOv2, dgm-eval)",
    )
for _name, (_file, _, _res, _dim) in _CLIP.items():
    SPACES[_name] = FeatureSpace(
        _name,
        _name,
        ("embed",),
        _dim,
        ("cmmd", "tf", "clean") if _name == "clip-vit-l-14-336" else ("tf", "clean", "cmmd"),
        f"CLIP {_file} image embedding ln_post(CLS) @ proj (torch-fidelity, clean-fid CLIP-FID, CMMD)",
    )

MODE_ABOUT = {
    "tf": "TF1's bilinear resize (torch-fidelity, the TF FID code, StyleGAN), then the network's normalisation",
    "pytorch": "pytorch-fid's torch bilinear resize",
    "clean": "clean-fid's PIL bicubic resize (CLIP: short side to the resolution, centre crop)",
    "edm2": "EDM2's torch bicubic resize with antialias, in float, then ImageNet mean/std",
    "pil": "dgm-eval's PIL bicubic resize to uint8, then ImageNet mean/std",
    "cmmd": "the CMMD reference: centre crop to a square, PIL bicubic resize, CLIP mean/std",
}


def get_space(name: str) -> FeatureSpace:
    if name not in SPACES:
        raise InputError(f"unknown feature space {name!r}; choose from {', '.join(SPACES)}")
    return SPACES[name]


def get_network(name: str) -> Network:
    """A network by its own name or by the name of a space that reads it."""
    if name in SPACES:
        name = SPACES[name].network
    if name not in NETWORKS:
        raise InputError(f"unknown network {name!r}; choose from {', '.join(NETWORKS)}")
    return NETWORKS[name]


def parse_space(spec: str) -> tuple[str, str]:
    """`"vgg16"` -> ("vgg16", "fc2_relu"); `"vgg16:fc2"` -> ("vgg16", "fc2"): a space and one of its layers."""
    name, _, layer = spec.partition(":")
    space = get_space(name.strip())
    layer = layer.strip() or space.layer
    check(layer in space.layers, f"space {space.name} has no layer {layer!r}; its layers: {', '.join(space.layers)}")
    return space.name, layer


def check_mode(space: str, mode: str) -> str:
    known = get_space(space).modes
    check(mode in known, f"mode {mode!r} is not one of {space}'s: {', '.join(known)}")
    return mode


def register_space(space: FeatureSpace, network: Network | None = None) -> None:
    """Add a space (and the network it reads, if new); the name must be new and the network known."""
    check(space.name not in SPACES, f"feature space {space.name!r} is already registered")
    if network is not None:
        check(network.name not in NETWORKS, f"network {network.name!r} is already registered")
        NETWORKS[network.name] = network
    check(space.network in NETWORKS, f"space {space.name} reads unknown network {space.network!r}")
    check(bool(space.layers) and bool(space.modes), f"space {space.name} needs at least one layer and one mode")
    SPACES[space.name] = space
