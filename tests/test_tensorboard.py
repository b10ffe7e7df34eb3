"""TensorBoard logging (`train-baseline --tensorboard DIR`, `Evaluator(log_dir=)`), read back with
TensorBoard's own event reader. tensorboard is an optional package: without it a run asking for a log
gets one line naming `pip install tensorboard`, and importing ganeval never imports it."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch

import ganeval
from ganeval.baselines import load_recipe, override, train
from ganeval.baselines.recipe import for_dataset
from ganeval.evaluator import Evaluator

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="pip install tensorboard (a test dependency)"
)

N = 10


def read_events(folder) -> event_accumulator.EventAccumulator:
    events = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def steps(events, tag: str, kind: str = "Scalars") -> list[int]:
    return [event.step for event in getattr(events, kind)(tag)]


def test_a_training_run_logs_losses_every_evaluation_key_and_its_pictures(tmp_path):
    recipe = override(for_dataset(load_recipe("wgan-gp"), "ring8"), width=1 / 8, batch_size=32, z_dim=8,
                      steps=4, eval_every=2, eval_samples=50, out=str(tmp_path / "run"))  # fmt: skip
    board = tmp_path / "tb"
    result = train(recipe, progress=False, tensorboard=board)
    events = read_events(board)
    scalars = set(events.Tags()["scalars"])
    row_keys = set(result.history[-1]) - {"step"}
    assert {f"eval/{k}" for k in ("modes_covered", "high_quality", "reverse_kl", "fd", "coverage")} <= scalars
    assert {"loss/loss_d", "loss/loss_g", "time/time_s", "time/eval_time_s"} <= scalars
    assert len(scalars) == len(row_keys)  # one tag per column of metrics.csv
    assert steps(events, "loss/loss_d") == [1, 2, 3, 4]  # every step
    assert steps(events, "eval/reverse_kl") == steps(events, "samples", "Images") == [2, 4]  # every evaluation
    logged = [e.value for e in events.Scalars("eval/reverse_kl")]
    assert logged == pytest.approx([row["reverse_kl"] for row in result.history], rel=1e-6)

    resumed = override(recipe, steps=6)
    train(resumed, progress=False, resume=True, tensorboard=board)
    assert steps(read_events(board), "loss/loss_d") == [1, 2, 3, 4, 5, 6]  # continued, nothing twice


def test_the_evaluator_logs_each_evaluation_at_its_step(extractor, cifar_images, tmp_path):
    base = torch.from_numpy(cifar_images[N : 2 * N]).permute(0, 3, 1, 2).float() / 127.5 - 1

    def sample_fn(n: int) -> torch.Tensor:
        return base[torch.randint(N, (n,))]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ganeval.RankDeficientWarning)
        evaluator = Evaluator(cifar_images[:N], extractor=extractor, metrics=("fid",), n_samples=N,
                              log_dir=tmp_path / "tb", progress=False)  # fmt: skip
        result = evaluator.evaluate(sample_fn, step=700)
    events = read_events(tmp_path / "tb")
    assert {"eval/fid", "eval/n_real", "eval/n_fake"} <= set(events.Tags()["scalars"])
    assert steps(events, "eval/fid") == steps(events, "eval/samples", "Images") == [700]
    assert events.Scalars("eval/fid")[0].value == pytest.approx(result["fid"], rel=1e-6)


def test_without_tensorboard_one_line_names_the_package_and_ganeval_never_imports_it(tmp_path):
    blocked = "import sys; sys.modules['tensorboard'] = None; sys.modules['torch.utils.tensorboard'] = None; "
    run = [sys.executable, "-c", blocked + "from ganeval.cli import main; main()", "train-baseline", "gan",
           "--dataset", "ring8", "--steps", "1", "--out", str(tmp_path / "run"),
           "--tensorboard", str(tmp_path / "tb")]  # fmt: skip
    done = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr == "ganeval: error: TensorBoard logging needs the tensorboard package: pip install tensorboard\n"
    probe = ("import sys, ganeval, ganeval.evaluator, ganeval.baselines.trainer, ganeval.cli; "
             "print(sorted(m for m in sys.modules if 'tensorboard' in m))")  # fmt: skip
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0 and imported.stdout.strip() == "[]", imported.stderr
