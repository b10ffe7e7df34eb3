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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import torch
import torch.distributed as dist

from ganeval.errors import GanevalError, InputError, check
from ganeval.extractor import Extracted, ExtractOptions, FeatureState, InceptionExtractor, extract_raw
from ganeval.loader import MAX_BAD_EXAMPLES, LoadReport
from ganeval.metrics.gaussian import GaussianAccumulator
from ganeval.sources.base import ImageSource
from ganeval.sources.shard import ShardSource

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class RankFailedError(GanevalError):
    """Another rank's extraction failed with a user error; this rank stops with its message."""


Partial = FeatureState  # one rank's share of an extraction, before the exchange


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


def distributed_extract(extractor: InceptionExtractor, source: ImageSource, **options: Any) -> Extracted:
    """`extractor.extract(source, **options)` with the work split over the ranks; every rank gets the whole
    result. The options are `ExtractOptions`' fields; `stats` defaults to True here.

    Outside a process group (or with one rank) this is exactly `extractor.extract`. Progress is shown on
    rank 0 only, for its own shard. Must be called by every rank with the same source and options.
    """
    opts = ExtractOptions(**{"stats": True, **options})
    if not is_distributed():
        return extract_raw(extractor, source, opts).reduced()
    if opts.logits:
        extractor.require_head()
    rank, world_size = dist.get_rank(), dist.get_world_size()
    shard = ShardSource(source, rank, world_size)
    part: Partial | None = None
    error: BaseException | None = None
    try:
        part = extract_partial(extractor, shard, replace(opts, progress=opts.progress and rank == 0))
    except Exception as exc:  # every rank must reach the exchange, or the others wait forever
        error = exc
    return reduce_partials(part, error, device=comm_device(extractor.device))


def extract_partial(extractor: InceptionExtractor, source: ImageSource, opts: ExtractOptions) -> Partial:
    """One pass over `source` keeping the raw accumulator (a shard may hold 0 or 1 images)."""
    state = FeatureState(opts.stats, opts.keep_pool3, opts.logits)
    try:
        return extract_raw(extractor, source, opts, state)
    except InputError:
        # A shard whose images are all bad is fine if other shards have good ones: checked after the exchange.
        report = state.report
        if not (opts.skip_bad and report.n_images == 0 and report.n_skipped_bad == len(source) > 0):
            raise
    empty = FeatureState(opts.stats, opts.keep_pool3, opts.logits)
    empty.report = state.report
    return empty


def comm_device(device: torch.device) -> torch.device:
    """Where tensors must be for the group's backend: a GPU for NCCL, the CPU for gloo."""
    if "nccl" not in str(dist.get_backend()):
        return torch.device("cpu")
    return device if device.type == "cuda" else local_device()


def reduce_partials(
    part: Partial | None, error: BaseException | None = None, device: torch.device | None = None
) -> Extracted:
    """Exchange every rank's `Partial` (or its failure) and assemble the whole `Extracted` on each rank."""
    report, accumulator, pool3, logits = gather_state(part, error, device)
    stats = accumulator.compute() if accumulator is not None else None
    return Extracted(n=report.n_images, stats=stats, pool3=pool3, logits=logits, report=report)


def gather_state(
    part: Partial | None, error: BaseException | None = None, device: torch.device | None = None
) -> tuple[LoadReport, GaussianAccumulator | None, torch.Tensor | None, torch.Tensor | None]:
    """Every rank's state merged, on every rank: (load report, float64 accumulator, pool3 rows, logits).

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
    accumulator = None
    if part.accumulator is not None:
        accumulator = _gather_accumulators(part.accumulator, metas, device)
    pool3 = _gather_rows(part.pool3, [m["pool3"] for m in metas], device)
    logits = _gather_rows(part.logits, [m["logits"] for m in metas], device)
    return report, accumulator, pool3, logits


def _describe(part: Partial | None, error: BaseException | None) -> dict[str, Any]:
    """The small, picklable facts the ranks swap first: failure, counts, shapes."""
    if part is None:
        user_error = isinstance(error, GanevalError)
        return {"error": f"{error}" if user_error else f"{type(error).__name__}: {error}", "user_error": user_error}
    acc = part.accumulator
    return {
        "error": None,
        "n_images": part.report.n_images,
        "n_skipped_bad": part.report.n_skipped_bad,
        "bad_examples": part.report.bad_examples,
        "acc": None if acc is None else (acc.n, acc.dim),
        "pool3": None if part.pool3 is None else tuple(part.pool3.shape),
        "logits": None if part.logits is None else tuple(part.logits.shape),
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
    local: GaussianAccumulator, metas: list[dict[str, Any]], device: torch.device
) -> GaussianAccumulator:
    """All ranks' (n, mean, m2) merged in rank order; empty shards send zeros of the common shape."""
    dims = [m["acc"][1] for m in metas if m["acc"][0] > 0]
    merged = GaussianAccumulator()
    if not dims:
        return merged  # no image anywhere: compute() raises as a single process would
    d = dims[0]
    state = local.state_dict()
    if local.n == 0:
        state = {"mean": torch.zeros(d, dtype=torch.float64), "m2": torch.zeros(d, d, dtype=torch.float64)}
    means = _all_gather(state["mean"].to(device))
    m2s = _all_gather(state["m2"].to(device))
    for meta, mean, m2 in zip(metas, means, m2s, strict=True):
        n = meta["acc"][0]
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
