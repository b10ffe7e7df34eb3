"""The pair kind: two unpaired image domains A and B for translation models (CycleGAN).

Pairs (the recipe's `dataset`):

* `fashion-edges`: domain A = the edge maps of Fashion-MNIST images, domain B = Fashion-MNIST images;
  the edges2shoes idea at 28 x 28. It has a ground truth: the true translation of edges(x) is x.
* `mnist-fashion`: domain A = MNIST digits, domain B = Fashion-MNIST images; no ground truth.

Training never sees a pair: domain A comes from the first half of the training split (images 0-29,999)
and domain B from the second half (30,000-59,999). The test split keeps the pairs: for fashion-edges
test image i of A is edges(test image i of B), so the evaluation can compare a translation with its true
counterpart; for mnist-fashion test image i of A and of B are just the i-th of each test split.

The edge operator (`sobel_edges`), fixed and exact: on the grey uint8 image x (zero outside it), the
Sobel responses Gx = x * [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] and Gy = its transpose, computed as a 3 x 3
cross-correlation in integer arithmetic; a pixel is an edge, 255, when Gx^2 + Gy^2 >= 384^2 (a step of 96
grey levels across the window), else 0. Integers only, so the maps are binary and identical on every
machine: white edges on black, as Fashion-MNIST draws white clothes on black.

Training batches are pairs (a, b) of floats in [-1, 1], each domain shuffled on its own: two
`BatchStream`s, seeded by the recipe's seed and by the seed plus `B_SEED_OFFSET`, resumable from their
positions. The evaluation and `ganeval score CHECKPOINT` live in `ganeval.baselines.translation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

import ganeval
from ganeval.baselines.data import BatchStream
from ganeval.baselines.kinds import DataKind, Evaluation, TrainingData
from ganeval.errors import check

if TYPE_CHECKING:
    from ganeval.baselines.nets import Baseline
    from ganeval.baselines.recipe import Recipe

EDGE_THRESHOLD = 384  # on the Sobel gradient magnitude, 4 x the grey step across the 3 x 3 window
TRAIN_HALF = 30_000  # domain A: training images [0, 30000); domain B: [30000, 60000)
B_SEED_OFFSET = 104_729  # domain B's shuffle seed is the recipe's seed plus this
EDGE_CHUNK = 4096  # images per pass of the edge operator


@dataclass(frozen=True)
class Pair:
    """Domain A from dataset `a` (its edge maps when `edges`), domain B from dataset `b`."""

    name: str
    a: str
    b: str
    edges: bool = False
    ground_truth: bool = False  # test image i of A translates to test image i of B and back


PAIRS: dict[str, Pair] = {
    p.name: p
    for p in (
        Pair("fashion-edges", "fashion-mnist", "fashion-mnist", edges=True, ground_truth=True),
        Pair("mnist-fashion", "mnist", "fashion-mnist"),
    )
}


def get_pair(name: str) -> Pair:
    check(name in PAIRS, f"unknown image pair {name!r}; choose from {', '.join(PAIRS)}")
    return PAIRS[name]


def sobel_edges(images: torch.Tensor, threshold: int = EDGE_THRESHOLD) -> torch.Tensor:
    """Binary edge maps (uint8, 0 or 255) of uint8 images N x C x H x W; colour images are first made grey
    by the integer mean of their channels. The rule is the module docstring's; integer arithmetic only."""
    check(images.dtype == torch.uint8 and images.ndim == 4, "sobel_edges takes uint8 images N x C x H x W")
    if len(images) > EDGE_CHUNK:  # bounded memory for a whole split
        return torch.cat(
            [sobel_edges(images[i : i + EDGE_CHUNK], threshold) for i in range(0, len(images), EDGE_CHUNK)]
        )
    grey = images.to(torch.int64)
    grey = grey[:, :1] if grey.shape[1] == 1 else grey.sum(dim=1, keepdim=True) // grey.shape[1]
    padded = torch.nn.functional.pad(grey, (1, 1, 1, 1))
    h, w = grey.shape[2:]

    def at(dy: int, dx: int) -> torch.Tensor:  # the neighbour (dy, dx) of every pixel
        return padded[:, :, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    gx = at(-1, 1) + 2 * at(0, 1) + at(1, 1) - at(-1, -1) - 2 * at(0, -1) - at(1, -1)
    gy = at(1, -1) + 2 * at(1, 0) + at(1, 1) - at(-1, -1) - 2 * at(-1, 0) - at(-1, 1)
    edges = (gx * gx + gy * gy >= threshold * threshold).to(torch.uint8) * 255
    return edges.expand(-1, images.shape[1], -1, -1).contiguous()


def edge_domain(data: ganeval.LabelledImages) -> ganeval.LabelledImages:
    """The edge maps of `data`'s images, with their labels."""
    return ganeval.LabelledImages(sobel_edges(data.images), data.labels, data.n_classes)


def _part(data: ganeval.LabelledImages, part: slice) -> ganeval.LabelledImages:
    return ganeval.LabelledImages(data.images[part].contiguous(), data.labels[part].contiguous(), data.n_classes)


def pair_domains(
    name: str, split: str, data_root: str | None = None
) -> tuple[ganeval.LabelledImages, ganeval.LabelledImages]:
    """Domains A and B of pair `name` on `split`: the training halves, or the whole (paired) test split."""
    pair = get_pair(name)
    a = ganeval.load_dataset(pair.a, split, data_root)
    b = a if pair.b == pair.a else ganeval.load_dataset(pair.b, split, data_root)
    if split == "train":
        check(
            len(a.images) >= 2 * TRAIN_HALF and len(b.images) >= 2 * TRAIN_HALF,
            f"pair {name}: the training halves need {2 * TRAIN_HALF} images per dataset",
        )
        a, b = _part(a, slice(0, TRAIN_HALF)), _part(b, slice(TRAIN_HALF, 2 * TRAIN_HALF))
    return (edge_domain(a) if pair.edges else a), b


class PairStream:
    """(a, b) batches: each domain's own `BatchStream`, floats in [-1, 1]; labels are dropped."""

    def __init__(self, a: BatchStream, b: BatchStream):
        self.a, self.b = a, b

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a()[0], self.b()[0]

    def state_dict(self) -> dict[str, int]:
        return {**{f"a_{k}": v for k, v in self.a.state_dict().items()},
                **{f"b_{k}": v for k, v in self.b.state_dict().items()}}  # fmt: skip

    def load_state_dict(self, state: dict[str, int]) -> None:
        for prefix, stream in (("a_", self.a), ("b_", self.b)):
            stream.load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})


class PairData(TrainingData):
    """Two unpaired training domains of one image shape (`shape`, what the networks are built for)."""

    def __init__(self, a: ganeval.LabelledImages, b: ganeval.LabelledImages, name: str = "pair"):
        check(
            tuple(a.image_shape) == tuple(b.image_shape),
            f"pair {name}: domain A is {tuple(a.image_shape)} but domain B is {tuple(b.image_shape)}",
        )
        self.a, self.b, self.name = a, b, name
        self.shape = tuple(a.image_shape)
        self.n_classes = 0  # translation is unconditional

    @classmethod
    def load(cls, name: str, data_root: str | None = None) -> PairData:
        return cls(*pair_domains(name, "train", data_root), name=name)

    def stream(self, batch_size: int, seed: int, device: torch.device) -> PairStream:
        return PairStream(
            BatchStream(self.a, batch_size, seed, device), BatchStream(self.b, batch_size, seed + B_SEED_OFFSET, device)
        )


class PairKind(DataKind):
    """Unpaired image domains; scored by `TranslationEvaluation` in the loop and from a checkpoint."""

    name = "pairs"
    scores_itself = True

    def handles(self, dataset: str) -> bool:
        return dataset in PAIRS

    def training_data(self, recipe: Recipe, data_root: str | None) -> PairData:
        return PairData.load(recipe.dataset, data_root)

    def evaluation(
        self,
        recipe: Recipe,
        data: TrainingData,
        data_root: str | None,
        device: torch.device,
        extractor: Any,
        progress: bool = True,
    ) -> Evaluation | None:
        if not recipe.eval_samples:
            return None
        from ganeval.baselines.translation import TranslationEvaluation

        extractor = extractor or ganeval.InceptionExtractor(device=device)
        return TranslationEvaluation.for_pair(recipe.dataset, recipe.eval_samples, extractor, data_root,
                                              progress=progress)  # fmt: skip

    def score_checkpoint(
        self, state: dict[str, Any], model: Baseline, real: str | None, options: dict[str, Any]
    ) -> dict[str, Any]:
        from ganeval.baselines.translation import score_translation_checkpoint

        return score_translation_checkpoint(state, model, real, options)
