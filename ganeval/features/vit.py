"""The pre-norm transformer block that DINOv2 and CLIP's vision tower share.

Both use one fused q/k/v projection whose rows are [q; k; v], heads contiguous within each (DINOv2's
`attn.qkv`, CLIP's `nn.MultiheadAttention.in_proj_weight`), scaled dot-product attention with scale
1/sqrt(head_dim), an output projection, and an MLP; they differ in the activation (exact GELU or
QuickGELU), the LayerNorm epsilon, DINOv2's LayerScale and ViT-g's SwiGLU feed-forward. Parameter names
follow DINOv2's files, so those load as they are; `ganeval.features.clip` renames CLIP's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class QuickGELU(nn.Module):
    """CLIP's activation: x * sigmoid(1.702 x)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, act: nn.Module):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), act, nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwiGLU(nn.Module):
    """ViT-g's feed-forward: w3(silu(x1) * x2) with [x1; x2] = w12(x)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w12, self.w3 = nn.Linear(dim, 2 * hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class LayerScale(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    """x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x))); LayerScale only where the file has it."""

    def __init__(
        self,
        dim: int,
        heads: int,
        hidden: int,
        eps: float,
        act: nn.Module | None = None,
        layer_scale: bool = False,
        swiglu: bool = False,
    ):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = SwiGLU(dim, hidden) if swiglu else Mlp(dim, hidden, act or nn.GELU())
        self.ls1 = LayerScale(dim) if layer_scale else nn.Identity()
        self.ls2 = LayerScale(dim) if layer_scale else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


def heads_for(dim: int, where: str) -> int:
    """Both families use 64-wide heads at every size; the files do not record the head count."""
    if dim % 64:
        raise ValueError(f"{where}: width {dim} is not a multiple of the 64-wide heads")
    return dim // 64


def count_blocks(state: dict[str, torch.Tensor], prefix: str, suffix: str) -> int:
    """How many `prefix<N>suffix` keys the state dict has, checking they are numbered 0..n-1."""
    found = sorted(int(k[len(prefix) :].split(".")[0]) for k in state if k.startswith(prefix) and k.endswith(suffix))
    if found != list(range(len(found))):
        raise ValueError(f"blocks under {prefix} are not numbered 0..n-1")
    return len(found)
