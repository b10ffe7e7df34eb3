"""Recipes: one TOML file per baseline, shipped in `ganeval/baselines/recipes/`, overridable per run.

TOML is read with the standard library's `tomllib` (Python >= 3.11); on Python 3.10 the `tomli` package
is used when installed, else reading a recipe is an error saying so. Every key is checked: a misspelled
one is an error, never silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ganeval.baselines.nets import MODELS, OptimizerSpec
from ganeval.errors import InputError, check
from ganeval.paths import recipes_dir

RECIPES_DIR = recipes_dir()
_KINDS: dict[str, tuple[Any, str]] = {
    **dict.fromkeys(
        ("steps", "batch_size", "seed", "z_dim", "eval_every", "eval_samples", "snapshot_every"), (int, "an integer")
    ),
    **dict.fromkeys(("name", "model", "dataset", "ref", "device", "out"), (str, "a string")),
    "width": ((int, float), "a number"),
    "objective": (dict, "a table"),
    "points": (dict, "a table"),
    "optimizer": (OptimizerSpec, "a table"),
}
_OPTIONAL = ("ref", "device", "out", "snapshot_every")
_POINT_KEYS = ("steps", "batch_size", "z_dim", "width", "eval_every", "eval_samples", "objective", "optimizer")


@dataclass(frozen=True)
class Recipe:
    """Everything one training run depends on; stored in each checkpoint."""

    name: str
    model: str
    dataset: str = "fashion-mnist"
    steps: int = 10_000
    batch_size: int = 64
    seed: int = 0
    z_dim: int = 128
    width: float = 1.0
    objective: dict[str, Any] = field(default_factory=dict)  # the model class's keyword options
    optimizer: OptimizerSpec = OptimizerSpec()
    eval_every: int = 1000  # 0: evaluate only at the end
    eval_samples: int = 10_000  # 0: never evaluate
    snapshot_every: int | None = None  # snapshot_STEP.pt every this many steps; None: at each row; 0: never
    ref: str | None = None  # None: the dataset's test split, first eval_samples images
    device: str | None = None  # None: CUDA when available
    out: str | None = None  # None: runs/<name>
    points: dict[str, Any] = field(default_factory=dict)  # replacements for the 2-D mixtures (`for_dataset`)

    def __post_init__(self) -> None:
        where = f"recipe {self.name}"
        check(self.model in MODELS, f"{where}: unknown model {self.model!r}; choose from {', '.join(MODELS)}")
        for f in fields(self):
            value, (kind, label) = getattr(self, f.name), _KINDS.get(f.name, (object, ""))
            ok = (value is None and f.name in _OPTIONAL) or (isinstance(value, kind) and not isinstance(value, bool))
            check(ok, f"{where}: {f.name} must be {label}, got {value!r}")
        for key in ("steps", "batch_size", "z_dim"):
            check(getattr(self, key) >= 1, f"recipe {self.name}: {key} must be at least 1, got {getattr(self, key)}")
        for key in ("eval_every", "eval_samples", "snapshot_every"):
            value = getattr(self, key)
            check(value is None or value >= 0, f"recipe {self.name}: {key} must be 0 or more, got {value}")
        check(self.width > 0, f"recipe {self.name}: width must be positive, got {self.width}")
        unknown = sorted(set(self.points) - set(_POINT_KEYS))
        check(not unknown, f"{where}: [points] cannot set {', '.join(unknown)}")
        check(
            self.eval_samples == 0 or self.eval_samples >= 2,
            f"recipe {self.name}: eval_samples must be 0 (off) or at least 2, got {self.eval_samples}",
        )

    @property
    def out_dir(self) -> Path:
        return Path(self.out or Path("runs") / self.name)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (a checkpoint loads with torch.load(weights_only=True))."""
        out = dataclasses.asdict(self)
        out["optimizer"]["betas"] = list(out["optimizer"]["betas"])
        return out


def for_dataset(recipe: Recipe, dataset: str | None = None) -> Recipe:
    """`recipe` on `dataset` (default its own), with the replacements its data kind asks for: the `[points]`
    table of a recipe applies when it trains on a 2-D mixture. Fields given later (options) still win."""
    from ganeval.baselines.kinds import kind_of

    dataset = dataset or recipe.dataset
    table = kind_of(dataset).recipe_defaults()
    changes: dict[str, Any] = {"dataset": dataset}
    if table == "points":
        for key, value in recipe.points.items():
            if isinstance(value, dict):
                changes.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                changes[key] = value
    return override(recipe, **changes)


def from_dict(data: dict[str, Any], name: str | None = None) -> Recipe:
    """A `Recipe` from nested plain data (a TOML file or a checkpoint's copy)."""
    data = dict(data)
    name = data.pop("name", None) or name
    check(bool(name), "a recipe needs a name")
    optimizer = data.pop("optimizer", {}) or {}
    check(isinstance(optimizer, dict), f"recipe {name}: [optimizer] must be a table")
    known_opt = {f.name for f in fields(OptimizerSpec)}
    unknown = sorted(set(optimizer) - known_opt) + sorted(set(data) - {f.name for f in fields(Recipe)})
    check(not unknown, f"recipe {name}: unknown key(s) {', '.join(unknown)}")
    if "betas" in optimizer:
        optimizer["betas"] = tuple(float(b) for b in optimizer["betas"])
    for key in _OPTIONAL:  # TOML has no null: an empty string means "the default"
        if data.get(key) == "":
            data[key] = None
    return Recipe(name=name, optimizer=OptimizerSpec(**optimizer), **data)


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise InputError("reading recipes needs Python >= 3.11 or the tomli package (pip install tomli)") from None
    return tomllib


def available(directory: Path = RECIPES_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml")) if directory.is_dir() else []


def load_recipe(name_or_path: str | os.PathLike, directory: Path = RECIPES_DIR) -> Recipe:
    """Recipe `NAME` (one of `available()`), or a .toml file given by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = directory / f"{name_or_path}.toml"
        if not path.is_file():
            names = ", ".join(available(directory)) or f"none found in {directory}"
            raise InputError(f"unknown recipe {str(name_or_path)!r}; choose from {names}")
    check(path.is_file(), f"no such recipe file: {path}")
    toml = _toml()
    try:
        data = toml.loads(path.read_text(encoding="utf-8"))
    except toml.TOMLDecodeError as exc:
        raise InputError(f"recipe {path} is not valid TOML: {exc}") from None
    return from_dict(data, name=path.stem)


def override(recipe: Recipe, **changes: Any) -> Recipe:
    """`recipe` with the non-None `changes`; keys "optimizer.lr" / "objective.clip" reach nested fields."""
    data = recipe.to_dict()
    for key, value in changes.items():
        if value is None:
            continue
        head, _, tail = key.partition(".")
        if tail:
            check(head in ("optimizer", "objective"), f"cannot set {key}: only optimizer.* and objective.* nest")
            data[head] = {**data[head], tail: value}
        else:
            data[head] = value
    return from_dict(data)


def parse_assignment(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` with VALUE read as a TOML value (numbers, true/false, "strings", [lists]); bare words are strings."""
    key, sep, raw = text.partition("=")
    check(bool(sep) and bool(key.strip()), f"expected KEY=VALUE, got {text!r}")
    toml = _toml()
    try:
        value = toml.loads(f"v = {raw.strip()}")["v"]
    except toml.TOMLDecodeError:
        value = raw.strip()
    return key.strip(), value
