"""Archives, numpy files, named datasets and slices: same pixels whatever the container; fingerprints
that change with the content and only then. No network passes here."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganeval.errors import InputError
from ganeval.loader import iterate_batches
from ganeval.sources import (
    ArraySource,
    FolderSource,
    SliceSource,
    TarSource,
    ZipSource,
    as_source,
    open_dataset,
    split_slice,
)
from tests.conftest import data_root, write_folder


def pixels(source) -> np.ndarray:
    return np.stack([source.load(i) for i in range(len(source))])


@pytest.fixture
def folder(cifar_images, tmp_path) -> Path:
    root = write_folder(cifar_images[:6], tmp_path / "imgs")
    (root / "sub").mkdir()
    Image.fromarray(cifar_images[6]).save(root / "sub" / "0006.png")
    (root / "notes.txt").write_text("not an image")
    return root


def make_zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*"), reverse=True):  # archive order differs from sorted order
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


def test_folder_zip_tar_npz_npy_yield_the_same_pixels(folder, cifar_images, tmp_path):
    expected = cifar_images[:7]
    np.savez(tmp_path / "imgs.npz", x=expected, y=np.arange(7))
    np.save(tmp_path / "imgs.npy", expected.transpose(0, 3, 1, 2))  # channel-first also accepted
    with tarfile.open(tmp_path / "imgs.tar.gz", "w:gz") as archive:
        archive.add(folder, arcname=".")
    sources = {
        "folder": as_source(folder),
        "zip": as_source(make_zip(folder, tmp_path / "imgs.zip")),
        "tar": as_source(tmp_path / "imgs.tar.gz"),
        "npz": as_source(tmp_path / "imgs.npz"),
        "npy": as_source(str(tmp_path / "imgs.npy")),
    }
    assert isinstance(sources["zip"], ZipSource) and isinstance(sources["tar"], TarSource)
    for name, source in sources.items():
        assert len(source) == 7, name
        np.testing.assert_array_equal(pixels(source), expected, err_msg=name)
    assert sources["zip"].skipped == sources["tar"].skipped == sources["folder"].skipped == 1


def test_zip_decodes_in_worker_processes(folder, tmp_path):
    source = as_source(make_zip(folder, tmp_path / "imgs.zip"))
    source.load(0)  # an open handle in the parent must not be shared with the workers
    in_workers = [img for batch in iterate_batches(source, 2, workers=2) for img in batch]
    assert len(in_workers) == 7
    np.testing.assert_array_equal(np.stack([t.permute(1, 2, 0).numpy() for t in in_workers]), pixels(source))


def test_folder_fingerprint_tracks_additions_removals_and_changes(folder, cifar_images):
    def fp(**kw) -> str:
        return FolderSource(folder, **kw).fingerprint

    base, base_verified = fp(), fp(verify=True)
    assert fp() == base and fp(verify=True) == base_verified != base  # listing again changes nothing
    (folder / "readme.md").write_text("ignored")
    assert fp() == base  # non-image files are not part of the set

    extra = folder / "0099.png"
    Image.fromarray(cifar_images[9]).save(extra)
    assert fp() != base and fp(verify=True) != base_verified
    extra.unlink()
    assert fp() == base and fp(verify=True) == base_verified

    target = folder / "0002.png"
    stat = target.stat()
    Image.fromarray(cifar_images[10]).save(target)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: only a content hash sees it
    changed_content = fp(verify=True)
    assert changed_content != base_verified
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fp() != base


def test_zip_fingerprint_tracks_members(folder, cifar_images, tmp_path):
    first = ZipSource(make_zip(folder, tmp_path / "a.zip")).fingerprint
    assert ZipSource(make_zip(folder, tmp_path / "b.zip")).fingerprint == first  # path and mtime do not matter
    Image.fromarray(cifar_images[11]).save(folder / "0001.png")
    assert ZipSource(make_zip(folder, tmp_path / "c.zip")).fingerprint != first


def test_slices(folder):
    source = as_source(folder)
    part = as_source(f"{folder}[1:5:2]")
    assert isinstance(part, SliceSource) and len(part) == 2
    np.testing.assert_array_equal(pixels(part), pixels(source)[1:5:2])
    assert as_source(f"{folder}[:3]").fingerprint == as_source(f"{folder}[0:3]").fingerprint
    assert as_source(f"{folder}[-7:3]").fingerprint == as_source(f"{folder}[:3]").fingerprint
    assert as_source(f"{folder}[:3]").fingerprint != as_source(f"{folder}[:4]").fingerprint != source.fingerprint
    assert split_slice("mnist:train[:5000]") == ("mnist:train", slice(None, 5000, None))
    assert split_slice("plain") == ("plain", None)
    with pytest.raises(InputError, match="bad slice"):
        as_source(f"{folder}[a:b]")
    with pytest.raises(InputError, match="selects no images"):
        as_source(f"{folder}[5:5]")


def test_npz_choices_and_refusals(tmp_path):
    images = np.zeros((2, 4, 4), np.uint8)
    np.savez(tmp_path / "two.npz", labels=np.arange(2), images=images)
    assert len(as_source(tmp_path / "two.npz")) == 2
    np.savez(tmp_path / "ambiguous.npz", a=images, b=images)
    with pytest.raises(InputError, match="name the images"):
        as_source(tmp_path / "ambiguous.npz")
    np.save(tmp_path / "floats.npy", images.astype(np.float32))
    with pytest.raises(InputError, match="uint8"):
        as_source(tmp_path / "floats.npy")
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(InputError, match="cannot read zip"):
        as_source(tmp_path / "broken.zip")


# --- named datasets ---------------------------------------------------------------------------------


def shared(*parts: str) -> Path:
    path = data_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found (set GANEVAL_DATA)")
    return path


def test_fashion_mnist_matches_torchvision_reader(tmp_path):
    from torchvision.datasets.mnist import read_image_file

    gz = shared("fashion-mnist", "t10k-images-idx3-ubyte.gz")
    raw = tmp_path / "t10k-images-idx3-ubyte"
    raw.write_bytes(gzip.decompress(gz.read_bytes()))
    theirs = read_image_file(str(raw)).numpy()
    source = as_source("fashion-mnist:test[:5]", data_root=data_root())
    assert len(open_dataset("fashion-mnist", "test", data_root())) == 10000
    got = pixels(source)
    assert got.shape == (5, 28, 28, 3)
    np.testing.assert_array_equal(got[..., 0], theirs[:5])
    np.testing.assert_array_equal(got[..., 2], theirs[:5])  # grey replicated
    # The same pixels from an .npz share the fingerprint: the cache sees one set of images.
    assert ArraySource(theirs).fingerprint == source.base.fingerprint


def test_cifar10_jpeg_order_is_class_then_number():
    shared("cifar10-jpeg")
    source = as_source("cifar10-jpeg:test", data_root=data_root())
    assert len(source) == 10000
    assert source.members[0] == "test/airplane/0000.jpg" and source.members[-1] == "test/truck/0999.jpg"
    assert source.members == sorted(source.members)
    with tarfile.open(data_root() / "cifar10-jpeg" / "cifar10_test_jpeg.tar.gz") as archive:
        data = archive.extractfile("test/automobile/0003.jpg").read()
    index = source.members.index("test/automobile/0003.jpg")
    with Image.open(io.BytesIO(data)) as img:
        np.testing.assert_array_equal(source.load(index), np.asarray(img.convert("RGB")))


def test_cifar10_pickle_batches(tmp_path):
    rng = np.random.default_rng(0)
    batches = {name: rng.integers(0, 256, (3, 3072), dtype=np.uint8) for name in ["test_batch"]}
    batches |= {f"data_batch_{i}": rng.integers(0, 256, (2, 3072), dtype=np.uint8) for i in range(1, 6)}
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, data in batches.items():
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": [0] * len(data)}, f)
    test = as_source("cifar10:test", data_root=tmp_path)
    np.testing.assert_array_equal(pixels(test), batches["test_batch"].reshape(3, 3, 32, 32).transpose(0, 2, 3, 1))
    train = as_source("cifar10:train[8:]", data_root=tmp_path)
    np.testing.assert_array_equal(pixels(train)[0], batches["data_batch_5"][0].reshape(3, 32, 32).transpose(1, 2, 0))


def test_missing_dataset_says_which_files_go_where(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"test_batch in .*cifar-10-batches-py.*--data-root or GANEVAL_DATA"):
        open_dataset("cifar10", "test", data_root=tmp_path, download=False)
    with pytest.raises(InputError, match=r"cifar10_train_jpeg.tar.gz in .*cifar10-jpeg.*no downloader"):
        as_source("cifar10-jpeg:train", data_root=tmp_path)

    import ganeval.sources.datasets as datasets

    def offline(root, split):
        raise OSError("network unreachable")

    monkeypatch.setitem(datasets.DATASETS, "mnist", datasets.DATASETS["mnist"].__class__(
        **{**datasets.DATASETS["mnist"].__dict__, "download": offline}))  # fmt: skip
    with pytest.raises(
        InputError,
        match=r"mnist:test needs t10k-images-idx3-ubyte in .*mnist.*downloading it with torchvision failed \(OSError",
    ):
        as_source("mnist:test", data_root=tmp_path)
    monkeypatch.setenv("GANEVAL_DATA", str(shared()))
    assert len(as_source("mnist:test[:2]")) == 2  # the environment variable names the root
    with pytest.raises(InputError, match="no dataset 'imagenet:val'"):
        as_source("imagenet:val")


def test_torchvision_layout_is_found(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(shared("fashion-mnist", "t10k-images-idx3-ubyte.gz"), raw)
    with gzip.open(raw / "t10k-images-idx3-ubyte.gz") as f:
        (raw / "t10k-images-idx3-ubyte").write_bytes(f.read())
    (raw / "t10k-images-idx3-ubyte.gz").unlink()  # torchvision keeps the extracted file
    assert len(as_source("fashion-mnist:test", data_root=tmp_path)) == 10000
