"""The FID Inception network (`inception-2015-12-05`, the TF graph every published FID uses) in torch.

Parameter names follow pytorch-fid's `pt_inception-2015-12-05-6726825d.pth` (and torch-fidelity's copy
of it), so that file loads without renaming. The graph differs from torchvision's InceptionV3 in four
places that move FID: average pools exclude padding, the last block max-pools its pool branch, the
classifier has 1008 outputs, and BatchNorm has no learned scale (gamma = 1) with eps = 1e-3.

One forward pass yields both the 2048-d pool3 features (FID, KID) and, when the classifier head is
loaded, the 1008-d `logits_unbiased` (pool3 @ W^T without bias; Inception Score).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

POOL3_DIM = 2048
LOGITS_DIM = 1008
SPATIAL_LAYER = "mixed_6/conv"  # ADM's sFID tap
SPATIAL_DIM = 17 * 17 * 7


class ConvBN(nn.Module):
    """Convolution without bias, inference BatchNorm, ReLU: the unit every Inception layer uses."""

    def __init__(self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)

    def pooled(self, x: torch.Tensor, pool_first: bool) -> torch.Tensor:
        """This unit applied to `_avg_pool(x)`. The pool is linear with weights summing to 1 and the
        convolution is 1x1 with BatchNorm affine per channel, so the pool commutes with both: pooling
        after them (`pool_first=False`) gives the same values up to rounding, on fewer channels."""
        if pool_first:
            return self(_avg_pool(x))
        return F.relu(_avg_pool(self.bn(self.conv(x))), inplace=True)


def _avg_pool(x: torch.Tensor) -> torch.Tensor:
    # TF averages only over the in-image part of the window at borders.
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x, 3, stride=1, padding=1)


class PoolBranchBlock(nn.Module):
    """A block with an average-pooled branch; `pool_first` says whether its pool runs before the branch's
    1x1 convolution, as in the TF graph (True), or after it (see `ConvBN.pooled`)."""

    pool_first = True


class Mixed35(PoolBranchBlock):
    """Mixed_5b/5c/5d: 1x1, 1x1->5x5, 1x1->3x3->3x3 and avg-pool->1x1 branches at 35x35."""

    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = ConvBN(cin, 64, 1)
        self.branch5x5_1 = ConvBN(cin, 48, 1)
        self.branch5x5_2 = ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, padding=1)
        self.branch_pool = ConvBN(cin, pool_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch5x5_2(self.branch5x5_1(x)),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                self.branch_pool.pooled(x, self.pool_first),
            ],
            1,
        )


class Reduce35to17(nn.Module):
    """Mixed_6a: strided 3x3, strided double 3x3 and max-pool branches, 35x35 -> 17x17."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvBN(96, 96, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch3x3(x),
                self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                F.max_pool2d(x, 3, stride=2),
            ],
            1,
        )


class Mixed17(PoolBranchBlock):
    """Mixed_6b..6e: factorised 7x7 convolutions (1x7 and 7x1) at 17x17."""

    def __init__(self, cin: int, c7: int):
        super().__init__()
        self.branch1x1 = ConvBN(cin, 192, 1)
        self.branch7x7_1 = ConvBN(cin, c7, 1)
        self.branch7x7_2 = ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = ConvBN(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = ConvBN(cin, c7, 1)
        self.branch7x7dbl_2 = ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = ConvBN(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = ConvBN(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = ConvBN(c7, 192, (1, 7), padding=(0, 3))
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = layer(d7)
        return torch.cat([self.branch1x1(x), b7, d7, self.branch_pool.pooled(x, self.pool_first)], 1)


class Reduce17to8(nn.Module):
    """Mixed_7a: strided branches and max-pool, 17x17 -> 8x8."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = ConvBN(cin, 192, 1)
        self.branch3x3_2 = ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvBN(192, 192, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class Mixed8(PoolBranchBlock):
    """Mixed_7b/7c: expanded 1x3 + 3x1 branches at 8x8; the TF graph's 7c pools with max, 7b with avg."""

    def __init__(self, cin: int, max_pool_branch: bool):
        super().__init__()
        self.max_pool_branch = max_pool_branch
        self.branch1x1 = ConvBN(cin, 320, 1)
        self.branch3x3_1 = ConvBN(cin, 384, 1)
        self.branch3x3_2a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvBN(cin, 448, 1)
        self.branch3x3dbl_2 = ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = ConvBN(cin, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3_2a(s),
                self.branch3x3_2b(s),
                self.branch3x3dbl_3a(d),
                self.branch3x3dbl_3b(d),
                self._pool_branch(x),
            ],
            1,
        )

    def _pool_branch(self, x: torch.Tensor) -> torch.Tensor:
        if self.max_pool_branch:  # max does not commute with the convolution
            return self.branch_pool(_max_pool(x))
        return self.branch_pool.pooled(x, self.pool_first)


class FIDInception(nn.Module):
    """Inception-v3 as in the 2015-12-05 TF graph; input is already resized to 299 and scaled to [-1, 1)."""

    def __init__(self, with_head: bool = True):
        super().__init__()
        self.Conv2d_1a_3x3 = ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = ConvBN(80, 192, 3)
        self.Mixed_5b = Mixed35(192, 32)
        self.Mixed_5c = Mixed35(256, 64)
        self.Mixed_5d = Mixed35(288, 64)
        self.Mixed_6a = Reduce35to17(288)
        self.Mixed_6b = Mixed17(768, 128)
        self.Mixed_6c = Mixed17(768, 160)
        self.Mixed_6d = Mixed17(768, 160)
        self.Mixed_6e = Mixed17(768, 192)
        self.Mixed_7a = Reduce17to8(768)
        self.Mixed_7b = Mixed8(1280, max_pool_branch=False)
        self.Mixed_7c = Mixed8(2048, max_pool_branch=True)
        self.fc = nn.Linear(POOL3_DIM, LOGITS_DIM) if with_head else None

    def pool_after_conv(self) -> FIDInception:
        """Move every average pool of a pool branch after its 1x1 convolution: 4-10x fewer channels to pool."""
        for block in self.blocks():
            if isinstance(block, PoolBranchBlock):
                block.pool_first = False
        return self

    @property
    def has_head(self) -> bool:
        return self.fc is not None

    def pool3(self, x: torch.Tensor) -> torch.Tensor:
        """2048-d pool3 features of normalised 299x299 images."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in self.blocks():
            x = block(x)
        # Averaged in float32 whatever the trunk's dtype: pool3 is what every statistic is built from.
        return torch.flatten(F.adaptive_avg_pool2d(x.float(), 1), 1)

    def blocks(self) -> Sequence[nn.Module]:
        return (
            self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
            self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c,
        )  # fmt: skip

    def logits_unbiased(self, pool3: torch.Tensor) -> torch.Tensor:
        """Classifier logits without bias, the input torch-fidelity and the TF code use for IS."""
        if self.fc is None:
            raise RuntimeError("this network was built without the classifier head")
        return pool3 @ self.fc.weight.T

    def forward(self, x: torch.Tensor, with_logits: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        pool3 = self.pool3(x)
        return pool3, (self.logits_unbiased(pool3) if with_logits else None)

    def taps(self, x: torch.Tensor, with_logits: bool = False, spatial: bool = False) -> dict[str, torch.Tensor]:
        """pool3, and on request the logits and ADM's sFID tensor, from one pass of normalised images.

        The sFID tensor is the output of Mixed_6d's 1x1 branch (TF `mixed_6/conv`, after BatchNorm and ReLU),
        its first 7 channels, flattened in TF's H, W, C order: 17 x 17 x 7 = 2023 values per image.
        """
        captured: list[torch.Tensor] = []
        hook = None
        if spatial:
            hook = self.Mixed_6d.branch1x1.register_forward_hook(lambda _m, _i, out: captured.append(out[:, :7]))
        try:
            out = {"pool3": self.pool3(x)}
        finally:
            if hook is not None:
                hook.remove()
        if spatial:
            out[SPATIAL_LAYER] = captured[0].float().permute(0, 2, 3, 1).reshape(len(x), -1)
        if with_logits:
            out["logits"] = self.logits_unbiased(out["pool3"])
        return out
