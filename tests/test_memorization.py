"""Memorization metrics on feature matrices: the cross-set nearest neighbours, AuthPct, C_T and the copies view,
against dgm-eval's printed values (tests/fixtures/dgm_eval) and against their definitions written out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
from PIL import Image

from ganeval.copies import draw_copies
from ganeval.errors import InputError
from ganeval.metrics.memorization import (
    Cells,
    authpct,
    copy_ratios,
    ct,
    ct_cells,
    find_copies,
    kmeans_centres,
    mann_whitney_z,
)
from ganeval.metrics.neighbours import nearest_rows, own_nearest_distances

FIXTURES = Path(__file__).parent / "fixtures" / "dgm_eval"


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "inputs.npz") as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def expected() -> dict:
    return json.loads((FIXTURES / "expected.json").read_text())


def distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def tied_sets(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """TRAIN with duplicated rows, and queries holding exact copies and rows equidistant from two TRAIN rows."""
    rng = np.random.default_rng(seed)
    train = np.round(rng.standard_normal((40, 5)) * 4)  # integers: many exactly equal distances
    train[30:35] = train[:5]
    queries = np.concatenate([train[:3], train[10:12] + 0.0, np.round(rng.standard_normal((20, 5)) * 4)])
    return train, queries


# --- nearest neighbours ------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [4096, 7])
def test_nearest_rows_equal_the_sorted_distance_matrix(block):
    train, queries = tied_sets()
    found = nearest_rows(queries, train, 4, block=block)
    full = distance_matrix(queries, train)
    for i, row in enumerate(full):
        order = np.lexsort((np.arange(len(row)), row))[:4]  # by distance, ties to the smaller index
        np.testing.assert_array_equal(found.indices[i], order)
        np.testing.assert_allclose(found.distances[i], row[order], rtol=0, atol=1e-12)
    assert (found.distances[:3, :2] == 0).all()  # a copy of a duplicated row: two exact zeros
    np.testing.assert_array_equal(found.indices[:3, :2], [[0, 30], [1, 31], [2, 32]])


def test_own_nearest_distances_exclude_the_row_itself_not_its_duplicates():
    train, _ = tied_sets()
    full = distance_matrix(train, train)
    np.fill_diagonal(full, np.inf)
    own = own_nearest_distances(train, block=6)
    np.testing.assert_allclose(own, full.min(axis=1), rtol=0, atol=1e-12)
    assert (own[[0, 1, 2, 3, 4, 30, 31, 32, 33, 34]] == 0).all() and (own[5:30] > 0).all()


def test_nearest_rows_refuse_too_few_reference_rows():
    with pytest.raises(InputError, match=r"asked for the 4 nearest of 3 reference rows"):
        nearest_rows(np.zeros((2, 3)), np.eye(3), 4)
    with pytest.raises(InputError, match=r"needs at least 2 rows, got 1"):
        own_nearest_distances(np.ones((1, 3)))


# --- AuthPct -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d", [32, 72])
def test_authpct_equals_dgm_eval(inputs, expected, d):
    value = authpct(inputs[f"train{d}"], inputs[f"fake{d}"])
    assert value == pytest.approx(expected[f"set{d}"]["authpct"], rel=1e-6)  # dgm-eval's is a float32 percentage
    assert 0 < value < 100


def test_authpct_by_hand_with_a_tie():
    train = np.array([[0.0, 0], [1, 0], [5, 5], [5, 7]])  # own nearest distances 1, 1, 2, 2
    fake = np.array([[-1.0, 0], [0, 1.5], [5, 5], [5, 3.5]])
    # (-1,0): at exactly 1 from (0,0), whose own distance is 1: a tie, not authentic (dgm-eval's strict <).
    # (0,1.5): 1.5 > 1, authentic. (5,5): a copy. (5,3.5): 1.5 < 2 from (5,5), not authentic.
    assert authpct(train, fake) == 25.0


def test_authpct_of_exact_copies_is_zero(inputs):
    train = inputs["train32"]
    assert authpct(train, train[::3]) == 0.0
    assert authpct(train, inputs["real32"]) > 20  # held-out rows of the same distribution: a real share


def test_authpct_refuses_a_train_set_of_one_row():
    with pytest.raises(InputError, match=r"TRAIN needs at least 2 rows for each to have a nearest neighbour, got 1"):
        authpct(np.ones((1, 4)), np.ones((3, 4)))


# --- C_T ---------------------------------------------------------------------------------------------------


def given_cells(expected: dict, d: int) -> Cells:
    cells = expected[f"set{d}"]["ct_cells"]
    return Cells(np.array(cells["train"]), np.array(cells["real"]), np.array(cells["fake"]))


@pytest.mark.parametrize("d", [32, 72])  # 72 > 64: through the PCA projection
def test_ct_equals_dgm_eval_with_its_cells(inputs, expected, d):
    args = inputs[f"train{d}"], inputs[f"real{d}"], inputs[f"fake{d}"]
    result = ct_cells(*args, cells=given_cells(expected, d))
    assert result.value == pytest.approx(expected[f"set{d}"]["ct"], rel=1e-9)
    assert result.kept.all() and np.isfinite(result.z).all()


@pytest.mark.parametrize("d", [32, 72])
def test_seeded_kmeans_finds_dgm_eval_partition(inputs, expected, d):
    args = inputs[f"train{d}"], inputs[f"real{d}"], inputs[f"fake{d}"]
    ours = ct_cells(*args, seed=3)
    theirs = given_cells(expected, d)
    for mine, other in zip(
        (ours.cells.train, ours.cells.real, ours.cells.fake), (theirs.train, theirs.real, theirs.fake), strict=True
    ):
        pairs = set(zip(mine.tolist(), other.tolist(), strict=True))
        assert len(pairs) == len(set(mine.tolist())) == len(set(other.tolist())) == 3  # same cells, other labels
    assert ours.value == pytest.approx(expected[f"set{d}"]["ct"], rel=1e-9)


def test_kmeans_is_seeded_and_recovers_separated_clusters():
    rng = np.random.default_rng(5)
    centres = np.array([[0.0, 0], [20, 0], [0, 20]])
    rows = np.concatenate([c + rng.standard_normal((50, 2)) for c in centres])
    a, b = kmeans_centres(rows, 3, seed=1), kmeans_centres(rows, 3, seed=1)
    np.testing.assert_array_equal(a, b)
    found = a[np.argsort(a[:, 0] + 2 * a[:, 1])]
    np.testing.assert_allclose(found, centres, atol=0.5)


def test_mann_whitney_z_is_dgm_eval_formula_on_scipy_u():
    rng = np.random.default_rng(2)
    fake, real = np.round(rng.random(30) * 10), np.round(rng.random(45) * 10)  # many ties
    u = scipy.stats.mannwhitneyu(fake, real, alternative="less").statistic
    m, n = len(fake), len(real)
    assert mann_whitney_z(fake, real) == pytest.approx((u - (n * m / 2 - 0.5)) / np.sqrt(n * m * (n + m + 1) / 12))


@pytest.fixture(scope="module")
def mixture() -> dict[str, np.ndarray]:
    """TRAIN, REAL and a held-out FAKE, all from one 3-cluster mixture in 8 dimensions."""
    rng = np.random.default_rng(11)
    centres = 4.0 * rng.standard_normal((3, 8))

    def draw(n):
        return centres[rng.integers(0, 3, n)] + rng.standard_normal((n, 8))

    return {"train": draw(600), "real": draw(300), "heldout": draw(300)}


def test_ct_strongly_negative_for_copies_near_zero_for_heldout_rows(mixture):
    train, real = mixture["train"], mixture["real"]
    copies = ct(train, real, train[:300])
    heldout = ct(train, real, mixture["heldout"])
    assert copies < -10  # each cell's U is 0: Z about -12 for cells of ~100 rows
    assert abs(heldout) < 2
    # Half copies already pull C_T clearly below the held-out value.
    assert ct(train, real, np.concatenate([train[:150], mixture["heldout"][:150]])) < heldout - 3


def test_ct_keeps_cells_with_more_than_20_generated_rows(mixture):
    train, real, fake = mixture["train"], mixture["real"], mixture["heldout"][:61]
    cells = Cells(np.arange(600) % 3, np.arange(300) % 3, np.array([0] * 20 + [1] * 21 + [2] * 20))
    result = ct_cells(train, real, fake, cells=cells)
    np.testing.assert_array_equal(result.kept, [False, True, False])
    assert result.value == result.z[1]


def test_ct_refuses_a_cell_without_real_rows(mixture):
    train, real, fake = mixture["train"], mixture["real"], mixture["heldout"]
    cells = Cells(np.arange(600) % 3, np.arange(300) % 2, np.arange(300) % 3)
    with pytest.raises(InputError, match=r"C_T cell 2 holds no REAL rows \(rows per cell \[150, 150, 0\]\)"):
        ct(train, real, fake, cells=cells)


def test_ct_refuses_when_no_cell_has_enough_generated_rows(mixture):
    with pytest.raises(InputError, match=r"no C_T cell holds more than 20 generated rows"):
        ct(
            mixture["train"],
            mixture["real"],
            mixture["heldout"][:60],
            cells=Cells(np.arange(600) % 3, np.arange(300) % 3, np.arange(60) % 3),
        )


# --- the copies view ---------------------------------------------------------------------------------------


def test_find_copies_puts_planted_copies_first(inputs):
    train, fake, planted = inputs["train32"], inputs["fake32"], inputs["planted32"]
    exact = np.flatnonzero((planted >= 0) & (fake == train[np.maximum(planted, 0)]).all(axis=1))
    near = np.flatnonzero(planted >= 0)
    result = find_copies(train, fake, top=len(near), k=3)
    assert len(exact) == 40 and len(near) == 100
    np.testing.assert_array_equal(result.fake[:40], exact)  # ratio 0, in row order
    assert (result.ratio[:40] == 0).all() and (result.distances[:40, 0] == 0).all()
    assert set(result.fake[40:]) == set(near) - set(exact)  # then the near-copies
    np.testing.assert_array_equal(result.train[:, 0], planted[result.fake])
    assert (result.ratio < 0.1).all() and (np.diff(result.ratio) >= 0).all()
    full = distance_matrix(fake[result.fake], train)
    np.testing.assert_allclose(result.distances, np.sort(full, axis=1)[:, :3], rtol=1e-12, atol=1e-12)


def test_copy_ratio_of_duplicated_train_rows():
    assert copy_ratios(np.array([0.0, 2.0, 1.0]), np.array([0.0, 0.0, 4.0])).tolist() == [0.0, np.inf, 0.25]


def test_find_copies_refuses_fewer_train_rows_than_shown():
    with pytest.raises(InputError, match=r"showing the 3 nearest TRAIN rows needs at least 3 TRAIN rows, got 2"):
        find_copies(np.eye(2), np.eye(2), k=3)


def test_draw_copies_writes_one_row_per_copy(inputs, tmp_path):
    train, fake = inputs["train32"], inputs["fake32"]
    result = find_copies(train, fake, top=4, k=2)

    def image(value: int) -> np.ndarray:
        return np.full((8, 8, 3), value % 256, dtype=np.uint8)

    path = draw_copies(result, image, lambda j: image(255 - j), tmp_path / "copies.png")
    with Image.open(path) as png:
        width, height = png.size
    assert path == tmp_path / "copies.png" and height > width  # 4 rows of 3 cells
    wide = draw_copies(find_copies(train, fake, top=1, k=5), image, image, tmp_path / "wide.png")
    with Image.open(wide) as png:
        assert png.size[0] > 1.5 * png.size[1]
    with pytest.raises(InputError, match=r"training image \d+ must be an H x W x 3 uint8 array, got float64"):
        draw_copies(result, image, lambda j: np.zeros((8, 8, 3)), tmp_path / "bad.png")
