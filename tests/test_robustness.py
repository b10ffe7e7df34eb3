"""Awkward inputs people actually have, and results that do not depend on how they were computed.

Each kind of input is a real file of that kind written to tmp_path. Forward passes are few (about 40);
metric checks reuse the session's features of 48 CIFAR-10 images.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

import ganeval
from ganeval.config import make_settings
from ganeval.errors import BadImageError, InputError
from ganeval.loader import LoadReport, iterate_batches
from ganeval.metrics import RankDeficientWarning, fid_from_features, inception_score, kernel_inception_distance
from ganeval.metrics.fid import ROUND_OFF_BOUND, frechet_distance
from ganeval.metrics.gaussian import gaussian_stats
from ganeval.sources import ArraySource, FolderSource, TarSource, ZipSource
from tests.conftest import save_image as save

RNG = np.random.default_rng(6)


def random_rgb(h: int = 6, w: int = 5) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def loaded(source) -> list[np.ndarray]:
    return [source.load(i) for i in range(len(source))]


# --- one RGB rule ---------------------------------------------------------------------------------


def test_exif_orientation_is_ignored_like_the_reference_implementations(tmp_path):
    pixels = random_rgb(8, 16)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = save(tmp_path / "phone.jpg", pixels, exif=exif.tobytes(), quality=95)
    with Image.open(path) as image:
        assert image.getexif()[0x0112] == 6
        stored = np.asarray(image.convert("RGB"))
        assert ImageOps.exif_transpose(image).size == (8, 16)  # a viewer would show it rotated

    np.testing.assert_array_equal(FolderSource(tmp_path).load(0), stored)
    assert stored.shape == (8, 16, 3)


def _mode_images() -> dict[str, Image.Image]:
    rgba = Image.fromarray(RNG.integers(0, 256, size=(7, 9, 4), dtype=np.uint8), "RGBA")
    return {
        "l.png": rgba.convert("L"),
        "la.png": rgba.convert("LA"),
        "p.png": rgba.convert("RGB").quantize(16),
        "rgba.png": rgba,
        "i16.png": Image.fromarray(RNG.integers(0, 65536, size=(7, 9), dtype=np.uint16)),
        "cmyk.jpg": rgba.convert("CMYK"),
    }


def test_every_source_kind_applies_the_same_rgb_rule(tmp_path):
    folder = tmp_path / "images"
    for name, image in _mode_images().items():
        save(folder / name, image)
    with zipfile.ZipFile(tmp_path / "images.zip", "w") as archive, tarfile.open(tmp_path / "images.tgz", "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"images/{path.name}")
            tar.add(path, f"images/{path.name}")

    expected = loaded(FolderSource(folder))

    assert [im.shape for im in expected] == [(7, 9, 3)] * 6
    for other in (ZipSource(tmp_path / "images.zip"), TarSource(tmp_path / "images.tgz")):
        for a, b in zip(loaded(other), expected, strict=True):
            np.testing.assert_array_equal(a, b)
    files = FolderSource(folder).files
    for name in ("l.png", "rgba.png"):  # the same pixels handed over as an array
        with Image.open(folder / name) as image:
            array = np.asarray(image)
        np.testing.assert_array_equal(ArraySource(array[None]).load(0), expected[files.index(name)])


# --- mixed sizes -----------------------------------------------------------------------------------


def test_mixed_sizes_give_each_image_the_features_it_has_alone(tmp_path, extractor, cifar_images):
    sizes = [(32, 32), (45, 60), (20, 33), (32, 32), (64, 64)]
    for i, (h, w) in enumerate(sizes):
        save(tmp_path / f"{i}.png", Image.fromarray(cifar_images[i]).resize((w, h), Image.BICUBIC))
    source = FolderSource(tmp_path)

    together = extractor.extract(source, keep_features=True, progress=False).features  # one batch of mixed sizes

    assert together.shape == (5, 2048)
    for i, (h, w) in enumerate(sizes):
        image = torch.from_numpy(source.load(i)).permute(2, 0, 1)[None]
        assert image.shape[2:] == (h, w)  # nothing cropped or resized before the extractor
        alone = extractor.forward(image)[0][0]
        torch.testing.assert_close(together[i], alone, rtol=1e-4, atol=1e-5)


# --- files that are not good images ----------------------------------------------------------------


def _bad_entries(folder: Path) -> list[str]:
    """Write one entry of each bad kind; returns their names (sorted order)."""
    jpeg = io.BytesIO()
    Image.fromarray(random_rgb(64, 64)).save(jpeg, "JPEG")
    (folder / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (folder / "page.png").write_text("<html><body>404 Not Found</body></html>")
    (folder / "empty.webp").write_bytes(b"")
    os.symlink(folder / "missing.png", folder / "dangling.png")
    os.symlink("loop.png", folder / "loop.png")
    os.mkfifo(folder / "fifo.png")  # opening it would block forever
    return sorted(["truncated.jpg", "page.png", "empty.webp", "dangling.png", "loop.png", "fifo.png"])


@pytest.mark.parametrize("workers", [0, 2])
def test_bad_entries_are_named_and_skippable(tmp_path, workers):
    save(tmp_path / "good1.png", random_rgb())
    save(tmp_path / "zz_good2.png", random_rgb())
    bad = _bad_entries(tmp_path)
    source = FolderSource(tmp_path)
    assert len(source) == 8
    assert len(source.fingerprint) == 64 and len(FolderSource(tmp_path, verify=True).fingerprint) == 64

    for name in bad:
        with pytest.raises(BadImageError, match=name) as info:
            source.load(source.files.index(name))
        assert info.value.path == str(tmp_path / name)
    with pytest.raises(BadImageError, match="not a regular file \\(a FIFO\\)"):
        source.load(source.files.index("fifo.png"))
    report = LoadReport()
    images = [im for b in iterate_batches(source, 3, workers=workers, skip_bad=True, report=report) for im in b]
    assert len(images) == 2 and report.n_skipped_bad == 6


def _load_error(source: FolderSource, index: int, as_user: tuple[int, int] | None) -> str:
    """The error loading image `index` raises ("" when it loads): here, or in a forked child that has given up
    root for `as_user` (uid, gid) first, since root reads a file whatever its mode."""
    if as_user is None:
        try:
            source.load(index)
        except BadImageError as exc:
            return str(exc)
        return ""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: drop root, load, report through the pipe, never return into pytest
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(as_user[1])
            os.setuid(as_user[0])
            message = _load_error(source, index, None)
        except BaseException as exc:  # anything else fails the test, reported as text
            message = f"child failed: {type(exc).__name__}: {exc}"
        finally:
            os.write(write, message.encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(child, 0)
    return message


def test_unreadable_file(tmp_path):
    """A file the user may not read is a bad image naming the reason. CI runs as root, which reads any file,
    so there the load runs in a child process that has dropped to the unprivileged user `nobody`."""
    as_user = None
    folder = tmp_path
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        as_user = (nobody.pw_uid, nobody.pw_gid)
        folder = Path(tempfile.mkdtemp(prefix="ganeval-unreadable-"))  # under /tmp: every parent is traversable
        folder.chmod(0o755)
    try:
        path = save(folder / "secret.png", random_rgb())
        save(folder / "visible.png", random_rgb()).chmod(0o644)
        path.chmod(0)
        source = FolderSource(folder)
        assert source.files == ["secret.png", "visible.png"]
        assert _load_error(source, 1, as_user) == ""  # the same user reads a readable file: only the mode differs
        assert re.search(r"secret.png: Permission denied", _load_error(source, 0, as_user))
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder)


def test_file_names_that_are_not_utf8(tmp_path):
    root = os.fsencode(tmp_path)
    good, corrupt = root + b"/caf\xe9.png", root + b"/\xff\xfe.png"
    save(Path(os.fsdecode(good)), pixels := random_rgb())
    with open(corrupt, "wb") as f:
        f.write(b"garbage")
    save(tmp_path / "plain.png", random_rgb())

    source = FolderSource(tmp_path)

    assert [os.fsencode(f) for f in source.files] == [b"caf\xe9.png", b"plain.png", b"\xff\xfe.png"]
    np.testing.assert_array_equal(source.load(0), pixels)
    assert source.describe(0).endswith("caf\\xe9.png")
    with pytest.raises(BadImageError) as info:
        source.load(2)
    str(info.value).encode("utf-8")  # printable on any terminal, no surrogates
    assert "\\xff\\xfe.png" in str(info.value)
    assert len(source.fingerprint) == 64


def test_symlinks_followed_once_and_loops_detected(tmp_path):
    target = save(tmp_path / "real" / "a.png", pixels := random_rgb())
    os.symlink(target, tmp_path / "real" / "link.png")
    os.symlink(tmp_path / "real", tmp_path / "alias")  # the same folder twice
    os.symlink("..", tmp_path / "real" / "up")  # a loop back to the root

    source = FolderSource(tmp_path)

    assert source.files == ["alias/a.png", "alias/link.png"]  # each real folder listed once
    for image in loaded(source):
        np.testing.assert_array_equal(image, pixels)


def test_decompression_bomb_names_file_pixels_and_the_option(tmp_path):
    limit = 2 * Image.MAX_IMAGE_PIXELS
    Image.new("1", (15000, 12000)).save(tmp_path / "huge.png")  # 180 M pixels, 30 kB on disk
    with pytest.raises(BadImageError, match=rf"huge.png: 15000x12000 = 180000000 pixels exceeds the limit of {limit}"):
        FolderSource(tmp_path).load(0)
    with pytest.raises(BadImageError, match="--max-pixels"):
        list(iterate_batches(FolderSource(tmp_path), 1, workers=2))


def test_max_pixels_option_raises_or_lowers_the_limit(tmp_path):
    save(tmp_path / "small.png", random_rgb(50, 100))
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(BadImageError, match="5000 pixels exceeds the limit of 4999 pixels"):
        FolderSource(tmp_path, max_pixels=4999).load(0)
    assert FolderSource(tmp_path, max_pixels=5000).load(0).shape == (50, 100, 3)
    assert FolderSource(tmp_path, max_pixels=0).load(0).shape == (50, 100, 3)
    assert before == Image.MAX_IMAGE_PIXELS  # PIL's process-wide limit is left as it was
    with pytest.raises(InputError, match="max_pixels must be"):
        FolderSource(tmp_path, max_pixels=-1)


# --- generator output and tiny sets ------------------------------------------------------------------


def test_nonfinite_generator_output_never_reaches_the_network(extractor):
    fake = torch.zeros(10, 3, 8, 8)
    fake[[2, 5, 6], 0, 0, 0] = float("nan")
    fake[7, 1, 1, 1] = float("-inf")
    with pytest.raises(InputError, match=r"4 of 10 images contain NaN or Inf values \(first: index 2\)"):
        ganeval.fid(fake, fake, value_range=(-1, 1), extractor=extractor, progress=False)


def test_identical_inputs_give_zero_fid(ganeval_tf_features):
    """Identical statistics give 0 by construction; statistics equal up to round-off stay within the stated
    bound, whatever the machine's eigensolver does with them."""
    pool3 = ganeval_tf_features[0].double()
    shuffled = pool3[torch.from_numpy(np.random.default_rng(1).permutation(len(pool3)))]
    with pytest.warns(RankDeficientWarning):
        assert fid_from_features(pool3, pool3.clone()) == 0.0
    a, b = gaussian_stats(pool3), gaussian_stats(shuffled)  # other accumulation order, other round-off
    assert not np.array_equal(a.sigma, b.sigma)  # so the next line tests the bound, not the shortcut
    with pytest.warns(RankDeficientWarning):
        value = frechet_distance(a, b)
    assert 0.0 <= value < ROUND_OFF_BOUND * (np.trace(a.sigma) + np.trace(b.sigma))


def test_one_image_is_an_error_and_two_identical_images_give_zero(extractor, cifar_tensor):
    one, two = cifar_tensor[:1], cifar_tensor[:1].repeat(2, 1, 1, 1)
    for metric in (ganeval.fid, ganeval.kid):
        with pytest.raises(InputError, match="at least 2 images"):
            metric(one, one, extractor=extractor, progress=False)
    with pytest.raises(InputError, match="at least 2 images"):
        ganeval.inception_score(one, extractor=extractor, progress=False)
    with pytest.raises(InputError, match="at least as many images as splits"):
        ganeval.inception_score(two, extractor=extractor, progress=False)
    with pytest.warns(RankDeficientWarning):
        assert ganeval.fid(two, two, extractor=extractor, progress=False) == 0.0
    with pytest.MonkeyPatch.context() as patch:  # refused before a pass over the other input
        patch.setattr(extractor, "forward", _must_not_run)
        with pytest.raises(InputError, match="fake: need at least 2 images, got 1"):
            ganeval.fid(cifar_tensor[:5], one, extractor=extractor, progress=False)


# --- results independent of how they were computed ------------------------------------------------


def _write_scrambled(images: np.ndarray, folder: Path, seed: int) -> None:
    """Create files in a random order with mtimes in yet another order, so only the names are sorted."""
    folder.mkdir()
    order = list(range(len(images)))
    random.Random(seed).shuffle(order)
    for rank, i in enumerate(order):
        save(folder / f"{i:04d}.png", images[i])
        os.utime(folder / f"{i:04d}.png", ns=(10**18 - rank * 10**9, 10**18 - rank * 10**9))


def test_order_of_files_on_disk_does_not_change_the_metrics(tmp_path, extractor, cifar_images, ganeval_tf_features):
    images = cifar_images[:12]
    _write_scrambled(images, tmp_path / "a", seed=1)
    _write_scrambled(images, tmp_path / "b", seed=2)
    a, b = FolderSource(tmp_path / "a"), FolderSource(tmp_path / "b")
    assert a.files == b.files == [f"{i:04d}.png" for i in range(12)]
    np.testing.assert_array_equal(np.stack(loaded(a)), images)
    assert a.fingerprint != b.fingerprint  # mtimes differ ...
    assert (
        FolderSource(tmp_path / "a", verify=True).fingerprint == FolderSource(tmp_path / "b", verify=True).fingerprint
    )

    ref_pool3 = ganeval_tf_features[0]
    results = []
    for source in (a, b):
        out = extractor.extract(source, keep_features=True, logits=True, progress=False)
        results.append(
            (
                fid_from_features(ref_pool3, out.features),
                kernel_inception_distance(ref_pool3, out.features, subset_size=12)[0],
                inception_score(out.logits, splits=3)[0],
            )
        )
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=0)


def test_kid_and_is_are_reproducible_with_a_seed(ganeval_tf_features):
    pool3, logits = ganeval_tf_features
    a, b = pool3[:24], pool3[24:]
    assert kernel_inception_distance(a, b, subset_size=16, seed=7) == kernel_inception_distance(
        a, b, subset_size=16, seed=7
    )
    assert kernel_inception_distance(a, b, subset_size=16, seed=7) != kernel_inception_distance(
        a, b, subset_size=16, seed=8
    )
    assert inception_score(logits, seed=7) == inception_score(logits, seed=7)
    assert inception_score(logits, seed=7) != inception_score(logits, seed=8)
    assert make_settings(seed=7).seed == 7


# --- the same numbers from every source kind and every cache state --------------------------------


def _scores(a, b, extractor, **options) -> tuple[float, float]:
    """FID and KID (IS needs logits, which are never cached, and its invariance is tested with file order)."""
    out = ganeval.score(a, b, ("fid", "kid"), extractor=extractor, kid_subset_size=6, progress=False, **options)
    return out["fid"], out["kid_mean"]


def test_folder_zip_and_npz_give_the_same_metrics(tmp_path, extractor, cifar_images):
    """The source kind changes how pixels are read, never the numbers: FID and KID agree to 1e-6."""
    a, b = cifar_images[:8], cifar_images[8:16]
    for name, images in (("a", a), ("b", b)):
        folder = write_png_folder(images, tmp_path / name)
        with zipfile.ZipFile(tmp_path / f"{name}.zip", "w") as zf:
            for i in range(len(images)):
                zf.write(folder / f"{i:02d}.png", f"{i:02d}.png")
        np.savez(tmp_path / f"{name}.npz", images=images)
    kinds = {
        kind: _scores(str(tmp_path / f"a{suffix}"), str(tmp_path / f"b{suffix}"), extractor)
        for kind, suffix in (("folder", ""), ("zip", ".zip"), ("npz", ".npz"))
    }
    np.testing.assert_allclose(kinds["zip"], kinds["folder"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(kinds["npz"], kinds["folder"], rtol=1e-6, atol=0)


def test_cold_warm_and_damaged_cache_give_the_same_metrics(tmp_path, extractor, cifar_images):
    """Cold (computed and stored), warm (read back), damaged (a truncated entry and a leftover temporary
    file, as a killed run leaves): the same FID and KID, and a damaged entry is recomputed."""
    a = write_png_folder(cifar_images[:8], tmp_path / "a")
    b = write_png_folder(cifar_images[8:16], tmp_path / "b")
    cache_dir = tmp_path / "cache"
    options = {"cache": True, "cache_dir": str(cache_dir)}
    cold = _scores(str(a), str(b), extractor, **options)
    entries = sorted(cache_dir.glob("*.npz"))
    assert entries, "the cold run stored nothing"
    warm = _scores(str(a), str(b), extractor, **options)
    entries[0].write_bytes(entries[0].read_bytes()[: entries[0].stat().st_size // 2])
    (cache_dir / ".tmp-ganeval-leftover.npz").write_bytes(b"PK\x03\x04 partial")
    damaged = _scores(str(a), str(b), extractor, **options)
    with pytest.MonkeyPatch.context() as patch:  # warm: not one image through the network
        patch.setattr(extractor, "forward", _must_not_run)
        assert _scores(str(a), str(b), extractor, **options) == warm
    uncached = _scores(str(a), str(b), extractor, cache=False)
    np.testing.assert_allclose(warm, cold, rtol=1e-6, atol=0)
    np.testing.assert_allclose(damaged, cold, rtol=1e-6, atol=0)
    np.testing.assert_allclose(uncached, cold, rtol=1e-6, atol=0)
    assert np.load(entries[0]).files, "the truncated entry was not rewritten"


def _must_not_run(*args, **kwargs):
    raise AssertionError("a warm cache ran the network")


def write_png_folder(images: np.ndarray, folder: Path) -> Path:
    for i, img in enumerate(images):
        save(folder / f"{i:02d}.png", img)
    return folder
