"""The 2-D mixtures: the mode metrics on known samples, the adversarial recipes on MLPs, their evaluation
in the loop and from a checkpoint (`ganeval score CHECKPOINT`). No Inception network runs here."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner

import ganeval
from ganeval.baselines import build_model, load_recipe, read_checkpoint, train
from ganeval.baselines.mixtures import MIXTURES, PointData, PointEvaluation, get_mixture, point_metrics
from ganeval.baselines.recipe import for_dataset, override
from ganeval.cli import main
from ganeval.errors import InputError

ADVERSARIAL = ("gan", "wgan", "wgan-gp", "sngan")


def true_samples(name: str, n: int = 2500, seed: int = 0) -> np.ndarray:
    return get_mixture(name).sample(n, torch.Generator().manual_seed(seed)).double().numpy()


@pytest.mark.parametrize("name,modes", [("ring8", 8), ("grid25", 25)])
def test_the_true_mixture_covers_every_mode_with_high_quality(name, modes):
    mixture = get_mixture(name)
    scores = mixture.scores(true_samples(name))
    assert len(mixture.means) == modes and scores.modes_covered == modes
    assert scores.high_quality > 0.98  # P(|x - mu| <= 3 std) = 1 - exp(-4.5) = 0.989 for a 2-D Gaussian
    assert 0 <= scores.reverse_kl < 0.02 and scores.counts.sum() == round(scores.high_quality * 2500)


def test_the_mixture_geometry_is_the_papers():
    ring, grid = MIXTURES["ring8"], MIXTURES["grid25"]
    assert np.allclose(np.linalg.norm(ring.means, axis=1), 2.0) and ring.std == 0.02
    assert sorted(set(grid.means[:, 0].round(6))) == [-4, -2, 0, 2, 4] and grid.std == 0.05


def test_samples_of_one_mode_cover_one_mode_and_have_the_largest_reverse_kl():
    mixture = get_mixture("grid25")
    one = mixture.means[7] + mixture.std * np.random.default_rng(0).normal(size=(2500, 2))
    scores = ganeval.mode_scores(one, mixture.means, mixture.std)
    assert scores.modes_covered == 1 and scores.counts[7] == scores.counts.sum()
    assert scores.reverse_kl == pytest.approx(math.log(25))


def test_points_far_from_every_mode_are_never_high_quality():
    mixture = get_mixture("ring8")
    far = np.random.default_rng(1).uniform(-0.5, 0.5, size=(500, 2)) + np.array([10.0, 10.0])
    scores = mixture.scores(far)
    assert scores.high_quality == 0 and scores.modes_covered == 0
    # Between two ring modes, 1 std outside the 3-std disc: nearest mode assigned, not high quality.
    midway = np.repeat(mixture.means[:2].mean(axis=0, keepdims=True), 30, axis=0)
    assert mixture.scores(midway).high_quality == 0


def test_modes_need_min_count_high_quality_samples():
    mixture = get_mixture("ring8")
    points = np.repeat(mixture.means, [40, 40, 40, 40, 40, 40, 40, 19], axis=0)
    assert mixture.scores(points).modes_covered == 7
    assert ganeval.mode_scores(points, mixture.means, mixture.std, min_count=19).modes_covered == 8
    with pytest.raises(InputError, match="N x D"):
        ganeval.mode_scores(np.zeros(5), mixture.means, mixture.std)
    with pytest.raises(InputError, match="NaN"):
        ganeval.mode_scores(np.full((3, 2), np.nan), mixture.means, mixture.std)


def test_point_metrics_of_the_true_mixture_match_prdc_and_fd():
    from prdc import compute_prdc

    mixture = get_mixture("ring8")
    evaluation = PointEvaluation(mixture, 1000, seed=3)
    fake = true_samples("ring8", 1000, seed=11)
    ours = point_metrics(mixture, fake, evaluation.real)
    theirs = compute_prdc(evaluation.real, fake, nearest_k=5)
    assert ours["density"] == pytest.approx(theirs["density"], abs=1e-12)
    assert ours["coverage"] == pytest.approx(theirs["coverage"], abs=1e-12)
    assert ours["recall"] > 0.9 and ours["precision"] > 0.9 and 0 <= ours["fd"] < 0.01


def test_the_best_mixture_model_covers_modes_before_it_spreads_mass():
    """Issue 22: on ring8 the lowest reverse KL was a diffuse blob between the modes (step 500: no mode, no
    high-quality sample, reverse KL 1.497) rather than a model on one mode (step 3000: 1 mode, 91.2 % high
    quality, reverse KL 2.079). The papers rank modes first, then the high-quality share, then reverse KL."""
    evaluation = PointEvaluation(get_mixture("ring8"), 6, seed=0)
    blob = {"step": 500, "modes_covered": 0, "high_quality": 0.0, "reverse_kl": 1.497}
    one_mode = {"step": 3000, "modes_covered": 1, "high_quality": 0.912, "reverse_kl": 2.079}
    assert evaluation.best_row([blob, one_mode]) is one_mode
    sharper = {**one_mode, "step": 3500, "high_quality": 0.95, "reverse_kl": 2.08}
    spread = {**one_mode, "step": 4000, "reverse_kl": 1.9}
    assert evaluation.best_row([one_mode, sharper]) is sharper  # same modes: the higher high-quality share
    assert evaluation.best_row([one_mode, spread]) is spread  # and with equal shares, the lower reverse KL
    assert evaluation.best_row([one_mode, {**one_mode, "step": 4500}]) is one_mode  # a tie keeps the earlier
    assert evaluation.best_row([{**blob, "modes_covered": float("nan")}, blob]) is blob  # NaN is never best
    assert evaluation.describe_best(one_mode) == "step 3000 (modes_covered 1, high_quality 0.912, reverse_kl 2.079)"


def tiny_points(name: str, dataset: str, tmp_path, **changes):
    recipe = for_dataset(load_recipe(name), dataset)
    return override(recipe, width=1 / 8, batch_size=32, z_dim=8, out=str(tmp_path / f"{dataset}-{name}"), **changes)


def test_the_points_table_replaces_the_image_settings():
    recipe = for_dataset(load_recipe("wgan-gp"), "grid25")
    assert (recipe.dataset, recipe.steps, recipe.batch_size, recipe.eval_samples) == ("grid25", 3000, 256, 2500)
    assert recipe.optimizer.lr == 1e-4 and recipe.objective["n_critic"] == 5
    assert for_dataset(load_recipe("wgan-gp"), "fashion-mnist").steps == load_recipe("wgan-gp").steps
    with pytest.raises(InputError, match="trains on images"):
        build_model("vae", (2,), 0, 8, 1.0, {})
    with pytest.raises(InputError, match="have no classes"):
        build_model("cgan", (2,), 10, 8, 1.0, {})


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_each_adversarial_recipe_updates_d_then_g_on_points(name):
    recipe = for_dataset(load_recipe(name), "ring8")
    torch.manual_seed(0)
    model = build_model(recipe.model, (2,), 0, 8, 0.25, recipe.objective)
    optimizers = model.build_optimizers(recipe.optimizer)
    stream = PointData(get_mixture("ring8")).stream(32, 0, torch.device("cpu"))

    def snapshot(net):
        return [p.detach().clone() for p in net.parameters()]

    def same(before, net):
        return all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))

    for _ in range(2):
        g, d = snapshot(model.generator), snapshot(model.discriminator)
        d_logs, batch = model.discriminator_step(stream, optimizers)
        assert same(g, model.generator) and not same(d, model.discriminator)
        d = snapshot(model.discriminator)
        g_logs = model.generator_step(batch, optimizers)
        assert same(d, model.discriminator) and not same(g, model.generator)
        assert all(np.isfinite(v) for v in {**d_logs, **g_logs}.values())
    assert model.sample(5).shape == (5, 2)


@pytest.fixture(scope="module")
def point_run(tmp_path_factory):
    recipe = tiny_points("sngan", "grid25", tmp_path_factory.mktemp("points"), steps=40, eval_every=20,
                         eval_samples=300)  # fmt: skip
    return train(recipe, progress=False)


def test_training_on_points_writes_the_mode_metrics_and_plots(point_run):
    out = point_run.out_dir
    table = pd.read_csv(out / "metrics.csv")
    assert list(table["step"]) == [20, 40]
    keys = {"modes_covered", "high_quality", "reverse_kl", "fd", "precision", "recall", "density", "coverage"}
    assert keys <= set(table.columns) and table[list(keys)].notna().all().all()
    # best.pt: the most modes, then the most high-quality samples, then the lowest reverse KL (a stable sort
    # keeps the earliest of equal rows, as the trainer does).
    ranked = table.sort_values(["modes_covered", "high_quality", "reverse_kl"], ascending=[False, False, True],
                               kind="stable")  # fmt: skip
    best = read_checkpoint(out / "best.pt")
    assert best["step"] == ranked["step"].iloc[0] and best["best"]["step"] == best["step"]
    assert point_run.best_key == "modes_covered" and point_run.best_value == ranked["modes_covered"].iloc[0]
    names = {p.name for p in out.iterdir()}
    assert {"samples_0000020.png", "samples_0000040.npy", "training.png", "modes.png", "best.pt"} <= names


def test_a_points_checkpoint_scores_like_the_last_evaluation(point_run):
    result = CliRunner().invoke(main, ["score", str(point_run.out_dir / "last.pt"), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    last = point_run.history[-1]
    assert scores["n_fake"] == 300 and scores["model"] == "sngan@40"
    for key in ("modes_covered", "high_quality", "reverse_kl", "fd", "recall", "coverage"):
        assert scores[key] == pytest.approx(last[key], rel=1e-12, abs=1e-12), key
    refused = CliRunner().invoke(main, ["score", "--ref", "fashion-mnist-test", str(point_run.out_dir / "last.pt")])
    assert refused.exit_code == 1 and "scored against its own mixture" in refused.output


def test_a_points_run_resumes_bit_identically(tmp_path):
    straight = train(tiny_points("wgan-gp", "ring8", tmp_path / "a", steps=6, eval_every=3, eval_samples=50),
                     progress=False)  # fmt: skip
    train(tiny_points("wgan-gp", "ring8", tmp_path / "b", steps=3, eval_every=3, eval_samples=50), progress=False)
    resumed = train(tiny_points("wgan-gp", "ring8", tmp_path / "b", steps=6, eval_every=3, eval_samples=50),
                    resume=True, progress=False)  # fmt: skip
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.history[-1]["reverse_kl"] == resumed.history[-1]["reverse_kl"]
