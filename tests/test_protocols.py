"""`--protocol NAME` end to end: what each fixes, the suites' files as inputs and outputs, and each metric equal
to the suite's arithmetic (tests/test_protocol_goldens.py holds the goldens of that arithmetic, produced by the
suites' own code) applied to ganeval's features of the same images.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import ganeval
from ganeval.api import write_suite_reference
from ganeval.errors import InputError
from ganeval.protocols.adm import adm_inception_score, adm_precision_recall, read_adm_batch, ttur_frechet_distance
from ganeval.protocols.edm2 import read_edm2_reference
from ganeval.protocols.stylegan import stylegan_fid, stylegan_inception_score, stylegan_kid
from tests.conftest import run_cli


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def batches(cifar_images, tmp_path_factory):
    """An ADM sample batch (arr_0 only) and images for its reference, as ADM's scripts write them."""
    base = tmp_path_factory.mktemp("adm")
    np.savez(base / "samples.npz", cifar_images[24:40])
    return base, cifar_images[:24], cifar_images[24:40]


def test_protocols_are_listed_and_contradictions_refused(cifar_images):
    code, out, _ = run_cli("protocols")
    assert code == 0 and all(name in out for name in ("adm", "edm2", "stylegan", "clean-fid", "torch-fidelity"))
    code, _, err = run_cli("score", "a", "b", "--protocol", "adm", "--mode", "clean")
    assert code == 1 and "--protocol adm fixes the inception mode to tf; --mode clean contradicts it" in err
    with pytest.raises(InputError, match="--protocol adm defines is, fid, sfid, pr; kid is not part of it"):
        ganeval.score(cifar_images[:4], cifar_images[4:8], "kid", protocol="adm")
    with pytest.raises(InputError, match="--protocol stylegan fixes --features to vgg16"):
        ganeval.score(cifar_images[:4], cifar_images[4:8], "pr", protocol="stylegan", features="dinov2-vit-s-14")


@pytest.fixture(scope="module")
def adm_run(batches, weights_with_head, tmp_path_factory) -> dict:
    """`ganeval stats --protocol adm` writes a reference batch, `ganeval score --protocol adm` reads it: once."""
    base, real, _ = batches
    folder = tmp_path_factory.mktemp("adm-run")
    ref = folder / "ref.npz"
    np.save(folder / "real.npy", real)
    code, _, err = run_cli("stats", str(folder / "real.npy"), "--protocol", "adm", "-o", str(ref),
                           "--weights", str(weights_with_head), "--json", "-q")  # fmt: skip
    assert code == 0, err
    code, out, err = run_cli("score", str(ref), str(base / "samples.npz"), "--protocol", "adm", "--json",
                             "--weights", str(weights_with_head), "-q")  # fmt: skip
    assert code == 0, err
    return {"ref": ref, "result": json.loads(out)}


def test_adm_reference_batch_round_trip_and_its_five_numbers(batches, adm_run, extractor):
    _, real, fake = batches
    batch = read_adm_batch(adm_run["ref"])  # ADM's reader's contract: arr_0 and all four statistics
    assert batch.num_images == 24 and batch.stats is not None
    np.testing.assert_array_equal(np.load(adm_run["ref"])["arr_0"], real)
    got = adm_run["result"]
    assert got["protocol"] == "adm" and "is_std" not in got
    assert {"fid", "sfid", "is_mean", "precision", "recall"} <= set(got)
    # The same numbers from ADM's arithmetic on ganeval's features of the same images (sFID takes the same
    # function on the spatial view: `spaces` shows which view it read).
    f = extractor.run(torch.from_numpy(fake).permute(0, 3, 1, 2), ("pool3",), with_logits=True)
    r = extractor.run(torch.from_numpy(real).permute(0, 3, 1, 2), ("pool3",))
    (mu, sigma), _ = batch.stats
    fake_stats = ganeval.gaussian_stats(f["pool3"])
    assert got["fid"] == pytest.approx(ttur_frechet_distance(fake_stats.mu, fake_stats.sigma, mu, sigma), rel=1e-6)
    assert got["spaces"]["sfid"]["features"] == "inception-spatial" and got["sfid"] > 0
    assert got["is_mean"] == pytest.approx(adm_inception_score(f["logits"].numpy()), rel=1e-5)
    assert (got["precision"], got["recall"]) == pytest.approx(adm_precision_recall(r["pool3"], f["pool3"]))


def test_adm_uses_the_batch_statistics_instead_of_recomputing(batches, adm_run, weights_with_head, tmp_path):
    """ADM reads mu/sigma from a reference batch: a batch whose mean is shifted gives the FID of the shifted
    statistics, as ADM's evaluator would (the covariance terms are the same bits, so only |mu_f - mu|^2 moves)."""
    from ganeval.protocols.adm import write_adm_batch

    base, real, _ = batches
    (mu, sigma), (mu_s, sigma_s) = read_adm_batch(adm_run["ref"]).stats
    shifted = mu + 0.5
    path = write_adm_batch(tmp_path / "ref.npz", real, shifted, sigma, mu_s, sigma_s)
    got = ganeval.score(path, base / "samples.npz", "fid", protocol="adm", weights=str(weights_with_head),
                        progress=False)  # fmt: skip
    fake_mu = ganeval.compute_stats(base / "samples.npz", weights=str(weights_with_head), progress=False).stats.mu
    moved = np.sum((fake_mu - shifted) ** 2) - np.sum((fake_mu - mu) ** 2)
    assert got["fid"] - adm_run["result"]["fid"] == pytest.approx(moved, rel=1e-6)


def test_edm2_reference_pkl_written_read_and_scored(cifar_images, space_weights, weights_with_head, tmp_path):
    """EDM2's file holds fid and fd_dinov2 statistics; fd_dinov2 (here on a small seeded DINOv2) is scored
    from it as from the images (fid takes the same arithmetic on Inception)."""
    weights = {"inception": str(weights_with_head), "dinov2-vit-l-14": str(space_weights["dinov2-vit-s-14"])}
    ref = tmp_path / "ref.pkl"
    write_suite_reference(cifar_images[:16], ref, protocol="edm2", weights=weights, progress=False)
    read = read_edm2_reference(ref)
    assert read.num_images == 16 and set(read.stats) == {"fid", "fd_dinov2"}
    assert read.stats["fid"][0].shape == (2048,) and read.stats["fd_dinov2"][0].shape == (128,)
    got = ganeval.score(str(ref), cifar_images[16:32], "fd_dinov2", protocol="edm2", weights=weights, progress=False)
    direct = ganeval.score(cifar_images[:16], cifar_images[16:32], "fd_dinov2", protocol="edm2", weights=weights,
                           progress=False)  # fmt: skip
    assert got["fd_dinov2"] == pytest.approx(direct["fd_dinov2"], rel=1e-9)
    assert got["spaces"]["fd_dinov2"]["mode"] == "edm2" and got["n_real"] == 16
    with pytest.raises(InputError, match="holds statistics of .* only"):
        ganeval.score(str(ref), cifar_images[16:32], "fd", features="dinov2-vit-s-14", weights=weights)


def test_stylegan_fid_kid_is_follow_its_arithmetic(cifar_images, extractor, weights_with_head):
    real, fake = cifar_images[:20], cifar_images[20:40]
    got = ganeval.score(
        real, fake, ("fid", "kid", "is"), protocol="stylegan", extractor=extractor, progress=False
    )  # subsets of min(20, 1000) images, as StyleGAN takes them
    f = extractor.run(torch.from_numpy(fake).permute(0, 3, 1, 2), ("pool3",), with_logits=True)
    r = extractor.run(torch.from_numpy(real).permute(0, 3, 1, 2), ("pool3",))
    assert got["fid"] == pytest.approx(stylegan_fid(r["pool3"], f["pool3"]), rel=1e-6)
    assert got["kid_mean"] == pytest.approx(stylegan_kid(r["pool3"], f["pool3"], 100, 1000, seed=2020), rel=1e-6)
    assert (got["is_mean"], got["is_std"]) == pytest.approx(stylegan_inception_score(f["logits"].numpy(), 10))
    plain = ganeval.score(real, fake, "fid", extractor=extractor, progress=False)
    assert got["fid"] < plain["fid"]  # the covariance divided by N instead of N-1


def test_clean_fid_protocol_runs_inception_and_clip_in_clean_mode(cifar_images, weights_with_head, space_weights):
    weights = {"inception": str(weights_with_head), "clip-vit-b-32": str(space_weights["clip-vit-b-32"])}
    got = ganeval.score(cifar_images[:12], cifar_images[12:24], ("kid", "fd"), protocol="clean-fid",
                        features="clip-vit-b-32", weights=weights, progress=False, device="cpu")  # fmt: skip
    assert got["spaces"]["kid"]["mode"] == "clean" and got["spaces"]["fd"]["mode"] == "clean"
    assert got["protocol"] == "clean-fid" and got["fd"] > 0 and "kid_std" not in got  # CLIP-FID, its KID
