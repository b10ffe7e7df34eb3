"""The one feature-extractor interface: a loaded network, one preprocessing mode, one device.

uint8 images go in (N x 3 x H x W, or a list of 3 x H x W of any sizes: each run of equal sizes is
preprocessed together, each resize depending on its own image only), and the features of the asked
layers ("taps") come out, float32, one row per image. Every space is read through this interface, and
the one extraction loop (`ganeval.extractor`) feeds several extractors from one decode of each batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ganeval.errors import InputError, WeightsError


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    resolved = torch.device(device) if device is not None else default_device()
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {resolved} requested but CUDA is not available")
    return resolved


def same_device(asked: torch.device, actual: torch.device) -> bool:
    """ "cuda" names the current GPU, so it matches "cuda:N" when N is the current one."""
    if asked.type != actual.type:
        return False
    if asked.index is None or actual.index is None:
        current = torch.cuda.current_device() if asked.type == "cuda" and torch.cuda.is_available() else None
        return (asked.index if asked.index is not None else current) == (
            actual.index if actual.index is not None else current
        )
    return asked.index == actual.index


class Extractor:
    """Base of every space's extractor; subclasses set the attributes below and implement `_taps`.

    Attributes: `network` (its name), `space` (the default space), `mode`, `device`, `batch_size`,
    `precision` (concrete, e.g. "strict"), `protocol` (the name results are filed under: the mode, marked
    when the arithmetic is the fast one), `weights_path`, `weights_sha256`, `dim` (of the default layer).
    """

    network: str
    space: str
    layer: str  # the default tap
    mode: str
    device: torch.device
    batch_size: int
    precision: str
    protocol: str
    weights_path: Path
    weights_sha256: str
    dim: int
    has_head: bool = False

    # --- subclass hooks ---------------------------------------------------------------------------

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 N x 3 x H x W on the device -> the network's float input."""
        raise NotImplementedError

    def _taps(self, x: torch.Tensor, taps: tuple[str, ...], with_logits: bool) -> dict[str, torch.Tensor]:
        """The asked layers (and "logits") of a prepared batch."""
        raise NotImplementedError

    # --- the interface ----------------------------------------------------------------------------

    @torch.no_grad()
    def run(
        self, images: torch.Tensor | list[torch.Tensor], taps: tuple[str, ...] | None = None, with_logits: bool = False
    ) -> dict[str, torch.Tensor]:
        """{tap: float32 features} of uint8 images (and "logits" when asked); taps default to the layer."""
        if with_logits:
            self.require_head()
        batch = torch.cat(list(self._normalised(images)))  # every size group is resized to the network's input
        return {k: v.float() for k, v in self._taps(batch, taps or (self.layer,), with_logits).items()}

    def forward(self, images: torch.Tensor | list[torch.Tensor], with_logits: bool = False):
        """(features of the default layer, logits or None) of uint8 images."""
        out = self.run(images, (self.layer,), with_logits)
        return out[self.layer], out.get("logits")

    def extract(
        self,
        source: Any,
        *,
        stats: bool = False,
        keep_features: bool = False,
        logits: bool = False,
        workers: int | None = None,
        skip_bad: bool = False,
        progress: bool = True,
        desc: str | None = None,
    ) -> Any:
        """One pass over an `ImageSource` in this extractor's default view (`ganeval.extractor.Extracted`)."""
        from ganeval.extractor import ExtractOptions, extract

        return extract(self, source, ExtractOptions(stats, keep_features, logits, workers, skip_bad, progress, desc))

    def require_head(self) -> None:
        raise WeightsError(f"{self.network} has no classifier head: the Inception Score needs Inception's")

    def describe(self) -> dict[str, Any]:
        """What a record or statistics file says about the network that produced its features."""
        return {"network": self.network, "mode": self.protocol, "precision": self.precision,
                "weights_sha256": self.weights_sha256}  # fmt: skip

    def _normalised(self, images: torch.Tensor | list[torch.Tensor]) -> Iterator[torch.Tensor]:
        """Runs of equal-sized images, moved to the device as uint8 and preprocessed together."""
        if isinstance(images, torch.Tensor):
            yield self._prepare(self._to_device(images))
            return
        start = 0
        while start < len(images):
            end = start + 1
            while end < len(images) and images[end].shape == images[start].shape:
                end += 1
            yield self._prepare(self._to_device(torch.stack(images[start:end])))
            start = end

    def _to_device(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images onto the device; from pinned memory, so the copy does not wait for the GPU."""
        if self.device.type == "cuda" and images.device.type == "cpu":
            return images.pin_memory().to(self.device, non_blocking=True)
        return images.to(self.device)

    def check_agrees(self, **settings: Any) -> None:
        """Refuse settings (mode, precision, weights, device, batch_size; None = not given) that this
        extractor does not run with: passing both would silently measure something else."""
        from ganeval.features.precision import resolve_precision

        wrong = []
        mode, precision, weights = settings.get("mode"), settings.get("precision"), settings.get("weights")
        device, batch_size = settings.get("device"), settings.get("batch_size")
        if mode is not None and mode != self.mode:
            wrong.append(f"mode={mode!r} (it runs {self.mode!r})")
        if precision is not None and resolve_precision(precision, self.device, self.network) != self.precision:
            wrong.append(f"precision={precision!r} (it runs {self.precision!r})")
        if device is not None and not same_device(torch.device(device), self.device):
            wrong.append(f"device={str(device)!r} (it runs on {self.device})")
        if batch_size is not None and batch_size != self.batch_size:
            wrong.append(f"batch_size={batch_size} (it uses {self.batch_size})")
        if weights is not None and not self.same_weights(weights):
            wrong.append(f"weights={str(weights)!r} (it holds {self.weights_path})")
        if wrong:
            raise InputError(
                f"the extractor passed contradicts {', '.join(wrong)}: drop those settings, or build an "
                "extractor with them"
            )

    def same_weights(self, weights: str | Path) -> bool:
        from ganeval.features.weights import file_digest

        path = Path(weights).expanduser()
        if path.is_file() and path.resolve() == Path(self.weights_path).resolve():
            return True
        try:
            return path.is_file() and file_digest(path) == self.weights_sha256
        except OSError:
            return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.network}, mode={self.mode}, {self.device}, {self.precision})"
