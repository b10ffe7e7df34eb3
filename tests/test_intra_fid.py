"""intra-FID: the mean of per-class FIDs, from labelled datasets, class folders, labels and conditional models."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

import ganeval
from ganeval.cli import main
from ganeval.errors import InputError
from tests.conftest import data_root, write_folder

CLASSES = 2  # each class costs an FID: two 2048 x 2048 eigendecompositions on the CPU
PER_CLASS = 4


@pytest.fixture(scope="module")
def labelled(cifar_images):
    """8 real and 8 generated CIFAR images, 4 of each of 2 classes (the exact subset's own labels)."""
    data = np.load(data_root() / "cifar10-exact-subset" / "cifar10_train_first4000.npz")
    images, labels = data["x"], data["y"]
    picks = {c: np.flatnonzero(labels == c)[: 2 * PER_CLASS] for c in range(CLASSES)}
    real = np.concatenate([images[picks[c][:PER_CLASS]] for c in range(CLASSES)])
    fake = np.concatenate([images[picks[c][PER_CLASS:]] for c in range(CLASSES)])
    classes = np.repeat(np.arange(CLASSES), PER_CLASS)
    return real, fake, classes


def test_intra_fid_is_the_mean_of_per_class_fids(labelled, extractor, tmp_path):
    real, fake, classes = labelled
    options = {"extractor": extractor, "progress": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 4 images per class: rank-deficient by design
        value, per_class = ganeval.intra_fid(real, fake, real_labels=classes, fake_labels=classes, **options)
        expected = {str(c): ganeval.fid(real[classes == c], fake[classes == c], **options) for c in range(CLASSES)}
        # A folder with one subfolder per class gives the same classes (named by their folders).
        folder = tmp_path / "fake"
        for c in range(CLASSES):
            write_folder(fake[classes == c], folder / str(c))
        from_folder = ganeval.score(real, folder, ("intra_fid", "fid"), real_labels=classes, **options)
    assert per_class == pytest.approx(expected, rel=1e-9)
    assert value == pytest.approx(np.mean(list(expected.values())), rel=1e-12)
    assert from_folder["fid_per_class"] == pytest.approx(per_class, rel=1e-9)
    assert from_folder["fid"] == pytest.approx(ganeval.fid(real, fake, **options), rel=1e-9)


def test_classes_must_match_and_exist(labelled, extractor):
    real, fake, classes = labelled
    options = {"extractor": extractor, "progress": False}
    with pytest.raises(InputError, match="no labels known"):
        ganeval.intra_fid(real, fake, real_labels=classes, **options)
    with pytest.raises(InputError, match="generated classes 7 have no real images"):
        ganeval.intra_fid(real, fake, real_labels=classes, fake_labels=np.where(classes == 1, 7, classes), **options)
    with pytest.raises(InputError, match="8 labels for 7 images"):
        ganeval.intra_fid(real, fake[:7], real_labels=classes, fake_labels=classes, **options)


def test_a_labelled_dataset_reference_is_split_by_class_and_cached(tmp_path, weights_with_head, monkeypatch, counted):
    """`ganeval score cifar10-jpeg:test[...] FAKE_FOLDER --metrics intra_fid`: the reference's classes come from
    the dataset; each class's statistics are cached, so a second run passes only the generated images."""
    if not (data_root() / "cifar10-jpeg").is_dir():
        pytest.skip("cifar10-jpeg not found (set GANEVAL_DATA)")
    monkeypatch.setenv("GANEVAL_CACHE", str(tmp_path / "cache"))
    seen = counted
    source = ganeval.open_dataset("cifar10-jpeg", "test", data_root=data_root())
    classes = ganeval.dataset_labels("cifar10-jpeg", "test", data_root=data_root())
    spec = "cifar10-jpeg:test[:3000:250]"  # 12 images, 4 of each of the first 3 classes (ordered by class)
    picked = np.arange(0, 3000, 250)
    assert np.bincount(classes[picked]).tolist() == [4] * 3
    fake = tmp_path / "fake"
    for c in range(3):  # three other images of each class
        mine = np.flatnonzero(classes == c)[[1, 2, 3]]
        write_folder(np.stack([source.load(int(i)) for i in mine]), fake / str(c))
    args = ["score", spec, str(fake), "--metrics", "intra_fid", "--data-root", str(data_root()), "--weights",
            str(weights_with_head), "--device", "cpu", "--json", "-q"]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert sum(seen) == 12 + 9
    seen.clear()
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0 and sum(seen) == 0  # both sides cached by the command line
    result = json.loads(second.stdout)
    assert set(result["fid_per_class"]) == {"0", "1", "2"} and result["n_fake"] == 9
    assert result["intra_fid"] == pytest.approx(np.mean(list(result["fid_per_class"].values())))
