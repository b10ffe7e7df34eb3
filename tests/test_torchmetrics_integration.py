"""`GanevalMetric`, the torchmetrics face of `ganeval.Scorer`: equal to the Scorer on the same batches, torchmetrics'
reset/compute contract, 2 gloo ranks equal to one process with ganeval's own reduction, and a Lightning
validation loop logging it with `self.log` (when Lightning is installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("torchmetrics", reason="torchmetrics is not installed (pip install 'ganeval[torchmetrics]')")

import ganeval  # noqa: E402
from ganeval.errors import InputError  # noqa: E402
from ganeval.integrations.torchmetrics import GanevalMetric  # noqa: E402

N_REAL, N_FAKE = 6, 6
# The reference goes through the (session's private) cache: obtained once, read back by every later metric.
OPTIONS = {"kid_subset_size": 3, "kid_subsets": 4, "pr_k": 2, "cache": True}
METRICS = ("fid", "kid", "pr")
UNCACHED = {**OPTIONS, "cache": False}  # the 2-rank test computes everything with one thread, as the ranks do
pytestmark = pytest.mark.filterwarnings("ignore::ganeval.RankDeficientWarning")  # 6 and 6 images


@pytest.fixture(scope="module")
def sets(cifar_tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return cifar_tensor[:N_REAL], cifar_tensor[N_REAL : N_REAL + N_FAKE]


@pytest.fixture(scope="module")
def scorer_result(sets, extractor) -> dict:
    real, fake = sets
    scorer = ganeval.Scorer(METRICS, reference=real, extractor=extractor, **OPTIONS)
    scorer.update(fake[:3])
    scorer.update(fake[3:])
    return scorer.compute()


@pytest.fixture(scope="module")
def metric(sets, extractor) -> GanevalMetric:
    return GanevalMetric(METRICS, reference=sets[0], extractor=extractor, **OPTIONS)


def test_equal_to_the_scorer_on_the_same_batches(metric, sets, scorer_result):
    fake = sets[1]
    metric.reset()
    metric.update(fake[:3])
    metric(fake[3:])  # forward is update: no per-batch value
    values = metric.compute()
    assert metric.result == scorer_result  # the same state, the same reduction: equal, not close
    assert set(values) == {"fid", "kid_mean", "kid_std", "precision", "recall", "n_real", "n_fake"}
    assert values["fid"].dtype == torch.float64 and values["fid"].ndim == 0
    assert float(values["fid"]) == scorer_result["fid"] and int(values["n_fake"]) == N_FAKE
    assert metric.compute() is values  # torchmetrics' cache until the next update or reset
    assert metric.state_dict() == {}  # no torchmetrics states (nothing for it to gather), no network weights


def test_reset_follows_torchmetrics(metric, sets, scorer_result):
    """After reset, compute warns as torchmetrics does before any update, then fails like its FID (too few
    images); the reference stays, so updating again gives the same result."""
    fake = sets[1]
    metric.update(fake[:2])
    metric.reset()
    assert metric.update_count == 0
    before_update = r"``compute`` method .* was called before the ``update`` method"
    with pytest.warns(UserWarning, match=before_update), pytest.raises(InputError, match="got 0: call update"):
        metric.compute()
    metric.update(fake[:3])
    metric.update(fake[3:])
    assert metric.compute()["fid"] == scorer_result["fid"]
    metric.reset()


def test_keys_and_real_images(sets, extractor, scorer_result):
    real, fake = sets
    fid = GanevalMetric("fid", reference=real, extractor=extractor, cache=True)  # one value: self.log's tensor
    fid.update(fake[:3])
    fid.update(fake[3:])
    value = fid.compute()
    assert value.ndim == 0 and float(value) == scorer_result["fid"]
    assert fid.higher_is_better is False
    # without a reference the real images come through update(real=True), and reset forgets them by default
    kid = GanevalMetric(("kid",), extractor=extractor, kid_subset_size=3, kid_subsets=4)
    assert kid.key == "kid_mean" and kid.higher_is_better is False
    kid.update(real, real=True)
    kid.update(fake[:3])
    kid.update(fake[3:])
    assert float(kid.compute()) == scorer_result["kid_mean"]
    kid.reset()
    kid.update(fake[:2])
    with pytest.raises(InputError, match="need at least 2 real images, got 0"):
        kid.compute()
    errors = [
        (lambda: GanevalMetric("pr", key="fid", extractor=extractor), "key 'fid' is not a result of pr"),
        (lambda: GanevalMetric("fid", extractor=extractor, sync_on_compute=True), "unknown option"),
        (lambda: fid.update(real, real=True), "real images added to a reference stay in it across resets"),
    ]
    for call, message in errors:
        with pytest.raises(InputError, match=message):
            call()
    assert GanevalMetric("pr", key="recall", extractor=extractor).higher_is_better is True


def test_importing_ganeval_does_not_import_torchmetrics_and_its_absence_is_one_line():
    code = (
        "import sys, ganeval\n"
        "ganeval.Scorer, ganeval.score\n"
        "import ganeval.integrations, ganeval.sources.models, ganeval.cli.model_options\n"
        "assert 'torchmetrics' not in sys.modules and 'onnxruntime' not in sys.modules, 'imported'\n"
        "sys.modules['torchmetrics'] = None\n"  # as if it were not installed
        "try:\n"
        "    import ganeval.integrations.torchmetrics\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == "ganeval.integrations.torchmetrics needs torchmetrics: pip install 'ganeval[torchmetrics]'\n"


def test_two_gloo_ranks_get_the_single_process_result(tmp_path, cifar_images, weights_with_head, extractor):
    """Each rank builds the metric before the process group exists (as a LightningModule's __init__ does),
    updates its share of the generated images inside it, and computes: every rank gets what one process
    gets from all the images (in this process with one thread, as each rank runs)."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip(f"torchrun not found next to {sys.executable}")
    images = tmp_path / "images.npy"
    np.save(images, cifar_images[: N_REAL + N_FAKE])
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", __file__, str(weights_with_head), str(images),
           str(tmp_path)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    tensor = torch.from_numpy(cifar_images[: N_REAL + N_FAKE]).permute(0, 3, 1, 2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # batched as the ranks are (6 real; 3 and 3 generated), so pool3 has the same bits
        single = ganeval.Scorer(METRICS, reference=tensor[:N_REAL], extractor=extractor, **UNCACHED)
        single.update(tensor[N_REAL : N_REAL + 3])
        single.update(tensor[N_REAL + 3 :])
        want = single.compute()
    finally:
        torch.set_num_threads(threads)
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=False)
        assert got["synced_by_torchmetrics"] is False and got["own_n_fake"] == 3
        assert got["result"]["n_fake"] == N_FAKE and got["result"]["n_real"] == N_REAL  # gathered once
        assert got["result"]["fid"] == pytest.approx(want["fid"], rel=1e-9)
        for key in ("kid_mean", "kid_std", "precision", "recall"):
            assert got["result"][key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
        assert float(got["value"]["fid"]) == got["result"]["fid"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning's notes on workers and logging intervals
def test_lightning_logs_it_with_self_log(sets, extractor, scorer_result):
    """`self.log("val/fid", metric)` and `self.log_dict(metric.compute())` in a real Lightning validation loop."""
    lightning = pytest.importorskip("lightning", reason="Lightning is not installed (pip install lightning)")
    real, fake = sets

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.fid = GanevalMetric("fid", reference=real, extractor=extractor, cache=True)
            self.several = GanevalMetric(METRICS, reference=real, extractor=extractor, **OPTIONS)

        def validation_step(self, batch, batch_idx):
            (images,) = batch
            self.fid.update(images)
            self.several.update(images)
            self.log("val/fid", self.fid)

        def on_validation_epoch_end(self):
            self.log_dict({f"val/{k}": v for k, v in self.several.compute().items()})
            self.several.reset()

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(fake), batch_size=3)
    trainer = lightning.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                                enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    module = Module()
    (logged,) = trainer.validate(module, loader, verbose=False)
    assert logged["val/fid"] == pytest.approx(scorer_result["fid"], rel=1e-6)  # Lightning logs float32
    assert logged["val/kid_mean"] == pytest.approx(scorer_result["kid_mean"], rel=1e-6)
    assert logged["val/n_fake"] == N_FAKE
    assert module.fid.update_count == 0 and module.fid.scorer.n_fake == 0  # Lightning reset it after the epoch


def _worker(weights: str, images_npy: str, out_dir: str) -> None:
    import torch.distributed as dist

    from ganeval.distributed import process_group
    from ganeval.extractor import InceptionExtractor

    images = torch.from_numpy(np.load(images_npy)).permute(0, 3, 1, 2)
    extractor = InceptionExtractor(weights, device="cpu", batch_size=8)
    metric = GanevalMetric(METRICS, reference=images[:N_REAL], extractor=extractor, **UNCACHED)
    with process_group() as grouped:
        assert grouped
        rank = dist.get_rank()
        share = images[N_REAL : N_REAL + 3] if rank == 0 else images[N_REAL + 3 :]
        metric.update(share)
        value = metric.compute()
        out = {
            "result": metric.result,
            "value": value,
            "own_n_fake": metric.scorer.n_fake,
            "synced_by_torchmetrics": metric._is_synced or metric.sync_on_compute,
        }
        torch.save(out, Path(out_dir) / f"rank{rank}.pt")


if __name__ == "__main__":
    _worker(*sys.argv[1:4])
