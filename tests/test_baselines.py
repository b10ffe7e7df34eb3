"""Baselines on the CPU: tiny widths, a few steps on 64 real images; the maths of each Lipschitz device.

Nothing here runs the Inception network (see tests/test_baselines_eval.py for training with evaluation).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from ganeval import LabelledImages, load_dataset
from ganeval.baselines import available, build_model, load_recipe, override, train
from ganeval.baselines.cli import train_baseline
from ganeval.baselines.data import BatchStream
from ganeval.baselines.nets.cgan import CGAN
from ganeval.baselines.nets.cnn import ConditionalBatchNorm2d, Discriminator, spectral_normalize
from ganeval.baselines.nets.wgan_gp import gradient_penalty
from ganeval.baselines.recipe import parse_assignment
from ganeval.errors import InputError
from tests.conftest import data_root

TINY = 1 / 16
RECIPES = ("gan", "wgan", "wgan-gp", "sngan", "cgan", "vae")


@pytest.fixture(scope="module")
def fashion64() -> LabelledImages:
    try:
        data = load_dataset("fashion-mnist", "test", data_root())
    except InputError as exc:
        pytest.skip(str(exc))
    return LabelledImages(data.images[:64], data.labels[:64], 10)


@pytest.fixture(scope="module")
def cifar64() -> LabelledImages:
    path = data_root() / "cifar10-exact-subset" / "cifar10_train_first4000.npz"
    if not path.is_file():
        pytest.skip(f"real data not found at {path}")
    npz = np.load(path)
    images = torch.from_numpy(npz["x"][:64]).permute(0, 3, 1, 2).contiguous()
    return LabelledImages(images, torch.from_numpy(npz["y"][:64].astype(np.int64)), 10)


def tiny(name: str, tmp_path, **changes):
    return override(load_recipe(name), width=TINY, batch_size=16, eval_samples=0, out=str(tmp_path / name), **changes)


def test_every_recipe_is_listed_and_valid():
    assert set(RECIPES) <= set(available())
    for name in RECIPES:
        recipe = load_recipe(name)
        assert recipe.model == name and recipe.name == name


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trains_a_few_steps_with_finite_losses(name, fashion64, cifar64):
    recipe = override(load_recipe(name), width=TINY, batch_size=16)
    data = cifar64 if recipe.dataset.startswith("cifar10") else fashion64
    torch.manual_seed(0)
    model = build_model(recipe.model, data.image_shape, 10, recipe.z_dim, recipe.width, recipe.objective)
    optimizers = model.build_optimizers(recipe.optimizer)
    stream = BatchStream(data, recipe.batch_size, seed=0, device=torch.device("cpu"))
    for _ in range(3):
        losses = model.train_step(stream, optimizers)
        assert losses and all(np.isfinite(v) for v in losses.values()), losses
    samples = model.sample(4)
    assert samples.shape == (4, *data.image_shape) and samples.abs().max() <= 1


def test_standard_cnn_shapes_and_width():
    for shape in [(1, 28, 28), (3, 32, 32), (3, 64, 64)]:
        model = build_model("gan", shape, 10, 128, TINY, {})
        assert model.sample(2).shape == (2, *shape)
        assert model.discriminator(torch.zeros(2, *shape)).shape == (2,)
    full = build_model("gan", (3, 32, 32), 10, 128, 1.0, {})
    convs = [m.out_channels for m in full.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [64, 64, 128, 128, 256, 256, 512]
    assert full.generator.linear.out_features == 4 * 4 * 512
    critic = build_model("wgan-gp", (1, 28, 28), 10, 128, TINY, {}).discriminator
    assert not [m for m in critic.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]  # per-sample GP
    with pytest.raises(InputError, match="standard-CNN"):
        build_model("gan", (3, 30, 30), 10, 128, TINY, {})


def test_wgan_clipping_keeps_every_critic_weight_in_range(fashion64):
    recipe = override(load_recipe("wgan"), width=TINY, batch_size=16, **{"optimizer.lr": 0.05})
    model = build_model("wgan", fashion64.image_shape, 10, 128, TINY, recipe.objective)
    optimizers = model.build_optimizers(recipe.optimizer)
    stream = BatchStream(fashion64, 16, seed=0, device=torch.device("cpu"))
    model.train_step(stream, optimizers)
    c = recipe.objective["clip"]
    weights = torch.cat([p.detach().flatten() for p in model.discriminator.parameters()])
    assert weights.abs().max() <= c
    assert (weights.abs() == c).float().mean() > 0.1  # the large learning rate pushed many to the bound


def test_gradient_penalty_of_a_linear_critic_has_its_closed_form():
    w = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    critic = lambda x: (x * w).flatten(1).sum(1) + 0.5  # noqa: E731  gradient w everywhere
    real, fake = torch.randn(5, 3, 4, 4, dtype=torch.float64), torch.randn(5, 3, 4, 4, dtype=torch.float64)
    expected = (w.norm() - 1) ** 2
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(expected.item(), rel=1e-12)


def test_gradient_penalty_is_per_sample_on_the_interpolates():
    critic = lambda x: 0.5 * x.pow(2).flatten(1).sum(1)  # noqa: E731  gradient x: norm depends on the point
    real, fake = torch.randn(6, 2, 3, 3, dtype=torch.float64), torch.randn(6, 2, 3, 3, dtype=torch.float64)
    alpha = torch.rand(6, dtype=torch.float64)
    x_hat = alpha.view(-1, 1, 1, 1) * real + (1 - alpha.view(-1, 1, 1, 1)) * fake
    expected = ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert gradient_penalty(critic, real, fake, alpha=alpha).item() == pytest.approx(expected.item(), rel=1e-12)


def test_spectral_norm_makes_top_singular_values_one():
    torch.manual_seed(0)
    disc = spectral_normalize(Discriminator((1, 28, 28), width=TINY)).train()
    x = torch.randn(1, 1, 28, 28)
    for _ in range(60):  # one power iteration per forward pass
        disc(x)
    disc.eval()  # eval mode: weight / sigma from the stored singular vectors, no further iteration
    layers = [m for m in disc.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert len(layers) == 8
    for layer in layers:
        raw = torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach().flatten(1), ord=2)
        sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
        assert abs(raw.item() - 1) > 0.05 and sigma.item() == pytest.approx(1.0, abs=0.01)


def test_conditional_generator_follows_its_labels():
    """Degenerate case: zero the class scales and give class 0 a bright shift, class 1 a dark one."""
    model = CGAN((1, 28, 28), z_dim=8, width=TINY, n_classes=2)
    gen = model.generator
    with torch.no_grad():
        last = gen.norms[-1]
        assert isinstance(last, ConditionalBatchNorm2d)
        last.gamma.weight.zero_()
        last.beta.weight[0].fill_(1.0)
        last.beta.weight[1].fill_(-1.0)  # ReLU then zeroes class 1's features entirely
        gen.out.weight.fill_(1.0)
        gen.out.bias.fill_(-0.5)
    labels = torch.tensor([0, 1, 0, 1])
    images = model.sample(4, labels)
    assert (images[labels == 0] > 0.5).all() and (images[labels == 1] < -0.4).all()
    seen = []
    gen.forward = lambda z, y: (seen.append(y.clone()), torch.zeros(len(z), 1, 28, 28))[1]
    sample_fn = model.sampler()
    sample_fn(3), sample_fn(3)
    assert torch.cat(seen).tolist() == [0, 1, 0, 1, 0, 1]  # class-balanced across batches


def test_batch_stream_is_resumable(fashion64):
    a = BatchStream(fashion64, 24, seed=3, device=torch.device("cpu"))
    batches = [a()[1] for _ in range(7)]  # crosses two epoch boundaries (64 // 24 = 2 batches each)
    b = BatchStream(fashion64, 24, seed=3, device=torch.device("cpu"))
    b(), b(), b()
    state = b.state_dict()
    c = BatchStream(fashion64, 24, seed=3, device=torch.device("cpu"))
    c.load_state_dict(state)
    assert all(torch.equal(c()[1], batches[i]) for i in range(3, 7))


@pytest.mark.parametrize("name", ["wgan-gp", "cgan"])
def test_resume_is_bit_identical_on_the_cpu(name, fashion64, tmp_path):
    straight = train(tiny(name, tmp_path / "a", steps=4, eval_every=2), data=fashion64, progress=False)
    train(tiny(name, tmp_path / "b", steps=2), data=fashion64, progress=False)
    resumed = train(tiny(name, tmp_path / "b", steps=4), data=fashion64, resume=True, progress=False)
    assert resumed.step == straight.step == 4
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    assert [r["loss_g"] for r in straight.history][-1] == resumed.history[-1]["loss_g"]


def test_recipe_overrides_and_bad_keys(tmp_path):
    recipe = override(load_recipe("wgan"), steps=7, **dict([parse_assignment("objective.clip=0.02")]))
    assert recipe.steps == 7 and recipe.objective["clip"] == 0.02 and recipe.optimizer.name == "rmsprop"
    assert parse_assignment("dataset=mnist") == ("dataset", "mnist")
    with pytest.raises(InputError, match="unknown key"):
        override(recipe, lr=1.0)
    with pytest.raises(InputError, match="steps must be an integer"):
        override(recipe, steps="many")
    bad = tmp_path / "bad.toml"
    bad.write_text('model = "gan"\nstepz = 3\n')
    with pytest.raises(InputError, match="stepz"):
        load_recipe(bad)
    with pytest.raises(InputError, match="bad objective options"):
        build_model("wgan", (1, 28, 28), 10, 8, TINY, {"gp_lambda": 10.0})


def run_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(train_baseline, list(args))
    return result.exit_code, result.output


def test_cli_trains_and_leaves_outputs(tmp_path):
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not available")
    out = tmp_path / "run"
    code, output = run_cli("sngan", "--dataset", "fashion-mnist", "--steps", "2", "--width", str(TINY),
                           "--batch-size", "8", "--eval-samples", "0", "--out", str(out), "-q",
                           "--data-root", str(data_root()))  # fmt: skip
    assert code == 0, output
    assert {"last.pt", "metrics.csv"} <= {p.name for p in out.iterdir()}
    code, output = run_cli("sngan", "--steps", "2", "--out", str(out), "-q")
    assert code == 1 and "--resume" in output


@pytest.mark.parametrize(
    "args,message",
    [
        (["wgan-pg"], "unknown recipe 'wgan-pg'; choose from"),
        (["gan", "--data-root", "{tmp}"], "fashion-mnist:train needs train-images-idx3-ubyte"),
        (["gan", "--dataset", "svhn"], "unknown dataset 'svhn'"),
        (["gan", "--set", "optimizer.lr"], "expected KEY=VALUE"),
    ],
)
def test_cli_bad_input_gets_one_line(args, message, tmp_path):
    code, output = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args], "--out", str(tmp_path / "o"))
    assert code == 1
    assert output.count("\n") == 1 and output.startswith("ganeval: error: ") and message in output, output


def test_time_limit_stops_early_with_a_checkpoint_and_resume_finishes(fashion64, tmp_path):
    """A run out of time logs, saves `last` and stops; resuming it reaches the planned steps."""
    lines: list[str] = []
    stopped = train(
        tiny("gan", tmp_path, steps=50, eval_every=0), data=fashion64, progress=False, log=lines.append,
        time_limit_s=1e-9,
    )  # fmt: skip
    assert stopped.stopped_early and stopped.step == 1
    assert (tmp_path / "gan" / "last.pt").is_file() and "time limit reached" in lines[-1]
    finished = train(tiny("gan", tmp_path, steps=3, eval_every=0), data=fashion64, progress=False, resume=True)
    assert finished.step == 3 and not finished.stopped_early
