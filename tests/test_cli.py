"""The command line end to end: parity with torch-fidelity's own CLI, invariance, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ganeval
from tests.conftest import run_cli, write_folder


def test_cli_matches_torch_fidelity_cli(image_folders, weights_with_head):
    """`ganeval score REAL FAKE` is torch-fidelity's `--input1 FAKE --input2 REAL`: IS rates FAKE in both."""
    fake, real = image_folders
    code, out, err = run_cli(
        "score", str(real), str(fake), "--metrics", "fid,kid,is", "--subset-size", "10",
        "--device", "cpu", "--weights", str(weights_with_head), "--json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    ours = json.loads(out)
    fidelity = shutil.which("fidelity") or str(Path(sys.executable).with_name("fidelity"))
    done = subprocess.run(
        [fidelity, "--input1", str(fake), "--input2", str(real), "--fid", "--kid", "--isc", "--kid-subset-size", "10",
         "--cpu", "--json", "--silent", "--no-cache", "--feature-extractor-weights-path", str(weights_with_head)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    theirs = json.loads(done.stdout)
    assert ours["n_real"] == ours["n_fake"] == 24
    assert ours["fid"] == pytest.approx(theirs["frechet_inception_distance"], rel=1e-5)
    assert ours["kid_mean"] == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-5)
    assert ours["kid_std"] == pytest.approx(theirs["kernel_inception_distance_std"], rel=1e-5)
    assert ours["is_mean"] == pytest.approx(theirs["inception_score_mean"], rel=1e-5)
    assert ours["is_std"] == pytest.approx(theirs["inception_score_std"], rel=1e-5)


@pytest.fixture(scope="module")
def small_sets(cifar_images, tmp_path_factory):
    folder = write_folder(cifar_images[:10], tmp_path_factory.mktemp("inv") / "a")
    return folder, cifar_images[10:20]


@pytest.fixture(scope="module")
def reference_fid(small_sets, extractor):
    folder, array = small_sets
    return ganeval.fid(folder, array, extractor=extractor, progress=False)


@pytest.mark.parametrize("batch_size,workers", [(1, 0), (7, 0), (64, 2)])
def test_fid_invariant_to_batch_size_and_workers(small_sets, weights_with_head, reference_fid, batch_size, workers):
    folder, array = small_sets
    value = ganeval.fid(
        folder,
        array,
        weights=weights_with_head,
        device="cpu",
        batch_size=batch_size,
        workers=workers,
        progress=False,
    )
    assert value == pytest.approx(reference_fid, rel=1e-6)


def test_api_accepts_tensors_arrays_and_folders(small_sets, extractor, reference_fid):
    import torch

    folder, array = small_sets
    tensor = torch.from_numpy(array).permute(0, 3, 1, 2)
    floats = array.astype(np.float32) / 127.5 - 1
    assert ganeval.fid(folder, tensor, extractor=extractor, progress=False) == pytest.approx(reference_fid, rel=1e-6)
    value = ganeval.fid(folder, floats, value_range=(-1, 1), extractor=extractor, progress=False)
    assert value == pytest.approx(reference_fid, rel=1e-6)


def test_json_keys_and_text_output(small_sets, weights_with_head):
    folder, _ = small_sets
    code, out, err = run_cli("fid", str(folder), str(folder), "--device", "cpu", "--weights", str(weights_with_head))
    assert code == 0, err
    assert out.startswith("FID: ") and "images: real=10, fake=10" in out
    assert float(out.split()[1]) == pytest.approx(0.0, abs=1e-6)


def test_weights_path_prints_a_file(headless_weights, monkeypatch):
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(headless_weights))
    code, out, _ = run_cli("weights", "path")
    assert code == 0 and out.strip() == str(headless_weights)


def test_help_explains_commands():
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in ("fid", "kid", "is", "score", "weights"):
        assert command in out
    text = " ".join(out.split())  # click wraps lines
    assert "Two inputs are always REAL FAKE" in text and "the Inception Score rates the generated set" in text
    code, out, _ = run_cli("fid", "--help")
    assert code == 0 and "--mode" in out and "--skip-bad" in out and "REAL FAKE" in out


# ---- bad input: one line on stderr, exit status 1, never a traceback ----


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("ganeval: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[-1]


def test_missing_folder(tmp_path, weights_with_head):
    code, _, err = run_cli("fid", str(tmp_path / "nope"), str(tmp_path / "nope2"), "--weights", str(weights_with_head))
    assert_one_line_error(code, err, "nope")


def test_empty_folder(tmp_path, weights_with_head):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    code, _, err = run_cli("fid", str(tmp_path / "empty"), str(tmp_path / "empty"), "--weights", str(weights_with_head))
    assert_one_line_error(code, err, "no images")


@pytest.fixture
def folder_with_bad_files(cifar_images, tmp_path):
    folder = write_folder(cifar_images[:3], tmp_path / "bad")
    (folder / "0000_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    (folder / "readme.txt").write_text("not an image")
    return folder


def test_corrupt_image_is_named(folder_with_bad_files, weights_with_head):
    folder = folder_with_bad_files
    code, _, err = run_cli("fid", str(folder), str(folder), "--device", "cpu", "--weights", str(weights_with_head))
    assert_one_line_error(code, err, "0000_corrupt.png", "--skip-bad")


def test_skip_bad_skips_and_counts(folder_with_bad_files, weights_with_head):
    folder = folder_with_bad_files
    code, out, err = run_cli(
        "fid",
        str(folder),
        str(folder),
        "--skip-bad",
        "--device",
        "cpu",
        "--weights",
        str(weights_with_head),
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["n_real"] == 3
    assert "1 undecodable image(s) skipped" in err
    assert "1 non-image file(s) ignored" in err


def test_fewer_than_two_images(cifar_images, tmp_path, weights_with_head):
    one = write_folder(cifar_images[:1], tmp_path / "one")
    code, _, err = run_cli("fid", str(one), str(one), "--device", "cpu", "--weights", str(weights_with_head))
    assert_one_line_error(code, err, "at least 2")


def test_unknown_metric_and_headless_is(image_folders, headless_weights):
    a, _ = image_folders
    code, _, err = run_cli("score", str(a), "--metrics", "fid,bogus", "--weights", str(headless_weights))
    assert_one_line_error(code, err, "bogus")
    code, _, err = run_cli("is", str(a), "--device", "cpu", "--weights", str(headless_weights))
    if not ganeval.InceptionExtractor(headless_weights, device="cpu").has_head:
        assert_one_line_error(code, err, "classifier head", "ganeval weights import")


def test_missing_weights_file(image_folders, tmp_path):
    a, b = image_folders
    code, _, err = run_cli("fid", str(a), str(b), "--weights", str(tmp_path / "missing.pth"))
    assert_one_line_error(code, err, "missing.pth")
