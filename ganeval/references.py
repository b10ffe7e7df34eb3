"""The registry of named reference statistics (`ganeval/reference_stats/manifest.json`, package data) and their checks.

A reference names a dataset split and the protocol (mode, layer) its statistics use, plus a fingerprint
of the expected statistics (n, trace(sigma), |mu|) for the canonical weights, so statistics built on
any machine are checked before they are trusted. `name[start:stop]` is the reference's source sliced;
slices have fingerprints only where the manifest lists them under `slices`.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganeval.errors import InputError, StatisticsError, check
from ganeval.metrics.stats import GaussianStats
from ganeval.paths import registry_dir
from ganeval.statsfile import fingerprint_mismatch, stats_fingerprint

REGISTRY_FORMAT = "ganeval-references/1"
REF_PREFIX = "ref:"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Reference:
    """One named reference: where its images come from and what their statistics must look like."""

    name: str
    source: str  # a dataset spec, e.g. "fashion-mnist:test"
    n: int
    mode: str
    layer: str
    file: str | None = None  # committed statistics file, relative to the registry folder
    fingerprint: dict[str, Any] | None = None  # None: not yet measured
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)  # "[0:8]" -> fingerprint

    def expected(self, slice_label: str | None) -> dict[str, Any] | None:
        """The fingerprint statistics of this reference (or of one slice of it) must match, if known."""
        return self.fingerprint if slice_label is None else self.slices.get(slice_label)


@dataclass(frozen=True)
class Registry:
    references: dict[str, Reference]
    rtol: float
    folder: Path

    def get(self, name: str) -> Reference:
        if name not in self.references:
            raise InputError(f"unknown reference {name!r}; known: {', '.join(self.references)}")
        return self.references[name]


def parse_registry(data: dict[str, Any], folder: Path) -> Registry:
    """Validate a manifest's content; every problem names the entry and field."""
    where = folder / "manifest.json"
    check(data.get("format") == REGISTRY_FORMAT, f"{where}: format must be {REGISTRY_FORMAT}", InputError)
    references = {}
    for name, entry in data.get("references", {}).items():
        check(bool(_NAME.match(name)), f"{where}: bad reference name {name!r}")
        missing = {"source", "n", "mode", "layer"} - set(entry)
        check(not missing, f"{where}: reference {name} lacks {', '.join(sorted(missing))}")
        for fp in [entry.get("fingerprint"), *entry.get("slices", {}).values()]:
            check(
                fp is None or {"n", "trace_sigma", "mu_norm"} <= set(fp),
                f"{where}: a fingerprint of {name} needs n, trace_sigma and mu_norm",
            )
        references[name] = Reference(name=name, **entry)
    return Registry(references, float(data.get("rtol", 1e-4)), folder)


@functools.lru_cache(maxsize=4)
def _load(folder: str) -> Registry:
    path = Path(folder) / "manifest.json"
    try:
        data = json.loads(path.read_text())
    except OSError:
        raise InputError(f"no reference registry at {path} (set GANEVAL_REFERENCES to its folder)") from None
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None
    return parse_registry(data, Path(folder))


def load_registry(folder: str | os.PathLike | None = None) -> Registry:
    return _load(str(Path(folder) if folder is not None else registry_dir()))


def is_reference_spec(obj: Any) -> bool:
    return isinstance(obj, str) and obj.startswith(REF_PREFIX)


def committed_file(registry: Registry, ref: Reference) -> Path | None:
    """The reference's statistics file in the registry folder, when one is committed and present."""
    if ref.file is None:
        return None
    path = registry.folder / ref.file
    return path if path.is_file() else None


def verify_reference(
    registry: Registry, ref: Reference, slice_label: str | None, stats: GaussianStats, force: bool = False
) -> bool:
    """Check `stats` against the manifest; True if a fingerprint was checked, False if none is recorded.

    A mismatch means other weights, preprocessing or data: refused unless `force`.
    """
    expected = ref.expected(slice_label)
    if expected is None:
        return False
    wrong = fingerprint_mismatch(stats_fingerprint(stats), expected, registry.rtol)
    if wrong and not force:
        raise StatisticsError(
            f"statistics of reference {ref.name}{slice_label or ''} do not match the registry: {'; '.join(wrong)} "
            f"(other weights, mode or data?); pass --force to use them anyway"
        )
    return not wrong
