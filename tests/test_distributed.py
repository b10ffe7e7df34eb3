"""Extraction over 2 gloo processes equals one process: statistics, feature order, KID and IS.

The multi-process tests launch this very file under ``torchrun --standalone --nproc_per_node 2`` (see
`worker_main` at the bottom); each rank writes what it computed to ``rank{r}.pt`` and the test compares
those files with a single-process run. One launch uses a tiny exact fake extractor (pure maths, bad
images, failures); the other the real Inception network on real CIFAR-10 images.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganeval.errors import BadImageError, InputError
from ganeval.extractor import InceptionExtractor
from ganeval.features.base import Extractor
from ganeval.sources.arrays import ArraySource
from ganeval.sources.base import ImageSource
from ganeval.sources.shard import ShardSource, shard_bounds

RTOL_STATS = 1e-10
N_FAKE = 11  # tiny images for the fake extractor; rank 0 gets [0, 5), rank 1 gets [5, 11)
N_REAL = 9  # real images through Inception: shards of 4 and 5


class ExactExtractor(Extractor):
    """Stand-in for `InceptionExtractor`: integer weights on 4x4 images give features exact in float32,
    so they do not depend on how images are batched; the extraction loop around it is the real one."""

    network, space, layer, mode, protocol, precision = "inception", "inception", "pool3", "tf", "tf", "strict"
    weights_sha256, dim, has_head = "0" * 64, 6, True

    def __init__(self, batch_size: int = 3):
        gen = torch.Generator().manual_seed(0)
        self.batch_size = batch_size
        self.device = torch.device("cpu")
        self.weight = torch.randint(-3, 4, (48, 6), generator=gen).float()
        self.head = torch.randint(-2, 3, (6, 5), generator=gen).float() / 1024

    def require_head(self) -> None:
        pass

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1).float()

    def _taps(self, x: torch.Tensor, taps: tuple[str, ...], with_logits: bool) -> dict[str, torch.Tensor]:
        pool3 = x @ self.weight
        return {"pool3": pool3, **({"logits": pool3 @ self.head} if with_logits else {})}


class SomeBad(ImageSource):
    """An array source whose images at `bad` indices fail to decode."""

    def __init__(self, source: ImageSource, bad: set[int]):
        self.source, self.bad = source, bad

    def __len__(self) -> int:
        return len(self.source)

    def load(self, index: int) -> np.ndarray:
        if index in self.bad:
            raise BadImageError(self.describe(index), "broken on purpose")
        return self.source.load(index)

    def describe(self, index: int) -> str:
        return f"img{index}"

    @property
    def fingerprint(self) -> str:
        return "somebad"


def fake_images() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (N_FAKE, 4, 4, 3), dtype=np.uint8)


def fake_features(n: int = 37, d: int = 8) -> torch.Tensor:
    """Features with a large common offset, where a naive sum-of-squares reduction would lose digits."""
    gen = torch.Generator().manual_seed(2)
    return (torch.rand(n, d, generator=gen, dtype=torch.float64) * 0.1 + 5.0).float()


# ---------------------------------------------------------------- in-process tests


def test_shards_are_contiguous_blocks_covering_the_source_once():
    for n in (0, 1, 5, 11, 100):
        for world in (1, 2, 3, 8):
            blocks = [shard_bounds(n, r, world) for r in range(world)]
            assert blocks[0][0] == 0 and blocks[-1][1] == n
            assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:], strict=False))
            sizes = [stop - start for start, stop in blocks]
            assert max(sizes) - min(sizes) <= 1


def test_shard_source_maps_indices_fingerprints_and_pickles():
    source = ArraySource(fake_images())
    shards = [ShardSource(source, r, 2) for r in range(2)]
    assert [len(s) for s in shards] == [5, 6]
    np.testing.assert_array_equal(shards[1].load(0), source.load(5))
    assert shards[1].describe(5) == "array[10]"
    assert len({source.fingerprint, shards[0].fingerprint, shards[1].fingerprint}) == 3
    clone = pickle.loads(pickle.dumps(shards[1]))
    assert clone.fingerprint == shards[1].fingerprint
    np.testing.assert_array_equal(clone.load(2), source.load(7))
    with pytest.raises(InputError):
        shards[0].load(5)
    with pytest.raises(InputError):
        ShardSource(source, 2, 2)


def test_without_a_process_group_it_is_plain_extract():
    from ganeval.distributed import distributed_extract, is_distributed

    assert not is_distributed()
    extractor, source = ExactExtractor(), ArraySource(fake_images())
    got = distributed_extract(extractor, source, keep_features=True, logits=True, progress=False)
    want = extractor.extract(source, stats=True, keep_features=True, logits=True, progress=False)
    np.testing.assert_array_equal(got.stats.sigma, want.stats.sigma)
    assert torch.equal(got.features, want.features) and torch.equal(got.logits, want.logits)


# ---------------------------------------------------------------- 2 processes


def run_two_ranks(tmp_path: Path, *args: str) -> list[dict]:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip(f"torchrun not found next to {sys.executable}")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", __file__, *args, str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]


def identical(a, b) -> bool:
    """Bitwise equality of result fields (arrays, tensors, plain values)."""
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and bool((a.view(torch.uint8) == b.view(torch.uint8)).all())
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return a == b


def assert_stats_close(got, want) -> None:
    """mu and sigma equal to RTOL_STATS relative to their largest entry (n exactly)."""
    assert got["n"] == want.n
    for name in ("mu", "sigma"):
        ref = getattr(want, name)
        np.testing.assert_allclose(got[name], ref, rtol=RTOL_STATS, atol=RTOL_STATS * np.abs(ref).max())


def test_two_ranks_reduce_exactly_like_one_process(tmp_path):
    from ganeval.metrics.gaussian import gaussian_stats

    ranks = run_two_ranks(tmp_path, "maths")
    for key in ranks[0].keys() - {"strict"}:  # the fixed merge order makes every rank's result identical
        for field in ranks[0][key]:
            assert identical(ranks[0][key][field], ranks[1][key][field]), (key, field)
    out = ranks[0]
    features = fake_features()
    assert_stats_close(out["uneven"], gaussian_stats(features))
    assert torch.equal(out["uneven"]["pool3"], features)
    assert_stats_close(out["one_empty"], gaussian_stats(features))

    extractor, images = ExactExtractor(), fake_images()
    whole = extractor.extract(ArraySource(images), stats=True, keep_features=True, logits=True, progress=False)
    assert_stats_close(out["clean"], whole.stats)
    assert torch.equal(out["clean"]["pool3"], whole.features) and torch.equal(out["clean"]["logits"], whole.logits)

    bad = {1, 6, 7}
    skipping = SomeBad(ArraySource(images), bad)
    whole = extractor.extract(skipping, stats=True, keep_features=True, skip_bad=True, progress=False)
    assert_stats_close(out["skip_bad"], whole.stats)
    assert torch.equal(out["skip_bad"]["pool3"], whole.features)
    assert out["skip_bad"]["report"] == (whole.report.n_images, whole.report.n_skipped_bad, whole.report.bad_examples)
    assert whole.report.n_skipped_bad == 3

    assert out["rank1_all_bad"]["n"] == 5 and out["rank1_all_bad"]["report"][1] == 6
    # without skip_bad the first bad image in source order (img1, on rank 0) stops every rank
    assert ranks[0]["strict"] == ("BadImageError", True)
    assert ranks[1]["strict"] == ("RankFailedError", True)


def single_threaded(fn):
    """`fn()` with one intra-op thread, as each torchrun rank runs (OMP_NUM_THREADS=1).

    oneDNN's float32 convolutions sum in an order that depends on the thread count (pool3 moved by up to
    2e-6 between 1 and 2 threads here), not on the batch size; with equal thread counts both runs give the
    same pool3 bit for bit, so the statistics can be compared at 1e-10 and KID exactly.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(threads)


@pytest.mark.filterwarnings("ignore:KID subset size")
def test_two_ranks_of_inception_match_one_process(tmp_path, cifar_images, weights_with_head, extractor):
    from ganeval.metrics.gaussian import gaussian_stats
    from ganeval.metrics.isc import inception_score
    from ganeval.metrics.kid import kernel_inception_distance

    images = cifar_images[:N_REAL]
    np.save(tmp_path / "images.npy", images)
    ranks = run_two_ranks(tmp_path, "inception", str(weights_with_head), str(tmp_path / "images.npy"))
    source = ArraySource(images)
    whole = single_threaded(
        lambda: extractor.extract(source, stats=True, keep_features=True, logits=True, progress=False)
    )

    def kid(pool3):
        return kernel_inception_distance(pool3[:5], pool3[4:], subsets=10, subset_size=4)

    for out in ranks:
        assert_stats_close(out, gaussian_stats(out["pool3"]))  # the reduction, on the features it gathered
        assert_stats_close(out, whole.stats)
        for name, attribute in (("pool3", "features"), ("logits", "logits")):
            ref = getattr(whole, attribute)
            torch.testing.assert_close(out[name], ref, rtol=0, atol=1e-6 * float(ref.abs().max()))
        assert kid(out["pool3"]) == kid(whole.features)
        # the head's float32 matmul rounds differently for batches of 4 and 9, so logits match to round-off
        assert inception_score(out["logits"], splits=3) == pytest.approx(
            inception_score(whole.logits, splits=3), rel=1e-6
        )


# ---------------------------------------------------------------- the torchrun worker


def _stats(extracted) -> dict:
    return {
        "n": extracted.n,
        "mu": extracted.stats.mu,
        "sigma": extracted.stats.sigma,
        "pool3": extracted.features,
        "logits": extracted.logits,
        "report": (extracted.report.n_images, extracted.report.n_skipped_bad, extracted.report.bad_examples),
    }


def _reduce_block(features: torch.Tensor, start: int, stop: int) -> dict:
    from ganeval.distributed import reduce_side
    from ganeval.extractor import Keep, SideState
    from ganeval.features.views import default_view

    view, wants = default_view(), {default_view(): Keep(stats=True, features=True, logits=False)}
    part = SideState(wants)
    for batch in features[start:stop].split(4):
        part.add({view: (batch, None)}, count=len(batch))
    return _stats(reduce_side(part, None, wants).extracted(view))


def _maths(rank: int) -> dict:
    from ganeval.distributed import distributed_extract

    features = fake_features()
    extractor, images = ExactExtractor(), fake_images()
    opts = {"stats": True, "keep_features": True, "progress": False}
    out = {
        "uneven": _reduce_block(features, *shard_bounds(len(features), rank, 2)),
        "one_empty": _reduce_block(features, *((0, len(features)) if rank == 0 else (0, 0))),
        "clean": _stats(distributed_extract(extractor, ArraySource(images), logits=True, **opts)),
        "skip_bad": _stats(
            distributed_extract(extractor, SomeBad(ArraySource(images), {1, 6, 7}), skip_bad=True, **opts)
        ),
    }
    rank1_all_bad = SomeBad(ArraySource(images), set(range(5, N_FAKE)))
    out["rank1_all_bad"] = _stats(distributed_extract(extractor, rank1_all_bad, skip_bad=True, **opts))
    try:
        distributed_extract(extractor, SomeBad(ArraySource(images), {1, 6}), **opts)
        out["strict"] = ("no error", False)
    except Exception as exc:
        out["strict"] = (type(exc).__name__, "img1" in str(exc))
    return out


def _inception(weights: str, images_npy: str) -> dict:
    from ganeval.distributed import distributed_extract

    extractor = InceptionExtractor(weights, mode="tf", device="cpu", batch_size=4)
    source = ArraySource(np.load(images_npy))
    return _stats(distributed_extract(extractor, source, keep_features=True, logits=True, progress=False))


def worker_main(argv: list[str]) -> None:
    from ganeval.distributed import process_group

    *args, out_dir = argv
    with process_group() as distributed:
        assert distributed, "expected to run under torchrun with 2 processes"
        import torch.distributed as dist

        out = _maths(dist.get_rank()) if args[0] == "maths" else _inception(*args[1:])
        torch.save(out, Path(out_dir) / f"rank{dist.get_rank()}.pt")


if __name__ == "__main__":
    worker_main(sys.argv[1:])
