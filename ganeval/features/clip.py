"""CLIP's vision tower (ViT variants) built from OpenAI's TorchScript files (`ViT-B-32.pt`, ...).

Only the `visual.*` tensors are read; the architecture (width, depth, patch size, resolution, embedding
size) comes from their shapes, heads are 64 wide as in every released model. The feature is the image
embedding `ln_post(CLS) @ proj` that `model.encode_image` returns, computed in float32 (the released files
store float16 weights; they are used as stored, widened to float32). QuickGELU, LayerNorm eps 1e-5.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch
from torch import nn

from ganeval.errors import WeightsError
from ganeval.features.vit import Block, QuickGELU, count_blocks, heads_for

LAYERNORM_EPS = 1e-5
PREFIX = "visual."
# OpenAI's names inside each residual block -> ganeval.features.vit.Block's.
_RENAMES = (
    ("attn.in_proj_weight", "attn.qkv.weight"),
    ("attn.in_proj_bias", "attn.qkv.bias"),
    ("attn.out_proj.", "attn.proj."),
    ("ln_1.", "norm1."),
    ("ln_2.", "norm2."),
    ("mlp.c_fc.", "mlp.fc1."),
    ("mlp.c_proj.", "mlp.fc2."),
)


class CLIPVisual(nn.Module):
    def __init__(self, width: int, depth: int, patch: int, grid: int, embed: int):
        super().__init__()
        self.resolution = patch * grid
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = nn.LayerNorm(width, eps=LAYERNORM_EPS)
        heads = heads_for(width, "CLIP")
        self.blocks = nn.ModuleList(Block(width, heads, 4 * width, LAYERNORM_EPS, QuickGELU()) for _ in range(depth))
        self.ln_post = nn.LayerNorm(width, eps=LAYERNORM_EPS)
        self.proj = nn.Parameter(torch.zeros(width, embed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.conv1(x).flatten(2).transpose(1, 2)
        cls = self.class_embedding.to(tokens.dtype).expand(len(tokens), 1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.positional_embedding.to(tokens.dtype)
        tokens = self.ln_pre(tokens)
        for block in self.blocks:
            tokens = block(tokens)
        return self.ln_post(tokens[:, 0]) @ self.proj


def read_visual_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The `visual.*` tensors of a CLIP file: a TorchScript archive (OpenAI's) or a plain state dict."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                state = torch.jit.load(str(path), map_location="cpu").state_dict()
            except RuntimeError:  # not TorchScript: a state dict saved with torch.save
                state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a corrupt file
        raise WeightsError(f"cannot read CLIP weights {path}: {str(exc).splitlines()[0]}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    visual = {k[len(PREFIX) :]: v for k, v in dict(state).items() if k.startswith(PREFIX)}
    if "proj" not in visual or "conv1.weight" not in visual:
        raise WeightsError(f"{path} is not a CLIP ViT file: it lacks visual.proj or visual.conv1.weight")
    return visual


def _renamed(key: str) -> str:
    if key.startswith("transformer.resblocks."):
        key = "blocks." + key[len("transformer.resblocks.") :]
        for old, new in _RENAMES:
            key = key.replace(old, new)
    return key


def build(visual: dict[str, torch.Tensor], where: str) -> CLIPVisual:
    """The vision tower the `visual.*` tensors describe, in float32, eval mode, without gradients."""
    try:
        width, patch = visual["conv1.weight"].shape[0], visual["conv1.weight"].shape[-1]
        grid = round(math.sqrt(visual["positional_embedding"].shape[0] - 1))
        depth = count_blocks(visual, "transformer.resblocks.", ".attn.in_proj_weight")
        net = CLIPVisual(width, depth, patch, grid, visual["proj"].shape[1])
        net.load_state_dict({_renamed(k): v.float() for k, v in visual.items()}, strict=True)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise WeightsError(f"{where} does not fit the CLIP ViT layout: {str(exc).splitlines()[0]}") from None
    return net.eval().requires_grad_(False)
