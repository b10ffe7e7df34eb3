"""Checkpoints: everything needed to resume bit-identically, or to rebuild and sample the generator.

A checkpoint holds the model (G and D, BatchNorm statistics, spectral-norm vectors), the optimizers,
the step, the torch RNG states, the data stream's position, the evaluation history, the recipe and the
ganeval version. It contains plain data and tensors only, so it loads with `weights_only=True`.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import torch

from ganeval._version import __version__
from ganeval.baselines.nets import Baseline, build_model
from ganeval.baselines.recipe import Recipe, from_dict
from ganeval.errors import InputError, check

FORMAT = "ganeval-baseline"
FORMAT_VERSION = 1


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` plus the format header atomically (a temporary file, then `os.replace`)."""
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "ganeval_version": __version__}
    tmp = path.with_name(path.name + ".tmp")
    torch.save({**header, **state}, tmp)
    os.replace(tmp, path)


def rng_state() -> dict[str, Any]:
    cuda = list(torch.cuda.get_rng_state_all()) if torch.cuda.is_initialized() else []
    return {"torch": torch.get_rng_state(), "cuda": cuda}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's contents, checked to come from this format and this ganeval major.minor version."""
    path = Path(path)
    check(path.is_file(), f"no such checkpoint: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path} is not a ganeval baseline checkpoint ({reason[:200]})") from None
    check(isinstance(state, dict) and state.get("format") == FORMAT, f"{path} is not a ganeval baseline checkpoint")
    found = (state.get("format_version"), state.get("ganeval_version"))
    check(
        found[0] == FORMAT_VERSION,
        f"{path} was written by ganeval {found[1]} in checkpoint format {found[0]}; this ganeval {__version__} "
        f"reads format {FORMAT_VERSION}: retrain, or score it with the ganeval version that wrote it",
    )
    return state


def rebuild_model(state: dict[str, Any], device: str | torch.device = "cpu") -> tuple[Recipe, Baseline]:
    """The recipe and the model of a checkpoint, weights loaded, on `device`, in eval mode."""
    recipe = from_dict(state["recipe"])
    model = build_model(
        recipe.model, tuple(state["image_shape"]), state["n_classes"], recipe.z_dim, recipe.width, recipe.objective
    )
    model.load_state_dict(state["model"])
    return recipe, model.to(device).eval()
