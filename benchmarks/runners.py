"""One function per tool: load the network, decode and extract both folders, compute the metrics.

Each returns the same record. The clock starts after the imports (torch and the tool's package are
already loaded) and stops after the last metric, with the GPU synchronised: that is `total_s`.
`load_s` is building the network; `extract_s` is decoding plus the forward passes (plus whatever
per-image bookkeeping the tool does while it streams), summed over both inputs.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from inputs import image_files


@dataclass(frozen=True)
class Job:
    """What every tool is asked to do, identically."""

    a: Path  # the generated set: torch-fidelity's input1, ganeval's FAKE
    b: Path  # the real set: torch-fidelity's input2, ganeval's REAL
    weights: Path
    device: str
    batch_size: int
    workers: int
    metrics: tuple[str, ...]
    kid_subset_size: int
    ganeval_batch_size: int | None = None  # None: ganeval's own default (500 on a GPU)
    ganeval_workers: int | None = None  # None: ganeval's own default (1 on the CPU, up to 8 on a GPU)


class Clock:
    """Wall-clock seconds, synchronising CUDA so queued kernels are counted where they ran."""

    def __init__(self, device: str):
        self.cuda = torch.device(device).type == "cuda"
        self.seconds: dict[str, float] = {}

    def now(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
        return time.perf_counter()

    def wrap(self, key: str, fn: Callable) -> Callable:
        """`fn`, adding its run time to `self.seconds[key]`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = self.now()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + self.now() - start

        return timed


def rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ganeval(job: Job, mode: str = "tf", precision: str = "default", workers: int | None = None) -> dict[str, Any]:
    import ganeval
    from ganeval import inputs
    from ganeval.extractor import InceptionExtractor, extract_side

    clock = Clock(job.device)
    start = clock.now()
    batch_size = job.ganeval_batch_size if torch.device(job.device).type == "cuda" else job.batch_size
    load = clock.wrap("load", InceptionExtractor)
    extractor = load(job.weights, mode, job.device, batch_size, precision=precision)
    inputs.extract_side = clock.wrap("extract", extract_side)  # the one extraction loop, as the pipeline calls it
    result = ganeval.score(
        str(job.b),
        str(job.a),
        job.metrics,
        extractor=extractor,
        workers=workers if workers is not None else job.ganeval_workers,
        progress=False,
        cache=False,
        kid_subset_size=job.kid_subset_size,
    )
    total = clock.now() - start
    inputs.extract_side = extract_side
    label = "ganeval" + "".join(f" ({x})" for x in (mode, precision) if x not in ("tf", "default"))
    label += f" ({workers} workers)" if workers is not None else ""
    record = _record(label, mode, result["n_fake"], result["n_real"], clock, total, result)
    record["precision"] = extractor.precision
    record["batch"] = extractor.batch_size
    return record


def run_torch_fidelity(job: Job) -> dict[str, Any]:
    import torch_fidelity
    import torch_fidelity.metrics as tfd_metrics
    import torch_fidelity.utils as tfd_utils

    clock = Clock(job.device)
    tfd_metrics.create_feature_extractor = clock.wrap("load", tfd_metrics.create_feature_extractor)
    tfd_utils.get_featuresdict_from_dataset = clock.wrap("extract", tfd_utils.get_featuresdict_from_dataset)
    start = clock.now()
    out = torch_fidelity.calculate_metrics(
        input1=str(job.a),
        input2=str(job.b),
        cuda=torch.device(job.device).type == "cuda",
        batch_size=job.batch_size,
        fid="fid" in job.metrics,
        kid="kid" in job.metrics,
        isc="is" in job.metrics,
        kid_subset_size=job.kid_subset_size,
        feature_extractor_weights_path=str(job.weights),
        samples_find_deep=True,
        cache=False,
        verbose=False,
    )
    total = clock.now() - start
    result = {
        "fid": out.get("frechet_inception_distance"),
        "kid_mean": out.get("kernel_inception_distance_mean"),
        "kid_std": out.get("kernel_inception_distance_std"),
        "is_mean": out.get("inception_score_mean"),
        "is_std": out.get("inception_score_std"),
    }
    n = [len(image_files(p)) for p in (job.a, job.b)]
    return _record("torch-fidelity", "tf", n[0], n[1], clock, total, result)


def _command_line(tool: str, cmd: list[str], mode: str, n: int) -> dict[str, Any]:
    """A command run as a user runs it: a fresh process, imports and model load included in `seconds`."""
    import json
    import subprocess

    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    total = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout[done.stdout.index("{") :])  # torch-fidelity prints indented JSON
    fid = out.get("fid", out.get("frechet_inception_distance"))
    return {"tool": tool, "mode": mode, "images": n, "seconds": total, "fid": fid}


def run_ganeval_cli(job: Job) -> dict[str, Any]:
    import sys

    cmd = [sys.executable, "-m", "ganeval", "fid", str(job.b), str(job.a), "--weights", str(job.weights),
           "--device", job.device, "--no-cache", "--json", "-q"]  # fmt: skip
    if torch.device(job.device).type != "cuda":
        cmd += ["--batch-size", str(job.batch_size)]
    n = len(image_files(job.a)) + len(image_files(job.b))
    return _command_line("`ganeval fid` (command line)", cmd, "tf", n)


def run_fidelity_cli(job: Job) -> dict[str, Any]:
    import shutil
    import sys

    fidelity = shutil.which("fidelity") or str(Path(sys.executable).with_name("fidelity"))
    cmd = [fidelity, "--input1", str(job.a), "--input2", str(job.b), "--fid", "--json", "--silent", "--no-cache",
           "--samples-find-deep", "--feature-extractor-weights-path", str(job.weights), "--batch-size",
           str(job.batch_size)]  # fmt: skip
    if torch.device(job.device).type != "cuda":
        cmd.append("--cpu")
    n = len(image_files(job.a)) + len(image_files(job.b))
    return _command_line("`fidelity --fid` (command line)", cmd, "tf", n)


def run_pytorch_fid(job: Job) -> dict[str, Any]:
    """pytorch-fid computes FID only; its network loads from a private torch hub directory."""
    from pytorch_fid.fid_score import calculate_activation_statistics, calculate_frechet_distance
    from pytorch_fid.inception import InceptionV3

    _let_pytorch_fid_call_sqrtm_with_disp()

    hub = Path(tempfile.mkdtemp(prefix="bench-hub-"))
    (hub / "checkpoints").mkdir()
    (hub / "checkpoints" / job.weights.name).symlink_to(job.weights.resolve())
    torch.hub.set_dir(str(hub))
    files = [image_files(p) for p in (job.a, job.b)]
    clock = Clock(job.device)
    stats = clock.wrap("extract", calculate_activation_statistics)
    start = clock.now()
    model = clock.wrap("load", lambda: InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).to(job.device).eval())()
    mu_a, sigma_a = stats([str(f) for f in files[0]], model, job.batch_size, 2048, job.device, job.workers)
    mu_b, sigma_b = stats([str(f) for f in files[1]], model, job.batch_size, 2048, job.device, job.workers)
    result = {"fid": float(calculate_frechet_distance(mu_a, sigma_a, mu_b, sigma_b))}
    total = clock.now() - start
    return _record("pytorch-fid", "pytorch", len(files[0]), len(files[1]), clock, total, result)


def _let_pytorch_fid_call_sqrtm_with_disp() -> None:
    """pytorch-fid 0.3.0 calls `scipy.linalg.sqrtm(..., disp=False)`, which scipy 1.18 removed.

    Where that argument is gone, give pytorch-fid a wrapper with the old contract (the root and an error
    estimate), so it can be timed at all; the square root itself is scipy's.
    """
    import inspect

    import numpy as np
    import pytorch_fid.fid_score as pfid
    import scipy.linalg

    if "disp" in inspect.signature(scipy.linalg.sqrtm).parameters:
        return

    def sqrtm(a, disp=True, blocksize=64):
        root = scipy.linalg.sqrtm(a)
        error = np.linalg.norm(root @ root - a, "fro") / np.linalg.norm(a, "fro")
        return (root, error) if not disp else root

    pfid.linalg = type("linalg_shim", (), {"sqrtm": staticmethod(sqrtm)})


def _record(tool: str, mode: str, n_a: int, n_b: int, clock: Clock, total: float, result: dict) -> dict[str, Any]:
    record = {
        "tool": tool,
        "mode": mode,
        "images": n_a + n_b,
        "seconds": total,
        "load_s": clock.seconds.get("load"),
        "extract_s": clock.seconds.get("extract"),
        "peak_rss_mib": rss_mib(),
        **{k: (None if v is None else float(v)) for k, v in result.items() if k in METRIC_KEYS},
    }
    if clock.cuda:
        record["gpu_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return record


METRIC_KEYS = ("fid", "kid_mean", "kid_std", "is_mean", "is_std")
RUNNERS: dict[str, Callable[[Job], dict[str, Any]]] = {
    "ganeval": run_ganeval,
    "torch-fidelity": run_torch_fidelity,
    "pytorch-fid": run_pytorch_fid,
    "ganeval-pytorch": lambda job: run_ganeval(job, mode="pytorch"),
    "ganeval-fast": lambda job: run_ganeval(job, precision="fast"),
    "ganeval-tf32": lambda job: run_ganeval(job, precision="tf32"),
    "ganeval-strict": lambda job: run_ganeval(job, precision="strict"),
    "ganeval-exact": lambda job: run_ganeval(job, precision="exact"),
    "ganeval-w0": lambda job: run_ganeval(job, workers=0),
    "ganeval-w1": lambda job: run_ganeval(job, workers=1),
    "ganeval-w2": lambda job: run_ganeval(job, workers=2),
    "ganeval-w4": lambda job: run_ganeval(job, workers=4),
    "ganeval-cli": run_ganeval_cli,
    "fidelity-cli": run_fidelity_cli,
}
