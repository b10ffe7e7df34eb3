"""VGG16 up to its second fully connected layer, from torchvision's `vgg16-397923af.pth`.

The features of published precision/recall (Kynkäänniemi et al. 2019; torch-fidelity's `prc`, StyleGAN's
`pr50k3`): the 4096-d `fc2` output, after its ReLU (`fc2_relu`, the default) or before (`fc2`).
"""

from __future__ import annotations

import torch
from torch import nn

from ganeval.errors import WeightsError


class VGG16Features(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.features, self.avgpool = net.features, net.avgpool
        self.fc1, self.fc2 = net.classifier[0], net.classifier[3]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """fc2 before its ReLU (dropout is the identity at inference)."""
        x = torch.flatten(self.avgpool(self.features(x)), 1)
        return self.fc2(torch.relu(self.fc1(x)))


def build(state: dict[str, torch.Tensor], where: str) -> VGG16Features:
    import torchvision

    net = torchvision.models.vgg16()
    try:
        net.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError) as exc:
        raise WeightsError(f"{where} does not fit torchvision's VGG16: {str(exc).splitlines()[0]}") from None
    return VGG16Features(net).eval().requires_grad_(False)
