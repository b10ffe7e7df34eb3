"""Sources, the RGB conversion rule and the batch loader, on tiny images written to tmp_path."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganeval.errors import BadImageError, InputError
from ganeval.loader import LoadReport, iterate_batches
from ganeval.sources import ArraySource, FolderSource, ImageSource, as_source, to_rgb_uint8
from tests.conftest import save_image as write

RNG = np.random.default_rng(0)


def random_rgb(h: int = 6, w: int = 5) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def all_images(source: ImageSource) -> list[np.ndarray]:
    return [source.load(i) for i in range(len(source))]


# --- folder listing ---------------------------------------------------------------------------------


def test_folder_lists_recursively_sorted_skipping_hidden_and_counting_others(tmp_path):
    for rel in ["b.png", "a/z.jpg", "a/b/c.BMP", "A.JPEG", "c.WebP", ".hidden.png", ".cache/x.png"]:
        write(tmp_path / rel, random_rgb())
    for rel in ["notes.txt", "a/labels.csv", "a/b/noext"]:
        (tmp_path / rel).write_text("x")

    source = FolderSource(tmp_path)

    assert source.files == ["A.JPEG", "a/b/c.BMP", "a/z.jpg", "b.png", "c.WebP"]
    assert source.skipped == 3
    assert source.describe(3) == str(tmp_path / "b.png")
    assert len(FolderSource(tmp_path, extensions=(".PNG",))) == 1


def test_folder_errors(tmp_path):
    with pytest.raises(InputError, match="no such folder"):
        FolderSource(tmp_path / "missing")
    file = write(tmp_path / "one.png", random_rgb())
    with pytest.raises(InputError, match="not a folder"):
        FolderSource(file)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no images \(png, jpg, jpeg, webp, bmp\) found in"):
        FolderSource(empty)
    (empty / "readme.txt").write_text("x")
    write(empty / ".hidden.png", random_rgb())
    with pytest.raises(InputError, match="1 other files ignored"):
        FolderSource(empty)


def test_sources_pickle(tmp_path):
    write(tmp_path / "a.png", random_rgb())
    for source in [FolderSource(tmp_path), ArraySource(random_rgb()[None])]:
        clone = pickle.loads(pickle.dumps(source))
        assert clone.fingerprint == source.fingerprint
        np.testing.assert_array_equal(clone.load(0), source.load(0))


# --- the conversion rule ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "1"])
def test_pil_modes_follow_pil_convert(tmp_path, mode):
    rgba = RNG.integers(0, 256, size=(7, 9, 4), dtype=np.uint8)
    image = Image.fromarray(rgba, "RGBA")
    image = image.convert(mode) if mode != "P" else image.convert("RGB").quantize(16)
    path = write(tmp_path / "x.png", image)

    loaded = FolderSource(tmp_path).load(0)

    assert loaded.dtype == np.uint8 and loaded.shape == (7, 9, 3) and loaded.flags.c_contiguous
    with Image.open(path) as reference:
        assert reference.mode == mode
        np.testing.assert_array_equal(loaded, np.asarray(reference.convert("RGB")))
    if mode == "RGBA":  # alpha dropped, not composited
        np.testing.assert_array_equal(loaded, rgba[:, :, :3])


def test_16_bit_grey_png_is_scaled_not_clipped(tmp_path):
    grey = RNG.integers(0, 65536, size=(4, 5), dtype=np.uint16)
    grey[0, :3] = [0, 255, 65535]
    write(tmp_path / "deep.png", Image.fromarray(grey))
    with Image.open(tmp_path / "deep.png") as image:
        assert image.mode in ("I;16", "I")

    loaded = FolderSource(tmp_path).load(0)

    assert loaded.shape == (4, 5, 3) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, np.repeat((grey >> 8).astype(np.uint8)[:, :, None], 3, axis=2))
    assert list(loaded[0, :3, 0]) == [0, 0, 255]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = write(tmp_path / "cmyk.jpg", Image.fromarray(random_rgb(8, 8)).convert("CMYK"))
    with Image.open(path) as image:
        assert image.mode == "CMYK"
        expected = np.asarray(image.convert("RGB"))
    loaded = FolderSource(tmp_path).load(0)
    assert loaded.shape == (8, 8, 3)
    np.testing.assert_array_equal(loaded, expected)


def test_to_rgb_uint8_layouts():
    rgba = RNG.integers(0, 256, size=(5, 6, 4), dtype=np.uint8)
    grey = rgba[:, :, 0]
    expected_grey = np.repeat(grey[:, :, None], 3, axis=2)
    np.testing.assert_array_equal(to_rgb_uint8(grey), expected_grey)
    np.testing.assert_array_equal(to_rgb_uint8(grey[:, :, None]), expected_grey)
    np.testing.assert_array_equal(to_rgb_uint8(grey[None]), expected_grey)
    np.testing.assert_array_equal(to_rgb_uint8(rgba), rgba[:, :, :3])
    np.testing.assert_array_equal(to_rgb_uint8(rgba.transpose(2, 0, 1)), rgba[:, :, :3])
    assert to_rgb_uint8(rgba.transpose(2, 0, 1)).flags.c_contiguous
    with pytest.raises(InputError, match="uint8"):
        to_rgb_uint8(grey.astype(np.float32))
    with pytest.raises(InputError, match="channels"):
        to_rgb_uint8(np.zeros((5, 6, 2), np.uint8))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_array_layouts_agree(channels):
    nhwc = RNG.integers(0, 256, size=(3, 6, 7, channels), dtype=np.uint8)
    expected = np.repeat(nhwc, 3, axis=3) if channels == 1 else nhwc[..., :3]

    variants = [nhwc, nhwc.transpose(0, 3, 1, 2), torch.from_numpy(nhwc).permute(0, 3, 1, 2)]
    if channels == 1:
        variants += [nhwc[..., 0], torch.from_numpy(nhwc[..., 0])]
    for data in variants:
        source = ArraySource(data)
        assert len(source) == 3 and source.describe(2) == "array[2]"
        np.testing.assert_array_equal(np.stack(all_images(source)), expected)
        assert source.load(1).flags.c_contiguous


def test_array_shape_errors():
    with pytest.raises(InputError, match=r"\(0, 4, 4, 3\)"):
        ArraySource(np.zeros((0, 4, 4, 3), np.uint8))
    with pytest.raises(InputError, match=r"\(4, 4\)"):
        ArraySource(np.zeros((4, 4), np.uint8))
    with pytest.raises(InputError, match=r"\(2, 5, 4, 6\)"):
        ArraySource(np.zeros((2, 5, 4, 6), np.uint8))
    with pytest.raises(InputError, match="channel-last"):
        ArraySource(torch.zeros(2, 8, 8, 3, dtype=torch.uint8))


# --- float arrays -----------------------------------------------------------------------------------


def test_float_needs_value_range():
    with pytest.raises(InputError, match=r"value_range=\(-1, 1\)"):
        ArraySource(torch.zeros(2, 3, 4, 4))
    with pytest.raises(InputError, match="value_range"):
        ArraySource(np.zeros((2, 4, 4, 3), np.float64))


def test_float_nan_and_inf_reported_with_count_and_first_index():
    data = torch.zeros(6, 3, 4, 4)
    data[2, 0, 0, 0] = float("nan")
    data[4, 1, 1, 1] = float("inf")
    data[5, 0, 0, 0] = 7.0  # out of range too, but NaN/Inf is reported first
    with pytest.raises(InputError, match=r"2 of 6 images contain NaN or Inf values \(first: index 2\)"):
        ArraySource(data, value_range=(-1, 1))


def test_float_out_of_range_reported():
    data = np.zeros((5, 4, 4, 3), np.float32)
    data[1, 0, 0, 0] = 1.5
    data[3, 0, 0, 0] = -2.0
    data[4, 0, 0, 0] = 1 + 1e-7  # inside the tolerance
    pattern = r"2 of 5 images .*outside value_range \(-1, 1\) \(first: index 1\); observed min -2, max 1.5"
    with pytest.raises(InputError, match=pattern):
        ArraySource(data, value_range=(-1, 1))


def test_float_mapping_exact_and_equal_to_save_image_png(tmp_path):
    from torchvision.utils import save_image

    data = torch.rand(2, 3, 8, 8) * 2 - 1
    data[0, :, 0, :5] = torch.tensor([-1.0, 1.0, 0.0, -1 + 1e-7, 0.5])
    source = ArraySource(data, value_range=(-1, 1))

    assert list(source.load(0)[0, :5, 0]) == [0, 255, 128, 0, 191]
    for i in range(2):
        save_image(data[i], tmp_path / f"{i}.png", normalize=True, value_range=(-1, 1))
    np.testing.assert_array_equal(np.stack(all_images(FolderSource(tmp_path))), source.images)


# --- fingerprints -----------------------------------------------------------------------------------


def test_folder_fingerprint_tracks_files(tmp_path):
    for name in "abc":
        write(tmp_path / f"{name}.png", random_rgb())
    base = FolderSource(tmp_path).fingerprint
    assert FolderSource(tmp_path).fingerprint == base
    assert len(base) == 64 and int(base, 16) >= 0

    extra = write(tmp_path / "d.png", random_rgb())
    added = FolderSource(tmp_path).fingerprint
    extra.unlink()
    assert FolderSource(tmp_path).fingerprint == base
    (tmp_path / "a.png").unlink()
    removed = FolderSource(tmp_path).fingerprint

    stat = os.stat(tmp_path / "b.png")
    write(tmp_path / "b.png", random_rgb(7, 7))
    os.utime(tmp_path / "b.png", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    modified = FolderSource(tmp_path).fingerprint

    assert len({base, added, removed, modified}) == 4


def test_verify_fingerprint_sees_same_size_same_mtime_change(tmp_path):
    path = write(tmp_path / "a.bmp", random_rgb())
    stat = os.stat(path)
    plain, verified = FolderSource(tmp_path).fingerprint, FolderSource(tmp_path, verify=True).fingerprint
    assert plain != verified

    write(path, random_rgb())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(path).st_size == stat.st_size

    assert FolderSource(tmp_path).fingerprint == plain
    assert FolderSource(tmp_path, verify=True).fingerprint != verified


def test_array_fingerprint():
    data = RNG.integers(0, 256, size=(3, 4, 4, 3), dtype=np.uint8)
    assert ArraySource(data).fingerprint == ArraySource(data.copy()).fingerprint
    assert ArraySource(data).fingerprint == ArraySource(torch.from_numpy(data).permute(0, 3, 1, 2)).fingerprint
    assert ArraySource(data).fingerprint != ArraySource(data[:2]).fingerprint
    assert ArraySource(data).fingerprint != ArraySource(data.reshape(3, 2, 8, 3)).fingerprint
    changed = data.copy()
    changed[2, 3, 3, 2] ^= 1
    assert ArraySource(data).fingerprint != ArraySource(changed).fingerprint


# --- as_source --------------------------------------------------------------------------------------


def test_as_source(tmp_path):
    file = write(tmp_path / "imgs" / "a.png", random_rgb())
    folder = as_source(tmp_path / "imgs")
    assert isinstance(folder, FolderSource) and isinstance(as_source(str(tmp_path / "imgs")), FolderSource)
    assert as_source(folder) is folder
    assert isinstance(as_source(np.zeros((1, 4, 4, 3), np.uint8)), ArraySource)
    assert isinstance(as_source(torch.zeros(1, 3, 4, 4), value_range=(0, 1)), ArraySource)
    with pytest.raises(InputError, match="no such folder or file"):
        as_source(tmp_path / "missing")
    with pytest.raises(InputError, match="unsupported input"):
        as_source(file)
    with pytest.raises(InputError, match="list"):
        as_source([1, 2])
    assert as_source(tmp_path / "imgs", value_range=(-1, 1)).fingerprint == folder.fingerprint  # arrays only


# --- loader -----------------------------------------------------------------------------------------


@pytest.fixture
def mixed_folder(tmp_path) -> Path:
    for i in range(10):
        write(tmp_path / f"{i:02d}.png", random_rgb(4 + i % 3, 5 + i % 2))
    return tmp_path


@pytest.mark.parametrize(("workers", "batch_size"), [(0, 1), (0, 3), (0, 64), (2, 1), (2, 3), (2, 64)])
def test_loader_order_and_content_independent_of_workers_and_batch_size(mixed_folder, workers, batch_size):
    source = FolderSource(mixed_folder)
    report = LoadReport()

    batches = list(iterate_batches(source, batch_size, workers=workers, report=report))

    assert all(1 <= len(b) <= batch_size for b in batches)
    images = [image for batch in batches for image in batch]
    assert report.n_images == len(images) == 10 and report.n_skipped_bad == 0
    assert [tuple(image.shape) for image in images] == [(3, 4 + i % 3, 5 + i % 2) for i in range(10)]
    for image, expected in zip(images, all_images(source), strict=True):
        assert image.dtype == torch.uint8
        np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), expected)


@pytest.fixture
def folder_with_bad(mixed_folder) -> Path:
    good = (mixed_folder / "03.png").read_bytes()
    (mixed_folder / "03.png").write_bytes(good[: len(good) // 2])
    (mixed_folder / "07.png").write_bytes(b"")
    return mixed_folder


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_bad_image_names_the_file(folder_with_bad, workers):
    source = FolderSource(folder_with_bad)
    with pytest.raises(BadImageError, match="03.png") as info:
        list(iterate_batches(source, 4, workers=workers))
    assert info.value.path == str(folder_with_bad / "03.png")
    with pytest.raises(BadImageError, match="07.png"):
        source.load(source.files.index("07.png"))


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_skip_bad_drops_and_counts(folder_with_bad, workers):
    source = FolderSource(folder_with_bad)
    report = LoadReport()

    images = [im for b in iterate_batches(source, 3, workers=workers, skip_bad=True, report=report) for im in b]

    assert report.n_images == len(images) == 8 and report.n_skipped_bad == 2
    assert [e.split(":")[0] for e in report.bad_examples] == [str(folder_with_bad / n) for n in ("03.png", "07.png")]
    kept = [i for i in range(10) if i not in (3, 7)]
    for image, index in zip(images, kept, strict=True):
        np.testing.assert_array_equal(image.permute(1, 2, 0).numpy(), source.load(index))


def test_loader_all_bad_is_an_input_error(tmp_path):
    for name in ["a.png", "b.jpg"]:
        (tmp_path / name).write_bytes(b"not an image")
    with pytest.raises(InputError, match="none of the 2 images could be decoded"):
        list(iterate_batches(FolderSource(tmp_path), 8, skip_bad=True))
