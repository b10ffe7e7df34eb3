"""The feature space as a recorded setting: registry, settings, and what holds for Inception holding in every
space (cache round trip, Scorer equals score, statistics files refused across spaces, benchmark resumes).

Parametrised over the spaces with seeded weights in small configurations (`space_weights` in conftest), so
the plumbing of each network is exercised without the cost of the official sizes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ganeval
from ganeval.config import make_settings
from ganeval.errors import InputError, StatisticsError
from ganeval.features.spaces import SPACES, get_space, parse_space
from ganeval.results import metric_view
from tests.conftest import TINY_SPACES, run_cli, write_folder

N = 6  # images per side: VGG16 at 224 x 224 costs ~15 GFLOPs an image


def weights_for(space: str, space_weights, weights_with_head) -> dict:
    return {space: weights_with_head if get_space(space).network == "inception" else space_weights[space]}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank-deficient covariances of 6 images
        yield


# ---------------------------------------------------------------- registry and settings (no network)


def test_every_space_names_a_known_network_and_modes():
    names = {"inception", "inception-spatial", "vgg16", "clip-vit-b-32", "clip-vit-b-16", "clip-vit-l-14",
             "clip-vit-l-14-336", "dinov2-vit-s-14", "dinov2-vit-b-14", "dinov2-vit-l-14",
             "dinov2-vit-g-14"}  # fmt: skip
    assert names == set(SPACES)
    assert get_space("dinov2-vit-l-14").default_mode == "edm2" and get_space("vgg16").modes == ("tf",)
    assert parse_space("vgg16:fc2") == ("vgg16", "fc2") and parse_space("vgg16") == ("vgg16", "fc2_relu")
    with pytest.raises(InputError, match="has no layer 'fc3'"):
        parse_space("vgg16:fc3")


def test_metrics_read_their_own_space_and_the_generic_ones_follow_features():
    s = make_settings(features="dinov2-vit-b-14", mode="pil")
    assert metric_view("fid", s).label == "inception/pool3/tf"
    assert metric_view("fd", s).label == "dinov2-vit-b-14/cls/pil"
    assert metric_view("fd_dinov2", s).label == "dinov2-vit-l-14/cls/edm2"
    assert metric_view("cmmd", s).label == "clip-vit-l-14-336/embed/cmmd"
    assert metric_view("sfid", make_settings(mode="clean")).label == "inception-spatial/mixed_6/conv/clean"
    with pytest.raises(InputError, match="fd_dinov2 is defined in dinov2-vit-l-14's 'edm2' mode"):
        metric_view("fd_dinov2", make_settings(mode={"dinov2-vit-l-14": "pil"}))
    with pytest.raises(InputError, match="mode 'clean' is not one of dinov2-vit-l-14's"):
        make_settings(features="dinov2-vit-l-14", mode="clean")


def test_one_weights_file_for_several_networks_is_refused(cifar_images):
    with pytest.raises(InputError, match="--weights FILE is ambiguous: this call reads inception, vgg16"):
        ganeval.score(cifar_images[:4], cifar_images[4:8], "fid,pr", features="vgg16", weights="x.pth")


def test_command_line_names_spaces_and_refuses_unknown_ones():
    code, out, _ = run_cli("spaces")
    assert code == 0 and all(name in out for name in SPACES)
    code, _, err = run_cli("score", "a", "b", "--features", "dinov3")
    assert code == 1 and "unknown feature space 'dinov3'" in err and "Traceback" not in err


def test_a_missing_weights_file_says_how_to_get_it(tmp_path, monkeypatch):
    from ganeval.errors import WeightsError
    from ganeval.features.weights import resolve

    monkeypatch.setenv("GANEVAL_HOME", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsError) as info:
        resolve("dinov2-vit-l-14", download=False)
    message = str(info.value)
    assert "ganeval weights fetch dinov2-vit-l-14" in message and "dinov2_vitl14_pretrain.pth" in message
    assert "https://dl.fbaipublicfiles.com/dinov2/dinov2_vitl14/dinov2_vitl14_pretrain.pth" in message


def test_weights_import_checks_the_layout_and_digests_are_remembered(space_weights, tmp_path, monkeypatch):
    from ganeval.errors import WeightsError
    from ganeval.features.weights import file_digest, import_file, resolve, sha256_file

    monkeypatch.setenv("GANEVAL_HOME", str(tmp_path))
    with pytest.raises(WeightsError, match="is not a DINOv2 backbone file"):
        import_file("dinov2-vit-s-14", space_weights["vgg16"])
    stored = import_file("dinov2-vit-s-14", space_weights["dinov2-vit-s-14"])
    assert stored.name == "dinov2-vit-s-14-imported.pth" and resolve("dinov2-vit-s-14", download=False) == stored
    assert file_digest(stored) == sha256_file(stored)
    assert (tmp_path / "weights" / ".sha256.json").is_file()


# ---------------------------------------------------------------- what holds for Inception holds in every space


@pytest.fixture(scope="module")
def sides(cifar_images, tmp_path_factory) -> tuple:
    base = tmp_path_factory.mktemp("space-sides")
    return write_folder(cifar_images[:N], base / "real"), write_folder(cifar_images[N : 2 * N], base / "fake")


@pytest.mark.parametrize("space", (*TINY_SPACES, "vgg16"))
def test_cache_round_trip_in_every_space(space, sides, space_weights, weights_with_head, counted, tmp_path):
    real, fake = sides
    options = {"features": space, "weights": weights_for(space, space_weights, weights_with_head), "cache": True,
               "cache_dir": str(tmp_path), "device": "cpu", "progress": False, "kid_subset_size": 3}  # fmt: skip
    first = ganeval.score(real, fake, "fd,kd", **options)
    assert sum(counted) == 2 * N
    second = ganeval.score(real, fake, "fd,kd", **options)
    assert sum(counted) == 2 * N, "the second run must read everything from the cache"
    assert first == second and first["features"] == space
    assert first["spaces"]["fd"]["features"] == space


@pytest.mark.parametrize("space", TINY_SPACES)
def test_scorer_equals_score_in_every_space(space, sides, cifar_images, space_weights, weights_with_head):
    real, _ = sides
    fake = cifar_images[N : 2 * N]
    options = {"features": space, "weights": weights_for(space, space_weights, weights_with_head), "device": "cpu",
               "progress": False, "kid_subset_size": 3, "cache": False}  # fmt: skip
    whole = ganeval.score(real, fake, "fd,kd,pr", **options)
    scorer = ganeval.Scorer(("fd", "kd", "pr"), reference=real, **options)
    import torch

    images = torch.from_numpy(fake).permute(0, 3, 1, 2)
    scorer.update(images[:2])
    scorer.update(images[2:])
    streamed = scorer.compute()
    # The transformers' and VGG's float32 matrix products take other kernels for batches of 2 and 4 than for
    # 6 (features move by ~1e-7 relative); Inception's convolutions do not.
    rel = 1e-9 if get_space(space).network == "inception" else 1e-6
    for key in ("fd", "kd_mean", "precision", "recall"):
        assert streamed[key] == pytest.approx(whole[key], rel=rel, abs=1e-12), key


@pytest.mark.parametrize("space", TINY_SPACES)
def test_statistics_file_is_refused_in_another_space(space, sides, space_weights, weights_with_head, tmp_path):
    real, fake = sides
    weights = weights_for(space, space_weights, weights_with_head)
    path = tmp_path / "stats.npz"
    ganeval.compute_stats(real, path, features=space, weights=weights, device="cpu", progress=False)
    own = ganeval.score(path, fake, "fd", features=space, weights=weights, device="cpu", progress=False)
    again = ganeval.score(real, fake, "fd", features=space, weights=weights, device="cpu", progress=False)
    assert own["fd"] == pytest.approx(again["fd"], rel=1e-9)
    other = "inception" if space != "inception" else "inception-spatial"
    with pytest.raises(StatisticsError, match=f"features={space} \\(requested {other}\\)"):
        ganeval.score(path, fake, "fd", features=other, weights={other: weights_with_head}, device="cpu",
                      progress=False)  # fmt: skip


@pytest.mark.parametrize("space", TINY_SPACES)
def test_benchmark_records_the_space_and_resumes(space, sides, space_weights, weights_with_head, counted, tmp_path):
    from ganeval.benchmark import Benchmark, expand_inputs
    from ganeval.records import read_records

    real, fake = sides
    options = {"features": space, "weights": weights_for(space, space_weights, weights_with_head), "device": "cpu",
               "cache_dir": str(tmp_path / "cache")}  # fmt: skip
    out = tmp_path / "records.jsonl"
    bench = Benchmark(str(real), "fd", progress=False, **options)
    records, failures = bench.run(expand_inputs([str(fake), str(real)]), out)
    assert failures == 0 and len(records) == 2 and sum(counted) == 2 * N  # the reference is its own second input
    assert records[0]["settings"]["features"] == space and records[0]["metrics"]["features"] == space
    before = sum(counted)
    again = Benchmark(str(real), "fd", progress=False, **options).run(expand_inputs([str(fake), str(real)]), out)[0]
    assert sum(counted) == before and len(read_records(out)) == 2 and again == records
    other = Benchmark(str(real), "fd", progress=False, **{**options, "features": "inception",
                                                          "weights": {"inception": weights_with_head}})  # fmt: skip
    assert other.key != bench.key or space == "inception"
    np.testing.assert_allclose(records[1]["metrics"]["fd"], 0.0, atol=1e-9)


def test_four_spaces_in_one_command_with_weights_per_network(cifar_images, space_weights, weights_with_head, tmp_path,
                                                             counted):  # fmt: skip
    """The issue's command: fid, fd_dinov2, cmmd and sfid in one call, `--weights NAME=FILE` per network (small
    seeded DINOv2 and CLIP files in the official layouts), every space and its weights recorded in the JSON,
    every image through each network once (Inception's pool3 and sFID taps share one forward pass)."""
    import hashlib
    import json

    real = write_folder(cifar_images[:10], tmp_path / "real")
    fake = write_folder(cifar_images[10:20], tmp_path / "fake")
    dinov2, clip = space_weights["dinov2-vit-s-14"], space_weights["clip-vit-l-14-336"]
    code, out, err = run_cli("score", str(real), str(fake), "--metrics", "fid,fd_dinov2,cmmd,sfid",
                             "--weights", f"dinov2-vit-l-14={dinov2}", "--weights", f"clip-vit-l-14-336={clip}",
                             "--weights", f"inception={weights_with_head}", "--device", "cpu", "--json", "-q",
                             "--no-cache")  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert all(got[key] > 0 for key in ("fid", "fd_dinov2", "cmmd", "sfid"))
    spaces = {key: (v["features"], v["mode"]) for key, v in got["spaces"].items()}
    assert spaces == {"fid": ("inception", "tf"), "fd_dinov2": ("dinov2-vit-l-14", "edm2"),
                      "cmmd": ("clip-vit-l-14-336", "cmmd"), "sfid": ("inception-spatial", "tf")}  # fmt: skip
    assert got["spaces"]["fd_dinov2"]["weights_sha256"] == hashlib.sha256(dinov2.read_bytes()).hexdigest()
    assert got["spaces"]["cmmd"]["weights_sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    assert sum(counted) == 3 * 20  # 20 images through Inception, DINOv2 and CLIP, once each
