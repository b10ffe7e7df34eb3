"""Snapshots of a training run (`snapshot_STEP.pt`) and the score against training step they make possible:
`train-baseline` keeps them, `benchmark RUN/` scores each by step, `report --plot` draws the curve."""

from __future__ import annotations

import pytest
import torch

from ganeval.baselines import load_recipe, override, read_checkpoint, train
from ganeval.baselines.recipe import for_dataset
from ganeval.records import read_records
from tests.conftest import data_root, run_cli, write_folder


def points_recipe(tmp_path, **changes):
    """A small GAN on ring8, no Inception network; rows of metrics.csv with the losses only unless eval_samples."""
    recipe = for_dataset(load_recipe("gan"), "ring8")
    changes = {"eval_samples": 0, **changes}
    return override(recipe, width=1 / 8, batch_size=32, z_dim=8, out=str(tmp_path / "run"), **changes)


def snapshot_steps(folder) -> list[int]:
    return sorted(int(p.stem.split("_")[1]) for p in folder.glob("snapshot_*.pt"))


def test_a_snapshot_at_every_evaluation_by_default_and_a_note_on_their_disk_cost(tmp_path):
    lines: list[str] = []
    result = train(points_recipe(tmp_path, steps=9, eval_every=2), progress=False, log=lines.append)
    assert snapshot_steps(result.out_dir) == [2, 4, 6, 8, 9]  # every row of metrics.csv, the last step included
    notes = [line for line in lines if "snapshot" in line]
    assert len(notes) == 1 and "keeps 5 snapshots" in notes[0] and " MB" in notes[0]
    snapshot = read_checkpoint(result.out_dir / "snapshot_0000004.pt")
    assert snapshot["snapshot"] and snapshot["step"] == 4 and "optimizers" not in snapshot and "rng" not in snapshot
    last = result.out_dir / "last.pt"
    assert (result.out_dir / "snapshot_0000009.pt").stat().st_size < last.stat().st_size


def test_snapshot_every_sets_the_cadence_and_zero_keeps_none(tmp_path):
    every = train(points_recipe(tmp_path / "a", steps=7, eval_every=0, snapshot_every=3), progress=False)
    assert snapshot_steps(every.out_dir) == [3, 6, 7]
    resumed = train(points_recipe(tmp_path / "a", steps=9, eval_every=0, snapshot_every=3), progress=False,
                    resume=True)  # fmt: skip
    assert snapshot_steps(resumed.out_dir) == [3, 6, 7, 9]
    none = train(points_recipe(tmp_path / "b", steps=4, eval_every=2, snapshot_every=0), progress=False)
    assert snapshot_steps(none.out_dir) == [] and (none.out_dir / "last.pt").is_file()


def test_a_run_with_snapshots_is_scored_by_step_into_a_curve(cifar_images, tmp_path, weights_with_head, counted,
                                                             monkeypatch):  # fmt: skip
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not found (set GANEVAL_DATA)")
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    train_args = ["train-baseline", "gan", "--dataset", "fashion-mnist", "--width", "0.0625", "--batch-size", "8",
                  "--eval-samples", "0", "--snapshot-every", "1", "--out", str(run), "--data-root",
                  str(data_root()), "--device", "cpu", "-q"]  # fmt: skip
    code, _, err = run_cli(*train_args, "--steps", "3")
    assert code == 0, err
    reference = write_folder(cifar_images[:8], tmp_path / "reference")
    out = tmp_path / "records.jsonl"
    bench = ["benchmark", str(reference), f"{run}/", "--samples", "8", "--metrics", "fid", "--out", str(out),
             "--device", "cpu", "--weights", str(weights_with_head), "-q"]  # fmt: skip
    code, _, err = run_cli(*bench)
    assert code == 0, err
    records = read_records(out)
    assert [r["input"]["step"] for r in records] == [1, 2, 3]
    assert [r["input"]["path"].rsplit("/", 1)[1] for r in records] == [f"snapshot_{s:07d}.pt" for s in (1, 2, 3)]
    assert sum(counted) == 8 + 3 * 8  # the reference, then 8 samples of each snapshot (last.pt is step 3's twin)

    code, _, err = run_cli(*train_args, "--steps", "4", "--resume")
    assert code == 0, err
    counted.clear()
    code, _, err = run_cli(*bench)
    assert code == 0, err
    assert sum(counted) == 8  # only the new step: the snapshots already scored did not change, unlike last.pt
    assert sorted(r["input"]["step"] for r in read_records(out)) == [1, 2, 3, 4]

    png = tmp_path / "fid.png"
    code, table, err = run_cli("report", str(out), "--plot", str(png))
    assert code == 0, err
    assert "wrote" in err and "curves of 1 run(s)" in err and png.stat().st_size > 10_000
    assert len(table.splitlines()) == 2 + 4  # header, rule, one row per step


def test_a_snapshot_holds_the_networks_of_its_step(tmp_path):
    result = train(points_recipe(tmp_path, steps=4, eval_every=2, eval_samples=50), progress=False)
    assert snapshot_steps(result.out_dir) == [2, 4]  # at each evaluation
    at_4 = read_checkpoint(result.out_dir / "snapshot_0000004.pt")["model"]
    assert all(torch.equal(v, result.model.state_dict()[k]) for k, v in at_4.items())
    at_2 = read_checkpoint(result.out_dir / "snapshot_0000002.pt")["model"]
    assert not all(torch.equal(v, at_4[k]) for k, v in at_2.items())
