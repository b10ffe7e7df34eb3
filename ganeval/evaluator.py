"""Score a generator against a fixed reference while it trains, without writing images to disk.

A thin layer over `ganeval.Scorer`: the reference is obtained once, through the cache, when the
`Evaluator` is created; each `evaluate` call streams `n` samples of a sample function through the
extraction loop (never holding them all) and returns the keys of `ganeval.score`. Generated float images
go through the quantisation of saving them as PNGs, so a score here equals the score of the saved images.
Both passes show their progress by default (a bar on a terminal, a few plain lines in a log: the
reference pass of 10,000 images takes half an hour on a CPU and must not look like a hang); with
`log_dir` every evaluation also goes to TensorBoard.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ganeval.config import Settings, settings_from
from ganeval.errors import InputError, check
from ganeval.extractor import InceptionExtractor
from ganeval.progress import progress_label
from ganeval.scorer import Scorer
from ganeval.sources.generator import SAMPLE_BATCH_SIZE, GeneratorSource, SampleFn

DEFAULTS = Settings()


class Evaluator:
    """FID, KID (and IS) of generated samples against one reference, computed in memory.

    Args:
        reference: any input `ganeval.score` takes as its real side (named reference, folder, dataset spec,
            uint8 array or tensor, statistics file for FID only).
        extractor: a loaded network to reuse; default a new `InceptionExtractor()`.
        metrics: names as `ganeval.score` takes them; default fid and kid, plus is when the weights have the
            head and at least `is_splits` samples are scored.
        n_samples: images generated per evaluation unless `evaluate` says otherwise.
        kid_subset_size: capped at the smaller sample count, silently (the cap is part of the protocol here).
        seed: seeds the generator's noise in every evaluation (same noise each time: scores are comparable
            across steps) and the KID subsets / IS shuffle.
        progress: show the reference pass ("reference NAME") and each evaluation's pass ("generated"); on by
            default, as for `Scorer`, since both take minutes on a CPU (a bar on a terminal, a few plain lines
            in a log file). A training loop that draws its own bar passes it explicitly.
        log_dir: a TensorBoard log folder: each evaluation's numeric keys as scalars `eval/KEY` and a grid of
            64 samples as the image `eval/samples`, at `evaluate`'s `step` (needs `pip install tensorboard`).
        **options: any other option of `ganeval.Scorer` (data_root, cache, device, ...).

    Raises:
        InputError, WeightsError: bad reference, or "is" asked of headless weights.
    """

    def __init__(
        self,
        reference: Any,
        *,
        extractor: InceptionExtractor | None = None,
        metrics: Sequence[str] | None = None,
        n_samples: int = 10_000,
        kid_subset_size: int = DEFAULTS.kid_subset_size,
        kid_subsets: int = DEFAULTS.kid_subsets,
        is_splits: int = DEFAULTS.is_splits,
        seed: int = DEFAULTS.seed,
        batch_size: int | None = None,
        progress: bool = True,
        log_dir: str | os.PathLike | None = None,
        **options: Any,
    ):
        check(n_samples >= 2, f"an evaluation needs at least 2 samples, got {n_samples}")
        if extractor is None and metrics is None:  # the default metrics add IS when Inception has its head
            settings = settings_from(options)
            extractor = InceptionExtractor(settings.weights_for("inception"), settings.mode_for("inception"),
                                           settings.device, None, settings.precision)  # fmt: skip
        chosen = tuple(metrics) if metrics is not None else ("fid", "kid")
        self._auto_is = metrics is None and extractor.has_head
        self._log = summary_writer(log_dir) if log_dir is not None else None
        with progress_label("reference" if isinstance(reference, (str, os.PathLike)) else ""):
            self.scorer = Scorer(
                (*chosen, "is") if self._auto_is else chosen,
                reference,
                extractor=extractor,
                kid_subset_size=kid_subset_size,
                kid_subsets=kid_subsets,
                is_splits=is_splits,
                seed=seed,
                progress=progress,
                **options,
            )
        self.progress, self._evaluations = progress, 0
        self.extractor = extractor or self.scorer.extractor
        self.metrics = tuple(m for m in self.scorer.metrics if m != "is" or not self._auto_is)
        self.n_samples, self.kid_subset_size, self.is_splits, self.seed = n_samples, kid_subset_size, is_splits, seed
        self.batch_size = batch_size or SAMPLE_BATCH_SIZE  # images per call of the sample function
        self.n_reference = self.scorer.n_reference
        self.reference_stats = self.scorer.reference_stats

    @property
    def reference_features(self):
        """The reference's feature rows (kept when KID is computed)."""
        return self.scorer.reference_features

    def evaluate(
        self,
        sample_fn: SampleFn,
        n: int | None = None,
        value_range: tuple[float, float] = (-1.0, 1.0),
        labels: Any = None,
        step: int | None = None,
    ) -> dict[str, Any]:
        """Scores of `n` images from `sample_fn(batch_size)` (float N x C x H x W in `value_range`); `labels`
        are the classes of the `n` images in the order drawn (intra-FID); `step` places them in the
        TensorBoard log (default: the number of earlier evaluations)."""
        n = n or self.n_samples
        metrics = (*self.metrics, "is") if self._auto_is and n >= self.is_splits else self.metrics
        self.scorer.reset()
        try:
            samples = GeneratorSource(sample_fn, n, value_range, self.batch_size, self.seed)
            with progress_label("generated"):
                self.scorer.update_source(samples, labels=labels, progress=self.progress)
            subset = min(self.kid_subset_size, n, self.n_reference or n)
            result = self.scorer._compute(metrics, replace(self.scorer.settings, kid_subset_size=subset))
        finally:
            self.scorer.reset()
        if self._log is not None:
            self._write_log(result, sample_fn, min(64, n), value_range, self._evaluations if step is None else step)
        self._evaluations += 1
        return result

    def _write_log(self, result: dict[str, Any], sample_fn: SampleFn, n_grid: int, value_range: tuple[float, float],
                   step: int) -> None:  # fmt: skip
        from torchvision.utils import make_grid

        from ganeval.quantise import batch_to_uint8
        from ganeval.sources.generator import seeded_rng

        for key, value in result.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self._log.add_scalar(f"eval/{key}", value, step)
        with seeded_rng(self.seed):  # the same noise each time, like the evaluation's
            images = batch_to_uint8(sample_fn(n_grid), value_range).cpu()
        self._log.add_image("eval/samples", make_grid(images, nrow=8, padding=2), step)
        self._log.flush()


def summary_writer(log_dir: str | os.PathLike, **options: Any) -> Any:
    """A `torch.utils.tensorboard.SummaryWriter` for `log_dir`; tensorboard is optional, imported only here."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise InputError("TensorBoard logging needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(log_dir=os.fspath(log_dir), **options)
