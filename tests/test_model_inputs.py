"""Generator models as inputs: a TorchScript file, the same net exported to ONNX, and Python functions.

One tiny seeded generator (16x16 RGB) is saved as TorchScript and ONNX; both are sampled with torch-fidelity's
noise draw and scored against 12 real CIFAR-10 images, and compared with the folder of PNGs they produce and
with torch-fidelity 0.4.0 sampling the same TorchScript file itself. The rest (labels, seeds, shards, errors)
reads images only, without the network.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import ganeval
from ganeval.cli.model_options import (
    Z_TYPES,
    cli_model_input,
    model_arguments,
    model_options,
    pop_model_options,
    refuse_model_options,
)
from ganeval.errors import InputError
from ganeval.quantise import to_uint8
from ganeval.sources.models import Z_TYPES as MODEL_Z_TYPES
from ganeval.sources.models import ModelOptions, draw_noise, is_model_spec, model_input, model_kind
from tests import _model_generators as gens
from tests.conftest import write_folder

N = 12  # generated images per model, in one batch (as the PNG folder is read), so pool3 is batched alike
N_REAL = 12
SEED = 2020  # torch-fidelity's rng_seed default, and ganeval's
FUNCTION = "tests._model_generators:sample"
FUNCTION_FILE = str(Path(gens.__file__)) + ":sample"


def _images(spec: str, **options) -> torch.Tensor:
    """Every image a model input draws, as one uint8 tensor."""
    source, _, _ = model_input(spec, ModelOptions(**{"samples": N, "device": "cpu", **options}))
    return torch.cat(list(source.batches()))


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[str, str]:
    """The generator as TorchScript (traced: takes z only; scripted conditional: z and a class), with float
    output, and exported to ONNX (torch.onnx's default exporter, which needs onnx and onnxscript)."""
    folder = tmp_path_factory.mktemp("models")
    z = torch.randn(2, gens.Z_SIZE)
    files = {"ts": folder / "gen.pth", "float": folder / "gen_float.pt", "cond": folder / "cond.pt"}
    with warnings.catch_warnings():  # torch.jit's deprecation notices
        warnings.simplefilter("ignore")
        torch.jit.trace(gens.TinyGenerator(), z).save(str(files["ts"]))
        torch.jit.trace(gens.TinyGenerator(uint8=False), z).save(str(files["float"]))
        torch.jit.script(gens.TinyGenerator(num_classes=gens.NUM_CLASSES)).save(str(files["cond"]))
    pytest.importorskip("onnxscript", reason="exporting to ONNX needs onnx and onnxscript (pip install onnxscript)")
    pytest.importorskip("onnxruntime", reason="reading ONNX needs onnxruntime (pip install onnxruntime)")
    n = torch.export.Dim("n")
    for name, module, args, shapes in (
        ("onnx", gens.TinyGenerator(), (z,), ({0: n},)),
        ("cond_onnx", gens.TinyGenerator(num_classes=gens.NUM_CLASSES), (z, torch.arange(2)), ({0: n}, {0: n})),
    ):
        files[name] = folder / f"{name}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, str(files[name]), dynamo=True, dynamic_shapes=shapes, verbose=False)
    return {k: str(v) for k, v in files.items()}


@pytest.fixture(scope="module")
def real_folder(cifar_images, tmp_path_factory) -> Path:
    return write_folder(cifar_images[:N_REAL], tmp_path_factory.mktemp("real"))


@pytest.fixture(scope="module")
def real_stats(real_folder, extractor):
    return ganeval.compute_stats(real_folder, extractor=extractor, progress=False)


@pytest.fixture(scope="module")
def fids(model_files, real_stats, extractor, tmp_path_factory) -> dict:
    """FID against the 12 real images of the TorchScript and ONNX models and of the PNGs the first writes."""
    out, images = {}, {}
    for kind in ("ts", "onnx"):
        source, labels, out[f"{kind}_description"] = model_input(
            model_files[kind], ModelOptions(z_size=gens.Z_SIZE, samples=N, batch_size=N, seed=SEED, device="cpu")
        )
        assert labels is None
        out[kind] = ganeval.fid(real_stats, source, extractor=extractor, progress=False)
        images[kind] = torch.cat(list(source.batches()))
    folder = write_folder(images["ts"].permute(0, 2, 3, 1).numpy(), tmp_path_factory.mktemp("pngs"))
    out["png"] = ganeval.score(real_stats, folder, ("fid",), extractor=extractor, progress=False)["fid"]
    out["images"], out["folder"] = images, folder
    return out


@pytest.mark.filterwarnings("ignore::ganeval.RankDeficientWarning")
def test_torchscript_onnx_and_their_pngs_give_the_same_fid(fids):
    ts, onnx = fids["images"]["ts"], fids["images"]["onnx"]
    assert ts.shape == (N, 3, 16, 16) and ts.dtype == torch.uint8
    assert int((ts.int() - onnx.int()).abs().max()) <= 1  # two runtimes; the quantised images barely differ
    assert fids["onnx"] == pytest.approx(fids["ts"], rel=1e-6)
    assert fids["png"] == pytest.approx(fids["ts"], rel=1e-9)  # the same images, in the same batch
    assert fids["ts_description"].startswith("TorchScript generator gen.pth: 12 images uint8 3x16x16, z 16 normal")
    assert fids["onnx_description"].startswith("ONNX generator onnx.onnx: 12 images uint8 3x16x16")


@pytest.mark.filterwarnings("ignore::ganeval.RankDeficientWarning")
@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
def test_torch_fidelity_sampling_the_same_file_agrees(fids, model_files, real_folder, weights_with_head):
    """torch-fidelity 0.4.0 loads `gen.pth` with torch.jit and draws the same noise (RandomState(rng_seed),
    normal, in image order): the images are equal, so the FIDs differ only by the network's arithmetic
    (ganeval's default CPU layout against torch-fidelity's own)."""
    import torch_fidelity
    from torch_fidelity.noise import random_normal, random_uniform_0_1, random_unit

    theirs = torch_fidelity.calculate_metrics(
        input1=model_files["ts"], input1_model_z_size=gens.Z_SIZE, input1_model_z_type="normal",
        input1_model_num_samples=N, input2=str(real_folder), fid=True, rng_seed=SEED, batch_size=N,
        feature_extractor="inception-v3-compat", feature_extractor_weights_path=str(weights_with_head),
        cuda=False, cache=False, verbose=False, save_cpu_ram=True,
    )["frechet_inception_distance"]  # fmt: skip
    # measured 1.7e-7: the images and the noise are equal; the rest is arithmetic (strict layout here, and
    # n <= d, where torch-fidelity's eigensolver leaves round-off that ganeval's factorisation does not)
    assert theirs == pytest.approx(fids["ts"], rel=2e-6)
    assert theirs == pytest.approx(fids["png"], rel=2e-6)
    for z_type, theirs_fn in (("normal", random_normal), ("unit", random_unit), ("uniform_0_1", random_uniform_0_1)):
        ours = draw_noise(np.random.RandomState(SEED), 5, gens.Z_SIZE, z_type)
        assert torch.equal(ours, theirs_fn(np.random.RandomState(SEED), (5, gens.Z_SIZE))), z_type
    z = random_normal(np.random.RandomState(SEED), (N, gens.Z_SIZE))
    with torch.no_grad():
        assert torch.equal(gens.TinyGenerator()(z), fids["images"]["ts"])


def test_python_functions_in_both_forms(model_files):
    """`module:function` and `file.py:function` name the same function; it gets one torch.Generator seeded with
    the seed for the whole stream, and its float images are quantised as saving PNGs would."""
    options = {"value_range": (-1, 1), "batch_size": N}
    by_module, by_file = _images(FUNCTION, **options), _images(FUNCTION_FILE, **options)
    assert torch.equal(by_module, by_file)
    direct = gens.sample(N, torch.Generator().manual_seed(SEED))
    assert torch.equal(by_module, to_uint8(direct, (-1, 1)))
    # the same images laid out N x H x W x C as uint8 are recognised and read alike
    source, _, description = model_input(
        "tests._model_generators:sample_channels_last", ModelOptions(samples=N, batch_size=N, device="cpu")
    )
    assert "uint8 3x16x16 (channels last)" in description
    assert torch.equal(torch.cat(list(source.batches())), by_module)
    # and a TorchScript model with float output takes its value range the same way
    floats = _images(model_files["float"], z_size=gens.Z_SIZE, value_range=(-1, 1))
    assert torch.equal(floats, _images(model_files["ts"], z_size=gens.Z_SIZE))


def test_conditional_models_get_class_i_mod_k(model_files):
    """Classes i mod K, as ganeval's cgan checkpoints, so every class gets its share for intra-FID. Not compared
    with torch-fidelity: it draws each batch's classes at random from the noise's RandomState (so its noise
    differs too), and 0.4.0 does it with `np.int`, which numpy 1.24 removed: its conditional path fails here."""
    k = gens.NUM_CLASSES
    options = ModelOptions(z_size=gens.Z_SIZE, num_classes=k, samples_per_class=3, batch_size=4, device="cpu")
    source, labels, description = model_input(model_files["cond"], options)
    assert len(source) == 9 and labels.tolist() == [0, 1, 2] * 3
    assert description.endswith("3 classes (image i: class i mod 3)")
    images = torch.cat(list(source.batches()))
    z = draw_noise(np.random.RandomState(SEED), 9, gens.Z_SIZE, "normal")
    with torch.no_grad():
        assert torch.equal(images, gens.TinyGenerator(num_classes=k)(z, torch.arange(9) % k))
    onnx = torch.cat(list(model_input(model_files["cond_onnx"], options)[0].batches()))
    assert int((onnx.int() - images.int()).abs().max()) <= 1
    # `samples` is rounded down to whole classes (at least 2 each), as for ganeval's cgan checkpoints
    assert len(model_input(model_files["cond"], ModelOptions(z_size=16, num_classes=k, samples=10))[0]) == 9
    # a function is called with the classes of its batch
    source, labels, _ = model_input(
        "tests._model_generators:sample_conditional",
        ModelOptions(num_classes=k, samples=6, value_range=(-1, 1), batch_size=6, device="cpu"),
    )
    generator = torch.Generator().manual_seed(SEED)
    direct = gens.sample_conditional(6, generator, torch.arange(6) % k)
    assert labels.tolist() == [0, 1, 2, 0, 1, 2]
    assert torch.equal(torch.cat(list(source.batches())), to_uint8(direct, (-1, 1)))


def test_same_seed_same_images_other_seed_other_images(model_files):
    ts = model_files["ts"]
    first = _images(ts, z_size=gens.Z_SIZE, batch_size=5)
    assert torch.equal(first, _images(ts, z_size=gens.Z_SIZE, batch_size=5))
    assert torch.equal(first, _images(ts, z_size=gens.Z_SIZE, batch_size=16))  # noise in image order
    assert not torch.equal(first, _images(ts, z_size=gens.Z_SIZE, seed=SEED + 1))
    assert not torch.equal(first, _images(ts, z_size=gens.Z_SIZE, z_type="uniform_0_1"))
    function = _images(FUNCTION, value_range=(-1, 1), batch_size=5)
    assert torch.equal(function, _images(FUNCTION, value_range=(-1, 1), batch_size=5))
    assert not torch.equal(function, _images(FUNCTION, value_range=(-1, 1), batch_size=5, seed=1))
    # a shard of the stream (one rank's part) is that part of the whole stream, for both kinds
    for spec, options, whole in ((ts, {"z_size": gens.Z_SIZE}, first), (FUNCTION, {"value_range": (-1, 1)}, function)):
        source, _, _ = model_input(spec, ModelOptions(samples=N, batch_size=5, device="cpu", **options))
        assert torch.equal(torch.cat(list(source.batches(7, 13))), whole[7:13])
        assert list(source.batches(13, 13)) == []  # an empty shard draws nothing
        assert source.cacheable is False and source.sequential


def test_which_inputs_are_models(model_files, tmp_path, image_folders):
    checkpoint = tmp_path / "best.pt"
    torch.save({"step": 1, "generator": {"w": torch.zeros(2)}}, checkpoint)  # a torch.save file, no code/
    assert model_kind(model_files["ts"]) == "torchscript" and model_kind(model_files["onnx"]) == "onnx"
    assert model_kind(FUNCTION) == "function" and model_kind(FUNCTION_FILE) == "function"
    for other in (str(checkpoint), "mnist:test", "cifar10-jpeg:train[:10]", "ref:cifar10-jpeg-test",
                  str(image_folders[0]), "no_such_module_here:sample", "mnist:test.py"):  # fmt: skip
        assert not is_model_spec(other), other
    assert Z_TYPES == MODEL_Z_TYPES


def test_one_line_errors(model_files, monkeypatch):
    ts, onnx = model_files["ts"], model_files["onnx"]
    cases = [
        (ts, ModelOptions(), r"gen.pth \(TorchScript generator\) needs z_size \(--z-size\)"),
        (ts, ModelOptions(z_size=16, value_range=(-1, 1)), "gen.pth returns uint8 images: leave the value range out"),
        (model_files["float"], ModelOptions(z_size=16), r"returns float32 images: give their value range"),
        (model_files["float"], ModelOptions(z_size=16, value_range=(0, 1)), r"gen_float.pt: .*outside value_range"),
        (ts, ModelOptions(z_size=16, num_classes=3), r"gen.pth takes 1 input \(z\): a class needs a second one"),
        (onnx, ModelOptions(z_size=16, num_classes=3), r"onnx.onnx takes 1 input\(s\) \(z\); a conditional model"),
        (model_files["cond_onnx"], ModelOptions(z_size=16), r"takes 2 input\(s\) \(z, .*\); an unconditional"),
        (FUNCTION, ModelOptions(z_size=16, value_range=(-1, 1)), "draws its own noise, so z_size does not apply"),
        ("tests._model_generators:sample_wrong_count", ModelOptions(value_range=(-1, 1)),
         r"returned shape \(3, 3, 16, 16\) for 2 images"),
        ("tests._model_generators:missing", ModelOptions(), "has no function 'missing'"),
        ("tests/no_such_file.py:sample", ModelOptions(), "no such file: tests/no_such_file.py"),
        (ts, ModelOptions(z_size=16, z_type="sphere"), "unknown z type 'sphere'"),
        (ts, ModelOptions(z_size=16, samples_per_class=4), "samples per class need the number of classes"),
    ]  # fmt: skip
    for spec, options, message in cases:
        with pytest.raises(InputError, match=message) as caught:
            model_input(spec, options)
        assert "\n" not in str(caught.value), str(caught.value)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(InputError, match=r"onnx.onnx is an ONNX model: reading it needs onnxruntime \(pip install"):
        model_input(onnx, ModelOptions(z_size=16))


def test_command_line_options(model_files, tmp_path):
    """The decorator parses the four options (absent: not given); the command's own options complete them."""
    import click
    from click.testing import CliRunner

    seen = {}

    @click.command()
    @click.argument("spec")
    @model_options
    def command(spec, **options):
        seen.update(options)

    result = CliRunner().invoke(command, ["x", "--z-size", "16", "--z-type", "unit", "--value-range", "-1", "1"])
    assert result.exit_code == 0, result.output
    given = pop_model_options(seen)
    assert given == {"z_size": 16, "z_type": "unit", "value_range": (-1.0, 1.0)} and seen == {}
    common = {"samples": None, "samples_per_class": None, "batch_size": None, "seed": 3, "device": "cpu"}
    options = model_arguments(model_files["float"], given, **common)
    assert options == ModelOptions(z_size=16, z_type="unit", value_range=(-1.0, 1.0), seed=3, device="cpu")
    source, labels, description = cli_model_input(
        model_files["ts"], {"z_size": 16}, {"batch_size": 8, "seed": SEED, "device": "cpu"}, 20, None
    )
    assert len(source) == 20 and labels is None and "batch 8" in description
    checkpoint = tmp_path / "best.pt"
    torch.save({"step": 1}, checkpoint)
    errors = [
        (lambda: model_arguments(model_files["ts"], {}, **common), r"gen.pth \(TorchScript generator\) needs --z-size"),
        (lambda: model_arguments(FUNCTION, {"z_type": "unit"}, **common), "--z-type: .*:sample is a Python function"),
        (lambda: model_arguments(model_files["ts"], {"z_size": 4}, **{**common, "samples_per_class": 5}),
         "--samples-per-class needs --num-classes"),
        (lambda: refuse_model_options(str(checkpoint), {"z_size": 4}), r"--z-size: only for a generator model input .*"
         r"best.pt is not TorchScript \(no code/ inside\); a ganeval baseline checkpoint knows its own noise"),
        (lambda: refuse_model_options("real/", {"num_classes": 3, "value_range": (0, 1)}),
         "--num-classes, --value-range: only for a generator model input"),
    ]  # fmt: skip
    for call, message in errors:
        with pytest.raises(InputError, match=message):
            call()
    refuse_model_options("real/", {})  # nothing given: nothing to refuse


def test_score_and_benchmark_take_a_model_on_the_command_line(model_files, real_folder, fids, weights_with_head,
                                                              tmp_path):  # fmt: skip
    from ganeval.records import read_records
    from tests.conftest import run_cli

    common = ["--z-size", str(gens.Z_SIZE), "--samples", str(N), "--seed", str(SEED), "--weights",
              str(weights_with_head), "--device", "cpu"]  # fmt: skip
    code, out, err = run_cli("score", str(real_folder), model_files["ts"], "--json", *common)
    assert code == 0, err
    assert "TorchScript generator" in err  # says which kind of .pth it found
    assert json.loads(out)["fid"] == pytest.approx(fids["ts"], rel=1e-6)
    records = tmp_path / "records.jsonl"
    code, _, err = run_cli("benchmark", str(real_folder), model_files["ts"], "--metrics", "fid", "--out", str(records),
                           "-q", *common)  # fmt: skip
    assert code == 0, err
    record = read_records(records)[0]
    assert record["input"]["kind"] == "model" and record["settings"]["model"]["z_size"] == gens.Z_SIZE
    assert record["metrics"]["fid"] == pytest.approx(fids["ts"], rel=1e-6)
