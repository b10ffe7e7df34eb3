"""`ganeval benchmark`: many inputs scored against one reference, one JSON line per (input, repeat).

The network is loaded once and the reference obtained once (through the cache) for the whole run; each
input costs only its own images. Every record carries what a reader needs to trust and reproduce it
(`ganeval.records`). Running the same command again skips every (input, repeat, settings) already in the
file, so a killed benchmark continues where it stopped; an input whose fingerprint changed is scored
again. A failing input is recorded as an error line and the others go on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ganeval._version import __version__
from ganeval.errors import GanevalError, InputError, check
from ganeval.records import RecordWriter, read_records, settings_key

CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt")
# StyleGAN's result keys per metric (metrics/metric_main.py): fid50k_full -> {"fid50k_full": v}, pr50k3_full ->
# {"pr50k3_full_precision", "pr50k3_full_recall"}, is50k -> {"is50k_mean", "is50k_std"}.
STYLEGAN_RESULTS = {
    "fid": {"": "fid"},
    "kid": {"": "kid_mean"},
    "pr": {"_precision": "precision", "_recall": "recall"},
    "is": {"_mean": "is_mean", "_std": "is_std"},
}
_STYLEGAN_SUFFIX = {"fid": "_full", "kid": "_full", "pr": "3_full", "is": ""}


def stylegan_metric_name(metric: str, n: int | None) -> str:
    """StyleGAN's metric name for `n` generated images: fid50k_full, kid50k_full, pr50k3_full, is50k."""
    size = f"{n // 1000}k" if n and n % 1000 == 0 else str(n)
    return f"{metric}{size}{_STYLEGAN_SUFFIX[metric]}"


@dataclass(frozen=True)
class BenchInput:
    """One thing to score: images (a folder, archive, array, dataset) or a generator checkpoint."""

    path: str
    kind: str  # folder | archive | array | dataset | checkpoint
    step: int | None = None
    recipe: str | None = None
    run: str | None = None  # the training-run folder a checkpoint came from

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "step": self.step, "recipe": self.recipe, "run": self.run}


def read_input_list(path: str | os.PathLike) -> list[str]:
    """One input per line of a text file; blank lines and `#` comments are skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read the input list {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _checkpoint_meta(path: Path) -> tuple[int | None, str | None]:
    from ganeval.baselines import read_checkpoint

    state = read_checkpoint(path)
    return int(state.get("step", 0)), (state.get("recipe") or {}).get("name")


def _preference(path: Path) -> tuple[int, str]:
    """Which checkpoint stands for a step held by several: a snapshot (it never changes, so a benchmark run
    again skips it), then `last.pt`, `best.pt`, then any other file."""
    if path.name.startswith("snapshot_"):
        return 0, path.name
    return (1 if path.name == "last.pt" else 2 if path.name == "best.pt" else 3), path.name


def expand_inputs(specs: list[str]) -> list[BenchInput]:
    """Inputs as given, a training-run folder (one holding checkpoints) expanded to each of its checkpoints with
    its step: every `snapshot_STEP.pt` that `train-baseline` keeps, `last.pt`, `best.pt` and any other
    checkpoint file, one per step (`_preference` picks which); unreadable checkpoints are kept, to be
    recorded as errors."""
    out: list[BenchInput] = []
    for spec in specs:
        path = Path(spec)
        checkpoints = sorted(p for p in path.glob("*") if p.suffix in CHECKPOINT_SUFFIXES) if path.is_dir() else []
        if checkpoints:
            seen: set[int | None] = set()
            for ckpt in sorted(checkpoints, key=_preference):
                try:
                    step, recipe = _checkpoint_meta(ckpt)
                except GanevalError:
                    step, recipe = None, None
                if step is not None and step in seen:
                    continue
                seen.add(step)
                out.append(BenchInput(str(ckpt), "checkpoint", step, recipe, run=str(path)))
        elif _is_model(spec):
            out.append(BenchInput(spec, "model"))
        elif path.is_file() and path.suffix in CHECKPOINT_SUFFIXES:
            try:
                step, recipe = _checkpoint_meta(path)
            except GanevalError:
                step, recipe = None, None
            out.append(BenchInput(spec, "checkpoint", step, recipe))
        else:
            out.append(BenchInput(spec, _kind(spec)))
    return sorted(dict.fromkeys(out), key=lambda b: (b.run or b.path, b.step if b.step is not None else -1, b.path))


def _is_model(spec: str) -> bool:
    from ganeval.sources.models import is_model_spec

    return is_model_spec(spec)


def _kind(spec: str) -> str:
    if os.path.isdir(spec):
        return "folder"
    if spec.lower().endswith((".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")):
        return "archive"
    if spec.lower().endswith((".npy", ".npz")):
        return "array"
    return "dataset"


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _identity(item: Any) -> dict[str, Any]:
    """What identifies a reference without computing it: a registered reference's expected fingerprint, a
    statistics file's contents, or the fingerprint of its images."""
    if item.reference is not None:
        registry, ref, part = item.reference
        return {"fingerprint": ref.expected(part), "source": ref.source, "n": item.count()}
    if item.loaded is not None:
        return {"fingerprint": file_digest(item.loaded.path) if os.path.isfile(item.loaded.path) else None,
                "n": item.loaded.n}  # fmt: skip
    return {"fingerprint": item.source.fingerprint, "n": len(item.source)}


class Benchmark:
    """One reference, one network, many inputs (see the module docstring)."""

    def __init__(
        self,
        reference: Any,
        metrics: tuple[str, ...] | str,
        *,
        samples: int = 10_000,
        samples_per_class: int | None = None,
        repeats: int = 1,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
        train: Any = None,
        stylegan_dir: str | os.PathLike | None = None,
        model_options: dict[str, Any] | None = None,
        **options: Any,
    ):
        from ganeval.api import make_pipeline, spaces_record
        from ganeval.inputs import resolve_input
        from ganeval.results import needs, parse_metrics

        check(repeats >= 1, f"repeats must be at least 1, got {repeats}")
        self.stylegan_dir = stylegan_dir
        self.model_options = dict(model_options or {})  # z_size, z_type, num_classes, value_range of model inputs
        self.metrics = parse_metrics(metrics)
        self.samples, self.samples_per_class, self.repeats = samples, samples_per_class, repeats
        self.progress, self.log = progress, log or (lambda line: print(line, file=sys.stderr))
        options.setdefault("cache", True)
        self.pipeline, self.settings = make_pipeline(None, None, {**options, "progress": progress}, self.metrics)
        from ganeval.api import training_input

        self.real_needs, self.fake_needs, self.train_needs = needs(self.metrics, self.settings, train=True)
        self._train_spec, self._train = train, None
        self._train_item = training_input(self.pipeline, train, self.train_needs, self.metrics)
        self._reference_spec = reference
        self._reference_item = resolve_input(reference, "reference", self.pipeline.store, value_range=None)
        self._reference: Any = None  # obtained when the first input needs it: a finished run reads nothing
        views = {**self.real_needs, **self.fake_needs, **self.train_needs}
        self.plan = {v: self.pipeline.extractor_for(v) for v in views}  # every network loaded once, here
        self.extractor = next(iter(self.plan.values()))
        for view, need in self.fake_needs.items():
            if need.logits:
                self.plan[view].require_head()
        self.record_settings = {
            "metrics": list(self.metrics),
            "reference": {"name": self._reference_item.label, **_identity(self._reference_item)},
            "train": None if self._train_item is None else {"name": self._train_item.label,
                                                            **_identity(self._train_item)},
            "protocol": self.settings.protocol,
            "features": self.settings.features,
            "spaces": spaces_record(self.pipeline, self.metrics),
            "precision": self.settings.precision,
            "samples": samples,
            "samples_per_class": samples_per_class,
            "model": {k: list(v) if isinstance(v, tuple) else v for k, v in self.model_options.items()} or None,
            "seed": self.settings.seed,
            **{k: getattr(self.settings, k) for k in ("kid_subsets", "kid_subset_size", "kid_degree", "is_splits",
                                                      "pr_k", "dc_k", "knn_samples", "fid_method")},
        }  # fmt: skip
        self.key = settings_key(self.record_settings)

    @property
    def reference(self) -> Any:
        if self._reference is None:
            self._reference = self._obtain_reference(self._reference_spec, self._reference_item)
        return self._reference

    def _obtain_reference(self, reference: Any, item: Any) -> Any:
        from ganeval.api import obtain_side

        return obtain_side(self.pipeline, reference, item, self.real_needs)

    @property
    def train(self) -> Any:
        """The training set's side, obtained when the first input needs it (None: no metric reads it)."""
        if self._train is None and self._train_item is not None:
            from ganeval.api import obtain_side

            self._train = obtain_side(self.pipeline, self._train_spec, self._train_item, self.train_needs)
        return self._train

    def run(self, inputs: list[BenchInput], out: str | os.PathLike) -> tuple[list[dict], int]:
        """Score every (input, repeat) not yet in `out`; returns (this settings' records in `out`, failures).

        Under torchrun (`distributed`), every rank takes part in each input's sampling and extraction (sharded)
        and rank 0 alone reads what is done and writes the records, so resuming works as in one process.
        """
        from ganeval.progress import progress_bar, progress_write

        lead = _is_lead()
        writer = RecordWriter(out) if lead else None
        done = _from_lead(lambda: {
            (r["input"]["path"], r["input"].get("fingerprint"), r["repeat"])
            for r in read_records(out)
            if r.get("status") == "ok" and r.get("settings_key") == self.key
        })  # fmt: skip
        failures = 0
        jobs = [(b, r) for b in inputs for r in range(self.repeats)]
        fingerprints: dict[str, str | None] = {}
        with progress_bar(len(jobs), "benchmark", enabled=self.progress and lead, unit="input") as bar:
            for bench_input, repeat in jobs:
                if bench_input.path not in fingerprints:
                    fingerprints[bench_input.path] = self._fingerprint(bench_input)
                fingerprint = fingerprints[bench_input.path]
                if (bench_input.path, fingerprint, repeat) in done:
                    bar.update(1)
                    continue
                record = self._score(bench_input, fingerprint, repeat)
                if writer is not None:
                    writer.write(record)
                    if self.stylegan_dir is not None:
                        self._stylegan_lines(record)
                    progress_write(_summary(record))
                failures += record["status"] != "ok"
                bar.update(1)
        mine = _from_lead(lambda: [r for r in read_records(out) if r.get("settings_key") == self.key])
        return mine, failures

    def _stylegan_lines(self, record: dict[str, Any]) -> None:
        """StyleGAN's lines for one record (its `results`, `metric`, `total_time`, `snapshot_pkl`, `timestamp`
        format), appended to `metric-<name>.jsonl` in `stylegan_dir`, as its training loop writes them."""
        from ganeval.protocols.stylegan import stylegan_jsonl_line

        if record["status"] != "ok":
            return
        metrics = record["metrics"]
        for name, keys in STYLEGAN_RESULTS.items():
            if name in self.metrics:
                metric = stylegan_metric_name(name, metrics.get("n_fake"))
                results = {metric + suffix: metrics[key] for suffix, key in keys.items() if key in metrics}
                line = stylegan_jsonl_line(metric, results, record["seconds"], record["input"]["path"])
                with open(Path(self.stylegan_dir) / f"metric-{metric}.jsonl", "a", encoding="utf-8") as f:
                    f.write(line + "\n")

    def _fingerprint(self, bench_input: BenchInput) -> str | None:
        from ganeval.sources import as_source

        try:
            if bench_input.kind == "checkpoint" or (bench_input.kind == "model" and os.path.isfile(bench_input.path)):
                return file_digest(bench_input.path)
            if bench_input.kind == "model":  # module:function: identified by its name
                return hashlib.sha256(bench_input.path.encode()).hexdigest()
            store = self.pipeline.store
            return as_source(bench_input.path, data_root=store.data_root, verify=store.verify).fingerprint
        except (GanevalError, OSError):
            return None  # recorded as an error when scored

    def _score(self, bench_input: BenchInput, fingerprint: str | None, repeat: int) -> dict[str, Any]:
        import torch

        seed = self.settings.seed + repeat
        started = time.perf_counter()
        record: dict[str, Any] = {
            "status": "ok", "error": None, "input": {**bench_input.describe(), "fingerprint": fingerprint},
            "repeat": repeat, "seed": seed, "metrics": None, "reference": self.record_settings["reference"],
            "settings": {**self.record_settings, "batch_size": self.extractor.batch_size},
            "settings_key": self.key, "versions": {"ganeval": __version__, "torch": torch.__version__},
            "device": str(self.extractor.device),
        }  # fmt: skip
        try:
            record["metrics"] = self._metrics(bench_input, seed)
        except GanevalError as exc:
            record["status"], record["error"] = "error", str(exc).splitlines()[0]
        except (OSError, RuntimeError, ValueError) as exc:  # a file that breaks a reader: that input only
            record["status"], record["error"] = "error", f"{type(exc).__name__}: {exc}".splitlines()[0]
        record["seconds"] = round(time.perf_counter() - started, 3)
        record["timestamp"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return record

    def _metrics(self, bench_input: BenchInput, seed: int) -> dict[str, Any]:
        from ganeval.api import obtain_side
        from ganeval.inputs import resolve_input
        from ganeval.labels import input_classes
        from ganeval.results import compute_metrics

        labels = None
        fake: Any = bench_input.path
        if bench_input.kind == "checkpoint":
            from ganeval.cli.checkpoints import checkpoint_input

            device = str(self.extractor.device)
            fake, labels = checkpoint_input(bench_input.path, self.samples, self.samples_per_class, seed, device)
        elif bench_input.kind == "model":
            from ganeval.cli.model_options import model_arguments
            from ganeval.sources.models import model_input

            arguments = model_arguments(bench_input.path, self.model_options, samples=self.samples,
                                        samples_per_class=self.samples_per_class, batch_size=None, seed=seed,
                                        device=str(self.extractor.device))  # fmt: skip
            fake, labels, _ = model_input(bench_input.path, arguments)
        item = resolve_input(fake, "fake", self.pipeline.store, value_range=None)
        n = item.count()
        check(n is None or n >= 2, f"{item.label}: need at least 2 images, got {n}")
        wants_classes = any(need.classes for need in self.fake_needs.values())
        classes = input_classes(fake, item, self.pipeline.store, labels) if wants_classes else None
        got = obtain_side(self.pipeline, fake, item, self.fake_needs, classes=classes)
        settings = replace(self.settings, seed=seed)
        result = compute_metrics(self.metrics, self.reference, got, settings, self.train)
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in result.items()}


def _is_lead() -> bool:
    """Outside a process group, or rank 0 of one: the process that reads and writes the records."""
    from ganeval.distributed import is_distributed

    if not is_distributed():
        return True
    import torch.distributed as dist

    return dist.get_rank() == 0


def _from_lead(read: Callable[[], Any]) -> Any:
    """`read()` on rank 0, sent to every rank (the ranks' file systems need not be the same)."""
    from ganeval.distributed import is_distributed

    if not is_distributed():
        return read()
    import torch.distributed as dist

    payload = [read() if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(payload, src=0)
    return payload[0]


def _summary(record: dict[str, Any]) -> str:
    where = record["input"]["path"] + (f" @ step {record['input']['step']}" if record["input"]["step"] else "")
    if record["status"] != "ok":
        return f"ganeval: {where}: error: {record['error']}"
    shown = ", ".join(f"{k} {v:.4g}" for k, v in record["metrics"].items()
                      if isinstance(v, float) and not k.endswith("_std"))  # fmt: skip
    return f"ganeval: {where} (repeat {record['repeat']}): {shown} ({record['seconds']:.1f} s)"
