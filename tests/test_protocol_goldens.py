"""ganeval's reproductions of the ADM, EDM2, StyleGAN3 and clean-fid arithmetic against values those suites' own
code printed on the committed inputs (tests/fixtures/protocols/expected.json: the suite commit and the exact
command of each run; tools/fixtures/make_protocol_inputs.py made the inputs and ran the suites).

Same arithmetic: equal to 1e-6 relative. Where a suite rounds in a way that cannot be replayed exactly, the
bound is the one measured (ADM's TensorFlow softmax; its float32 distance fallback). ADM's Inception graph
could not be downloaded: its feature and softmax-weight steps are not covered, all that follows them is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from ganeval.errors import InputError, StatisticsError
from ganeval.protocols import adm, cleanfid, edm2, stylegan

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-6
# ADM's softmax comes from TensorFlow (oneDNN); numpy's float32 softmax differs by <= 8.5e-7 per probability,
# which moved the three IS values by 0, 1.5e-7 and 2.9e-7 relative.
ADM_IS_RTOL = 2e-6
# Where ADM falls back to float32 distances the sums and products are in another order than TensorFlow's:
# squared radii differed by up to 1.2e-6 relative (no membership decision changed).
ADM_FLOAT32_RTOL = 3e-6


def _load_recipes():
    spec = importlib.util.spec_from_file_location(
        "make_protocol_inputs", ROOT / "tools/fixtures/make_protocol_inputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fx = _load_recipes()
EXPECTED = json.loads(fx.EXPECTED.read_text())
INPUTS = fx.load_inputs()


def golden(suite: str) -> dict:
    return EXPECTED[suite]["values"]


def test_inputs_are_the_ones_the_suites_ran_on():
    assert fx.recipe_checksums() == EXPECTED["inputs"]["recipe_sha256"]
    for suite in ("adm", "edm2", "stylegan"):
        assert len(EXPECTED[suite]["commit"]) == 40 and "make_protocol_inputs.py golden" in EXPECTED[suite]["command"]


# ----------------------------------------------------------------------------------------------------- ADM


@pytest.mark.parametrize(
    ("key", "rows", "split"), [("is_split5000", None, 5000), ("is_split3000", None, 3000), ("is_600_images", 600, 5000)]
)
def test_adm_inception_score(key, rows, split):
    logits = fx.logits_like()[:rows]
    assert adm.adm_inception_score(logits, split_size=split) == pytest.approx(golden("adm")[key], rel=ADM_IS_RTOL)


def test_adm_is_counts_a_partial_last_chunk_as_a_whole_one():
    logits = fx.logits_like()[:6000]
    whole = [adm.adm_inception_score(logits[:5000]), adm.adm_inception_score(logits[5000:])]
    assert adm.adm_inception_score(logits) == pytest.approx(np.mean(whole), rel=1e-6)


def test_adm_fid_and_sfid_from_a_reference_batch():
    ref = adm.read_adm_batch(fx.ADM_REF_BATCH)
    (mu, sigma), (mu_s, sigma_s) = ref.stats
    values = golden("adm")
    assert str(mu.dtype) == values["ref_file_mu_dtype"]
    mu_b, sigma_b = adm.numpy_statistics(INPUTS["fid_b"])
    mu_bs, sigma_bs = adm.numpy_statistics(INPUTS["sfid_b"])
    assert adm.ttur_frechet_distance(mu_b, sigma_b, mu, sigma) == pytest.approx(values["fid_ref_file"], rel=RTOL)
    assert adm.ttur_frechet_distance(mu_bs, sigma_bs, mu_s, sigma_s) == pytest.approx(values["sfid_ref_file"], rel=RTOL)
    mu_a, sigma_a = adm.numpy_statistics(INPUTS["fid_a"])
    assert adm.ttur_frechet_distance(mu_b, sigma_b, mu_a, sigma_a) == pytest.approx(values["fid_activations"], rel=RTOL)


def test_adm_reads_the_batch_files_we_write_as_we_do():
    values = golden("adm")
    for name, path in (("ref", fx.ADM_REF_BATCH), ("sample", fx.ADM_SAMPLE_BATCH)):
        batch = adm.read_adm_batch(path)
        images = np.concatenate(list(batch.iter_images(batch_size=2)))
        assert list(images.shape) == values[f"{name}_batch_images_shape"]
        assert hashlib.sha256(images.tobytes()).hexdigest() == values[f"{name}_batch_images_sha256"]
    (mu, sigma), (mu_s, _) = adm.read_adm_batch(fx.ADM_REF_BATCH).stats
    assert float(np.sum(mu, dtype=np.float64)) == values["ref_file_mu_sum"]
    assert float(np.trace(sigma)) == values["ref_file_sigma_trace"]
    assert float(np.sum(mu_s, dtype=np.float64)) == values["ref_file_mu_s_sum"]
    assert adm.read_adm_batch(fx.ADM_SAMPLE_BATCH).stats is None


def test_adm_batch_round_trip(tmp_path):
    images = np.random.RandomState(0).randint(0, 256, (7, 5, 4, 3)).astype(np.uint8)
    mu, sigma = adm.numpy_statistics(INPUTS["fid_a"])
    mu_s, sigma_s = adm.numpy_statistics(INPUTS["sfid_a"])
    path = adm.write_adm_batch(tmp_path / "ref_batch", images, mu, sigma, mu_s, sigma_s)
    assert path == tmp_path / "ref_batch"  # np.savez would have appended .npz
    batch = adm.read_adm_batch(path)
    assert (batch.num_images, batch.image_shape) == (7, (5, 4, 3))
    np.testing.assert_array_equal(np.concatenate(list(batch.iter_images(3))), images)
    for got, want in zip([*batch.stats[0], *batch.stats[1]], [mu, sigma, mu_s, sigma_s], strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    with np.load(path) as z:  # the keys ADM's evaluator looks up
        assert sorted(z.files) == ["arr_0", "mu", "mu_s", "sigma", "sigma_s"]


def test_adm_batch_errors(tmp_path):
    images = np.zeros((2, 4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="all of mu"):
        adm.write_adm_batch(tmp_path / "a.npz", images, mu=np.zeros(3))
    with pytest.raises(InputError, match="uint8"):
        adm.write_adm_batch(tmp_path / "a.npz", images.astype(np.float32))
    np.savez(tmp_path / "partial.npz", arr_0=images, mu=np.zeros(3), sigma=np.eye(3))
    with pytest.raises(StatisticsError, match="mu_s, sigma_s"):
        adm.read_adm_batch(tmp_path / "partial.npz")
    np.savez(tmp_path / "gray.npz", arr_0=images[..., 0])
    with pytest.raises(InputError, match="N x H x W x 3"):
        adm.read_adm_batch(tmp_path / "gray.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a readable"):
        adm.read_adm_batch(tmp_path / "junk.npz")


@pytest.fixture(scope="module")
def adm_tf():
    with np.load(fx.ADM_TF_OUTPUTS) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("case", list(fx.PR_CASES))
def test_adm_precision_recall_decisions_match_tensorflow(case, adm_tf):
    """Float16 blocks: radii bit-identical to TensorFlow's and no membership decision differs (600 + 600 points,
    also 720,000 pair decisions on `main` when measured); float32-fallback blocks: radii within the measured
    bound, decisions identical. `overflow` reproduces ADM's silent clamp of an overflowing 2 u.v to distance 0."""
    ref, samples = fx.pr_set(case, "ref"), fx.pr_set(case, "samples")
    rows, cols = fx.PR_CASES[case]["batch"]
    radii_ref = adm.adm_manifold_radii(ref, row_batch_size=rows, col_batch_size=cols, device="cpu")
    radii_samples = adm.adm_manifold_radii(samples, row_batch_size=rows, col_batch_size=cols, device="cpu")
    for ours, theirs in ((radii_ref, adm_tf[f"{case}_radii_ref"]), (radii_samples, adm_tf[f"{case}_radii_samples"])):
        assert ours.dtype == np.float32
        if case in ("main", "overflow"):
            np.testing.assert_array_equal(ours, theirs)
        else:
            np.testing.assert_allclose(ours, theirs, rtol=ADM_FLOAT32_RTOL, atol=0)
    m = adm.adm_membership(ref, radii_ref, samples, radii_samples, rows, cols, device="cpu")
    np.testing.assert_array_equal(m.ref_in_samples[:, 0], adm_tf[f"{case}_ref_in_samples"])
    np.testing.assert_array_equal(m.samples_in_ref[:, 0], adm_tf[f"{case}_samples_in_ref"])
    assert (float(m.precision[0]), float(m.recall[0])) == tuple(golden("adm")[f"pr_{case}"].values())


def test_adm_radii_pruned_at_a_percentile(adm_tf):
    radii = adm.adm_manifold_radii(fx.pr_set("main", "ref"), clamp_to_percentile=50, device="cpu")
    assert (radii == 0).sum() == 279  # not 300: float16 radii tie at the median, and only those above it go
    np.testing.assert_array_equal(radii, adm_tf["main_radii_ref_clamp50"])


def test_adm_float16_matters_exact_distances_decide_otherwise(adm_tf):
    """The exact float64 computation disagrees with ADM on 10 + 10 of the 1,200 `main` points (measured), so a
    protocol that computes exactly would not reproduce ADM's published precision/recall."""
    ref, samples = (fx.pr_set("main", w).astype(np.float64) for w in ("ref", "samples"))

    def squares(a, b):
        return np.maximum((a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None], 0)

    cross = squares(ref, samples)
    radius_ref = np.sort(squares(ref, ref), axis=1)[:, 3]
    radius_samples = np.sort(squares(samples, samples), axis=1)[:, 3]
    ref_in = (cross <= radius_samples[None]).any(axis=1)
    samples_in = (cross <= radius_ref[:, None]).any(axis=0)
    assert (ref_in != adm_tf["main_ref_in_samples"]).sum() == 10
    assert (samples_in != adm_tf["main_samples_in_ref"]).sum() == 10


def test_adm_eigen_row_sums_are_not_plain_sums():
    x = fx.pr_set("main", "ref").astype(np.float16)
    squares = x * x
    eigen = adm.eigen_row_sums(squares)
    rounded = squares.astype(np.float64).sum(axis=1).astype(np.float16)
    assert 0 < (eigen != rounded).sum() < len(x) and np.abs(eigen.astype(float) - rounded).max() <= 0.5


# ---------------------------------------------------------------------------------------------------- EDM2


def test_edm2_statistics_equal_the_reference_it_saved():
    ref = edm2.read_edm2_reference(fx.EDM2_REF_PKL)
    num, seed = fx.EDM2_SUBSET
    assert ref.num_images == num == golden("edm2")["ref_num_images"]
    chosen = edm2.edm2_image_subset(len(INPUTS["fid_a"]), num, seed)
    for metric, key in (("fid", "fid_a"), ("fd_dinov2", "sfid_a")):
        mu, sigma, n = edm2.edm2_statistics(INPUTS[key][chosen])
        assert n == num
        np.testing.assert_allclose(mu, ref.stats[metric][0], rtol=1e-13, atol=0)
        np.testing.assert_allclose(sigma, ref.stats[metric][1], rtol=1e-12, atol=1e-16)


def test_edm2_frechet_distances():
    values = golden("edm2")
    ref = edm2.read_edm2_reference(fx.EDM2_REF_PKL)
    old = edm2.read_edm2_reference(fx.EDM1_REF_NPZ)
    assert old.num_images is None and set(old.stats) == {"fid"}
    for metric, key in (("fid", "fid_b"), ("fd_dinov2", "sfid_b")):
        mu, sigma, n = edm2.edm2_statistics(INPUTS[key])
        assert n == values["gen_num_images"]
        fd = edm2.edm2_frechet_distance(mu, sigma, *ref.stats[metric])
        assert fd == pytest.approx(values["from_pkl"][metric], rel=RTOL)
        if metric == "fid":
            assert float(mu.sum()) == pytest.approx(values["gen_fid_mu_sum"], rel=1e-12)
            assert float(np.trace(sigma)) == pytest.approx(values["gen_fid_sigma_trace"], rel=1e-12)
            assert edm2.edm2_frechet_distance(mu, sigma, *old.stats["fid"]) == pytest.approx(
                values["from_npz"]["fid"], rel=RTOL
            )


def test_edm2_file_batches_follow_array_split():
    assert [len(b) for b in edm2.edm2_file_batches(300)] == [60] * 5
    assert [len(b) for b in edm2.edm2_file_batches(129)] == [43] * 3
    assert np.array_equal(np.concatenate(edm2.edm2_file_batches(1000)), np.arange(1000))
    assert np.array_equal(edm2.edm2_image_subset(10, None), np.arange(10))


def test_edm2_reference_round_trip(tmp_path):
    stats = {m: edm2.edm2_statistics(INPUTS[k])[:2] for m, k in (("fid", "fid_a"), ("fd_dinov2", "sfid_a"))}
    path = edm2.write_edm2_reference(tmp_path / "ref.pkl", stats, num_images=300)
    with open(path, "rb") as f:  # what EDM2's load_stats gets
        raw = pickle.load(f)
    assert list(raw) == ["num_images", "fid", "fd_dinov2"] and raw["num_images"] == 300
    back = edm2.read_edm2_reference(path)
    for metric in stats:
        for got, want in zip(back.stats[metric], stats[metric], strict=True):
            np.testing.assert_array_equal(got, want)
    npz = edm2.write_edm2_reference(tmp_path / "ref.npz", {"fid": stats["fid"]}, num_images=300)
    np.testing.assert_array_equal(edm2.read_edm2_reference(npz).stats["fid"][1], stats["fid"][1])
    with pytest.raises(StatisticsError, match="only 'fid'"):
        edm2.write_edm2_reference(tmp_path / "two.npz", stats, num_images=300)


class _Exploit:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_edm2_reference_pickles_cannot_run_code(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"num_images": 10, "fid": {"mu": _Exploit(marker), "sigma": np.eye(2)}}))
    with pytest.raises(StatisticsError, match="refusing to load posix.mkdir|refusing to load os.mkdir"):
        edm2.read_edm2_reference(path)
    assert not marker.exists()
    path.write_bytes(pickle.dumps({"fid": {"mu": np.zeros(2), "sigma": np.array([1.0, 2.0])}}, protocol=2))
    with pytest.raises(StatisticsError, match="sigma"):
        edm2.read_edm2_reference(path)
    plain = pickle.dumps({"fid": {"mu": np.zeros(2), "sigma": np.eye(2)}}, protocol=2)
    path.write_bytes(plain.replace(b"numpy._core.", b"numpy.core."))  # as numpy 1 wrote them
    assert edm2.read_edm2_reference(path).num_images is None


# ----------------------------------------------------------------------------------------------- StyleGAN3


def test_stylegan_fid_with_divide_by_n_covariance():
    assert stylegan.stylegan_fid(INPUTS["fid_a"], INPUTS["fid_b"]) == pytest.approx(golden("stylegan")["fid"], rel=RTOL)
    mu, cov = stylegan.stylegan_statistics(INPUTS["fid_a"])
    np.testing.assert_allclose(cov, np.cov(INPUTS["fid_a"].astype(np.float64), rowvar=False, bias=True), atol=1e-12)


@pytest.mark.parametrize(("key", "subsets", "size"), [("kid_default", 100, 1000), ("kid_subsets50_size100", 50, 100)])
def test_stylegan_kid(key, subsets, size):
    kid = stylegan.stylegan_kid(INPUTS["fid_a"], INPUTS["fid_b"], subsets, size, seed=fx.KID_SEED)
    assert kid == pytest.approx(golden("stylegan")[key], rel=RTOL)


@pytest.mark.parametrize(("key", "rows", "cols"), [("pr_main", 10000, 10000), ("pr_main_small_batches", 256, 200)])
def test_stylegan_precision_recall(key, rows, cols):
    """Same torch.cdist in float16 on the same device (the CPU here): the same decisions."""
    pr = stylegan.stylegan_precision_recall(
        fx.pr_set("main", "ref"), fx.pr_set("main", "samples"), row_batch_size=rows, col_batch_size=cols, device="cpu"
    )
    assert pr == tuple(golden("stylegan")[key].values())


def test_stylegan_inception_score():
    mean, std = stylegan.stylegan_inception_score(fx.logits_like()[: fx.SG3_IS_IMAGES])
    assert mean == pytest.approx(golden("stylegan")["is"]["mean"], rel=RTOL)
    assert std == pytest.approx(golden("stylegan")["is"]["std"], rel=RTOL)


def test_stylegan_jsonl_line_is_byte_identical():
    g = golden("stylegan")["jsonl"]
    line = stylegan.stylegan_jsonl_line(
        g["metric"],
        g["results"],
        g["total_time"],
        snapshot_pkl="/runs/00000/network-snapshot.pkl",
        num_gpus=g["num_gpus"],
        run_dir="/runs/00000",
        timestamp=g["timestamp"],
    )
    assert line == g["line"]
    assert {s: stylegan.format_time(float(s)) for s in g["format_time"]} == g["format_time"]
    assert json.loads(stylegan.stylegan_jsonl_line("kid50k_full", {"kid50k_full": 0.1}, 1.0))["snapshot_pkl"] is None


# ----------------------------------------------------------------------------------------------- clean-fid


@pytest.mark.parametrize(("key", "subsets", "size"), [("kid_default", 100, 1000), ("kid_subsets50_size100", 50, 100)])
def test_cleanfid_kid(key, subsets, size):
    kid = cleanfid.cleanfid_kid(INPUTS["fid_a"], INPUTS["fid_b"], subsets, size, seed=fx.KID_SEED)
    assert kid == pytest.approx(golden("cleanfid")[key], rel=RTOL)


def test_cleanfid_fid():
    values = golden("cleanfid")
    assert cleanfid.cleanfid_fid(INPUTS["fid_a"], INPUTS["fid_b"]) == pytest.approx(values["fid"], rel=RTOL)
    assert cleanfid.cleanfid_fid(INPUTS["sfid_a"], INPUTS["sfid_b"]) == pytest.approx(
        values["sfid_features_fid"], rel=RTOL
    )
    with pytest.raises(InputError, match="floating point"):
        cleanfid.cleanfid_fid(INPUTS["fid_a"].astype(np.int64), INPUTS["fid_b"])
