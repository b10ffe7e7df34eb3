"""Named references: the registry, fingerprint verification, and `--ref` building once then reading the
cache. One test runs the real network (16 images); the cache policy is tested with a tiny fake extractor."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import ganeval
from ganeval.errors import InputError, StatisticsError
from ganeval.features.base import Extractor
from ganeval.metrics.gaussian import gaussian_stats
from ganeval.references import load_registry, parse_registry, registry_dir, verify_reference
from tests.conftest import data_root, run_cli, write_folder

NAMES = {
    "mnist-train", "mnist-test", "fashion-mnist-train", "fashion-mnist-test",
    "cifar10-jpeg-train", "cifar10-jpeg-test", "cifar10-train", "cifar10-test",
}  # fmt: skip


def test_registry_lists_every_reference_with_its_protocol():
    registry = load_registry()
    assert set(registry.references) == NAMES
    for ref in registry.references.values():
        assert ref.mode == "tf" and ref.layer == "pool3" and ref.source.split(":")[1] in ref.name
        assert ref.n == (10000 if ref.name.endswith("test") else 50000 if "cifar" in ref.name else 60000)
    assert registry.get("fashion-mnist-test").expected("[0:8]")["n"] == 8
    with pytest.raises(InputError, match="unknown reference 'imagenet'.*mnist-train"):
        registry.get("imagenet")
    with pytest.raises(InputError, match="lacks layer"):
        parse_registry({"format": "ganeval-references/1", "references": {"x": {"source": "a", "n": 1, "mode": "tf"}}},
                       Path("."))  # fmt: skip


def test_reference_stats_folder_stays_small():
    total = sum(p.stat().st_size for p in registry_dir().rglob("*") if p.is_file())
    assert total < 30 * 2**20


def test_verification_refuses_statistics_that_do_not_match():
    registry = load_registry()
    ref = registry.get("fashion-mnist-test")
    stats = gaussian_stats(np.random.default_rng(0).normal(size=(8, 16)))
    with pytest.raises(StatisticsError, match=r"fashion-mnist-test\[0:8\] do not match the registry.*--force"):
        verify_reference(registry, ref, "[0:8]", stats)
    assert verify_reference(registry, ref, "[0:8]", stats, force=True) is False
    with pytest.raises(StatisticsError, match=r"fashion-mnist-test do not match the registry: n 8 \(expected 10000\)"):
        verify_reference(registry, ref, None, stats)
    assert verify_reference(registry, registry.get("cifar10-test"), None, stats) is False  # not measured: no check


def test_ref_slice_builds_once_then_reads_the_cache(cifar_images, tmp_path, weights_with_head, monkeypatch, counted):
    """`ganeval fid --ref fashion-mnist-test[:8] folder`: 16 images the first time, none the second."""
    if not (data_root() / "fashion-mnist").is_dir():
        pytest.skip("fashion-mnist not found (set GANEVAL_DATA)")
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    images = counted
    folder = write_folder(cifar_images[:8], tmp_path / "samples")
    args = ("fid", "--ref", "fashion-mnist-test[:8]", str(folder), "--data-root", str(data_root()),
            "--weights", str(weights_with_head), "--device", "cpu", "--json", "--quiet")  # fmt: skip
    code, out, err = run_cli(*args)
    assert code == 0, err
    first = json.loads(out)
    assert sum(images) == 16 and first["n_real"] == first["n_fake"] == 8
    images.clear()
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert sum(images) == 0 and json.loads(out) == first  # read from the cache, verified again
    code, out, _ = run_cli("refs", "list", "--json")
    rows = {row["name"]: row for row in map(json.loads, out.splitlines())}
    assert set(rows) == NAMES and rows["cifar10-train"]["fingerprint"] is None
    assert rows["mnist-train"]["fingerprint"] == {"n": 60000, "trace_sigma": 103.509, "mu_norm": 18.119}

    # A registry whose fingerprint disagrees refuses the cached statistics (--force: test above).
    registry = tmp_path / "registry"
    shutil.copytree(registry_dir(), registry)
    manifest = json.loads((registry / "manifest.json").read_text())
    manifest["references"]["fashion-mnist-test"]["slices"]["[0:8]"]["trace_sigma"] *= 1.01
    (registry / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("GANEVAL_REFERENCES", str(registry))
    code, _, err = run_cli(*args)
    assert code == 1 and "do not match the registry: trace_sigma" in err and "Traceback" not in err
    code, _, err = run_cli("fid", "--ref", "no-such-ref", str(folder))
    assert code == 1 and "unknown reference 'no-such-ref'" in err


class FakeExtractor(Extractor):
    """Stands in for the network: 2048 features from a fixed projection of 4x4 thumbnails; counts the images
    of each forward pass (one pass per input: the batch holds them all)."""

    network, space, layer, mode, protocol = "inception", "inception", "pool3", "tf", "tf"
    precision = "strict"
    weights_sha256 = "0" * 64
    weights_path = "fake"
    dim = 2048
    batch_size = 1000
    device = torch.device("cpu")

    def __init__(self):
        self.calls: list[int] = []
        self.projection = torch.from_numpy(np.random.default_rng(0).normal(size=(48, 2048)))

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.adaptive_avg_pool2d(images.double(), 4).flatten(1)

    def _taps(self, x: torch.Tensor, taps: tuple[str, ...], with_logits: bool) -> dict[str, torch.Tensor]:
        self.calls.append(len(x))
        return {"pool3": (x @ self.projection).float()}


@pytest.mark.parametrize("cache,folder_cached", [(None, False), (True, True), (False, False)])
def test_api_cache_policy(cache, folder_cached, cifar_images, tmp_path):
    """API default: named datasets and references are cached, image folders (samples) are not (KID: features)."""
    if not (data_root() / "mnist").is_dir():
        pytest.skip("mnist not found (set GANEVAL_DATA)")
    fake = FakeExtractor()
    folder = write_folder(cifar_images[:5], tmp_path / "samples")
    options = {"extractor": fake, "cache": cache, "cache_dir": str(tmp_path / "cache"), "data_root": str(data_root())}
    first = ganeval.score("mnist:test[:6]", folder, ("kid",), kid_subset_size=3, kid_subsets=5, **options)
    second = ganeval.score("mnist:test[:6]", folder, ("kid",), kid_subset_size=3, kid_subsets=5, **options)
    assert first == second
    dataset_cached = cache is not False
    assert fake.calls == [6, 5] + [6] * (not dataset_cached) + [5] * (not folder_cached)


@pytest.mark.parametrize("name", ["mnist-test", "fashion-mnist-test", "cifar10-jpeg-test"])
def test_committed_reference_files_match_the_registry(name, headless_weights):
    """The files built on the GPU machine load, carry the protocol, match their fingerprints, and were made
    with the weights a new user gets here, so `--ref NAME` needs no pass over the images."""
    from ganeval.inception.weights import read_state_dict, trunk_digest
    from ganeval.references import committed_file
    from ganeval.statsfile import load_stats

    registry = load_registry()
    ref = registry.get(name)
    path = committed_file(registry, ref)
    assert path is not None and path.stat().st_size < 10 * 2**20
    loaded = load_stats(path)
    assert loaded.stats.n == ref.n == ref.fingerprint["n"]
    assert verify_reference(registry, ref, None, loaded.stats)  # True: a fingerprint was checked and matched
    assert (loaded.meta["mode"], loaded.meta["layer"], loaded.meta["precision"]) == ("tf", "pool3", "strict")
    assert loaded.meta["weights_sha256"] == trunk_digest(read_state_dict(headless_weights))
