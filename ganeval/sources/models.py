"""Generator models given as inputs: a TorchScript file, an ONNX file or a Python function, sampled as a stream.

torch-fidelity samples a TorchScript or ONNX generator itself (`input1_model_z_size`, ...); so does ganeval.
A model maps noise (and a class, when conditional) to one batch of images: uint8, or floats in a declared
`value_range` quantised as saving PNGs would. The noise of a file model is torch-fidelity's draw: one
`numpy.random.RandomState(seed)`, `z_size` values per image in image order, so the default seed (2020, its
`rng_seed`) gives an unconditional model the very noise torch-fidelity feeds it, whatever the batch size. A
function `fn(n, generator)` draws its own noise from the seeded `torch.Generator` it is given (one for the
whole stream, on the sampling device), so its images may depend on the batch size, as a training loop's do.
Conditional models get class i mod K for image i (as ganeval's cgan checkpoints), so intra-FID has balanced
classes, and a function is then called `fn(n, generator, labels)`. (torch-fidelity draws random classes from
the noise's RandomState, so its conditional noise differs from ganeval's as well.)

Samples stream through a sequential `ModelSource`, never all in memory and never cached; the same options
give the same images, and a shard of the stream (one rank's part) equals that part of the whole stream.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganeval.errors import InputError, check
from ganeval.inception.weights import is_torchscript
from ganeval.quantise import CHANNEL_COUNTS, batch_to_uint8, checked_range
from ganeval.references import REF_PREFIX
from ganeval.sources.generator import SAMPLE_BATCH_SIZE, SampledSource
from ganeval.sources.resolve import parse_dataset

Z_TYPES = ("normal", "unit", "uniform_0_1")  # torch-fidelity's noise types, with its meanings
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".jit", ".ts", ".torchscript")  # recognised by content, not by suffix
FUNCTION_SPEC = re.compile(r"^(?P<target>.+\.py|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*):(?P<name>[A-Za-z_]\w*)$")
KIND_NAMES = {"torchscript": "TorchScript generator", "onnx": "ONNX generator", "function": "generator function"}
ModelFn = Callable[..., Any]


@dataclass(frozen=True)
class ModelOptions:
    """How to sample a generator model; the names are the command line's (`--z-size` is `z_size`).

    `z_size`, `z_type`: the noise of a TorchScript/ONNX model (a function draws its own). `num_classes` K:
    a conditional model, image i of class i mod K. `samples`: images drawn, rounded down to a multiple of K
    (at least 2 per class); `samples_per_class` sets the count per class instead. `value_range` (low, high):
    the range of float outputs (uint8 outputs take none). `device`: None is CUDA when available.
    """

    z_size: int | None = None
    z_type: str = "normal"
    num_classes: int = 0
    samples: int = 10_000
    samples_per_class: int | None = None
    value_range: tuple[float, float] | None = None
    batch_size: int = SAMPLE_BATCH_SIZE
    seed: int = 2020
    device: str | None = None

    def count(self) -> int:
        """Images drawn: a whole number per class for a conditional model."""
        if self.num_classes:
            return self.num_classes * (self.samples_per_class or max(2, self.samples // self.num_classes))
        return self.samples


def model_kind(spec: Any) -> str | None:
    """The kind of generator model `spec` names (torchscript, onnx, function), or None for other inputs.

    A `.pt` file is TorchScript only when it holds compiled code (a baseline checkpoint does not); a
    `module:function` is a function only when the module can be found and it is not a dataset (`mnist:test`).
    """
    if not isinstance(spec, (str, os.PathLike)):
        return None
    text = os.fspath(spec)
    if text.lower().endswith(".onnx"):
        return "onnx"
    if os.path.isfile(text):
        return "torchscript" if text.lower().endswith(TORCHSCRIPT_SUFFIXES) and is_torchscript(Path(text)) else None
    if os.path.exists(text) or text.startswith(REF_PREFIX):
        return None
    match = FUNCTION_SPEC.match(text)
    if match is None:
        return None
    if match["target"].endswith(".py"):
        return "function"
    return "function" if parse_dataset(text) is None and _module_found(match["target"]) else None


def is_model_spec(text: Any) -> bool:
    """Whether an input names a generator model (TorchScript, ONNX, `module:function`, `file.py:function`)."""
    return model_kind(text) is not None


def model_input(spec: str | os.PathLike, options: ModelOptions) -> tuple[ModelSource, np.ndarray | None, str]:
    """(the images the model draws, their classes when conditional, one line saying what was found).

    The model runs once on two images here, so a wrong output (shape, dtype, range option) is reported
    before any image is scored.
    """
    kind = model_kind(spec)
    text = os.fspath(spec)
    check(kind is not None, f"{text} is not a generator model (TorchScript .pt/.pth, .onnx, module:function)")
    _check_options(text, kind, options)
    device = torch.device(options.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if kind == "function":
        model = _load_function(text)
    else:
        check(os.path.isfile(text), f"no such file: {text}")
        model = _TorchScriptModel(text, device) if kind == "torchscript" else _OnnxModel(text, device)
        model.check_inputs(options.num_classes)
    source = ModelSource(model, options, kind, os.path.basename(text) if kind != "function" else text, device)
    labels = np.arange(len(source)) % options.num_classes if options.num_classes else None
    return source, labels, source.description()


class ModelSource(SampledSource):
    """`options.count()` images of a generator model, in order, batch by batch (a sequential source)."""

    def __init__(self, model: ModelFn, options: ModelOptions, kind: str, name: str, device: torch.device):
        check(options.count() >= 2, f"{name}: need at least 2 samples, got {options.count()}")
        check(options.batch_size >= 1, f"batch size must be at least 1, got {options.batch_size}")
        self.model, self.options, self.kind, self.name, self.device = model, options, kind, name, device
        self.n = options.count()
        self.value_range = checked_range(options.value_range) if options.value_range is not None else None
        probe = self._output(self._draw(0, 2, self._noise_rng(), _torch_generator(options.seed, device)), 2)
        self.channels_last = _channels_last(probe)
        self._check_dtype(probe)
        try:  # the layout and, for floats, the range, before anything is scored
            batch_to_uint8(_nchw(probe, self.channels_last), self.value_range)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        self.shape = tuple(_nchw(probe, self.channels_last).shape[1:])
        self.dtype = str(probe.dtype).removeprefix("torch.")

    def __len__(self) -> int:
        return self.n

    def batches(self, start: int = 0, stop: int | None = None) -> Iterator[torch.Tensor]:
        """uint8 N x 3 x H x W batches of images [start, stop) on the sampling device.

        The model always sees the same batches (from image 0, `batch_size` at a time) and the noise stream is
        drawn from its start, so a shard's images equal the same images of the whole stream."""
        stop = self.n if stop is None else min(stop, self.n)
        if stop <= start:
            return
        size = self.options.batch_size
        rng, generator = self._noise_rng(), _torch_generator(self.options.seed, self.device)
        for first in range(0, stop, size):
            b = min(size, self.n - first)
            if first + b <= start and rng is not None:
                draw_noise(rng, b, self.options.z_size, self.options.z_type)  # keeps the stream aligned
                continue
            images = self._draw(first, b, rng, generator)
            if first + b <= start:
                continue  # a function's random state moved on; its images before `start` are not ours
            keep = slice(max(start - first, 0), min(stop - first, b))
            out = _nchw(self._output(images, b), self.channels_last)[keep]
            yield batch_to_uint8(out, self.value_range, offset=first + keep.start, n_total=self.n)

    def _draw(self, first: int, b: int, rng: np.random.RandomState | None, generator: torch.Generator) -> Any:
        """The model's raw output for images [first, first + b), the noise taken from `rng` (file models)."""
        labels = None
        if self.options.num_classes:
            labels = (torch.arange(first, first + b, device=self.device) % self.options.num_classes).long()
        with torch.no_grad():
            if self.kind == "function":
                return self.model(b, generator) if labels is None else self.model(b, generator, labels)
            z = draw_noise(rng, b, self.options.z_size, self.options.z_type)
            return self.model(z.to(self.device), labels)

    def _noise_rng(self) -> np.random.RandomState | None:
        """torch-fidelity's noise source, one legacy RandomState seeded with the seed (a function has its own)."""
        return np.random.RandomState(self.options.seed) if self.kind != "function" else None

    def _output(self, images: Any, b: int) -> torch.Tensor:
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        check(
            isinstance(images, torch.Tensor) and images.ndim in (3, 4) and len(images) == b,
            f"{self.name} returned {_shape_of(images)} for {b} images; expected a tensor N x C x H x W "
            "(or N x H x W x C)",
        )
        return images

    def _check_dtype(self, probe: torch.Tensor) -> None:
        dtype = str(probe.dtype).removeprefix("torch.")
        if probe.dtype == torch.uint8:
            check(self.value_range is None, f"{self.name} returns uint8 images: leave the value range out")
        elif probe.dtype.is_floating_point:
            check(
                self.value_range is not None,
                f"{self.name} returns {dtype} images: give their value range (value_range / --value-range LOW "
                "HIGH), e.g. -1 1 for a tanh output",
            )
        else:
            raise InputError(f"{self.name} returns {dtype} images: expected uint8, or floats with a value range")

    def description(self) -> str:
        """One line: what the input is and how it is sampled."""
        o = self.options
        c, h, w = self.shape if len(self.shape) == 3 else (1, *self.shape)
        out = f"{self.dtype} {c}x{h}x{w}" + (" (channels last)" if self.channels_last else "")
        if self.value_range is not None:
            out += f" in [{self.value_range[0]:g}, {self.value_range[1]:g}]"
        noise = f"z {o.z_size} {o.z_type}" if self.kind != "function" else "noise from a torch.Generator"
        classes = f", {o.num_classes} classes (image i: class i mod {o.num_classes})" if o.num_classes else ""
        return (f"{KIND_NAMES[self.kind]} {self.name}: {self.n} images {out}, {noise}, seed {o.seed}, "
                f"batch {o.batch_size}{classes}")  # fmt: skip

    def __repr__(self) -> str:
        return f"ModelSource({self.n} images from {KIND_NAMES[self.kind]} {self.name})"


# --- noise ---------------------------------------------------------------------------------------------


def draw_noise(rng: np.random.RandomState, n: int, z_size: int, z_type: str) -> torch.Tensor:
    """n x z_size float32 noise as torch-fidelity defines its types: `normal` N(0, 1); `uniform_0_1` U[0, 1);
    `unit` U[0, 1) vectors scaled to length 1 (so in the positive orthant: torch-fidelity's definition)."""
    if z_type == "normal":
        return torch.from_numpy(rng.randn(n, z_size)).float()
    uniform = torch.from_numpy(rng.rand(n, z_size)).float()
    if z_type == "uniform_0_1":
        return uniform
    return uniform / uniform.square().sum(dim=-1, keepdim=True).sqrt().clamp_min(1e-7)


def _torch_generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


# --- models --------------------------------------------------------------------------------------------


class _TorchScriptModel:
    """A `torch.jit` archive called as `module(z)` or `module(z, labels)`, in eval mode on `device`."""

    def __init__(self, path: str, device: torch.device):
        self.path = path
        try:
            with warnings.catch_warnings():  # torch's TorchScript deprecation notice is not the user's concern
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                self.module = torch.jit.load(path, map_location=device).eval()
        except Exception as exc:  # torch raises many types for a broken archive
            raise InputError(f"cannot load {path} as TorchScript: {exc}".splitlines()[0]) from exc

    def check_inputs(self, num_classes: int) -> None:
        """A conditional model needs a second argument (the class); the schema says how many it takes."""
        try:
            given = len(self.module.forward.schema.arguments) - 1  # without `self`
        except (AttributeError, RuntimeError):
            return  # no schema to read: the first call reports a mismatch
        check(given >= 1, f"{self.path} takes no input: a generator takes noise z")
        if num_classes:
            check(given >= 2, f"{self.path} takes {given} input (z): a class needs a second one")

    def __call__(self, z: torch.Tensor, labels: torch.Tensor | None) -> Any:
        return self.module(z) if labels is None else self.module(z, labels)


class _OnnxModel:
    """An ONNX graph run by onnxruntime (an optional dependency) with inputs (z) or (z, class)."""

    _NUMPY = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32}  # fmt: skip

    def __init__(self, path: str, device: torch.device):
        try:
            import onnxruntime
        except ImportError:
            raise InputError(
                f"{path} is an ONNX model: reading it needs onnxruntime (pip install onnxruntime)"
            ) from None
        providers = ["CPUExecutionProvider"]
        if device.type == "cuda" and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        try:
            self.session = onnxruntime.InferenceSession(path, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for unreadable graphs
            raise InputError(f"cannot load {path} as an ONNX model: {exc}".splitlines()[0]) from exc
        self.path, self.device = path, device
        self.inputs = [(i.name, self._NUMPY.get(i.type)) for i in self.session.get_inputs()]

    def check_inputs(self, num_classes: int) -> None:
        names = ", ".join(name for name, _ in self.inputs)
        wanted = 2 if num_classes else 1
        kind = "a conditional" if num_classes else "an unconditional"
        hint = "give the number of classes" if len(self.inputs) == 2 else "a class needs a second input"
        check(
            len(self.inputs) == wanted,
            f"{self.path} takes {len(self.inputs)} input(s) ({names}); {kind} model takes {wanted}: {hint}",
        )
        for name, dtype in self.inputs:
            check(dtype is not None, f"{self.path}: input {name} has a type ganeval cannot feed")

    def __call__(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        given = [z] if labels is None else [z, labels]
        feed = {name: x.cpu().numpy().astype(dtype) for (name, dtype), x in zip(self.inputs, given, strict=True)}
        return torch.from_numpy(self.session.run(None, feed)[0]).to(self.device)


def _load_function(spec: str) -> ModelFn:
    """The function named by `module:function` or `path/to/file.py:function`."""
    target, name = spec.rsplit(":", 1)
    if target.endswith(".py"):
        check(os.path.isfile(target), f"no such file: {target} (from the generator function {spec})")
        module_name = "_ganeval_model_" + re.sub(r"\W", "_", os.path.abspath(target))
        module_spec = importlib.util.spec_from_file_location(module_name, target)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module  # so classes defined there pickle and dataclasses resolve
        try:
            _run_user_code(lambda: module_spec.loader.exec_module(module), spec)
        except InputError:
            del sys.modules[module_name]
            raise
    else:
        module = _run_user_code(lambda: _import_with_cwd(target), spec)
    fn = getattr(module, name, None)
    check(callable(fn), f"{target} has no function {name!r} (from the generator function {spec})")
    return fn


def _run_user_code(step: Callable[[], Any], spec: str) -> Any:
    try:
        return step()
    except Exception as exc:  # the user's module failed to import: name it, with its own message
        raise InputError(
            f"importing the generator function {spec} failed: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from exc


def _import_with_cwd(module: str) -> Any:
    """Import `module`, finding it in the working directory too (as `python -m` would)."""
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(module)
    finally:
        if added:
            sys.path.remove(cwd)


def _module_found(dotted: str) -> bool:
    """Whether the top-level package of `dotted` is importable (from sys.path or the working directory)."""
    top = dotted.split(".")[0]
    if importlib.util.find_spec(top) is not None:
        return True
    return os.path.isfile(f"{top}.py") or os.path.isfile(os.path.join(top, "__init__.py"))


def _check_options(text: str, kind: str, options: ModelOptions) -> None:
    check(options.z_type in Z_TYPES, f"unknown z type {options.z_type!r}: expected one of {', '.join(Z_TYPES)}")
    check(options.num_classes >= 0, f"num_classes must be 0 or more, got {options.num_classes}")
    check(
        options.samples_per_class is None or options.num_classes > 0,
        f"{text}: samples per class need the number of classes of the model",
    )
    if kind == "function":
        check(
            options.z_size is None, f"{text} is a generator function: it draws its own noise, so z_size does not apply"
        )
    else:
        check(
            options.z_size is not None and options.z_size >= 1,
            f"{text} ({KIND_NAMES[kind]}) needs z_size (--z-size), the length of its noise vector",
        )


def _channels_last(images: torch.Tensor) -> bool:
    """N x H x W x C when the last axis, and not the second, has a channel count (1, 3, 4)."""
    return images.ndim == 4 and images.shape[1] not in CHANNEL_COUNTS and images.shape[-1] in CHANNEL_COUNTS


def _nchw(images: torch.Tensor, channels_last: bool) -> torch.Tensor:
    return images.permute(0, 3, 1, 2) if channels_last else images


def _shape_of(images: Any) -> str:
    shape = getattr(images, "shape", None)
    return f"shape {tuple(shape)}" if shape is not None else f"a {type(images).__name__}"
