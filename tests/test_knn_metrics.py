"""Precision, recall, density and coverage against torch-fidelity 0.4.0 and prdc, on real Inception features,
including the ties that duplicated images make, where `<=` and `<` differ."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ganeval
from ganeval.metrics.knn import Ball, Features, cross_balls, kth_neighbour_radii
from ganeval.metrics.prdc import precision_recall_density_coverage as prdc_metrics
from tests.conftest import write_folder


def exact_reference(real: np.ndarray, fake: np.ndarray, pr_k: int, dc_k: int) -> dict[str, float]:
    """The definitions, written out on the full exact distance matrices (numpy, float64)."""
    r, f = real.astype(np.float64), fake.astype(np.float64)

    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))

    d_rr, d_ff, d_fr = dist(r, r), dist(f, f), dist(f, r)
    r_pr, f_pr = np.sort(d_rr, 1)[:, pr_k], np.sort(d_ff, 1)[:, pr_k]
    r_dc = np.sort(d_rr, 1)[:, dc_k]
    return {
        "precision": float((d_fr <= r_pr[None, :]).any(1).mean()),
        "recall": float((d_fr <= f_pr[:, None]).any(0).mean()),
        "density": float((1.0 / dc_k) * (d_fr < r_dc[None, :]).sum(1).mean()),
        "coverage": float((d_fr < r_dc[None, :]).any(0).mean()),
    }


@pytest.fixture(scope="module")
def pool3(ganeval_tf_features) -> np.ndarray:
    return ganeval_tf_features[0].numpy()


@pytest.fixture(scope="module")
def tied(pool3) -> tuple[np.ndarray, np.ndarray]:
    """Real: 8 images twice and 6 once; fake: copies of 4 real images, the duplicate of one, 8 others.

    A fake copy of a real image r' lies exactly at distance d(r, r') from r, which is r's radius when r' is
    its k-th neighbour: the tie that decides `<=` against `<`.
    """
    real = np.concatenate([pool3[:8], pool3[:8], pool3[8:14]])
    fake = np.concatenate([pool3[:4], pool3[9:10], pool3[20:28]])
    return real, fake


def test_precision_recall_equal_torch_fidelity_on_real_features(pool3):
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    real, fake = pool3[:24], pool3[24:]
    ours = prdc_metrics(real, fake, pr_k=3, dc_k=None)
    theirs = calculate_precision_recall_full(torch.from_numpy(fake), torch.from_numpy(real), 3)
    assert (ours["precision"], ours["recall"]) == pytest.approx(theirs, abs=1e-7)  # theirs are float32 means
    assert 0 < ours["precision"] < 1 and 0 < ours["recall"] < 1  # a case that can tell rules apart


def test_density_coverage_equal_prdc_on_real_features(pool3):
    from prdc import compute_prdc

    real, fake = pool3[:24], pool3[24:]
    ours = prdc_metrics(real, fake, pr_k=None, dc_k=5)
    theirs = compute_prdc(real, fake, 5)
    assert ours["density"] == pytest.approx(theirs["density"], rel=1e-12)
    assert ours["coverage"] == pytest.approx(theirs["coverage"], rel=1e-12)


def test_ties_follow_each_papers_rule(tied):
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    real, fake = tied
    ours = prdc_metrics(real, fake, pr_k=1, dc_k=1)
    assert ours == pytest.approx(exact_reference(real, fake, 1, 1), abs=0)
    # torch-fidelity computes these small matrices pair by pair, so its ties are exact too.
    theirs = calculate_precision_recall_full(torch.from_numpy(fake), torch.from_numpy(real), 1)
    assert (ours["precision"], ours["recall"]) == pytest.approx(theirs, abs=1e-7)
    # The tie matters here: with `<` precision would differ, with `<=` coverage would.
    features_r, features_f = Features.of(real, torch.device("cpu")), Features.of(fake, torch.device("cpu"))
    radii = kth_neighbour_radii(features_r, (1,))[1]
    loose, strict = cross_balls(features_f, features_r, [Ball(radii, "cols", False), Ball(radii, "cols", True)])
    assert loose.row_any.mean() != strict.row_any.mean()
    assert (radii[:16] == 0).all()  # a duplicated image's nearest neighbour is its copy, at exactly 0


@pytest.mark.parametrize("block", [1, 5, 4096])
def test_results_do_not_depend_on_the_block_size(tied, block):
    real, fake = tied
    assert prdc_metrics(real, fake, pr_k=3, dc_k=5, block=block) == prdc_metrics(real, fake, pr_k=3, dc_k=5)


def test_subsample_is_seeded_and_bounded(pool3):
    a = prdc_metrics(pool3[:24], pool3[24:], knn_samples=12, seed=1)
    assert a == prdc_metrics(pool3[:24], pool3[24:], knn_samples=12, seed=1)
    assert a != prdc_metrics(pool3[:24], pool3[24:], knn_samples=12, seed=2)


def test_end_to_end_equals_torch_fidelity_prc(cifar_images, tmp_path, weights_with_head, extractor):
    """`ganeval score REAL FAKE --metrics pr` against `calculate_metrics(input1=FAKE, input2=REAL, prc=True)`,
    with duplicated images in both folders (the default CPU arithmetic; the anchor's own network)."""
    import torch_fidelity

    real = write_folder(np.concatenate([cifar_images[:6], cifar_images[:6], cifar_images[6:14]]), tmp_path / "r")
    fake = write_folder(np.concatenate([cifar_images[:3], cifar_images[20:34]]), tmp_path / "f")
    theirs = torch_fidelity.calculate_metrics(
        input1=str(fake), input2=str(real), prc=True, feature_extractor="inception-v3-compat",
        feature_layer_prc="2048", feature_extractor_weights_path=str(weights_with_head), cuda=False,
        cache=False, verbose=False, samples_find_deep=True,
    )  # fmt: skip
    ours = ganeval.score(real, fake, ("pr", "dc"), extractor=extractor, progress=False)
    assert ours["precision"] == pytest.approx(theirs["precision"], abs=1e-7)
    assert ours["recall"] == pytest.approx(theirs["recall"], abs=1e-7)
    assert ours["n_real"] == 20 and ours["n_fake"] == 17
    assert set(ours) >= {"density", "coverage"}
