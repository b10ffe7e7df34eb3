"""`GanevalMetric`: ganeval's `Scorer` as a `torchmetrics.Metric`, so Lightning can log it.

    class GAN(LightningModule):
        def __init__(self):
            super().__init__()
            self.fid = GanevalMetric("fid", reference="ref:cifar10-jpeg-test")

        def validation_step(self, batch, batch_idx):
            self.fid.update(self.generator(torch.randn(len(batch), 128, device=self.device)), value_range=(-1, 1))
            self.log("val/fid", self.fid)  # computed and reset by Lightning at the end of the epoch

`update`, `compute` and `reset` delegate to a `ganeval.Scorer`: the reference is obtained once (through the
cache) and kept across resets, the state is ganeval's (float64 sufficient statistics, pool3 rows), and under
torch.distributed `compute` merges every rank's state exactly (ganeval's reduction). The metric declares no
torchmetrics states and turns torchmetrics' own synchronisation off, so nothing is gathered twice.

Lightning's `self.log` takes one tensor: `compute()` returns the 0-d float64 tensor of `key` (by default the
value of a single metric: fid, kid_mean, is_mean, intra_fid). With several values (`key=None` and metrics such
as "pr" or ("fid", "kid")) it returns a dict of 0-d tensors, for `self.log_dict(metric.compute())` in
`on_validation_epoch_end` followed by `metric.reset()`. `metric.result` is the last full result (the keys of
`ganeval.score`, per-class FIDs included).
"""

from __future__ import annotations

from typing import Any

import torch

try:
    from torchmetrics import Metric
except ImportError:
    raise ImportError(
        "ganeval.integrations.torchmetrics needs torchmetrics: pip install 'ganeval[torchmetrics]'"
    ) from None

from ganeval.config import (
    KEY_COVERAGE,
    KEY_DENSITY,
    KEY_FID,
    KEY_INTRA_FID,
    KEY_IS_MEAN,
    KEY_IS_STD,
    KEY_KID_MEAN,
    KEY_KID_STD,
    KEY_PRECISION,
    KEY_RECALL,
)
from ganeval.distributed import local_device
from ganeval.errors import check
from ganeval.extractor import InceptionExtractor
from ganeval.results import parse_metrics
from ganeval.scorer import Scorer

KEYS = {
    "fid": (KEY_FID,),
    "kid": (KEY_KID_MEAN, KEY_KID_STD),
    "is": (KEY_IS_MEAN, KEY_IS_STD),
    "pr": (KEY_PRECISION, KEY_RECALL),
    "dc": (KEY_DENSITY, KEY_COVERAGE),
    "intra_fid": (KEY_INTRA_FID,),
}
HEADLINE = {"fid": KEY_FID, "kid": KEY_KID_MEAN, "is": KEY_IS_MEAN, "intra_fid": KEY_INTRA_FID}
LOWER_IS_BETTER = (KEY_FID, KEY_KID_MEAN, KEY_KID_STD, KEY_IS_STD, KEY_INTRA_FID)  # the others: higher is better


class GanevalMetric(Metric):
    """ganeval's metrics of generated images against a reference, as a torchmetrics `Metric`.

    Args:
        metrics: metric names as `ganeval.score` takes them ("fid", ("fid", "kid"), "pr", ...).
        reference: the real side (a named reference "ref:NAME", a folder, a dataset spec, a uint8 tensor, a
            statistics file for FID): obtained once when the metric is built, kept across `reset`. Without
            one, real images come through `update(images, real=True)`.
        key: the result `compute()` returns as a 0-d tensor (the one `self.log` logs); None: the single value of
            a metric that has one (fid, kid_mean, is_mean, intra_fid), else a dict of every value.
        reset_real_features: without a reference, whether `reset` also forgets the real images added with
            `update(..., real=True)` (torchmetrics' meaning; False keeps them, to add them once). With a
            reference, added real images join it for good, and need `reset_real_features=False`.
        device: where the network runs; default this process's GPU (cuda:LOCAL_RANK) or the CPU.
        extractor: a loaded `ganeval.InceptionExtractor` to share.
        **options: any other `ganeval.Scorer` option (mode, precision, weights, kid_subset_size, cache, ...).

    Raises:
        InputError: an unknown metric, key or option, a bad reference.

    Example:
        >>> metric = GanevalMetric("fid", reference="ref:fashion-mnist-test")  # doctest: +SKIP
        >>> metric.update(images_uint8)  # doctest: +SKIP
        >>> metric.compute()  # doctest: +SKIP
        tensor(41.2, dtype=torch.float64)
    """

    is_differentiable = False
    full_state_update = False

    def __init__(
        self,
        metrics: str | tuple[str, ...] | list[str] = ("fid",),
        reference: Any = None,
        *,
        key: str | None = None,
        reset_real_features: bool = True,
        device: str | torch.device | None = None,
        extractor: InceptionExtractor | None = None,
        **options: Any,
    ):
        # ganeval reduces across ranks itself; torchmetrics must not gather (it holds no states to gather).
        super().__init__(sync_on_compute=False, dist_sync_on_step=False)
        chosen = parse_metrics(metrics)
        produced = [k for m in chosen for k in KEYS[m]]
        if key is None and len(chosen) == 1:
            key = HEADLINE.get(chosen[0])
        check(
            key is None or key in produced, f"key {key!r} is not a result of {', '.join(chosen)}: {', '.join(produced)}"
        )
        check(isinstance(reset_real_features, bool), f"reset_real_features must be a bool, got {reset_real_features!r}")
        if device is None and extractor is None:
            device = local_device()  # each rank its own GPU, also when built before the process group exists
        self.key, self.reset_real_features, self.has_reference = key, reset_real_features, reference is not None
        self.scorer = Scorer(chosen, reference, device=device, extractor=extractor, **options)
        self.result: dict[str, Any] | None = None

    @property
    def higher_is_better(self) -> bool | None:  # type: ignore[override]
        return None if self.key is None else self.key not in LOWER_IS_BETTER

    def update(
        self,
        images: torch.Tensor,
        real: bool = False,
        value_range: tuple[float, float] | None = None,
        labels: Any = None,
    ) -> None:
        """Add a batch of generated images (or real ones with `real=True`): uint8 N x C x H x W, or floats with
        their `value_range`; `labels` for intra-FID. See `ganeval.Scorer.update`."""
        check(
            not (real and self.has_reference and self.reset_real_features),
            "real images added to a reference stay in it across resets: build the metric with "
            "reset_real_features=False to add them",
        )
        self.scorer.update(images, real=real, value_range=value_range, labels=labels)

    def forward(self, *args: Any, **kwargs: Any) -> None:
        """Same as `update`: a per-batch value would cost a comparison with the whole reference and mean little
        (FID on one batch), so none is computed; log the metric on epoch."""
        self.update(*args, **kwargs)
        self._forward_cache = None

    def compute(self) -> torch.Tensor | dict[str, torch.Tensor]:
        """The 0-d float64 tensor of `key`, or a dict of every value; every rank must call it under
        torch.distributed, and every rank gets the result of all ranks' images."""
        self.result = self.scorer.compute()
        if self.key is not None:
            return torch.tensor(float(self.result[self.key]), dtype=torch.float64)
        return {k: torch.tensor(v, dtype=torch.float64 if isinstance(v, float) else torch.int64)
                for k, v in self.result.items() if isinstance(v, (int, float))}  # fmt: skip

    def reset(self) -> None:
        """Forget the generated images (and, without a reference, the added real ones unless
        `reset_real_features=False`); the reference stays."""
        super().reset()
        self.scorer.reset(real=self.reset_real_features and not self.has_reference)
