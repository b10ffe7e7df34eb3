"""Evaluation of an unpaired translation model (CycleGAN) on a pair's test split, in the loop and from a checkpoint.

On the first `n` test pairs (the recipe's `eval_samples`), for each direction a2b (A -> B) and b2a (B -> A):

* `fid_a2b`, `kid_a2b_mean`, `kid_a2b_std` (and b2a): FID and KID of the n translated test images against
  the n real test images of the target domain, through one `ganeval.Scorer` per direction whose reference
  is obtained once. KID uses subsets of min(1000, n) images (100 subsets); below 1000 test images every
  subset is the whole set, so its std is 0. With n in the hundreds FID is strongly biased upwards (n is
  far below the 2048 feature dimensions): compare runs at the same n, and read KID beside it.
* `cycle_l1_a` / `cycle_l1_b`: the cycle reconstruction error, the mean absolute difference in [0, 255]
  grey levels between each test image and its reconstruction a -> b -> a (b -> a -> b).
* `l1_a2b`, `psnr_a2b` (and b2a), for a pair with a ground truth (fashion-edges): the error of each
  translation against its true counterpart, mean absolute difference in [0, 255] grey levels and
  PSNR = 10 log10(255^2 / MSE) with the MSE over every pixel of the n images (`paired_errors`); a perfect
  translation scores L1 0 and PSNR inf. NaN for a pair without a ground truth.
* `n_test`, and `fid` = the mean of the two directions' FIDs: the best-checkpoint criterion.

Every translation is quantised to uint8 as saving it as a PNG would (`to_uint8`, ganeval's own rule,
torchvision's `save_image`), and those uint8 images are what both FID/KID and the pixel errors see.
Reconstructions are computed from the float translations, as in training. The same test images, the same
batches and the same network give the same numbers: `ganeval score CHECKPOINT` repeats the last row.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

import ganeval
from ganeval import plots
from ganeval.baselines.kinds import Evaluation
from ganeval.baselines.report import save_grid
from ganeval.errors import check
from ganeval.progress import progress_label

if TYPE_CHECKING:
    from ganeval.baselines.nets import Baseline

DIRECTIONS = ("a2b", "b2a")
VIEW_IMAGES = 8  # test pairs shown in each grid
TRANSLATE_BATCH = 250  # test images translated at a time
KEYS = (
    "fid_a2b", "kid_a2b_mean", "kid_a2b_std", "fid_b2a", "kid_b2a_mean", "kid_b2a_std", "cycle_l1_a",
    "cycle_l1_b", "l1_a2b", "psnr_a2b", "l1_b2a", "psnr_b2a", "n_test", "fid",
)  # fmt: skip


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Floats in [-1, 1] -> uint8 by ganeval's one rounding rule (`ganeval.to_uint8`, what `ganeval.Scorer`
    applies to float batches and what saving PNGs stores)."""
    return ganeval.to_uint8(images, (-1.0, 1.0))


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> floats in [-1, 1], as the training stream feeds them."""
    return images.float() / 127.5 - 1.0


def paired_errors(translated: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
    """(L1, PSNR) of uint8 images against their true counterparts, both on [0, 255]: L1 the mean absolute
    difference, PSNR = 10 log10(255^2 / MSE) with the MSE over every pixel of the set (inf when equal)."""
    check(
        translated.shape == truth.shape and translated.dtype == truth.dtype == torch.uint8,
        f"paired errors need two uint8 tensors of one shape, got {translated.dtype} {tuple(translated.shape)} "
        f"and {truth.dtype} {tuple(truth.shape)}",
    )
    diff = translated.to(torch.float64) - truth.to(torch.float64)
    l1 = float(diff.abs().mean())
    mse = float((diff * diff).mean())
    return l1, (math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse))


def mean_l1(x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean absolute difference of two uint8 sets in [0, 255] grey levels."""
    return float((x.to(torch.float64) - y.to(torch.float64)).abs().mean())


class TranslationEvaluation(Evaluation):
    """The metrics of the module docstring on test images `a[:n]` and `b[:n]` (uint8 N x C x H x W).

    `ground_truth`: `b[i]` is the true translation of `a[i]` (and back). `scorer_options` go to both
    `ganeval.Scorer`s (e.g. cache=False; progress=True shows the reference and translation passes).
    """

    best_key = "fid"
    lower_is_better = True

    def __init__(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        ground_truth: bool,
        extractor: Any,
        n: int | None = None,
        **scorer_options: Any,
    ):
        n = min(len(a), len(b)) if n is None else n
        check(2 <= n <= min(len(a), len(b)), f"a translation evaluation needs 2 to {min(len(a), len(b))} test "
                                             f"pairs, got {n}")  # fmt: skip
        check(a.dtype == b.dtype == torch.uint8, "the test images must be uint8")
        check(a.shape[1:] == b.shape[1:], f"domain A is {tuple(a.shape[1:])} but domain B is {tuple(b.shape[1:])}")
        self.a, self.b, self.n, self.ground_truth = a[:n].contiguous(), b[:n].contiguous(), n, ground_truth
        options = {"kid_subset_size": min(1000, n), "progress": False, **scorer_options}
        self.progress = bool(options["progress"])
        self.scorers = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ganeval.RankDeficientWarning)
            for direction, target in (("a2b", self.b), ("b2a", self.a)):
                with progress_label(direction):  # "a2b reference: 312/1000 img"
                    self.scorers[direction] = ganeval.Scorer(("fid", "kid"), reference=target, extractor=extractor,
                                                             **options)  # fmt: skip
        self._warned = False

    @classmethod
    def for_pair(
        cls, name: str, n: int, extractor: Any, data_root: str | None = None, **scorer_options: Any
    ) -> TranslationEvaluation:
        """The evaluation of pair `name` on its first `n` test pairs."""
        from ganeval.baselines.pairs import get_pair, pair_domains

        a, b = pair_domains(name, "test", data_root)
        return cls(a.images, b.images, get_pair(name).ground_truth, extractor, n, **scorer_options)

    def translations(self, model: Baseline, images: torch.Tensor, direction: str) -> tuple[torch.Tensor, ...]:
        """(translation, reconstruction) of uint8 `images` in `direction`, both uint8 on the CPU."""
        back = "b2a" if direction == "a2b" else "a2b"
        fakes, recs = [], []
        for start in range(0, len(images), TRANSLATE_BATCH):
            x = to_float(images[start : start + TRANSLATE_BATCH].to(model.device))
            fake = model.translate(x, direction)
            fakes.append(to_uint8(fake).cpu())
            recs.append(to_uint8(model.translate(fake, back)).cpu())
        return torch.cat(fakes), torch.cat(recs)

    def evaluate(self, model: Baseline) -> dict[str, float]:
        row: dict[str, float] = {}
        sources = {"a2b": (self.a, self.b), "b2a": (self.b, self.a)}
        with warnings.catch_warnings():
            if self._warned:  # said once per run is enough
                warnings.simplefilter("ignore", ganeval.RankDeficientWarning)
            self._warned = True
            for direction, (inputs, targets) in sources.items():
                fake, rec = self.translations(model, inputs, direction)
                scorer = self.scorers[direction]
                scorer.reset()
                with progress_label(f"{direction} translations"):  # in batches, showing progress
                    scorer.update_source(fake, progress=self.progress)
                scores = scorer.compute()
                row[f"fid_{direction}"] = float(scores["fid"])
                row[f"kid_{direction}_mean"] = float(scores["kid_mean"])
                row[f"kid_{direction}_std"] = float(scores["kid_std"])
                row[f"cycle_l1_{direction[0]}"] = mean_l1(rec, inputs)
                l1, psnr = paired_errors(fake, targets) if self.ground_truth else (math.nan, math.nan)
                row[f"l1_{direction}"], row[f"psnr_{direction}"] = l1, psnr
        row["n_test"] = self.n
        row["fid"] = (row["fid_a2b"] + row["fid_b2a"]) / 2
        return {key: row[key] for key in KEYS}

    def save_view(self, model: Baseline, path: Path, seed: int) -> None:
        """One row per test pair (the first VIEW_IMAGES): a | a2b(a) | b2a(a2b(a)) | b | b2a(b) | a2b(b2a(b)).
        For a pair with a ground truth, b is the truth of a2b(a) and a the truth of b2a(b)."""
        k = min(VIEW_IMAGES, self.n)
        a, b = self.a[:k], self.b[:k]
        fake_b, rec_a = self.translations(model, a, "a2b")
        fake_a, rec_b = self.translations(model, b, "b2a")
        columns = (a, fake_b, rec_a, b, fake_a, rec_b)
        images = torch.stack(columns, dim=1).flatten(0, 1)  # row-major: pair i's six images in a row
        save_grid(to_float(images), path, nrow=len(columns))

    def finish(self, out: Path, history: list[dict[str, Any]]) -> None:
        """fid.png: both directions' FID (and their mean) against step; translation.png: KID, cycle and
        paired errors."""

        def series(*keys: str) -> dict[str, tuple[list[float], list[float]]]:
            return {key: ([r["step"] for r in history if key in r], [r[key] for r in history if key in r])
                    for key in keys}  # fmt: skip

        fid = series("fid_a2b", "fid_b2a", "fid")
        if not fid["fid"][0]:
            return
        fid = {"a -> b": fid["fid_a2b"], "b -> a": fid["fid_b2a"], "mean": fid["fid"]}
        plots.save_curves(fid, out / "fid.png", ylabel="FID", title=f"FID of the translations ({self.n} test images)")
        panels = [
            plots.Panel("KID", series("kid_a2b_mean", "kid_b2a_mean"), "training step", "KID"),
            plots.Panel("cycle L1 [0, 255]", series("cycle_l1_a", "cycle_l1_b"), "training step", "L1"),
        ]
        if self.ground_truth:
            panels += [
                plots.Panel("L1 to the truth [0, 255]", series("l1_a2b", "l1_b2a"), "training step", "L1"),
                plots.Panel("PSNR to the truth", series("psnr_a2b", "psnr_b2a"), "training step", "dB"),
            ]
        plots.save_panels(panels, out / "translation.png", columns=len(panels))


def score_translation_checkpoint(
    state: dict[str, Any], model: Baseline, real: str | None, options: dict[str, Any]
) -> dict[str, Any]:
    """`ganeval score CHECKPOINT` for a translation model: the in-loop evaluation again, on the recipe's
    pair and its first `--samples` test pairs (default the recipe's eval_samples, else 1000).

    A REAL input (`--ref`) is refused: both domains' references are the pair's own test images. The KID
    subsets and seed are the evaluation's own (so the numbers equal the training run's); `--weights`,
    `--mode`, `--precision`, `--batch-size`, `--device`, `--data-root` and `--no-cache` apply. An
    `extractor` in `options` (a loaded `InceptionExtractor`) is used instead of loading one.
    """
    check(
        real is None,
        "a translation checkpoint is scored against its own pair's test images: give the checkpoint alone",
    )
    from ganeval.baselines.recipe import from_dict

    recipe = from_dict(state["recipe"])
    n = options.get("samples") or recipe.eval_samples or 1000
    extractor = options.get("extractor")
    if extractor is None:
        settings = {k: options[k] for k in ("weights", "mode", "batch_size", "precision") if options.get(k)}
        extractor = ganeval.InceptionExtractor(device=options.get("device") or model.device, **settings)
    scorer_options = {"cache": not options["no_cache"]} if "no_cache" in options else {}
    scorer_options["progress"] = not options.get("quiet", False)
    evaluation = TranslationEvaluation.for_pair(recipe.dataset, n, extractor, options.get("data_root"),
                                                **scorer_options)  # fmt: skip
    return {"model": f"{recipe.name}@{state['step']}", "pair": recipe.dataset, **evaluation.evaluate(model)}
