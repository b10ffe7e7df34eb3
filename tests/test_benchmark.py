"""`ganeval benchmark` and `ganeval report`: ordered records, resume that scores nothing twice (also after a
real kill -9), training-run folders expanded by step, broken inputs recorded, tables and plots."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from ganeval.disturbances import disturb
from ganeval.records import RecordWriter, read_records
from tests.conftest import data_root, run_cli, write_folder

N = 10


@pytest.fixture(scope="module")
def folders(cifar_images, tmp_path_factory) -> dict[str, Path]:
    """A reference and three folders of the next images at noise levels 0, 0.5 and 1."""
    base = tmp_path_factory.mktemp("bench")
    out = {"reference": write_folder(cifar_images[:N], base / "reference")}
    for level in (0.0, 0.5, 1.0):
        images = disturb("gaussian_noise", cifar_images[N : 2 * N], level, seed=0)
        out[f"noise{level}"] = write_folder(images, base / f"noise{level}")
    return out


def common(weights: Path) -> list[str]:
    return ["--metrics", "fid,kid", "--subset-size", "5", "--subsets", "4", "--device", "cpu", "--weights",
            str(weights), "-q"]  # fmt: skip


def test_records_follow_the_disturbance_and_a_second_run_scores_nothing(folders, tmp_path, weights_with_head,
                                                                        counted, monkeypatch):  # fmt: skip
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "results.jsonl"
    inputs = [str(folders[k]) for k in ("noise0.0", "noise0.5", "noise1.0")]
    code, table, err = run_cli("benchmark", str(folders["reference"]), *inputs, "--out", str(out),
                               *common(weights_with_head))  # fmt: skip
    assert code == 0, err
    records = read_records(out)
    assert [r["input"]["path"] for r in records] == inputs and all(r["status"] == "ok" for r in records)
    fids = [r["metrics"]["fid"] for r in records]
    assert fids[0] < fids[1] < fids[2]
    first = records[0]
    assert first["metrics"]["n_real"] == first["metrics"]["n_fake"] == N and first["input"]["kind"] == "folder"
    assert {"features", "spaces", "precision", "seed", "batch_size"} <= set(first["settings"])
    assert first["reference"]["name"] == str(folders["reference"]) and first["input"]["fingerprint"]
    assert {"ganeval", "torch"} <= set(first["versions"]) and first["device"] == "cpu" and first["seconds"] > 0
    assert "| " + inputs[0] in table and "**" in table  # the table at the end, best values marked

    before = out.read_bytes()
    counted.clear()
    code, _, err = run_cli("benchmark", str(folders["reference"]), *inputs, "--out", str(out),
                           *common(weights_with_head), "--no-cache")  # fmt: skip
    assert code == 0, err
    assert sum(counted) == 0 and out.read_bytes() == before  # nothing scored, not even the reference

    code, _, err = run_cli("benchmark", str(folders["reference"]), *inputs, str(folders["reference"]),
                           "--out", str(out), *common(weights_with_head), "--no-cache")  # fmt: skip
    assert code == 0, err
    assert sum(counted) == 2 * N  # the new input and the reference it is compared with, nothing else
    assert len(read_records(out)) == 4


def test_a_training_run_folder_gives_one_record_per_step_and_a_plot(folders, tmp_path, weights_with_head):
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not found (set GANEVAL_DATA)")
    run = tmp_path / "run"
    train = ["train-baseline", "gan", "--dataset", "fashion-mnist", "--width", "0.0625", "--batch-size", "8",
             "--eval-samples", "0", "--out", str(run), "--data-root", str(data_root()), "--device", "cpu",
             "-q"]  # fmt: skip
    code, _, err = run_cli(*train, "--steps", "1")
    assert code == 0, err
    shutil.copy(run / "last.pt", run / "step1.pt")
    code, _, err = run_cli(*train, "--steps", "2", "--resume")
    assert code == 0, err
    out = tmp_path / "runs.jsonl"
    code, _, err = run_cli("benchmark", str(folders["reference"]), str(run), "--samples", "8", "--out", str(out),
                           *common(weights_with_head))  # fmt: skip
    assert code == 0, err
    records = read_records(out)
    assert sorted(r["input"]["step"] for r in records) == [1, 2]
    assert {r["input"]["kind"] for r in records} == {"checkpoint"} and {r["input"]["recipe"] for r in records} == {
        "gan"
    }
    assert all(r["input"]["run"] == str(run) for r in records)
    png = tmp_path / "fid.png"
    code, table, err = run_cli("report", str(out), "--plot", str(png), "--sort", "fid")
    assert code == 0, err
    assert Image.open(png).size[0] > 100 and len(table.splitlines()) == 4  # header, rule, one row per step


def test_broken_inputs_are_recorded_and_the_others_scored(folders, tmp_path, weights_with_head):
    empty = tmp_path / "empty"
    empty.mkdir()
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    out = tmp_path / "results.jsonl"
    inputs = [str(folders["noise0.0"]), str(empty), str(junk), str(folders["noise0.5"])]
    code, _, err = run_cli("benchmark", str(folders["reference"]), *inputs, "--out", str(out),
                           *common(weights_with_head))  # fmt: skip
    assert code == 1 and "2 input(s) failed" in err
    by_path = {r["input"]["path"]: r for r in read_records(out)}
    assert by_path[str(empty)]["status"] == "error" and "no images" in by_path[str(empty)]["error"]
    assert (
        by_path[str(junk)]["status"] == "error" and "not a ganeval baseline checkpoint" in by_path[str(junk)]["error"]
    )
    assert by_path[str(folders["noise0.5"])]["status"] == "ok" and by_path[str(folders["noise0.0"])]["status"] == "ok"
    code, table, _ = run_cli("report", str(out))
    assert code == 0 and "Failed inputs" in table and "junk.pt" in table


def test_kill_9_then_resume_scores_every_input_exactly_once(cifar_images, tmp_path, weights_with_head):
    reference = write_folder(cifar_images[:6], tmp_path / "reference")
    inputs = [str(write_folder(cifar_images[6 + 4 * i : 10 + 4 * i], tmp_path / f"in{i}")) for i in range(6)]
    out = tmp_path / "results.jsonl"
    cmd = [sys.executable, "-m", "ganeval", "benchmark", str(reference), *inputs, "--out", str(out),
           *common(weights_with_head), "--no-cache"]  # fmt: skip
    env = {**os.environ, "GANEVAL_CACHE": str(tmp_path / "cache")}
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and child.poll() is None and len(read_records(out)) < 2:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    killed_at = len(read_records(out))
    assert 2 <= killed_at < len(inputs), "the kill should land in the middle of the run"
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert all(json.loads(line) for line in lines)  # every line parses
    assert sorted(r["input"]["path"] for r in read_records(out)) == sorted(inputs)  # each exactly once


def test_a_torn_last_line_is_dropped_before_appending(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = RecordWriter(path)
    writer.write({"status": "ok", "n": 1})
    with open(path, "a") as f:
        f.write('{"format": "ganeval-record/1", "sta')  # a writer killed mid-line
    RecordWriter(path).write({"status": "ok", "n": 2})
    assert [r["n"] for r in read_records(path)] == [1, 2]
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_report_keeps_settings_apart_and_renders_every_format(tmp_path):
    path = tmp_path / "r.jsonl"
    writer = RecordWriter(path)
    rows = (("a", "w1", "x", 0, 10.0), ("a", "w1", "x", 1, 12.0), ("a", "w1", "y", 0, 20.0), ("b", "w2", "x", 0, 30.0))
    for key, weights, name, repeat, fid in rows:
        writer.write({"status": "ok", "input": {"path": name, "step": None}, "repeat": repeat,
                      "metrics": {"fid": fid, "precision": fid / 100, "n_real": 4, "n_fake": 4},
                      "settings": {"weights_sha256": weights, "batch_size": 8}, "settings_key": key})  # fmt: skip
    code, out, err = run_cli("report", str(path))
    assert code == 0, err
    assert "weights_sha256=w1" in out and "weights_sha256=w2" in out  # two tables, never one column
    assert "| **11 ± 1** |" in out and "| **0.2** |" in out  # best FID lowest, best precision highest
    assert "| 30 | 0.3 |" in out  # the other settings' table: one row, nothing to mark
    code, out, err = run_cli("report", str(path), "--sort", "precision")
    assert out.index("| y |") < out.index("| x |")
    for fmt in ("csv", "json", "latex"):
        code, out, err = run_cli("report", str(path), "--format", fmt)
        assert code == 0, err
    assert "\\textbf{" in out and "\\pm" in out
    code, _, err = run_cli("report", str(path), "--sort", "bogus")
    assert code == 1 and "cannot sort by 'bogus'" in err


def write_records(path: Path, inputs: dict[str, tuple[float, ...]], step: int | None = None) -> None:
    """One ok record per (input, repeat): FID and precision as given, a shared settings key."""
    writer = RecordWriter(path)
    for name, fids in inputs.items():
        for repeat, fid in enumerate(fids):
            writer.write({"status": "ok", "input": {"path": name, "step": step, "run": None}, "repeat": repeat,
                          "metrics": {"fid": fid, "precision": 1 - fid / 100, "n_real": 4, "n_fake": 4},
                          "settings": {"batch_size": 8}, "settings_key": "k"})  # fmt: skip


def test_report_plots_bars_when_no_record_has_a_step(tmp_path):
    """The README's benchmark of folders has no training step: its plot is a bar chart, not an error."""
    path = tmp_path / "folders.jsonl"
    write_records(path, {"examples/cifar10-b": (20.0, 22.0), "examples/cifar10-b-noise": (60.0,)})
    png = tmp_path / "bars.png"
    code, _, err = run_cli("report", str(path), "--plot", str(png))
    assert code == 0, err
    assert "bars of 2 input(s)" in err and Image.open(png).size[0] > 300
    # Mixed with a run's checkpoints, the folders become dashed levels across the curves.
    write_records(path, {"runs/a/snapshot_0000001.pt": (50.0,)}, step=1)
    write_records(path, {"runs/a/snapshot_0000002.pt": (30.0,)}, step=2)
    code, _, err = run_cli("report", str(path), "--plot", str(png))
    assert code == 0, err
    assert "curves of 2 run(s) and 2 input(s) without a step" in err


def test_report_reads_a_runs_metrics_csv(tmp_path):
    """`ganeval report runs/x/metrics.csv --plot fid.png`: the in-loop evaluations by step, losses included."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.csv").write_text(
        "step,time_s,loss_d,loss_g,fid,kid_mean,kid_std,n_real,n_fake,eval_time_s\n"
        "1000,60.5,1.2,0.8,120.0,0.10,0.01,1000,1000,30.1\n"
        "2000,121.0,1.1,0.9,80.0,0.06,0.01,1000,1000,29.9\n"
        "3000,182.2,1.0,1.1,,,,,,\n"  # a row without an evaluation (eval_every > the row's cadence)
    )
    code, table, err = run_cli("report", str(run / "metrics.csv"), "--format", "csv")
    assert code == 0, err
    rows = [row for row in table.splitlines() if row]
    assert rows[0].split(",")[:10] == ["input", "step", "run", "repeats", "n_real", "n_fake", "loss_d", "loss_g",
                                       "fid", "kid"]  # the clock is not a metric  # fmt: skip
    assert len(rows) == 4 and rows[2].split(",")[:2] == [str(run), "2000"] and rows[2].endswith(",fid kid")
    png = tmp_path / "fid.png"
    code, _, err = run_cli("report", str(run / "metrics.csv"), "--plot", str(png))
    assert code == 0 and "curves of 1 run(s)" in err and Image.open(png).size[0] > 300, err
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    code, _, err = run_cli("report", str(tmp_path / "other.csv"))
    assert code == 1 and "has no step column" in err and err.count("\n") == 1
