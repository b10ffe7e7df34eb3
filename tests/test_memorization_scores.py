"""Sample-size, diversity and rarity scores on feature matrices: FD-infinity, Vendi, approximate sliced Wasserstein,
MiFID, rarity score and the bootstrap helpers, against dgm-eval's printed values (tests/fixtures/dgm_eval), the
`vendi-score` package, torchmetrics, and hand-checked cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganeval.errors import InputError
from ganeval.metrics.bootstrap import bootstrap_indices, interval
from ganeval.metrics.fd_inf import draw_subsets, fd_inf, fd_inf_sizes, line_fit
from ganeval.metrics.gaussian import gaussian_stats
from ganeval.metrics.mifid import memorization_distance, mifid
from ganeval.metrics.rarity import rarity
from ganeval.metrics.sliced_wasserstein import sw
from ganeval.metrics.vendi import vendi, vendi_per_class

FIXTURES = Path(__file__).parent / "fixtures" / "dgm_eval"


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "inputs.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIXTURES / "expected.json").read_text())


# --- FD-infinity -------------------------------------------------------------------------------------------


def test_fd_inf_equals_dgm_eval_on_its_subsets(inputs, expected):
    recorded = expected["fd_inf32"]
    subsets = [np.array(s) for s in recorded["subsets"]]
    for method in ("eig", "sqrtm"):
        result = fd_inf(inputs["train32"], inputs["fake32"], subsets=subsets, method=method)
        np.testing.assert_allclose(result.fds, recorded["fds"], rtol=1e-9)  # measured: 1.3e-12
        assert result.fd_inf == pytest.approx(recorded["fd_inf"], rel=1e-9)  # measured: 1.9e-14
        assert result.slope == pytest.approx(np.polyfit(1.0 / result.sizes, recorded["fds"], 1)[0], rel=1e-9)


def test_fd_inf_default_draws_are_dgm_eval_draws_from_the_same_generator(inputs, expected):
    recorded = expected["fd_inf32"]
    sizes = fd_inf_sizes(400)
    np.testing.assert_array_equal(sizes, [len(s) for s in recorded["subsets"]])
    for ours, theirs in zip(draw_subsets(400, sizes, seed=0), recorded["subsets"], strict=True):
        np.testing.assert_array_equal(ours, theirs)
        assert len(np.unique(ours)) == len(ours)  # without replacement
    result = fd_inf(gaussian_stats(inputs["train32"]), inputs["fake32"], seed=0)  # REAL as statistics
    assert result.fd_inf == pytest.approx(recorded["fd_inf"], rel=1e-9)
    other = fd_inf(inputs["train32"], inputs["fake32"], seed=1)
    assert other.fd_inf != result.fd_inf and other.fds[-1] == pytest.approx(result.fds[-1])  # all rows: same FD


def test_fd_inf_sizes_follow_dgm_eval():
    np.testing.assert_array_equal(fd_inf_sizes(400), np.linspace(40, 400, 15).astype(np.int32))
    assert fd_inf_sizes(50_000)[0] == 5000 and fd_inf_sizes(100_000)[0] == 5000 and fd_inf_sizes(10)[0] == 2


def test_line_fit_recovers_an_exact_line():
    x = 1.0 / np.array([50.0, 80, 130, 400])
    intercept, slope = line_fit(x, 3.0 + 700.0 * x)
    assert intercept == pytest.approx(3.0, rel=1e-12) and slope == pytest.approx(700.0, rel=1e-12)


def test_fd_inf_refuses_too_few_generated_rows():
    with pytest.raises(InputError, match=r"FD-infinity needs at least 3 generated rows"):
        fd_inf(np.random.default_rng(0).standard_normal((50, 2)), np.ones((2, 2)))
    with pytest.raises(
        InputError, match=r"FD-infinity subsets of up to 5000 rows need as many generated rows, got 300"
    ):
        fd_inf(np.random.default_rng(0).standard_normal((50, 2)), np.ones((300, 2)), sizes=[1000, 5000])


# --- Vendi -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [32, 72])
def test_vendi_equals_dgm_eval(inputs, expected, d):
    fake = inputs[f"fake{d}"]
    assert vendi(fake) == pytest.approx(expected[f"set{d}"]["vendi"], rel=1e-10)  # measured: 6e-14
    per_class = vendi_per_class(fake, inputs[f"fake_classes{d}"])
    assert list(per_class) == [0, 1, 2]
    np.testing.assert_allclose(list(per_class.values()), expected[f"set{d}"]["vendi_per_class"], rtol=1e-10)


@pytest.mark.parametrize("shape", [(300, 16), (20, 64)])  # more rows than dimensions, and fewer
@pytest.mark.filterwarnings("ignore:Please import `csr_matrix`:DeprecationWarning")  # inside vendi-score 0.0.3
def test_vendi_equals_the_vendi_score_package(shape):
    vendi_score = pytest.importorskip("vendi_score.vendi", reason="vendi-score is a test dependency")
    x = np.random.default_rng(4).standard_normal(shape) + 0.5
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert vendi(x) == pytest.approx(vendi_score.score_dual(x), rel=1e-10)
    assert vendi(x) == pytest.approx(vendi_score.score_K(unit @ unit.T), rel=1e-10)
    single = x.astype(np.float32)  # converted to float64 before any arithmetic (the package stays in float32)
    assert vendi(torch.from_numpy(single)) == pytest.approx(
        vendi_score.score_dual(single.astype(np.float64)), rel=1e-10
    )


def test_vendi_counts_distinct_directions():
    assert vendi(np.tile([[1.0, 2, 3]], (10, 1))) == pytest.approx(1.0)
    assert vendi(np.eye(7) * 3) == pytest.approx(7.0)
    assert vendi(np.concatenate([np.eye(4), -2 * np.eye(4)])) == pytest.approx(4.0)  # cosine kernel: sign-blind


def test_vendi_per_class_takes_any_labels():
    rows = np.concatenate([np.eye(3), np.tile([[1.0, 1, 0]], (4, 1))])
    scores = vendi_per_class(rows, ["b", "b", "b", "a", "a", "a", "a"])
    assert list(scores) == ["a", "b"] and scores["a"] == pytest.approx(1.0) and scores["b"] == pytest.approx(3.0)
    with pytest.raises(InputError, match=r"need one class per row: 2 classes, 7 rows"):
        vendi_per_class(rows, [0, 1])


# --- approximate sliced Wasserstein ------------------------------------------------------------------------


@pytest.mark.parametrize("d", [32, 72])
def test_sw_equals_dgm_eval(inputs, expected, d):
    assert sw(inputs[f"train{d}"], inputs[f"fake{d}"]) == pytest.approx(expected[f"set{d}"]["sw_approx"], rel=1e-12)


def test_sw_by_hand():
    x = np.array([[0.0, 0], [2, 0]])  # mean (1, 0), E|x - m|^2 = 1
    y = np.array([[1.0, 3], [1, 7], [1, 5]])  # mean (1, 5), E|y - m|^2 = 8/3
    expected = np.sqrt(25 / 2 + (np.sqrt(1 / 2) - np.sqrt(4 / 3)) ** 2)
    assert sw(x, y) == pytest.approx(expected, rel=1e-14) and sw(y, x) == pytest.approx(expected, rel=1e-14)
    assert sw(y, y) == 0.0


# --- MiFID -------------------------------------------------------------------------------------------------


class Identity(torch.nn.Module):
    """torchmetrics' custom feature extractor, fed feature rows: the rows themselves."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def torchmetrics_mifid(real: np.ndarray, fake: np.ndarray) -> float:
    mifid_module = pytest.importorskip("torchmetrics.image.mifid", reason="torchmetrics is a test dependency")
    metric = mifid_module.MemorizationInformedFrechetInceptionDistance(feature=Identity())
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    return float(metric.compute())


@pytest.fixture(scope="module")
def positive_rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(8)
    real = rng.standard_normal((120, 64)) + 0.3
    fresh = rng.standard_normal((120, 64)) * 1.3 + 0.5
    return {"real": real, "fresh": fresh, "copies": np.concatenate([real[:110] * 1.5, fresh[:10]])}


@pytest.mark.parametrize("case", ["fresh", "copies"])
def test_mifid_equals_torchmetrics(positive_rows, case):
    real, fake = positive_rows["real"], positive_rows[case]
    ours = mifid(real, fake, block=16)
    assert ours == pytest.approx(torchmetrics_mifid(real, fake), rel=1e-9)
    distance = memorization_distance(fake, real)
    fid = mifid(real, fake, cosine_distance_eps=1e-9)  # any distance counts as 1: plain FID
    if case == "copies":  # 110 of 120 REAL rows have a generated copy (scaled: cosine distance 0)
        assert distance < 0.1 and ours == pytest.approx(fid / distance, rel=1e-9) and ours > 3 * fid
    else:
        assert distance >= 0.1 and ours == fid


def test_memorization_distance_orientations_by_hand():
    fake = np.array([[1.0, 0], [0, 2], [3, 3]])
    copied = np.array([[-2.0, 0], [1, 1], [0, 0]])  # the zero row is left out, as in both references
    # 1 - |cos|: fake x copied = [[0, 1 - 1/sqrt2], [1, 1 - 1/sqrt2], [1, 0]]
    c = 1 - 1 / np.sqrt(2)
    assert memorization_distance(fake, copied) == pytest.approx((0 + 0) / 2)  # per copied row, min over fake
    assert memorization_distance(fake, copied, orientation="kaggle") == pytest.approx((0 + c + 0) / 3)
    assert memorization_distance(fake, copied, orientation="kaggle", block=1) == pytest.approx((0 + c + 0) / 3)
    with pytest.raises(InputError, match=r"unknown orientation 'sideways'"):
        memorization_distance(fake, copied, orientation="sideways")


def test_mifid_with_train_rows_as_the_copied_set(positive_rows):
    real, fresh = positive_rows["real"], positive_rows["fresh"]
    train = fresh[:115] * 0.5  # the generator returned its (scaled) training rows
    copied_from_train = mifid(real, fresh, train, orientation="kaggle")
    assert copied_from_train > 1.5 * mifid(real, fresh, orientation="kaggle")
    with pytest.raises(InputError, match=r"give the copied rows \(TRAIN or REAL\) when REAL is statistics"):
        mifid(gaussian_stats(real), fresh)


# --- rarity ------------------------------------------------------------------------------------------------


def test_rarity_by_hand():
    real = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0], [100, 0], [104, 0], [108, 0], [112, 0]])
    # k = 3 radii: 3, 2, 2, 3 for the dense group; 12, 8, 8, 12 for the sparse one.
    fake = np.array([[1.5, 0], [-2.5, 0], [5, 0], [6, 0], [106, 0], [1000, 0]])
    # (1.5): inside all four dense balls, smallest radius 2. (-2.5): only (0,0)'s, 3. (5): only (3,0)'s, 3.
    # (6): exactly at (3,0)'s radius, not strictly inside: none. (106): smallest 8. (1000): none.
    result = rarity(real, fake, k=3, block=3)
    np.testing.assert_array_equal(result.scores, [2, 3, 3, np.nan, 8, np.nan])
    assert result.mean == 4.0
    np.testing.assert_array_equal(result.rarest, [4, 1, 2, 0])


def test_rarity_equals_the_definition_on_random_rows():
    rng = np.random.default_rng(6)
    real, fake = rng.standard_normal((80, 6)), rng.standard_normal((50, 6)) * 1.4
    full_real = np.sqrt(((real[:, None] - real[None]) ** 2).sum(-1))
    radii = np.sort(full_real, axis=1)[:, 3]
    inside = np.sqrt(((fake[:, None] - real[None]) ** 2).sum(-1)) < radii[None, :]
    expected = np.array([radii[row].min() if row.any() else np.nan for row in inside])
    for block in (4096, 7):
        result = rarity(real, fake, block=block)
        np.testing.assert_allclose(result.scores, expected, rtol=1e-12)
    assert 0 < np.isnan(expected).sum() < len(fake)  # some rows outside every ball, some inside
    assert result.mean == pytest.approx(np.nanmean(expected))
    np.testing.assert_array_equal(
        result.rarest, np.argsort(-np.nan_to_num(expected, nan=-1), kind="stable")[: 50 - np.isnan(expected).sum()]
    )


def test_rarity_refuses_too_few_real_rows():
    with pytest.raises(InputError, match=r"rarity with k=3 needs more than 3 REAL rows, got 3"):
        rarity(np.eye(3), np.eye(3))


# --- bootstrap ---------------------------------------------------------------------------------------------


def test_bootstrap_is_reproducible_for_a_seed(inputs):
    a, b = bootstrap_indices(200, 30, seed=7), bootstrap_indices(200, 30, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (30, 200) and a.min() >= 0 and a.max() < 200
    assert not np.array_equal(a, bootstrap_indices(200, 30, seed=8))
    assert all(len(np.unique(row)) < 200 for row in a)  # with replacement
    train, fake = inputs["train32"], inputs["fake32"][:200]
    first = interval([sw(train, fake[rows]) for rows in a])
    again = interval([sw(train, fake[rows]) for rows in bootstrap_indices(200, 30, seed=7)])
    assert first == again and first[0][0] < sw(train, fake) < first[0][1] and first[1] > 0


def test_interval_percentiles_and_standard_error():
    (low, high), se = interval(np.arange(1.0, 101.0))
    assert (low, high) == pytest.approx((3.475, 97.525)) and se == pytest.approx(np.arange(1.0, 101.0).std(ddof=1))
    with pytest.raises(InputError, match=r"an interval needs at least 2 resampled values, got 1"):
        interval([1.0])
    # basic: the percentiles reflected about the full-sample value (a bias the resamples share is removed)
    (b_low, b_high), b_se = interval(np.arange(1.0, 101.0), estimate=40.0, method="basic")
    assert (b_low, b_high) == pytest.approx((80 - 97.525, 80 - 3.475)) and b_se == se
    with pytest.raises(InputError, match="basic interval needs the full-sample estimate"):
        interval([1.0, 2.0], method="basic")
    # normal: centred on the estimate, 1.96 standard errors either side, wherever the resamples sit
    (n_low, n_high), n_se = interval(np.arange(1.0, 101.0), estimate=40.0, method="normal")
    assert (n_low, n_high) == pytest.approx((40 - 1.959964 * se, 40 + 1.959964 * se)) and n_se == se
