"""`ganeval benchmark` under torchrun (2 gloo ranks): records equal one process's, rank 0 writes, a killed
run resumes; and StyleGAN's JSONL lines with `--format stylegan`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from ganeval.records import read_records
from tests.conftest import run_cli, write_folder

N = 6


@pytest.fixture(scope="module")
def folders(cifar_images, tmp_path_factory) -> list[Path]:
    base = tmp_path_factory.mktemp("bench-ranks")
    return [write_folder(cifar_images[i * N : (i + 1) * N], base / f"set{i}") for i in range(4)]


def _torchrun(args: list[str]) -> list[str]:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip(f"torchrun not found next to {sys.executable}")
    return [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "ganeval", *args]


def _args(folders: list[Path], out: Path, weights: Path, inputs: int) -> list[str]:
    return ["benchmark", *(str(f) for f in folders[: inputs + 1]), "--metrics", "fid,kid", "--subset-size", "4",
            "--out", str(out), "--device", "cpu", "--weights", str(weights), "-q", "--no-cache"]  # fmt: skip


def test_two_ranks_write_the_records_of_one_process(folders, headless_weights, tmp_path):
    """Each rank runs one intra-op thread; the one-process run too, so features agree bit for bit and only the
    order of the float64 reduction differs (statistics to 1e-10, FID to 1e-9)."""
    out = tmp_path / "ranks.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(_torchrun(_args(folders, out, headless_weights, 2)), capture_output=True, text=True,
                          timeout=600, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = read_records(out)
    assert len(ranks) == 2  # rank 0 alone wrote: one line per input
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code, _, err = run_cli(*_args(folders, tmp_path / "one.jsonl", headless_weights, 2))
    finally:
        torch.set_num_threads(threads)
    assert code == 0, err
    single = read_records(tmp_path / "one.jsonl")
    for a, b in zip(ranks, single, strict=True):
        assert a["input"]["path"] == b["input"]["path"] and a["settings_key"] == b["settings_key"]
        assert a["metrics"]["fid"] == pytest.approx(b["metrics"]["fid"], rel=1e-9)
        assert a["metrics"]["kid_mean"] == pytest.approx(b["metrics"]["kid_mean"], rel=1e-9, abs=1e-12)
        assert a["metrics"]["n_fake"] == b["metrics"]["n_fake"] == N


def test_a_killed_torchrun_benchmark_resumes(folders, headless_weights, tmp_path):
    out = tmp_path / "killed.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = _torchrun(_args(folders, out, headless_weights, 3))
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and len(read_records(out)) < 1 and process.poll() is None:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # torchrun and both ranks, mid-run
    process.wait()
    first = read_records(out)
    assert 1 <= len(first) < 3, "the run must be killed after its first record"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    records = read_records(out)
    assert len(records) == 3 and records[: len(first)] == first  # the finished records were not scored again
    assert len({r["input"]["path"] for r in records}) == 3


def test_stylegan_format_writes_its_jsonl_lines(folders, headless_weights, tmp_path):
    out = tmp_path / "records.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, _, err = run_cli("benchmark", str(folders[0]), str(folders[1]), "--protocol", "stylegan", "--metrics",
                               "kid", "--format", "stylegan", "--out", str(out), "--weights", str(headless_weights),
                               "-q")  # fmt: skip
    assert code == 0, err
    lines = (tmp_path / f"metric-kid{N}_full.jsonl").read_text().splitlines()
    line = json.loads(lines[0])
    assert list(line) == ["results", "metric", "total_time", "total_time_str", "num_gpus", "snapshot_pkl", "timestamp"]
    record = read_records(out)[0]
    assert line["results"] == {f"kid{N}_full": record["metrics"]["kid_mean"]} and line["metric"] == f"kid{N}_full"
    assert line["snapshot_pkl"] == str(folders[1]) and record["settings"]["protocol"] == "stylegan"
