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


def test_stylegan_kid_and_is_follow_its_arithmetic(cifar_images, extractor):
    real, fake = cifar_images[:20], cifar_images[20:40]
    got = ganeval.score(
        real, fake, ("kid", "is"), protocol="stylegan", extractor=extractor, progress=False
    )  # subsets of min(20, 1000) images, as StyleGAN takes them
    f = extractor.run(torch.from_numpy(fake).permute(0, 3, 1, 2), ("pool3",), with_logits=True)
    r = extractor.run(torch.from_numpy(real).permute(0, 3, 1, 2), ("pool3",))
    assert got["kid_mean"] == pytest.approx(stylegan_kid(r["pool3"], f["pool3"], 100, 1000, seed=2020), rel=1e-6)
    assert (got["is_mean"], got["is_std"]) == pytest.approx(stylegan_inception_score(f["logits"].numpy(), 10))


def test_each_protocols_fd_takes_its_suites_statistics():
    """The protocols' FD adapters on small feature matrices (the 2048-d square roots cost ~15 s each here):
    StyleGAN divides the covariance by N, ADM, EDM2 and clean-fid by N-1, each in its own argument order."""
    from types import SimpleNamespace

    from ganeval.config import make_settings
    from ganeval.protocols import compute
    from ganeval.protocols.adm import numpy_statistics
    from ganeval.protocols.edm2 import edm2_frechet_distance, edm2_statistics

    rng = np.random.default_rng(5)
    r = np.abs(rng.normal(0.4, 0.3, (300, 64))).astype(np.float32)  # features are float32, as the networks give
    f = np.abs(rng.normal(0.45, 0.3, (260, 64))).astype(np.float32)

    def side(x):
        return SimpleNamespace(stats=ganeval.gaussian_stats(x), features=torch.from_numpy(x))

    real, fake, settings = side(r), side(f), make_settings()
    assert compute.stylegan_fd(real, fake, settings)["fid"] == pytest.approx(stylegan_fid(r, f), rel=1e-9)
    (mu_r, s_r), (mu_f, s_f) = numpy_statistics(r), numpy_statistics(f)
    assert compute.adm_fd(real, fake, settings)["fid"] == pytest.approx(
        ttur_frechet_distance(mu_f, s_f, mu_r, s_r), rel=1e-6
    )
    edm_r, edm_f = edm2_statistics(r), edm2_statistics(f)
    assert compute.nvlabs_fd(real, fake, settings, "fd_dinov2")["fd_dinov2"] == pytest.approx(
        edm2_frechet_distance(edm_f[0], edm_f[1], edm_r[0], edm_r[1]), rel=1e-9
    )
    assert compute.cleanfid_fd(real, fake, settings)["fid"] == pytest.approx(
        ttur_frechet_distance(mu_r, s_r, mu_f, s_f), rel=1e-6
    )
    assert compute.stylegan_fd(real, fake, settings)["fid"] < compute.nvlabs_fd(real, fake, settings)["fid"]


def test_clean_fid_protocol_runs_inception_and_clip_in_clean_mode(cifar_images, weights_with_head, space_weights):
    weights = {"inception": str(weights_with_head), "clip-vit-b-32": str(space_weights["clip-vit-b-32"])}
    got = ganeval.score(cifar_images[:12], cifar_images[12:24], ("kid", "fd"), protocol="clean-fid",
                        features="clip-vit-b-32", weights=weights, progress=False, device="cpu")  # fmt: skip
    assert got["spaces"]["kid"]["mode"] == "clean" and got["spaces"]["fd"]["mode"] == "clean"
    assert got["protocol"] == "clean-fid" and got["fd"] > 0 and "kid_std" not in got  # CLIP-FID, its KID
