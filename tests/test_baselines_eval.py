"""Training with evaluation inside the loop, and scoring its checkpoint later (`ganeval score CHECKPOINT`)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import ganeval
from ganeval import LabelledImages, load_dataset
from ganeval.baselines import load_recipe, override, train
from ganeval.baselines.checkpoint import FORMAT_VERSION, read_checkpoint, rebuild_model
from ganeval.baselines.cli import checkpoint_source, is_checkpoint
from ganeval.errors import InputError
from ganeval.evaluator import Evaluator
from ganeval.metrics.fid import frechet_distance
from tests.conftest import data_root

N = 8


@pytest.fixture(scope="module")
def run(extractor, tmp_path_factory):
    """A tiny SNGAN trained 3 steps on 64 Fashion-MNIST images, scored once (at the end) on 8 samples."""
    try:
        test = load_dataset("fashion-mnist", "test", data_root())
    except InputError as exc:
        pytest.skip(str(exc))
    data = LabelledImages(test.images[:64], test.labels[:64], 10)
    reference = test.images[-N:]
    evaluator = Evaluator(reference, extractor=extractor, n_samples=N)
    out = tmp_path_factory.mktemp("train") / "sngan"
    recipe = override(load_recipe("sngan"), width=1 / 16, batch_size=16, steps=3, eval_every=0, out=str(out))
    result = train(recipe, data=data, evaluator=evaluator, progress=False)
    return result, evaluator, reference


def test_training_leaves_metrics_grids_plot_and_checkpoints(run):
    result, _, _ = run
    out = result.out_dir
    names = {p.name for p in out.iterdir()}
    assert {"metrics.csv", "fid.png", "last.pt", "best.pt", "samples_0000003.png"} <= names
    table = pd.read_csv(out / "metrics.csv")
    assert list(table["step"]) == [3]
    assert {"time_s", "fid", "kid_mean", "kid_std", "loss_d", "loss_g"} <= set(table.columns)
    assert table["fid"].notna().all() and result.best_fid == table["fid"].min()


def test_checkpoint_rebuilds_the_generator_and_scores_like_the_training_run(run, extractor):
    result, evaluator, _ = run
    path = result.out_dir / "last.pt"
    assert is_checkpoint(path) and not is_checkpoint(result.out_dir)
    source = checkpoint_source(path, n_samples=N, seed=evaluator.seed, device="cpu")
    (images,) = list(source.batches())
    assert len(source) == N and images.shape == (N, 3, 28, 28) and images.dtype == torch.uint8
    assert torch.equal(images, next(checkpoint_source(path, n_samples=N, seed=evaluator.seed).batches()))
    _, model = rebuild_model(read_checkpoint(path))
    trained = result.model.state_dict()
    assert all(torch.equal(v, trained[k].cpu()) for k, v in model.state_dict().items())
    # Same generator, same noise: the score of the rebuilt generator equals the one logged at step 2.
    stats = extractor.extract(source, stats=True, progress=False).stats
    fid = frechet_distance(stats, evaluator.reference_stats)  # = ganeval.fid(source, reference), one pass less
    assert fid == pytest.approx(result.history[-1]["fid"], rel=1e-9)


def test_unusable_checkpoints_get_one_line_errors(run, tmp_path):
    result, _, _ = run
    state = torch.load(result.out_dir / "last.pt", weights_only=True)
    state["ganeval_version"], state["format_version"] = "0.0.9", FORMAT_VERSION - 1
    old = tmp_path / "old.pt"
    torch.save(state, old)
    with pytest.raises(InputError, match=rf"written by ganeval 0\.0\.9 in checkpoint format {FORMAT_VERSION - 1}"):
        checkpoint_source(old, 4)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="is not a ganeval baseline checkpoint") as info:
        checkpoint_source(junk, 4)
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="no such checkpoint"):
        checkpoint_source(tmp_path / "missing.pt", 4)


def test_a_conditional_run_reports_intra_fid_and_its_checkpoint_scores_alike(extractor, tmp_path):
    """cgan: intra-FID in the loop on class-balanced samples; `ganeval score REAL CKPT --metrics intra_fid
    --samples-per-class K` on the checkpoint gives the same per-class FIDs (same noise, same labels)."""
    from click.testing import CliRunner

    from ganeval.cli import main
    from tests.conftest import write_folder

    try:
        test = load_dataset("fashion-mnist", "test", data_root())
    except InputError as exc:
        pytest.skip(str(exc))
    keep = torch.from_numpy(np.flatnonzero(test.labels.numpy() < 2))  # two classes: two per-class FIDs
    data = LabelledImages(test.images[keep[:48]], test.labels[keep[:48]], 2)
    real, real_labels = test.images[keep[-8:]], test.labels[keep[-8:]]
    evaluator = Evaluator(real, extractor=extractor, metrics=("fid", "intra_fid"), n_samples=8,
                          reference_labels=real_labels)  # fmt: skip
    recipe = override(load_recipe("cgan"), width=1 / 16, batch_size=16, steps=2, eval_every=0,
                      out=str(tmp_path / "cgan"))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ganeval.RankDeficientWarning)
        result = train(recipe, data=data, evaluator=evaluator, progress=False)
    last = result.history[-1]
    assert {"intra_fid", "fid_class_0", "fid_class_1"} <= set(last)
    assert last["intra_fid"] == pytest.approx((last["fid_class_0"] + last["fid_class_1"]) / 2, rel=1e-12)
    folder = tmp_path / "real"
    for c in (0, 1):
        write_folder(real[real_labels == c].permute(0, 2, 3, 1).numpy().repeat(3 // real.shape[1], axis=3),
                     folder / str(c))  # fmt: skip
    args = ["score", str(folder), str(result.out_dir / "last.pt"), "--metrics", "fid,intra_fid",
            "--samples-per-class", "4", "--device", "cpu", "--json", "-q"]  # fmt: skip
    scored = CliRunner().invoke(main, args)
    assert scored.exit_code == 0, scored.output
    scores = json.loads(scored.stdout)
    assert scores["n_fake"] == 8 and set(scores["fid_per_class"]) == {"0", "1"}
    assert scores["fid_per_class"]["1"] == pytest.approx(last["fid_class_1"], rel=1e-9)
    assert scores["intra_fid"] == pytest.approx(last["intra_fid"], rel=1e-9)
    assert scores["fid"] == pytest.approx(last["fid"], rel=1e-9)
