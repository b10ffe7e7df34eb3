"""The FID Inception network as an `Extractor`: pool3 (the `inception` space), ADM's sFID tensor (the
`inception-spatial` space) and the IS logits, all from one forward pass.

The network is loaded once per extractor and kept on its device; a training loop or a test session
creates one and reuses it. Images of different sizes are resized one by one (each resize depends on its
own image only), then stacked at 299 x 299 so the network always runs on full batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganeval.errors import WeightsError
from ganeval.features.base import Extractor, resolve_device
from ganeval.inception.network import POOL3_DIM, SPATIAL_LAYER
from ganeval.inception.precision import (
    compute_dtype,
    prepare_for_device,
    protocol,
    resolve_precision,
    tf32_convolutions,
    uses_fast_layout,
)
from ganeval.inception.preprocess import check_mode, preprocess
from ganeval.inception.store import HEADLESS_HINT, resolve_weights
from ganeval.inception.weights import build_network, read_state_dict, trunk_digest

FEATURE_LAYER = "pool3"


def default_batch_size(device: torch.device) -> int:
    """Large enough to fill an H100 (throughput is flat from about 500 up); small on the CPU."""
    return 500 if device.type == "cuda" else 32


class InceptionExtractor(Extractor):
    """The FID Inception network with one preprocessing mode, on one device."""

    network = "inception"
    space = "inception"
    layer = FEATURE_LAYER
    dim = POOL3_DIM

    def __init__(
        self,
        weights: str | Path | None = None,
        mode: str = "tf",
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        precision: str | None = None,
    ):
        from ganeval.errors import InputError

        self.mode = check_mode(mode)
        self.device = resolve_device(device)
        self.batch_size = batch_size or default_batch_size(self.device)
        if self.batch_size < 1:
            raise InputError(f"batch size must be positive, got {self.batch_size}")
        self.weights_path = resolve_weights(weights)
        state = read_state_dict(self.weights_path)
        self.weights_sha256 = trunk_digest(state)
        self.precision = resolve_precision(precision, self.device)
        self.protocol = protocol(self.mode, self.precision)
        self._dtype = compute_dtype(self.precision)
        self.net = prepare_for_device(build_network(state).to(self.device), self.device, self.precision)

    @classmethod
    def from_settings(cls, settings: Any) -> InceptionExtractor:
        """The extractor a `ganeval.config.Settings` describes."""
        weights = settings.weights_for("inception") if hasattr(settings, "weights_for") else settings.weights
        mode = settings.mode_for("inception") if hasattr(settings, "mode_for") else settings.mode
        return cls(weights, mode, settings.device, settings.batch_size, settings.precision)

    @property
    def has_head(self) -> bool:
        return self.net.has_head

    def require_head(self) -> None:
        if not self.has_head:
            raise WeightsError(HEADLESS_HINT.format(path=self.weights_path))

    def same_weights(self, weights: str | Path) -> bool:
        path = resolve_weights(weights, download=False)
        if path.resolve() == Path(self.weights_path).resolve():
            return True
        try:
            return trunk_digest(read_state_dict(path)) == self.weights_sha256
        except WeightsError:
            return False  # not a weights file at all: certainly not the ones loaded

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        return preprocess(images, self.mode)

    def _taps(self, x: torch.Tensor, taps: tuple[str, ...], with_logits: bool) -> dict[str, torch.Tensor]:
        if uses_fast_layout(self.precision):
            x = x.to(dtype=self._dtype, memory_format=torch.channels_last)
        with tf32_convolutions(self.precision == "tf32"):
            return self.net.taps(x, with_logits=with_logits, spatial=SPATIAL_LAYER in taps)
