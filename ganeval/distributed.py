"""Feature extraction spread over the processes of a `torch.distributed` group (launched by torchrun).

Each rank extracts one contiguous shard (`ShardSource`) into a float64 `GaussianAccumulator` and,
when KID or IS need them, per-image features. The ranks then exchange their partial results once:

- accumulator states (n, mean, m2) are all-gathered and merged in rank order with the same Chan update
  a single process applies between batches. Summing raw moments (sum x, sum x x^T) with one all-reduce
  would be cheaper in memory, but turning those into a covariance subtracts two large nearly equal
  numbers (pool3 features are non-negative with means far from zero), losing digits that the
  single-process result keeps; the merged states agree with it to round-off (~1e-15 relative). The
  gather costs world_size x d^2 x 8 bytes (32 MiB per rank at d = 2048), and the fixed merge order
  makes the result bit-identical on every rank.
- features are all-gathered and concatenated in rank order, which is source order, so KID and IS see
  exactly the rows a single process would (same seed, same subsets, same splits).
- load reports are summed.

Every rank reaches the exchange even when its own extraction fails (a bad image, say), so a failure on
one rank is raised on all of them instead of leaving the others blocked in a collective. Tensors travel
on the extractor's GPU with NCCL and on the CPU with gloo.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ganeval.errors import GanevalError, InputError, check
from ganeval.extractor import Extracted, ExtractOptions, Extractor, Keep, SideState, extract_side
from ganeval.features.views import View
from ganeval.loader import MAX_BAD_EXAMPLES, LoadReport
from ganeval.metrics.gaussian import GaussianAccumulator
from ganeval.sources.base import ImageSource
from ganeval.sources.shard import ShardSource

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class RankFailedError(GanevalError):
    """Another rank's extraction failed with a user error; this rank stops with its message."""


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def local_device() -> torch.device:
    """This rank's device: the GPU numbered LOCAL_RANK when CUDA is present, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group that torchrun's environment describes; False outside torchrun.

    The backend defaults to NCCL when CUDA is present (after pinning this process to GPU LOCAL_RANK,
    which NCCL's object collectives rely on), else gloo. An already initialised group is kept.
    """
    if not dist.is_available():
        return False
    if dist.is_initialized():
        return True
    if not all(name in os.environ for name in TORCHRUN_VARS):
        return False
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if "nccl" in backend:
        torch.cuda.set_device(local_device())
    dist.init_process_group(backend=backend)
    return True


@contextmanager
def process_group(backend: str | None = None) -> Iterator[bool]:
    """`init_from_env` for a block; destroys the group on exit only if this call created it."""
    created = not (dist.is_available() and dist.is_initialized()) and init_from_env(backend)
    try:
        yield is_distributed()
    finally:
        if created:
            dist.destroy_process_group()


def distributed_extract(extractor: Extractor, source: ImageSource, **options: Any) -> Extracted:
    """`extractor.extract(source, **options)` with the work split over the ranks; every rank gets the whole
    result. The options are `ExtractOptions`' fields; `stats` defaults to True here.

    Outside a process group (or with one rank) this is exactly `extractor.extract`. Must be called by every
    rank with the same source and options.
    """
    opts = ExtractOptions(**{"stats": True, **options})
    view = View(extractor.space, extractor.layer, extractor.mode)
    wants = {view: Keep(opts.stats, opts.keep_features, opts.logits)}
    side = distributed_extract_side({view: extractor}, source, wants, workers=opts.workers, skip_bad=opts.skip_bad,
                                    progress=opts.progress, desc=opts.desc)  # fmt: skip
    return side.extracted(view)


def distributed_extract_side(
    plan: Mapping[View, Extractor],
    source: ImageSource,
    wants: Mapping[View, Any],
    *,
    workers: int | None = None,
    skip_bad: bool = False,
    progress: bool = True,
    desc: str | None = None,
) -> SideState:
    """`extract_side` over the ranks: each rank extracts its shard, then every rank gets the whole side.

    Progress is shown on rank 0 only, for its own shard.
    """
    options = {"workers": workers, "skip_bad": skip_bad, "desc": desc}
    if not is_distributed():
        return extract_side(plan, source, SideState(wants), progress=progress, **options)
    for view, want in wants.items():
        if want.logits:
            plan[view].require_head()
    rank, world_size = dist.get_rank(), dist.get_world_size()
    shard = ShardSource(source, rank, world_size)
    part: SideState | None = None
    error: BaseException | None = None
    try:
        part = extract_partial(plan, shard, wants, progress=progress and rank == 0, **options)
    except Exception as exc:  # every rank must reach the exchange, or the others wait forever
        error = exc
    device = comm_device(next(iter(plan.values())).device)
    return reduce_side(part, error, wants, device)


def extract_partial(
    plan: Mapping[View, Extractor], source: ImageSource, wants: Mapping[View, Any], **options: Any
) -> SideState:
    """One pass over `source` keeping the raw accumulators (a shard may hold 0 or 1 images)."""
    side = SideState(wants)
    try:
        return extract_side(plan, source, side, **options)
    except InputError:
        # A shard whose images are all bad is fine if other shards have good ones: checked after the exchange.
        report = side.report
        if not (options.get("skip_bad") and report.n_images == 0 and report.n_skipped_bad == len(source) > 0):
            raise
    empty = SideState(wants)
    empty.report = side.report
    return empty


def comm_device(device: torch.device) -> torch.device:
    """Where tensors must be for the group's backend: a GPU for NCCL, the CPU for gloo."""
    if "nccl" not in str(dist.get_backend()):
        return torch.device("cpu")
    return device if device.type == "cuda" else local_device()


def reduce_side(
    part: SideState | None, error: BaseException | None, wants: Mapping[View, Any], device: torch.device | None = None
) -> SideState:
    """Exchange every rank's side state (or its failure) and assemble the whole side on each rank."""
    report, merged, _ = gather_side(part, error, device)
    whole = SideState(wants)
    whole.report = report
    for view, (accumulator, rows, logits) in merged.items():
        state = whole.states[view]
        state.accumulator = accumulator if state.accumulator is not None else None
        state._features = [rows] if rows is not None else []
        state._logits = [logits] if logits is not None else []
    return whole


def gather_side(
    part: SideState | None, error: BaseException | None = None, device: torch.device | None = None
) -> tuple[LoadReport, dict[View, tuple[GaussianAccumulator | None, torch.Tensor | None, torch.Tensor | None]], Any]:
    """Every rank's side merged, on every rank: (load report, per view (float64 accumulator, feature rows,
    logits), the classes of the rows in rank order or None).

    A rank's failure is raised on all of them; ranks without images contribute nothing.
    """
    device = device or torch.device("cpu")
    metas: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(metas, _describe(part, error))
    _raise_first_failure(metas, error)
    if part is None:  # unreachable: a rank without a partial reported its failure above
        raise RuntimeError("no partial result and no error on this rank")
    n_bad = sum(m["n_skipped_bad"] for m in metas)
    examples = [e for m in metas for e in m["bad_examples"]]
    report = LoadReport(sum(m["n_images"] for m in metas), n_bad, examples[:MAX_BAD_EXAMPLES])
    check(
        report.n_images > 0 or n_bad == 0,
        f"none of the {n_bad} images could be decoded (first: {examples[0] if examples else ''})",
    )
    merged = {}
    for i, (view, state) in enumerate(sorted(part.states.items())):
        views = [m["views"][i] for m in metas]
        accumulator = None
        if state.accumulator is not None:
            accumulator = _gather_accumulators(state.accumulator, [v["acc"] for v in views], device)
        rows = _gather_rows(state.features, [v["features"] for v in views], device)
        logits = _gather_rows(state.logits, [v["logits"] for v in views], device)
        merged[view] = (accumulator, rows, logits)
    classes = None
    if part.keep_classes:
        parts: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(parts, part.classes)
        kept = [p for p in parts if p is not None]
        classes = np.concatenate(kept) if kept else None
    return report, merged, classes


def _describe(part: SideState | None, error: BaseException | None) -> dict[str, Any]:
    """The small, picklable facts the ranks swap first: failure, counts, shapes (views in sorted order)."""
    if part is None:
        user_error = isinstance(error, GanevalError)
        return {"error": f"{error}" if user_error else f"{type(error).__name__}: {error}", "user_error": user_error}
    views = []
    for _, state in sorted(part.states.items()):
        acc, rows, logits = state.accumulator, state.features, state.logits
        views.append({"acc": None if acc is None else (acc.n, acc.dim),
                      "features": None if rows is None else tuple(rows.shape),
                      "logits": None if logits is None else tuple(logits.shape)})  # fmt: skip
    return {
        "error": None,
        "n_images": part.report.n_images,
        "n_skipped_bad": part.report.n_skipped_bad,
        "bad_examples": part.report.bad_examples,
        "views": views,
    }


def _raise_first_failure(metas: list[dict[str, Any]], own: BaseException | None) -> None:
    """Raise the lowest failing rank's error everywhere: with contiguous shards, the first in source order."""
    failed = [(rank, meta) for rank, meta in enumerate(metas) if meta["error"] is not None]
    if not failed:
        return
    rank, meta = failed[0]
    if rank == dist.get_rank() and own is not None:
        raise own
    if meta["user_error"]:
        raise RankFailedError(f"rank {rank}: {meta['error']}")
    raise RuntimeError(f"extraction failed on rank {rank}: {meta['error']}")


def _all_gather(tensor: torch.Tensor) -> list[torch.Tensor]:
    out = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(out, tensor.contiguous())
    return out


def _gather_accumulators(
    local: GaussianAccumulator, shapes: list[tuple[int, int | None]], device: torch.device
) -> GaussianAccumulator:
    """All ranks' (n, mean, m2) merged in rank order; empty shards send zeros of the common shape."""
    dims = [d for n, d in shapes if n > 0]
    merged = GaussianAccumulator()
    if not dims:
        return merged  # no image anywhere: compute() raises as a single process would
    d = dims[0]
    state = local.state_dict()
    if local.n == 0:
        state = {"mean": torch.zeros(d, dtype=torch.float64), "m2": torch.zeros(d, d, dtype=torch.float64)}
    means = _all_gather(state["mean"].to(device))
    m2s = _all_gather(state["m2"].to(device))
    for (n, _), mean, m2 in zip(shapes, means, m2s, strict=True):
        if n > 0:
            other = GaussianAccumulator()
            other.load_state_dict({"n": torch.tensor(n), "mean": mean, "m2": m2})
            merged.merge(other)
    return merged


def _gather_rows(local: torch.Tensor | None, shapes: list[tuple[int, ...] | None], device: torch.device):
    """(rows, width) tensors of every rank, padded to a common length for the collective, then trimmed
    and concatenated in rank order on the CPU; None when no rank kept any."""
    known = [s for s in shapes if s is not None]
    if not known:
        return None
    width = known[0][1]
    rows = [s[0] if s is not None else 0 for s in shapes]
    padded = torch.zeros(max(rows), width, dtype=torch.float32, device=device)
    if local is not None:
        padded[: len(local)] = local.to(device)
    return torch.cat([part[:n].cpu() for part, n in zip(_all_gather(padded), rows, strict=True)])
