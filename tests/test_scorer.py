"""The streaming Scorer: batches equal one pass, references equal real batches, reset and compute semantics,
float batches equal their PNGs, bad batches refused before the network, and torch.distributed (2 gloo ranks)
equal to one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.utils import save_image

import ganeval
from ganeval.errors import InputError
from ganeval.extractor import InceptionExtractor
from tests.conftest import data_root, write_folder

N_REAL, N_FAKE = 8, 12
METRICS = ("fid", "kid", "pr", "dc")
OPTIONS = {"kid_subset_size": 6, "kid_subsets": 5, "pr_k": 2, "dc_k": 2}


@pytest.fixture(scope="module")
def sets(cifar_tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return cifar_tensor[:N_REAL], cifar_tensor[N_REAL : N_REAL + N_FAKE]


@pytest.fixture(scope="module")
def one_pass(sets, extractor) -> dict:
    real, fake = sets
    result = ganeval.score(real, fake, METRICS, extractor=extractor, progress=False, **OPTIONS)
    return {k: v for k, v in result.items() if k not in ("spaces", "features", "protocol")}


@pytest.mark.parametrize("batch", [1, 7, 64])
def test_updates_in_batches_equal_one_pass(sets, extractor, one_pass, batch):
    real, fake = sets
    scorer = ganeval.Scorer(METRICS, reference=real, extractor=extractor, cache=False, **OPTIONS)
    for start in range(0, N_FAKE, batch):
        scorer.update(fake[start : start + batch])
    result = scorer.compute()
    assert result["fid"] == pytest.approx(one_pass["fid"], rel=1e-9)
    for key in ("kid_mean", "kid_std", "precision", "recall", "density", "coverage", "n_real", "n_fake"):
        assert result[key] == one_pass[key], key


def test_a_reference_equals_real_batches_and_is_obtained_once(tmp_path, extractor, counted, monkeypatch):
    """ref:NAME slice, a folder of the same images and a statistics file all give the FID of the same
    images passed with real=True; building a second scorer with the reference runs no forward pass."""
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not found (set GANEVAL_DATA)")
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    real_images = ganeval.load_dataset("fashion-mnist", "test", data_root()).images[:6]
    fake = torch.from_numpy(np.load(data_root() / "cifar10-exact-subset" / "cifar10_train_first4000.npz")["x"][:4])
    fake = fake.permute(0, 3, 1, 2)
    options = {"extractor": extractor, "data_root": str(data_root())}

    def fid_with(reference=None, real_batches=None):
        scorer = ganeval.Scorer(("fid",), reference=reference, **options)
        if real_batches is not None:
            scorer.update(real_batches, real=True)
        scorer.update(fake)
        return scorer.compute()["fid"]

    by_batches = fid_with(real_batches=real_images)
    folder = write_folder(real_images.permute(0, 2, 3, 1).repeat(1, 1, 1, 3).numpy(), tmp_path / "real")
    stats_file = tmp_path / "real.npz"
    ganeval.compute_stats(folder, stats_file, extractor=extractor, progress=False)
    for reference in ("ref:fashion-mnist-test[:6]", str(folder), str(stats_file)):
        assert fid_with(reference) == pytest.approx(by_batches, rel=1e-9), reference
    counted.clear()
    ganeval.Scorer(("fid",), reference="ref:fashion-mnist-test[:6]", **options)
    assert sum(counted) == 0  # the second construction reads the cache


def test_reset_and_compute_semantics(sets, extractor, one_pass):
    real, fake = sets
    scorer = ganeval.Scorer(METRICS, reference=real, extractor=extractor, cache=False, **OPTIONS)
    scorer.update(fake[:6])
    partial = scorer.compute()
    assert scorer.compute() == partial  # compute does not consume the state
    scorer.update(fake[6:])
    after = {k: v for k, v in scorer.compute().items() if k in one_pass}
    assert after == pytest.approx(one_pass, rel=1e-9)  # and updating goes on after it
    scorer.reset()  # forgets the generated images, keeps the reference
    assert scorer.n_fake == 0 and scorer.n_reference == N_REAL
    scorer.update(fake)
    assert scorer.compute()["fid"] == pytest.approx(one_pass["fid"], rel=1e-9)
    scorer.reset(real=True)  # forgets both
    scorer.update(fake)
    with pytest.raises(InputError, match="need at least 2 real images, got 0"):
        scorer.compute()
    scorer.update(real, real=True)
    assert scorer.compute()["fid"] == pytest.approx(one_pass["fid"], rel=1e-9)


def test_float_batches_equal_their_saved_pngs(cifar_tensor, extractor, tmp_path):
    real = cifar_tensor[:6]
    noise = torch.Generator().manual_seed(0)
    jitter = 0.05 * torch.randn(6, 3, 32, 32, generator=noise, dtype=torch.float64)
    floats = (cifar_tensor[6:12].double() / 127.5 - 1 + jitter).clamp(-1, 1)
    scorer = ganeval.Scorer(("fid", "kid"), reference=real, extractor=extractor, cache=False, kid_subset_size=3)
    scorer.update(floats[:4], value_range=(-1, 1))
    scorer.update(floats[4:], value_range=(-1, 1))
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(floats):
        save_image(image, folder / f"{i:02d}.png", normalize=True, value_range=(-1, 1))
    saved = ganeval.score(real, folder, ("fid", "kid"), extractor=extractor, progress=False, kid_subset_size=3)
    ours = scorer.compute()
    assert ours["fid"] == pytest.approx(saved["fid"], rel=1e-9)
    assert (ours["kid_mean"], ours["kid_std"]) == (saved["kid_mean"], saved["kid_std"])


def test_bad_float_batches_never_reach_the_network(cifar_tensor, extractor, counted):
    scorer = ganeval.Scorer(("fid",), reference=cifar_tensor[:4], extractor=extractor, cache=False)
    counted.clear()
    bad = torch.zeros(6, 3, 32, 32)
    bad[2, 0, 0, 0] = float("nan")
    bad[4, 1, 2, 3] = float("inf")
    with pytest.raises(InputError, match=r"2 of 6 images contain NaN or Inf values \(first: index 2\)"):
        scorer.update(bad, value_range=(-1, 1))
    bad = torch.zeros(6, 3, 32, 32)
    bad[3] = 1.5
    with pytest.raises(InputError, match=r"1 of 6 images have values outside value_range \(-1, 1\) \(first: index 3\)"):
        scorer.update(bad, value_range=(-1, 1))
    with pytest.raises(InputError, match="without value_range"):
        scorer.update(torch.zeros(2, 3, 8, 8))
    assert sum(counted) == 0 and scorer.n_fake == 0


def test_options_are_checked(extractor):
    with pytest.raises(InputError, match="unknown option"):
        ganeval.Scorer(("fid",), extractor=extractor, kid_subsetsize=10)
    with pytest.raises(InputError, match="unknown metric"):
        ganeval.Scorer(("fidd",), extractor=extractor)


def test_torchrun_two_ranks_equal_one_process(tmp_path, cifar_images, weights_with_head):
    """Rank 0 updates 5 generated images and no real ones, rank 1 the other 7 and all the real ones; a
    second scorer's reference is obtained by rank 0 and sent to rank 1. Every rank's results equal one
    process's (in that same process, so both run with the same thread count)."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip(f"torchrun not found next to {sys.executable}")
    images = tmp_path / "images.npy"
    np.save(images, cifar_images[: N_REAL + N_FAKE])
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", str(Path(__file__)), str(weights_with_head),
           str(images), str(tmp_path)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GANEVAL_CACHE": str(tmp_path / "cache"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    for rank in (0, 1):
        out = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        for name in ("updates", "reference"):
            ours, single = out[name]
            assert ours["fid"] == pytest.approx(single["fid"], rel=1e-9), name
            for key in ("kid_mean", "kid_std", "precision", "recall", "n_real", "n_fake"):
                assert ours[key] == single[key], (name, key)
        mu, sigma, mu1, sigma1 = out["stats"]
        assert np.allclose(mu, mu1, rtol=1e-10, atol=0) and np.allclose(sigma, sigma1, rtol=1e-10, atol=1e-14)


def _worker(weights: str, images_npy: str, out_dir: str) -> None:
    import torch.distributed as dist

    from ganeval.distributed import process_group

    with process_group() as grouped:
        assert grouped
        rank = dist.get_rank()
        images = torch.from_numpy(np.load(images_npy)).permute(0, 3, 1, 2)
        real, fake = images[:N_REAL], images[N_REAL:]
        extractor = InceptionExtractor(weights, device="cpu", batch_size=8)
        options = {"extractor": extractor, "progress": False, **OPTIONS}
        share = slice(0, 5) if rank == 0 else slice(5, None)
        scorer = ganeval.Scorer(("fid", "kid", "pr"), **options)
        scorer.update(fake[share])
        if rank == 1:
            scorer.update(real, real=True)
        ours = scorer.compute()
        with_reference = ganeval.Scorer(("fid", "kid", "pr"), reference=real, **options)
        with_reference.update(fake[share])
        theirs = with_reference.compute()
        side = next(iter(scorer._gathered(scorer._fake).views.values()))
        single = ganeval.score(real, fake, ("fid", "kid", "pr"), cache=False, **options)
        # In batches of 8, like the ranks' 5 and 7 below oneDNN's single-thread switch of convolution
        # algorithm at 16 images, so pool3 is the same bits and only the float64 reduction order differs.
        alone = ganeval.compute_stats(fake, extractor=extractor, cache=False, progress=False).stats
        out = {
            "updates": (ours, single),
            "reference": (theirs, single),
            "stats": (side.stats.mu, side.stats.sigma, alone.mu, alone.sigma),
        }
        torch.save(out, Path(out_dir) / f"rank{rank}.pt")


if __name__ == "__main__":
    _worker(*sys.argv[1:4])
