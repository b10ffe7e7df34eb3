"""DINOv2 backbones (without registers) built from the official `dinov2_vit*14_pretrain.pth` files.

The architecture is read from the file (width, depth, patch size, position grid, SwiGLU or MLP), heads
are 64 wide as in every official size. The feature is the CLS token after the final LayerNorm, what
`torch.hub.load("facebookresearch/dinov2", ...)(x)` returns.

At 224 x 224 the 37 x 37 position grid (trained at 518) is resampled as the official code does it:
bicubic, no antialias, in float32, with the scale factor (16 + 0.1) / 37 rather than the output size.
PyTorch maps output pixels through the scale factor when one is given, so this is not the same as
resizing to 16 x 16, and other ViT libraries (which pass the size) give other features.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganeval.errors import WeightsError
from ganeval.features.vit import Block, count_blocks, heads_for

INTERPOLATE_OFFSET = 0.1
LAYERNORM_EPS = 1e-6


class PatchEmbed(nn.Module):
    def __init__(self, dim: int, patch: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, stride=patch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class DINOv2(nn.Module):
    def __init__(self, dim: int, depth: int, patch: int, grid: int, hidden: int, swiglu: bool):
        super().__init__()
        self.patch = patch
        self.patch_embed = PatchEmbed(dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid + 1, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))  # in the files; unused for features
        heads = heads_for(dim, "DINOv2")
        self.blocks = nn.ModuleList(
            Block(dim, heads, hidden, LAYERNORM_EPS, layer_scale=True, swiglu=swiglu) for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim, eps=LAYERNORM_EPS)
        self._positions: dict[tuple[int, int, torch.device, torch.dtype], torch.Tensor] = {}

    def positions(self, rows: int, cols: int) -> torch.Tensor:
        """The position embedding for an input of rows x cols pixels (resampled once per size)."""
        key = (rows, cols, self.pos_embed.device, self.pos_embed.dtype)
        if key not in self._positions:
            self._positions[key] = interpolate_positions(self.pos_embed, rows // self.patch, cols // self.patch)
        return self._positions[key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = x.shape[2], x.shape[3]
        tokens = self.patch_embed(x)
        tokens = torch.cat([self.cls_token.expand(len(tokens), -1, -1), tokens], dim=1)
        tokens = tokens + self.positions(rows, cols).to(tokens.dtype)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)[:, 0]


def interpolate_positions(pos_embed: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """The official `interpolate_pos_encoding`: the patch grid resampled to rows x cols patches."""
    n = pos_embed.shape[1] - 1
    grid = int(math.sqrt(n))
    if n == rows * cols and rows == cols:
        return pos_embed
    dim = pos_embed.shape[-1]
    original = pos_embed.float()
    patches = original[:, 1:].reshape(1, grid, grid, dim).permute(0, 3, 1, 2)
    scale = ((rows + INTERPOLATE_OFFSET) / grid, (cols + INTERPOLATE_OFFSET) / grid)
    patches = F.interpolate(patches, scale_factor=scale, mode="bicubic", antialias=False)
    if patches.shape[-2:] != (rows, cols):
        raise ValueError(f"position grid {grid} resampled to {tuple(patches.shape[-2:])}, not {(rows, cols)}")
    patches = patches.permute(0, 2, 3, 1).reshape(1, rows * cols, dim)
    return torch.cat([original[:, :1], patches], dim=1).to(pos_embed.dtype)


def build(state: dict[str, torch.Tensor], where: str) -> DINOv2:
    """The backbone a state dict describes, with its weights loaded (eval mode, no gradients)."""
    required = ("cls_token", "pos_embed", "patch_embed.proj.weight", "norm.weight", "blocks.0.attn.qkv.weight")
    missing = [k for k in required if k not in state]
    if missing:
        raise WeightsError(f"{where} is not a DINOv2 backbone file: it lacks {', '.join(missing)}")
    if "register_tokens" in state:
        raise WeightsError(f"{where} is a DINOv2 model with registers; the dinov2 spaces read models without")
    try:
        dim = state["cls_token"].shape[-1]
        depth = count_blocks(state, "blocks.", ".norm1.weight")
        patch = state["patch_embed.proj.weight"].shape[-1]
        grid = round(math.sqrt(state["pos_embed"].shape[1] - 1))
        swiglu = "blocks.0.mlp.w12.weight" in state
        hidden = state["blocks.0.mlp.w3.weight"].shape[1] if swiglu else state["blocks.0.mlp.fc1.weight"].shape[0]
        net = DINOv2(dim, depth, patch, grid, hidden, swiglu)
        net.load_state_dict(state, strict=True)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise WeightsError(f"{where} does not fit the DINOv2 layout: {str(exc).splitlines()[0]}") from None
    return net.eval().requires_grad_(False)
