"""CycleGAN on unpaired image domains: the edge operator, the pair data, the two halves of a training step,
the paired evaluation against the ground truth, evaluation in the loop and from a checkpoint, resume.

Tiny networks on a few dozen Fashion-MNIST test images; the Inception network is the session's one, and
evaluations use N test pairs.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganeval
from ganeval.baselines import build_model, load_recipe, override, train
from ganeval.baselines.checkpoint import read_checkpoint, rebuild_model
from ganeval.baselines.cli import score_own_evaluation, train_baseline
from ganeval.baselines.kinds import kind_of
from ganeval.baselines.pairs import TRAIN_HALF, PairData, PairKind, edge_domain, pair_domains, sobel_edges
from ganeval.baselines.translation import KEYS, TranslationEvaluation, paired_errors, to_float, to_uint8
from ganeval.cli import main
from ganeval.errors import InputError
from tests.conftest import data_root

pytestmark = pytest.mark.filterwarnings("ignore::ganeval.RankDeficientWarning")  # N test pairs << 2048

N = 8  # test pairs per evaluation
TINY = {"n_blocks": 1, "pool_size": 3}
LOSSES = ("loss_g", "loss_cycle", "loss_identity", "loss_d_a", "loss_d_b")


@pytest.fixture(scope="module")
def fashion_test() -> ganeval.LabelledImages:
    try:
        return ganeval.load_dataset("fashion-mnist", "test", data_root())
    except InputError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def tiny_pair(fashion_test) -> PairData:
    """A: edges of 32 test images, B: 32 other test images (never the evaluation's first N)."""
    part = lambda s: ganeval.LabelledImages(fashion_test.images[s], fashion_test.labels[s], 10)  # noqa: E731
    return PairData(edge_domain(part(slice(100, 132))), part(slice(200, 232)), "fashion-edges")


def tiny_recipe(tmp_path, name: str = "run", **changes):
    recipe = override(load_recipe("cyclegan"), width=1 / 16, batch_size=4, out=str(tmp_path / name), **changes)
    return override(recipe, **{f"objective.{k}": v for k, v in TINY.items()})


def snapshot(*nets) -> list[torch.Tensor]:
    return [p.detach().clone() for net in nets for p in net.parameters()]


def same(before: list[torch.Tensor], *nets) -> bool:
    after = [p for net in nets for p in net.parameters()]
    return all(torch.equal(a, b) for a, b in zip(before, after, strict=True))


# --- the edge operator and the pairs -------------------------------------------------------------------


def test_edges_are_binary_deterministic_and_the_documented_sobel_rule(fashion_test):
    images = fashion_test.images[:64]
    edges = sobel_edges(images)
    assert edges.dtype == torch.uint8 and edges.shape == images.shape
    assert set(edges.unique().tolist()) <= {0, 255} and 0.05 < (edges == 255).float().mean() < 0.5
    assert torch.equal(edges, sobel_edges(images.clone()))
    # The same rule by a float64 convolution (exact on these integers): |G|^2 >= 384^2.
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
    grey = images.double()
    gx = torch.nn.functional.conv2d(grey, kx.view(1, 1, 3, 3), padding=1)
    gy = torch.nn.functional.conv2d(grey, kx.t().contiguous().view(1, 1, 3, 3), padding=1)
    assert torch.equal(edges, (gx**2 + gy**2 >= 384**2).to(torch.uint8) * 255)
    # A flat image has no edges inside; a white square on black has them on its border only.
    square = torch.zeros(1, 1, 12, 12, dtype=torch.uint8)
    square[..., 4:8, 4:8] = 255
    ring = sobel_edges(square)[0, 0] == 255
    flat = sobel_edges(torch.full((1, 1, 8, 8), 200, dtype=torch.uint8))[0, 0]  # zero outside: a frame
    assert not flat[1:-1, 1:-1].any() and flat[0].all() and flat[:, -1].all()
    assert ring[3:9, 3:9].sum() == ring.sum() and not ring[:3].any() and ring[4, 3] and ring[3, 4]
    assert torch.equal(sobel_edges(images[:3].expand(-1, 3, -1, -1)), edges[:3].expand(-1, 3, -1, -1))


def test_training_halves_are_disjoint_and_the_test_split_keeps_the_pairs(fashion_test):
    train = ganeval.load_dataset("fashion-mnist", "train", data_root())
    data = PairData.load("fashion-edges", str(data_root()))
    assert data.shape == (1, 28, 28) and len(data.a.images) == len(data.b.images) == TRAIN_HALF
    assert torch.equal(data.a.images[:100], sobel_edges(train.images[:100]))
    assert torch.equal(data.b.images[:100], train.images[TRAIN_HALF : TRAIN_HALF + 100])
    test_a, test_b = pair_domains("fashion-edges", "test", str(data_root()))
    assert torch.equal(test_b.images, fashion_test.images) and torch.equal(test_a.images, sobel_edges(test_b.images))
    mnist_a, mnist_b = pair_domains("mnist-fashion", "test", str(data_root()))
    assert mnist_a.image_shape == mnist_b.image_shape == (1, 28, 28) and mnist_a.n_classes == 10
    assert isinstance(kind_of("fashion-edges"), PairKind) and kind_of("mnist-fashion").scores_itself
    assert kind_of("fashion-mnist").name == "images"


def test_pair_stream_shuffles_each_domain_and_resumes(tiny_pair):
    stream = tiny_pair.stream(4, 0, torch.device("cpu"))
    a, b = stream()
    assert a.shape == b.shape == (4, 1, 28, 28) and a.min() >= -1 and b.max() <= 1
    assert set(a.unique().tolist()) <= {-1.0, 1.0}  # edge maps stay binary
    for _ in range(9):  # past an epoch of 32 images
        stream()
    state = stream.state_dict()
    expected = [stream() for _ in range(5)]
    again = tiny_pair.stream(4, 0, torch.device("cpu"))
    again.load_state_dict(state)
    assert all(torch.equal(x, y) for pair, other in zip(expected, [again() for _ in range(5)], strict=True)
               for x, y in zip(pair, other, strict=True))  # fmt: skip
    # Domain A's order differs from domain B's (other seeds), so a batch is not a pair.
    first = tiny_pair.stream(4, 0, torch.device("cpu")).a._order
    assert not torch.equal(first, tiny_pair.stream(4, 0, torch.device("cpu")).b._order)


# --- the model ---------------------------------------------------------------------------------------


def test_generator_and_discriminator_steps_update_only_their_own_networks(tiny_pair):
    recipe = load_recipe("cyclegan")
    torch.manual_seed(0)
    model = build_model("cyclegan", tiny_pair.shape, 0, 1, 1 / 16, {**recipe.objective, **TINY})
    optimizers = model.build_optimizers(recipe.optimizer)
    stream = tiny_pair.stream(4, 0, torch.device("cpu"))
    for _ in range(3):
        real_a, real_b = stream()
        g, d = snapshot(*model.generators), snapshot(*model.discriminators)
        g_logs, fake_a, fake_b = model.generator_step(real_a, real_b, optimizers)
        assert same(d, *model.discriminators) and not same(g, *model.generators)
        assert all(p.requires_grad for net in model.discriminators for p in net.parameters())
        g = snapshot(*model.generators)
        d_logs = model.discriminator_step(real_a, real_b, fake_a, fake_b, optimizers)
        assert same(g, *model.generators) and not same(d, *model.discriminators)
        logs = {**g_logs, **d_logs}
        assert set(logs) == set(LOSSES) and all(math.isfinite(v) for v in logs.values())
    # 3 steps of 4 images: the pools (3 images) are full and hold generated images.
    assert int(model.pool_a.count) == 3 and model.pool_b.images.abs().sum() > 0
    x = real_a[:2]
    out = model.translate(x, "a2b")
    assert out.shape == x.shape and out.abs().max() <= 1 and model.generator.training
    assert torch.equal(out, model.translate(x, "a2b"))
    with pytest.raises(InputError, match="translates images"):
        model.sample(2)
    with pytest.raises(InputError, match="divisible by 4"):
        build_model("cyclegan", (1, 30, 30), 0, 1, 1 / 16, {})


def test_the_networks_fit_28_and_32_pixel_images():
    for shape in ((1, 28, 28), (3, 32, 32)):
        model = build_model("cyclegan", shape, 0, 1, 1 / 16, {})
        x = torch.rand(2, *shape) * 2 - 1
        assert model.translate(x, "b2a").shape == x.shape
        assert model.discriminator_a(x).shape[-2:] == ((5, 5) if shape[1] == 28 else (6, 6))
    assert len([m for m in model.generator.modules() if type(m).__name__ == "ResidualBlock"]) == 6


def test_learning_rate_is_constant_then_decays_linearly_to_zero():
    model = build_model("cyclegan", (1, 28, 28), 0, 1, 1 / 16, TINY)
    optimizers = model.build_optimizers(load_recipe("cyclegan").optimizer)
    lrs = []
    for step in range(10):
        model.before_step(step, 10, optimizers)
        lrs.append([g["lr"] for o in optimizers.values() for g in o.param_groups])
    assert all(r == [2e-4, 2e-4] for r in lrs[:6])
    assert [r[0] for r in lrs[5:]] == pytest.approx([2e-4 * f for f in (1.0, 0.8, 0.6, 0.4, 0.2)])
    assert model.lr_factor(10, 10) == 0.0


def test_a_few_steps_train_with_finite_losses_and_resume_bit_identically(tiny_pair, tmp_path):
    straight = train(tiny_recipe(tmp_path, "a", steps=6, eval_every=3, eval_samples=0), data=tiny_pair,
                     progress=False)  # fmt: skip
    table = pd.read_csv(tmp_path / "a" / "metrics.csv")
    assert list(table["step"]) == [3, 6] and np.isfinite(table[list(LOSSES)].to_numpy()).all()
    torch.manual_seed(0)
    fresh = build_model("cyclegan", tiny_pair.shape, 0, 1, 1 / 16, {**load_recipe("cyclegan").objective, **TINY})
    trained = straight.model.state_dict()
    assert not torch.equal(fresh.state_dict()["generator.net.1.weight"], trained["generator.net.1.weight"])
    # Interrupted after its first step (the learning-rate schedule needs the same planned steps), resumed.
    recipe = tiny_recipe(tmp_path, "b", steps=6, eval_every=3, eval_samples=0)
    stopped = train(recipe, data=tiny_pair, progress=False, time_limit_s=1e-9)
    assert stopped.stopped_early and stopped.step == 1
    resumed = train(recipe, data=tiny_pair, resume=True, progress=False)
    again = resumed.model.state_dict()
    assert "pool_a.images" in again and all(torch.equal(trained[k], again[k]) for k in trained)
    assert resumed.history[-1]["loss_g"] == straight.history[-1]["loss_g"]


# --- the evaluation ----------------------------------------------------------------------------------


def test_paired_errors_of_known_differences():
    truth = torch.zeros(2, 1, 4, 4, dtype=torch.uint8)
    assert paired_errors(truth, truth.clone()) == (0.0, math.inf)
    off = truth.clone()
    off[0, 0, 0, 0] = 255  # one pixel of 32 off by 255: MSE 255^2 / 32
    l1, psnr = paired_errors(off, truth)
    assert l1 == pytest.approx(255 / 32) and psnr == pytest.approx(10 * math.log10(32))
    with pytest.raises(InputError, match="two uint8 tensors"):
        paired_errors(off.float(), truth)
    x = torch.linspace(-1, 1, 101)
    assert torch.equal(to_uint8(x), torch.clamp((x + 1) / 2 * 255 + 0.5, 0, 255).to(torch.uint8))
    assert torch.equal(to_uint8(to_float(torch.arange(256, dtype=torch.uint8))), torch.arange(256, dtype=torch.uint8))


class GroundTruth:
    """A "model" whose translations are the true counterparts: edges(x) -> x and x -> edges(x)."""

    device = torch.device("cpu")

    def __init__(self, a: torch.Tensor, b: torch.Tensor):
        self.to_b = {bytes(x.numpy()): y for x, y in zip(a, b, strict=True)}
        self.to_a = {bytes(y.numpy()): x for x, y in zip(a, b, strict=True)}

    def translate(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        table = self.to_b if direction == "a2b" else self.to_a
        return to_float(torch.stack([table[bytes(image.numpy())] for image in to_uint8(x)]))


def test_the_ground_truth_translation_scores_zero_error(extractor, tmp_path):
    evaluation = TranslationEvaluation.for_pair("fashion-edges", N, extractor, str(data_root()))
    a, b = evaluation.a, evaluation.b
    assert torch.equal(a, sobel_edges(b)) and len(a) == N
    row = evaluation.evaluate(GroundTruth(a, b))
    assert list(row) == list(KEYS) and row["n_test"] == N
    assert row["l1_a2b"] == row["l1_b2a"] == 0 and row["psnr_a2b"] == row["psnr_b2a"] == math.inf
    assert row["cycle_l1_a"] == row["cycle_l1_b"] == 0
    assert abs(row["fid_a2b"]) < 1e-3 and abs(row["fid_b2a"]) < 1e-3
    assert row["kid_a2b_mean"] < 0  # unbiased MMD^2 of a set against itself: its cross term counts k(x, x)
    assert row["fid"] == (row["fid_a2b"] + row["fid_b2a"]) / 2
    evaluation.save_view(GroundTruth(a, b), tmp_path / "grid.png", 0)
    grid = np.asarray(Image.open(tmp_path / "grid.png").convert("L"))
    assert grid.shape == (N * 30 + 2, 6 * 30 + 2)
    cell = grid[2:30, 2 + 30 : 30 + 30]  # row 0, column 1: a2b(a) = b, the true image
    assert np.array_equal(cell, b[0, 0].numpy())


@pytest.fixture(scope="module")
def run(extractor, tiny_pair, tmp_path_factory):
    """4 steps, evaluated at steps 2 and 4 on the first N test pairs by the kind's own evaluation."""
    recipe = tiny_recipe(tmp_path_factory.mktemp("cyclegan"), steps=4, eval_every=2, eval_samples=N)
    return train(recipe, data=tiny_pair, extractor=extractor, data_root=str(data_root()), progress=False)


def test_evaluation_in_the_loop_writes_every_key_the_grids_plots_and_checkpoints(run):
    out = run.out_dir
    table = pd.read_csv(out / "metrics.csv")
    assert list(table["step"]) == [2, 4] and set(KEYS) | set(LOSSES) <= set(table.columns)
    assert table[list(KEYS)].notna().all().all() and (table["n_test"] == N).all()
    assert np.isfinite(table[["fid_a2b", "fid_b2a", "l1_a2b", "psnr_b2a", "cycle_l1_a"]].to_numpy()).all()
    assert run.best_key == "fid" and run.best_value == table["fid"].min()
    names = {p.name for p in out.iterdir()}
    assert {"samples_0000002.png", "samples_0000004.png", "fid.png", "translation.png", "last.pt", "best.pt"} <= names
    assert Image.open(out / "samples_0000004.png").size == (6 * 30 + 2, N * 30 + 2)


def test_a_checkpoint_scores_like_the_last_evaluation(run, extractor, weights_with_head):
    last = run.history[-1]
    path = str(run.out_dir / "last.pt")
    options = {"extractor": extractor, "data_root": str(data_root()), "device": "cpu"}
    scores = score_own_evaluation(path, None, "fid", None, options)
    assert scores["model"] == "cyclegan@4" and scores["pair"] == "fashion-edges"
    for key in KEYS:
        assert scores[key] == last[key], key  # same test pairs, same network: the same numbers
    _, model = rebuild_model(read_checkpoint(path))
    assert all(torch.equal(v, run.model.state_dict()[k]) for k, v in model.state_dict().items())
    # The command line loads its own network (same weights, same batch size) and prints the same row.
    args = ["score", path, "--json", "--weights", str(weights_with_head), "--batch-size", "16", "--device", "cpu",
            "--data-root", str(data_root()), "--quiet"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    for key in KEYS:
        assert printed[key] == pytest.approx(last[key], rel=1e-9, abs=1e-12), key
    refused = CliRunner().invoke(main, ["score", "--ref", "fashion-mnist-test", path])
    assert refused.exit_code == 1 and "scored against its own pair's test images" in refused.output


def test_cli_pair_option_trains_a_recipe_on_the_other_pair(tmp_path):
    out = tmp_path / "mf"
    args = ["cyclegan", "--pair", "mnist-fashion", "--steps", "1", "--width", "0.0625", "--batch-size", "2",
            "--eval-samples", "0", "--set", "objective.n_blocks=1", "--out", str(out), "-q",
            "--data-root", str(data_root())]  # fmt: skip
    result = CliRunner().invoke(train_baseline, args)
    assert result.exit_code == 0, result.output
    assert read_checkpoint(out / "last.pt")["recipe"]["dataset"] == "mnist-fashion"
    clash = CliRunner().invoke(train_baseline, [*args[:3], "--dataset", "fashion-edges", "--out", str(tmp_path / "x")])
    assert clash.exit_code == 1 and "disagree" in clash.output
