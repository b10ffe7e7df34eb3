"""The in-training Evaluator and GeneratorSource: scores equal those of the same images saved as PNGs."""

from __future__ import annotations

import warnings

import pytest
import torch
from torchvision.utils import save_image

import ganeval
from ganeval.evaluator import Evaluator
from ganeval.metrics.fid import frechet_distance
from ganeval.metrics.isc import inception_score
from ganeval.metrics.kid import kernel_inception_distance
from ganeval.sources import FolderSource
from ganeval.sources.generator import GeneratorSource, seeded_rng

N = 10  # the smallest count with which the Inception Score's 10 splits run


@pytest.fixture(scope="module")
def fake_generator(cifar_images):
    """A stand-in generator: real images in [-1, 1] plus noise drawn from torch's global RNG."""
    base = torch.from_numpy(cifar_images[20 : 20 + N]).permute(0, 3, 1, 2).double() / 127.5 - 1

    def sample_fn(n: int) -> torch.Tensor:
        picks = torch.randint(N, (n,))
        return (base[picks] + 0.1 * torch.randn(n, 3, 32, 32, dtype=torch.float64)).clamp(-1, 1)

    return sample_fn


@pytest.fixture(scope="module")
def evaluator(extractor, cifar_images):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # building it must not warn
        return Evaluator(cifar_images[:N], extractor=extractor, n_samples=N)


def test_generator_source_streams_seeded_shards_and_leaves_the_callers_rng_alone(fake_generator):
    torch.manual_seed(5)
    before = torch.get_rng_state()
    a = GeneratorSource(fake_generator, 7, batch_size=3, seed=1)
    parts = list(a.batches())
    assert torch.equal(torch.get_rng_state(), before)
    assert [len(p) for p in parts] == [3, 3, 1]  # streamed batch by batch, never all at once
    images = torch.cat(parts)
    assert images.shape == (7, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images, torch.cat(list(GeneratorSource(fake_generator, 7, batch_size=3, seed=1).batches())))
    assert not torch.equal(images, torch.cat(list(GeneratorSource(fake_generator, 7, batch_size=3, seed=2).batches())))
    assert torch.equal(torch.cat(list(a.batches(2, 6))), images[2:6])  # a rank's shard: the same images
    assert not a.cacheable


def test_evaluator_equals_scoring_the_saved_pngs(evaluator, fake_generator, extractor, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = evaluator.evaluate(fake_generator)
    assert not [w for w in caught if "KID subset" in str(w.message)]  # capped without a warning
    assert {"fid", "kid_mean", "kid_std", "is_mean", "is_std"} <= set(ours)
    assert ours["n_real"] == ours["n_fake"] == N

    # The same images (same seed, same batch calls), written as PNGs by torchvision, scored from disk.
    with seeded_rng(evaluator.seed):
        images = fake_generator(N)
    folder = tmp_path / "fake"
    folder.mkdir()
    for i, image in enumerate(images):
        save_image(image, folder / f"{i:03d}.png", normalize=True, value_range=(-1, 1))
    # One pass over the PNG folder, then the metric functions on the evaluator's kept reference.
    saved = extractor.extract(FolderSource(folder), stats=True, keep_features=True, logits=True, progress=False)
    theirs = {"fid": frechet_distance(saved.stats, evaluator.reference_stats)}
    kid = kernel_inception_distance(saved.features, evaluator.reference_features, subset_size=N)
    theirs["kid_mean"], theirs["kid_std"] = kid
    theirs["is_mean"], theirs["is_std"] = inception_score(saved.logits)
    for key in ("fid", "kid_mean", "kid_std", "is_mean", "is_std"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-9, abs=1e-12), key


def test_evaluator_rejects_a_sample_function_returning_junk(evaluator):
    with pytest.raises(ganeval.InputError, match="sample function returned"):
        evaluator.evaluate(lambda n: torch.zeros(n, 32, 32), n=4)
    with pytest.raises(ganeval.InputError, match="NaN"):
        evaluator.evaluate(lambda n: torch.full((n, 3, 32, 32), float("nan")), n=4)
