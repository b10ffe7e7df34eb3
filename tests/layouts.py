"""Seeded random weights written in each network's official file layout, for the parity tests.

The real DINOv2, CLIP and VGG16 weights cannot be downloaded on the machines that test ganeval, so the
tests write files with the official key names, shapes and containers (a state dict for DINOv2 and VGG16,
a TorchScript archive for CLIP) and load the same file in ganeval and in an oracle that shares none of
ganeval's code (timm, torch-fidelity, open_clip). Nothing here imports ganeval.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn


def _normal(gen: torch.Generator, *shape: int, std: float = 0.02, mean: float = 0.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen) * std + mean


def dinov2_state(dim: int, depth: int, seed: int, grid: int = 37, patch: int = 14, swiglu: bool = False) -> dict:
    """A DINOv2 backbone state dict as `dinov2_vit*14_pretrain.pth` holds it (keys, shapes, order)."""
    gen = torch.Generator().manual_seed(seed)
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    state["cls_token"] = _normal(gen, 1, 1, dim, std=0.5)
    state["pos_embed"] = _normal(gen, 1, grid * grid + 1, dim, std=0.5)
    state["mask_token"] = torch.zeros(1, dim)
    state["patch_embed.proj.weight"] = _normal(gen, dim, 3, patch, patch, std=0.05)
    state["patch_embed.proj.bias"] = _normal(gen, dim, std=0.1)
    hidden = (int(4 * dim * 2 / 3) + 7) // 8 * 8 if swiglu else 4 * dim
    for i in range(depth):
        p = f"blocks.{i}."
        state[p + "norm1.weight"] = _normal(gen, dim, std=0.1, mean=1.0)
        state[p + "norm1.bias"] = _normal(gen, dim, std=0.1)
        state[p + "attn.qkv.weight"] = _normal(gen, 3 * dim, dim, std=dim**-0.5)
        state[p + "attn.qkv.bias"] = _normal(gen, 3 * dim, std=0.1)
        state[p + "attn.proj.weight"] = _normal(gen, dim, dim, std=dim**-0.5)
        state[p + "attn.proj.bias"] = _normal(gen, dim, std=0.1)
        state[p + "ls1.gamma"] = _normal(gen, dim, std=0.1, mean=0.5)
        state[p + "norm2.weight"] = _normal(gen, dim, std=0.1, mean=1.0)
        state[p + "norm2.bias"] = _normal(gen, dim, std=0.1)
        if swiglu:
            state[p + "mlp.w12.weight"] = _normal(gen, 2 * hidden, dim, std=dim**-0.5)
            state[p + "mlp.w12.bias"] = _normal(gen, 2 * hidden, std=0.1)
            state[p + "mlp.w3.weight"] = _normal(gen, dim, hidden, std=hidden**-0.5)
            state[p + "mlp.w3.bias"] = _normal(gen, dim, std=0.1)
        else:
            state[p + "mlp.fc1.weight"] = _normal(gen, hidden, dim, std=dim**-0.5)
            state[p + "mlp.fc1.bias"] = _normal(gen, hidden, std=0.1)
            state[p + "mlp.fc2.weight"] = _normal(gen, dim, hidden, std=hidden**-0.5)
            state[p + "mlp.fc2.bias"] = _normal(gen, dim, std=0.1)
        state[p + "ls2.gamma"] = _normal(gen, dim, std=0.1, mean=0.5)
    state["norm.weight"] = _normal(gen, dim, std=0.1, mean=1.0)
    state["norm.bias"] = _normal(gen, dim, std=0.1)
    return state


class _Holder(nn.Module):
    """A container of parameters; TorchScript compiles every submodule's forward, so it has a trivial one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class _ResBlock(_Holder):
    def __init__(self, width: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, width // 64)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [("c_fc", nn.Linear(width, 4 * width)), ("gelu", nn.GELU()), ("c_proj", nn.Linear(4 * width, width))]
            )
        )
        self.ln_2 = nn.LayerNorm(width)


class _Transformer(_Holder):
    def __init__(self, width: int, layers: int):
        super().__init__()
        self.resblocks = nn.Sequential(*[_ResBlock(width) for _ in range(layers)])


class _Visual(_Holder):
    def __init__(self, width: int, layers: int, patch: int, grid: int, embed: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = _Transformer(width, layers)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.zeros(width, embed))


class _CLIP(_Holder):
    """OpenAI's CLIP module tree (visual tower and a small text tower), parameters only."""

    def __init__(self, width: int, layers: int, patch: int, grid: int, embed: int, text_width: int = 64):
        super().__init__()
        self.visual = _Visual(width, layers, patch, grid, embed)
        self.token_embedding = nn.Embedding(64, text_width)
        self.positional_embedding = nn.Parameter(torch.zeros(8, text_width))
        self.transformer = _Transformer(text_width, 1)
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(torch.zeros(text_width, embed))
        self.logit_scale = nn.Parameter(torch.ones([]))


def write_clip_torchscript(path: Path, width: int, layers: int, patch: int, grid: int, embed: int, seed: int) -> Path:
    """A TorchScript archive with CLIP's parameter names, float16 values (as OpenAI's files store them)."""
    gen = torch.Generator().manual_seed(seed)
    model = _CLIP(width, layers, patch, grid, embed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.dim() == 0:
                value = torch.full_like(param, 4.6052)  # log(1 / 0.07), CLIP's initial logit scale
            elif "ln_" in name and name.endswith(".weight"):
                value = _normal(gen, *param.shape, std=0.1, mean=1.0)
            elif name.endswith("bias"):
                value = _normal(gen, *param.shape, std=0.1)
            elif name.endswith("class_embedding") or name.endswith("positional_embedding"):
                value = _normal(gen, *param.shape, std=0.5)
            else:
                fan_in = param.shape[-1] if param.dim() == 2 else param[0].numel()
                value = _normal(gen, *param.shape, std=fan_in**-0.5)
            param.copy_(value)
    model = model.half()
    torch.jit.save(torch.jit.script(model), str(path))
    return path


def write_vgg16(path: Path, seed: int) -> Path:
    """torchvision's VGG16 state dict (`vgg16-397923af.pth`'s layout) with seeded initial weights."""
    import torchvision

    torch.manual_seed(seed)
    torch.save(torchvision.models.vgg16().state_dict(), path)
    return path
