"""Forward-pass arithmetic of the transformer and VGG spaces (Inception's is `ganeval.inception.precision`).

The same names mean the same arithmetic: ``exact`` and ``strict`` are float32 with TF32 off (what the
anchors compute on the CPU; there is no folded layout to tell them apart here), ``tf32`` allows
TensorFloat-32 matrix products on a GPU, ``fp16`` and ``bf16`` run the network under autocast on a GPU.
``default`` is float32 everywhere for these spaces: their reduced-precision error has not been measured
on a GPU yet (benchmarks/RESULTS.md), so it is not the default. Results of ``bf16`` are filed apart
(protocol ``MODE+fast``), as Inception's are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from ganeval.config import PRECISION_ALIASES, PRECISION_CHOICES
from ganeval.errors import InputError

FLOAT32 = ("exact", "strict")


def resolve_precision(name: str | None, device: torch.device, network: str = "inception") -> str:
    """The concrete precision `name` means for `network` on `device`."""
    if network == "inception":
        from ganeval.inception.precision import resolve_precision as inception_precision

        return inception_precision(name, device)
    name = name or "default"
    if name not in PRECISION_CHOICES:
        raise InputError(f"unknown precision {name!r}; choose one of {', '.join(PRECISION_CHOICES)}")
    if name == "default":
        return "strict"
    name = PRECISION_ALIASES.get(name, name)
    if device.type != "cuda" and name not in FLOAT32:
        raise InputError(f"precision {name!r} is for GPUs; on the CPU choose exact or strict (both float32)")
    return name


@contextmanager
def arithmetic(precision: str, device: torch.device) -> Iterator[None]:
    """The forward pass's arithmetic for `precision` (process-global switches restored afterwards)."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    try:
        if precision in ("fp16", "bf16"):
            dtype = torch.float16 if precision == "fp16" else torch.bfloat16
            with torch.autocast("cuda", dtype=dtype):
                yield
        else:
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before
