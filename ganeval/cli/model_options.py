"""`--z-size`, `--z-type`, `--num-classes`, `--value-range`: sampling a generator model given as an input.

The decorator adds the four options; `model_arguments` turns them, with the command's `--samples`,
`--samples-per-class`, `--batch-size`, `--seed` and `--device`, into `ganeval.sources.models.ModelOptions`,
refusing contradictions in one line before anything loads. torch is imported only when a model is sampled,
so `--help` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import numpy as np

    from ganeval.sources.models import ModelOptions, ModelSource

Z_TYPES = ("normal", "unit", "uniform_0_1")  # ganeval.sources.models.Z_TYPES, here so --help imports no torch
MODEL_OPTIONS = ("z_size", "z_type", "num_classes", "value_range")
FLAGS = {"z_size": "--z-size", "z_type": "--z-type", "num_classes": "--num-classes", "value_range": "--value-range"}
KINDS = "a TorchScript .pt/.pth file, an .onnx file, module:function or file.py:function"


def model_options(func: Callable) -> Callable:
    """Options of a generator model input (TorchScript, ONNX, Python function); all default to "not given"."""
    options = [
        click.option("--z-size", type=click.IntRange(min=1), default=None,
                     help="TorchScript/ONNX generator: length of its noise vector (required for them)."),
        click.option("--z-type", type=click.Choice(Z_TYPES), default=None,
                     help="TorchScript/ONNX generator: its noise, as torch-fidelity draws it (numpy RandomState "
                          "seeded by --seed) [default: normal]."),
        click.option("--num-classes", type=click.IntRange(min=1), default=None,
                     help="Conditional generator model: its classes K; sample i gets class i mod K (intra-FID)."),
        click.option("--value-range", type=(float, float), default=None, metavar="LOW HIGH",
                     help="Generator model with float output: the range it spans, e.g. -1 1 for tanh "
                          "(uint8 outputs take none)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def pop_model_options(options: dict[str, Any]) -> dict[str, Any]:
    """Take the four options out of a command's keyword arguments (the rest go to the API); those given."""
    taken = {name: options.pop(name, None) for name in MODEL_OPTIONS}
    return {name: value for name, value in taken.items() if value is not None}


def model_arguments(
    spec: str,
    given: dict[str, Any],
    *,
    samples: int | None,
    samples_per_class: int | None,
    batch_size: int | None,
    seed: int,
    device: str | None,
) -> ModelOptions:
    """`ModelOptions` for the generator model `spec` from the options `given` (`pop_model_options`) and the
    command's own; a one-line `InputError` for options that contradict the input."""
    from ganeval.errors import check
    from ganeval.sources.generator import SAMPLE_BATCH_SIZE
    from ganeval.sources.models import KIND_NAMES, ModelOptions, model_kind

    kind = model_kind(spec)
    check(kind is not None, f"{spec} is not a generator model ({KINDS})")
    noise = [FLAGS[name] for name in ("z_size", "z_type") if name in given]
    if kind == "function":
        check(not noise, f"{', '.join(noise)}: {spec} is a Python function, which draws its own noise")
    else:
        check("z_size" in given, f"{spec} ({KIND_NAMES[kind]}) needs --z-size, the length of its noise vector")
    check(
        samples_per_class is None or "num_classes" in given,
        f"--samples-per-class needs --num-classes for the generator model {spec}",
    )
    return ModelOptions(
        z_size=given.get("z_size"),
        z_type=given.get("z_type", "normal"),
        num_classes=given.get("num_classes", 0),
        samples=samples or ModelOptions.samples,
        samples_per_class=samples_per_class,
        value_range=tuple(given["value_range"]) if "value_range" in given else None,
        batch_size=batch_size or SAMPLE_BATCH_SIZE,
        seed=seed,
        device=device,
    )


def cli_model_input(
    spec: str, given: dict[str, Any], options: dict[str, Any], samples: int | None, samples_per_class: int | None
) -> tuple[ModelSource, np.ndarray | None, str]:
    """`model_input` for a command: (source, labels or None, the one-line description to print), with
    `--batch-size`, `--seed` and `--device` read from the command's `options` (left in place)."""
    from ganeval.sources.models import model_input

    arguments = model_arguments(
        spec,
        given,
        samples=samples,
        samples_per_class=samples_per_class,
        batch_size=options.get("batch_size"),
        seed=options["seed"],
        device=options.get("device"),
    )
    return model_input(spec, arguments)


def refuse_model_options(spec: str, given: dict[str, Any]) -> None:
    """A one-line error when model options were given for an input that is not a generator model."""
    if not given:
        return
    from ganeval.errors import InputError

    flags = ", ".join(FLAGS[name] for name in given)
    what = "is not one"
    if spec.lower().endswith((".pt", ".pth", ".ckpt")):
        what = "is not TorchScript (no code/ inside); a ganeval baseline checkpoint knows its own noise and classes"
    raise InputError(f"{flags}: only for a generator model input ({KINDS}); {spec} {what}")
