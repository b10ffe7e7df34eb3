"""Numerical precision of the Inception forward pass, and how the network is laid out for it.

FID is a difference of large numbers, so the arithmetic is part of the protocol. The choices:

- ``exact``: the reference layout as the anchors run it (separate BatchNorm, NCHW memory), float32, TF32
  off. On the CPU its features are bit-identical to torch-fidelity's and pytorch-fid's.
- ``strict``: float32, TF32 off, with BatchNorm folded into the convolutions and channels-last memory:
  the same arithmetic with another summation order, much faster on CPUs and GPUs. The default on the CPU.
- ``tf32``: float32 storage, TensorFloat-32 convolutions (PyTorch's own default for cuDNN, and so what
  torch-fidelity and pytorch-fid run on a GPU).
- ``fp16``: weights and activations in float16 with float32 accumulation. Its inputs to each convolution
  carry the same 10-bit mantissa as TF32, so the error is of the same size, at half the memory traffic.
- ``bf16``: bfloat16 (8-bit mantissa): the fastest, with a larger error.

``default`` is ``strict`` on the CPU and ``DEFAULT_CUDA`` on a GPU; ``fast`` is ``bf16``. The measured
errors and speeds are in benchmarks/RESULTS.md. Results computed with ``fast`` are kept apart in the cache
and in statistics files (their protocol name ends in ``+fast``); the others differ from ``exact`` by less
than the TF32 arithmetic the anchors themselves use on GPUs, so they share entries.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ganeval.config import PRECISION_ALIASES, PRECISION_CHOICES
from ganeval.errors import InputError

CHOICES = PRECISION_CHOICES
ALIASES = PRECISION_ALIASES
CPU_PRECISIONS = ("exact", "strict")
DEFAULT_CUDA = "fp16"
FAST = frozenset({"bf16"})

_DTYPES = {
    "exact": torch.float32,
    "strict": torch.float32,
    "tf32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}


def resolve_precision(name: str | None, device: torch.device) -> str:
    """The concrete precision that `name` means on `device`."""
    name = name or "default"
    if name not in CHOICES:
        raise InputError(f"unknown precision {name!r}; choose one of {', '.join(CHOICES)}")
    if name == "default":
        return DEFAULT_CUDA if device.type == "cuda" else "strict"
    name = ALIASES.get(name, name)
    if device.type != "cuda" and name not in CPU_PRECISIONS:
        raise InputError(f"precision {name!r} is for GPUs; on the CPU choose exact or strict (both float32)")
    return name


def protocol(mode: str, precision: str | None) -> str:
    """The name results are filed under: the preprocessing mode, marked when the arithmetic is the fast one."""
    return f"{mode}+fast" if ALIASES.get(precision or "", precision) in FAST else mode


def compute_dtype(precision: str) -> torch.dtype:
    return _DTYPES[precision]


@contextmanager
def tf32_convolutions(enabled: bool) -> Iterator[None]:
    """cuDNN's TF32 switch for the duration of a forward pass, restored afterwards (it is process-global)."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32 = before


def fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """One convolution with bias equal to conv followed by inference BatchNorm (one pass instead of two)."""
    gamma = bn.weight if bn.weight is not None else 1
    scale = gamma / torch.sqrt(bn.running_var + bn.eps)
    shift = (bn.bias if bn.bias is not None else 0) - bn.running_mean * scale
    fused = copy.deepcopy(conv)
    fused.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1), requires_grad=False)
    conv_bias = conv.bias if conv.bias is not None else 0
    fused.bias = nn.Parameter(conv_bias * scale + shift, requires_grad=False)
    return fused


def fold_all_batchnorm(net: nn.Module) -> nn.Module:
    """Fold every conv + BatchNorm pair of the network in place (inference only)."""
    from ganeval.inception.network import ConvBN  # local: the network module imports nothing from here

    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, ConvBN) and not isinstance(module.bn, nn.Identity):
                module.conv = fold_batchnorm(module.conv, module.bn)
                module.bn = nn.Identity()
    return net


def prepare_for_device(net: nn.Module, device: torch.device, precision: str) -> nn.Module:
    """`net` (already on `device`) laid out for `precision`: as it is for ``exact``; otherwise BatchNorm
    folded into the convolutions, the pool branches' average pools moved after their 1x1 convolutions,
    channels-last memory and the trunk cast to the compute dtype (the classifier head stays float32)."""
    if precision == "exact":
        return net
    fold_all_batchnorm(net)
    net.pool_after_conv()
    dtype = compute_dtype(precision)
    for name, child in net.named_children():
        if name != "fc":
            child.to(dtype=dtype, memory_format=torch.channels_last)
    net.requires_grad_(False)
    return net


def uses_fast_layout(precision: str) -> bool:
    """Whether inputs must be cast and laid out channels-last before the network (see `prepare_for_device`)."""
    return precision != "exact"
