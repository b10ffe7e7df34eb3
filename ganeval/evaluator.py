"""Score a generator against a fixed reference while it trains, without writing images to disk.

The reference's pool3 statistics (and features, for KID) are computed once, when the `Evaluator` is
created; each `evaluate` call then costs only the generated samples' forward passes. Generated float
images go through the same uint8 quantisation as saving them as PNGs (`ArraySource`), so a score here
equals the score of the saved images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganeval.config import KEY_FID, KEY_IS_MEAN, KEY_IS_STD, KEY_KID_MEAN, KEY_KID_STD, KEY_N_A, KEY_N_B, Settings
from ganeval.errors import check
from ganeval.extractor import InceptionExtractor
from ganeval.metrics.fid import frechet_distance
from ganeval.metrics.gaussian import GaussianAccumulator
from ganeval.metrics.inception_score import inception_score
from ganeval.metrics.kid import kernel_inception_distance
from ganeval.sources import as_source
from ganeval.sources.generator import SampleFn, sample_uint8, seeded_rng

DEFAULTS = Settings()


class Evaluator:
    """FID, KID (and IS) of generated samples against one reference, computed in memory.

    Args:
        reference: anything `ganeval.sources.as_source` accepts (folder, uint8 array/tensor, ImageSource).
        extractor: a loaded network to reuse; default a new `InceptionExtractor()`.
        metrics: subset of "fid", "kid", "is"; default fid and kid, plus is when the weights have the head
            and at least `is_splits` samples are scored.
        n_samples: images generated per evaluation unless `evaluate` says otherwise.
        kid_subset_size: capped at the smaller sample count, silently (the cap is part of the protocol here).
        seed: seeds the generator's noise in every evaluation (same noise each time: scores are comparable
            across steps) and the KID subsets / IS shuffle.

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
        progress: bool = False,
    ):
        from ganeval.api import parse_metrics

        self.extractor = extractor or InceptionExtractor()
        self.auto_is = metrics is None and self.extractor.has_head
        self.metrics = parse_metrics(tuple(metrics) if metrics is not None else ("fid", "kid"))
        if "is" in self.metrics:
            self.extractor.require_head()
        check(n_samples >= 2, f"an evaluation needs at least 2 samples, got {n_samples}")
        self.n_samples, self.kid_subset_size, self.kid_subsets = n_samples, kid_subset_size, kid_subsets
        self.is_splits, self.seed = is_splits, seed
        self.batch_size = batch_size or self.extractor.batch_size
        self.progress = progress
        ref = self.extractor.extract(
            as_source(reference), stats=True, keep_pool3="kid" in self.metrics, progress=progress, desc="reference"
        )
        self.n_reference = ref.n
        self.reference_stats = ref.stats
        self.reference_pool3 = ref.pool3.to(self.extractor.device) if ref.pool3 is not None else None

    def evaluate(
        self, sample_fn: SampleFn, n: int | None = None, value_range: tuple[float, float] = (-1.0, 1.0)
    ) -> dict[str, float | int]:
        """Scores of `n` images from `sample_fn(batch_size)` (float N x C x H x W in `value_range`)."""
        n = n or self.n_samples
        want_is = "is" in self.metrics or (self.auto_is and n >= self.is_splits)
        accumulator = GaussianAccumulator()
        pool3_kept: list[torch.Tensor] = []
        logits_kept: list[torch.Tensor] = []
        with seeded_rng(self.seed):
            for images in sample_uint8(sample_fn, n, self.batch_size, value_range):
                batch = torch.from_numpy(images).permute(0, 3, 1, 2)
                pool3, logits = self.extractor.forward(batch, with_logits=want_is)
                accumulator.update(pool3)
                if "kid" in self.metrics:
                    pool3_kept.append(pool3)
                if logits is not None:
                    logits_kept.append(logits)
        result: dict[str, float | int] = {KEY_N_A: n, KEY_N_B: self.n_reference}
        if "fid" in self.metrics:
            result[KEY_FID] = frechet_distance(accumulator.compute(), self.reference_stats)
        if "kid" in self.metrics:
            subset = min(self.kid_subset_size, n, self.n_reference)
            result[KEY_KID_MEAN], result[KEY_KID_STD] = kernel_inception_distance(
                torch.cat(pool3_kept), self.reference_pool3, subsets=self.kid_subsets, subset_size=subset,
                seed=self.seed,
            )  # fmt: skip
        if want_is:
            result[KEY_IS_MEAN], result[KEY_IS_STD] = inception_score(
                torch.cat(logits_kept), splits=self.is_splits, seed=self.seed
            )
        return result
