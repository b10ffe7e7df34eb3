"""Statistics files: exact round trips, pytorch-fid compatibility, refusal of other settings, the CLI."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from ganeval.errors import StatisticsError
from ganeval.inputs import local_weights_digest
from ganeval.metrics.gaussian import GaussianStats, gaussian_stats
from ganeval.statsfile import (
    NoMetadataWarning,
    SettingsMismatchWarning,
    check_settings,
    load_stats,
    save_stats,
    stats_fingerprint,
    stats_metadata,
)
from tests.conftest import run_cli, write_folder

D = 2048


def synthetic_stats(seed: int = 0, n: int = 40) -> GaussianStats:
    features = np.random.default_rng(seed).normal(size=(n, D)) * np.linspace(0.1, 2, D)
    return gaussian_stats(features)


def meta(weights: str = "a" * 64, mode: str = "tf", **extra) -> dict:
    return stats_metadata(weights_sha256=weights, mode=mode, layer="pool3", source="synthetic",
                          source_fingerprint="f" * 64, n=40, **extra)  # fmt: skip


def test_round_trip_is_exact_and_pytorch_fid_reads_it(tmp_path):
    stats = synthetic_stats()
    for storage in ("full", "triu"):
        path = save_stats(tmp_path / f"{storage}.npz", stats, meta(), storage=storage)
        loaded = load_stats(path)
        np.testing.assert_array_equal(loaded.stats.mu, stats.mu)
        np.testing.assert_array_equal(loaded.stats.sigma, stats.sigma)
        assert loaded.n == stats.n == 40 and loaded.stats.mu.dtype == np.float64
        assert loaded.meta["mode"] == "tf" and loaded.meta["storage"] == storage
    with np.load(tmp_path / "full.npz") as raw:  # what pytorch-fid's loader reads
        np.testing.assert_array_equal(raw["mu"], stats.mu)
        np.testing.assert_array_equal(raw["sigma"], stats.sigma)
    compact = load_stats(save_stats(tmp_path / "c.npz", stats, meta(), storage="triu32"))
    np.testing.assert_allclose(compact.stats.sigma, stats.sigma, rtol=1e-6, atol=1e-7 * np.abs(stats.sigma).max())
    assert (tmp_path / "c.npz").stat().st_size < 0.3 * (tmp_path / "full.npz").stat().st_size


def test_pytorch_fid_file_loads_flagged_without_metadata(tmp_path):
    stats = synthetic_stats()
    np.savez(tmp_path / "pf.npz", mu=stats.mu, sigma=stats.sigma)  # pytorch-fid --save-stats
    loaded = load_stats(tmp_path / "pf.npz")
    assert loaded.meta is None and loaded.n is None
    np.testing.assert_array_equal(loaded.stats.sigma, stats.sigma)
    with pytest.warns(NoMetadataWarning, match="no metadata"):
        check_settings(loaded, {"weights_sha256": "b" * 64, "mode": "tf", "layer": "pool3"})


def test_mismatched_settings_are_refused_naming_the_mismatch(tmp_path):
    loaded = load_stats(save_stats(tmp_path / "s.npz", synthetic_stats(), meta(mode="pytorch")))
    wanted = {"weights_sha256": "a" * 64, "mode": "tf", "layer": "pool3"}
    with pytest.raises(StatisticsError, match=r"mode=pytorch \(requested tf\).*--force"):
        check_settings(loaded, wanted)
    with pytest.raises(StatisticsError, match=r"weights_sha256=aaaaaaaaaaaa \(requested bbbbbbbbbbbb\)"):
        check_settings(loaded, {**wanted, "mode": "pytorch", "weights_sha256": "b" * 64})
    with pytest.warns(SettingsMismatchWarning, match="--force"):
        check_settings(loaded, wanted, force=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_settings(loaded, {**wanted, "mode": "pytorch"})  # agrees: silent


@pytest.mark.parametrize(
    "arrays,message",
    [
        ({"sigma": np.eye(3)}, "no 'mu'"),
        ({"mu": np.zeros(3)}, "no 'sigma'"),
        ({"mu": np.zeros(3), "sigma": np.eye(4)}, r"\(3, 3\)"),
        ({"mu": np.zeros(3), "sigma": np.array([[1, 0.5, 0], [0, 1, 0], [0, 0, 1.0]])}, "not symmetric"),
        ({"mu": np.array([0, np.nan, 0]), "sigma": np.eye(3)}, "NaN"),
        ({"mu": np.zeros(3), "sigma": np.full((3, 3), np.inf)}, "NaN or Inf"),
        ({"mu": np.zeros(3), "sigma": np.eye(3), "n": np.int64(5), "meta": np.array("{bad")}, "not JSON"),
        ({"mu": np.zeros(3), "sigma": np.eye(3), "n": np.int64(5), "meta": np.array('{"format": "x/9"}')}, "format"),
    ],
)
def test_invalid_files_are_refused(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(StatisticsError, match=message):
        load_stats(tmp_path / "bad.npz")


@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_truncated_file_is_refused(tmp_path, keep):
    """A file cut short (a copy interrupted, a download broken off) is refused with its own message."""
    np.savez(tmp_path / "ok.npz", mu=np.zeros(3), sigma=np.eye(3))
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(StatisticsError, match="cannot read statistics file .*cut.npz"):
        load_stats(tmp_path / "cut.npz")


def test_covariance_that_is_not_psd_is_refused_when_used(tmp_path):
    """Symmetric but with a clearly negative eigenvalue: it cannot come from data, and FID refuses it."""
    from ganeval.metrics.fid import frechet_distance

    np.savez(tmp_path / "neg.npz", mu=np.zeros(3), sigma=np.diag([1.0, 1.0, -1.0]))
    good = gaussian_stats(np.random.default_rng(2).normal(size=(10, 3)))
    with pytest.raises(StatisticsError, match="first covariance is not positive semi-definite"):
        frechet_distance(load_stats(tmp_path / "neg.npz").stats, good)


def test_dimension_must_fit_the_layer(tmp_path):
    small = gaussian_stats(np.random.default_rng(1).normal(size=(10, 64)))
    np.savez(tmp_path / "pf768.npz", mu=small.mu, sigma=small.sigma)
    with pytest.raises(StatisticsError, match="64-d statistics but inception pool3 features are 2048-d"):
        check_settings(load_stats(tmp_path / "pf768.npz"), {"layer": "pool3"}, force=True)


def test_fingerprint_rounds_to_six_digits():
    fp = stats_fingerprint(synthetic_stats())
    assert fp["n"] == 40 and len(f"{fp['trace_sigma']:.10g}".replace(".", "").lstrip("0")) <= 6


# --- the command line -------------------------------------------------------------------------------


@pytest.fixture
def local_stats_files(tmp_path, headless_weights):
    """Two synthetic statistics files carrying the local weights' hash, in tf and pytorch mode."""
    digest = local_weights_digest("inception", str(headless_weights))
    tf = save_stats(tmp_path / "tf.npz", synthetic_stats(0), meta(weights=digest))
    other = save_stats(tmp_path / "other.npz", synthetic_stats(1), meta(weights=digest))
    pytorch = save_stats(tmp_path / "pt.npz", synthetic_stats(1), meta(weights=digest, mode="pytorch"))
    return tf, other, pytorch


def test_cli_fid_between_statistics_files_needs_no_network(local_stats_files, headless_weights, monkeypatch):
    import ganeval.inputs

    def no_network(*args, **kwargs):
        raise AssertionError("the network was loaded")

    monkeypatch.setattr(ganeval.inputs, "InceptionExtractor", no_network)
    tf, other, pytorch = local_stats_files
    weights = ("--weights", str(headless_weights))
    code, out, err = run_cli("fid", str(tf), str(other), *weights, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n_real"] == result["n_fake"] == 40 and result["fid"] > 0
    code, out, err = run_cli("fid", str(tf), str(pytorch), *weights)
    assert code == 1 and "mode=pytorch (requested tf)" in err and "Traceback" not in err
    code, out, err = run_cli("fid", str(tf), str(pytorch), *weights, "--force", "--json")
    assert code == 0 and "--force" in err
    code, out, err = run_cli("kid", str(tf), str(other), *weights)
    assert code == 1 and "statistics file" in err and "(KID, precision, CMMD...) and IS need the images" in err


def test_cli_stats_writes_what_fid_reads(cifar_images, tmp_path, weights_with_head, monkeypatch):
    """`ganeval stats` on a folder and on its zip: same pixels, same statistics (8 forward passes)."""
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    folder = write_folder(cifar_images[:4], tmp_path / "imgs")
    import zipfile

    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    common = ("--device", "cpu", "--weights", str(weights_with_head), "--quiet")
    code, out, err = run_cli("stats", str(folder), "-o", str(tmp_path / "a.npz"), *common, "--json")
    assert code == 0, err
    assert json.loads(out)["n"] == 4
    code, _, err = run_cli("stats", str(tmp_path / "imgs.zip"), "-o", str(tmp_path / "b.npz"), *common)
    assert code == 0, err
    a, b = load_stats(tmp_path / "a.npz"), load_stats(tmp_path / "b.npz")
    np.testing.assert_allclose(a.stats.sigma, b.stats.sigma, rtol=1e-10, atol=1e-12)
    assert a.meta["source_fingerprint"] != b.meta["source_fingerprint"]
    assert a.meta["mode"] == "tf" and a.meta["layer"] == "pool3" and a.meta["weights_sha256"]
    code, out, err = run_cli("fid", str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), *common, "--json")
    assert code == 0 and json.loads(out)["fid"] == pytest.approx(0, abs=1e-6)
