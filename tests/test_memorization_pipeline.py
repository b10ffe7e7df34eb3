"""The training set as a third input, the memorization metrics through score/Scorer/benchmark/CLI, bootstrap
intervals (reproducible, no further network pass), and the neighbours view. The maths is tested on feature
matrices against dgm-eval, vendi-score and torchmetrics in tests/test_memorization*.py; here, the plumbing.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import ganeval
from ganeval.errors import InputError
from tests.conftest import run_cli, write_folder


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module")
def sets(cifar_images):
    """REAL (held out), TRAIN, and FAKE = 8 held-out images plus 4 exact training images (planted copies)."""
    train, real = cifar_images[:24], cifar_images[24:36]
    fake = np.concatenate([cifar_images[36:44], train[[3, 7, 11, 19]]])
    return real, train, fake


def test_a_metric_that_needs_train_without_one_is_refused_before_any_pass(sets, extractor, counted):
    real, _, fake = sets
    with pytest.raises(InputError, match="authpct compares the generated set with the training set: give --train"):
        ganeval.score(real, fake, "fid,authpct", extractor=extractor)
    assert counted == []
    code, _, err = run_cli("score", "a", "b", "--metrics", "ct")
    assert code == 1 and "--train INPUT" in err and "Traceback" not in err


def test_memorization_metrics_in_one_call_equal_the_functions_on_the_same_features(sets, extractor):
    from ganeval.metrics.memorization import authpct
    from ganeval.metrics.mifid import mifid
    from ganeval.metrics.vendi import vendi

    real, train, fake = sets
    got = ganeval.score(real, fake, "authpct,vendi,mifid,sw,rarity", train=train, extractor=extractor, progress=False)
    rows = {name: extractor.forward(torch.from_numpy(x).permute(0, 3, 1, 2))[0] for name, x in
            (("real", real), ("train", train), ("fake", fake))}  # fmt: skip
    assert got["authpct"] == pytest.approx(authpct(rows["train"], rows["fake"]))
    assert got["authpct"] <= 100 * 8 / 12  # the 4 planted copies are never authentic
    assert got["vendi"] == pytest.approx(vendi(rows["fake"]), rel=1e-9)
    assert got["mifid"] == pytest.approx(mifid(rows["real"], rows["fake"], rows["train"]), rel=1e-6)
    assert got["mifid_copies"] == "train" and got["n_train"] == 24
    assert len(got["rarity_rarest"]) <= 10 and got["rarity_scored"] <= 12


def test_bootstrap_is_reproducible_and_adds_no_forward_pass(sets, extractor, counted):
    real, _, fake = sets
    options = {"extractor": extractor, "progress": False, "cache": False, "kid_subset_size": 6}
    ganeval.score(real, fake, "fid,kid,pr", **options)
    plain_passes = sum(counted)
    counted.clear()
    a = ganeval.score(real, fake, "fid,kid,pr", bootstrap=4, seed=3, **options)
    assert sum(counted) == plain_passes  # the same two passes: the resamples reuse the features
    b = ganeval.score(real, fake, "fid,kid,pr", bootstrap=4, seed=3, **options)
    assert a["fid_ci"] == b["fid_ci"] and a["precision_se"] == b["precision_se"]
    for key in ("fid", "kid_mean", "precision", "recall"):
        low, high = a[f"{key}_ci"]
        assert low <= high and a[f"{key}_se"] >= 0
    assert a["bootstrap"]["methods"] == {"fid": "basic", "kid_mean": "normal", "kid_std": "normal",
                                         "precision": "normal", "recall": "normal"}  # fmt: skip
    assert a["bootstrap"]["resamples"] == 4 and a["bootstrap"]["real_resampled"] and a["bootstrap"]["seed"] == 3
    c = ganeval.score(real, fake, "kid,pr", bootstrap=4, seed=4, **options)
    assert c["precision_ci"] != a["precision_ci"] or c["kid_mean_ci"] != a["kid_mean_ci"]
    # auto: FID's interval is the percentile one reflected about FID, the others the value +- 1.96 se.
    p = ganeval.score(real, fake, "fid,kid,pr", bootstrap=4, seed=3, bootstrap_interval="percentile", **options)
    low, high = p["fid_ci"]
    assert a["fid_ci"] == pytest.approx([2 * a["fid"] - high, 2 * a["fid"] - low], rel=1e-12)
    z = 1.959963984540054
    for key in ("kid_mean", "recall"):
        assert a[f"{key}_ci"] == pytest.approx([a[key] - z * a[f"{key}_se"], a[key] + z * a[f"{key}_se"]], rel=1e-12)
        assert p[f"{key}_se"] == a[f"{key}_se"] and p[f"{key}_ci"] != a[f"{key}_ci"]
    assert set(p["bootstrap"]["methods"].values()) == {"percentile"}
    with pytest.raises(InputError, match="bootstrap_interval 'bca' is not one of auto, percentile, basic, normal"):
        ganeval.score(real, fake, "fid", bootstrap=4, bootstrap_interval="bca", **options)


def test_scorer_takes_the_training_set_once(sets, extractor):
    real, train, fake = sets
    scorer = ganeval.Scorer(("authpct", "fid"), reference=real, train=train, extractor=extractor, cache=False)
    scorer.update(torch.from_numpy(fake).permute(0, 3, 1, 2))
    streamed = scorer.compute()
    whole = ganeval.score(real, fake, "authpct,fid", train=train, extractor=extractor, progress=False)
    assert streamed["authpct"] == whole["authpct"] and streamed["fid"] == pytest.approx(whole["fid"], rel=1e-9)


def test_neighbours_finds_the_planted_copies_and_draws_them(sets, weights_with_head, tmp_path):
    _, train, fake = sets
    train_dir, fake_dir = write_folder(train, tmp_path / "train"), write_folder(fake, tmp_path / "fake")
    image = tmp_path / "copies.png"
    code, out, err = run_cli("neighbours", str(train_dir), str(fake_dir), "--top", "4", "--out", str(image),
                             "--weights", str(weights_with_head), "--json", "-q")  # fmt: skip
    assert code == 0, err
    found = json.loads(out)
    assert sorted(found["fake"]) == [8, 9, 10, 11]  # the planted copies, ratio 0
    assert found["ratio"] == [0.0] * 4
    assert {row[0] for row in found["train"]} == {3, 7, 11, 19}
    from PIL import Image

    assert Image.open(image).size[0] > 0


def test_benchmark_records_intervals_and_report_shows_them(sets, weights_with_head, tmp_path):
    real, train, fake = sets
    folders = [write_folder(x, tmp_path / name) for name, x in (("real", real), ("train", train), ("fake", fake))]
    out = tmp_path / "records.jsonl"
    code, _, err = run_cli("benchmark", str(folders[0]), str(folders[2]), "--metrics", "fid,authpct", "--train",
                           str(folders[1]), "--bootstrap", "5", "--out", str(out), "--weights",
                           str(weights_with_head), "-q")  # fmt: skip
    assert code == 0, err
    record = json.loads(out.read_text().splitlines()[0])
    assert record["settings"]["train"]["name"] == str(folders[1]) and "fid_ci" in record["metrics"]
    code, table, err = run_cli("report", str(out))
    low, high = record["metrics"]["fid_ci"]
    assert code == 0 and f"[{low:.4g}, {high:.4g}]" in table
