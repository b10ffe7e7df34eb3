"""Building extractors by space name: the DINOv2, CLIP and VGG16 networks behind one class, Inception apart.

`build_extractor("dinov2-vit-l-14", weights=..., mode="edm2")` resolves the weights (see
`ganeval.features.weights`), builds the network from the file's own shapes, and returns an `Extractor`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganeval.errors import InputError, WeightsError
from ganeval.features.base import Extractor, resolve_device
from ganeval.features.precision import arithmetic, resolve_precision
from ganeval.features.preprocess import prepare
from ganeval.features.spaces import SPACES, check_mode, get_network, get_space
from ganeval.features.weights import file_digest, resolve

VIT_INPUT = 224  # DINOv2 runs at 224 x 224 in every suite (EDM2, dgm-eval, torch-fidelity)


def default_batch_size(device: torch.device) -> int:
    return 256 if device.type == "cuda" else 32


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt or foreign file
        raise WeightsError(f"cannot read weights file {path}: {str(exc).splitlines()[0]}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def load_network(name: str, path: Path) -> nn.Module:
    """The network `name` (dinov2-*, clip-*, vgg16) built from the weights file `path`."""
    network = get_network(name)
    where = f"{path} ({network.name})"
    if network.family == "dinov2":
        from ganeval.features.dinov2 import build

        return build(_read_state(path), where)
    if network.family == "clip":
        from ganeval.features.clip import build, read_visual_state

        return build(read_visual_state(path), where)
    if network.family == "vgg16":
        from ganeval.features.vgg import build

        return build(_read_state(path), where)
    raise InputError(f"{network.name} is built by ganeval.inception, not here")


class NetworkExtractor(Extractor):
    """A DINOv2, CLIP or VGG16 space's network with one preprocessing mode, on one device."""

    def __init__(
        self,
        space: str,
        weights: str | Path | None = None,
        mode: str | None = None,
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        precision: str | None = None,
        download: bool = True,
    ):
        spec = get_space(space)
        network = get_network(spec.network)
        self.space, self.network, self.family, self.layer = spec.name, network.name, network.family, spec.layer
        self.mode = check_mode(spec.name, mode or spec.default_mode)
        self.device = resolve_device(device)
        self.batch_size = batch_size or default_batch_size(self.device)
        if self.batch_size < 1:
            raise InputError(f"batch size must be positive, got {self.batch_size}")
        self.precision = resolve_precision(precision, self.device, network.name)
        self.protocol = f"{self.mode}+fast" if self.precision == "bf16" else self.mode
        self.weights_path = resolve(network.name, weights, download=download)
        self.weights_sha256 = file_digest(self.weights_path)
        self.net = load_network(network.name, self.weights_path).to(self.device)
        self.resolution = getattr(self.net, "resolution", VIT_INPUT)
        self.dim = _output_dim(self.net)

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        return prepare(images, self.family, self.mode, self.resolution)

    def _taps(self, x: torch.Tensor, taps: tuple[str, ...], with_logits: bool) -> dict[str, torch.Tensor]:
        with arithmetic(self.precision, self.device):
            y = self.net(x).float()
        if self.family != "vgg16":
            return {self.layer: y}
        out = {"fc2": y, "fc2_relu": torch.relu(y)}
        return {k: out[k] for k in taps}


def _output_dim(net: nn.Module) -> int:
    if hasattr(net, "proj") and isinstance(net.proj, torch.Tensor):
        return int(net.proj.shape[1])  # CLIP
    if hasattr(net, "norm"):
        return int(net.norm.normalized_shape[0])  # DINOv2
    return int(net.fc2.out_features)  # VGG16


def build_extractor(
    space: str,
    weights: str | Path | None = None,
    mode: str | None = None,
    device: str | torch.device | None = None,
    batch_size: int | None = None,
    precision: str | None = None,
    download: bool = True,
) -> Extractor:
    """The extractor of `space` (any name of `ganeval.features.spaces.SPACES`)."""
    spec = get_space(space)
    if spec.network == "inception":
        from ganeval.features.inception import InceptionExtractor

        return InceptionExtractor(weights, mode or spec.default_mode, device, batch_size, precision)
    return NetworkExtractor(spec.name, weights, mode, device, batch_size, precision, download)


__all__ = ["SPACES", "NetworkExtractor", "build_extractor", "load_network"]
