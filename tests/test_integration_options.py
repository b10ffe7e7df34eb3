"""Options that cross every layer (API, CLI, sources, pipeline): max_pixels, and runs under torchrun."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import ganeval
from ganeval.cli import main
from ganeval.errors import BadImageError, InputError
from ganeval.sources import TarSource, ZipSource, as_source
from tests.conftest import write_folder


def png_bytes(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def write_zip(path: Path, images: np.ndarray) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for i, image in enumerate(images):
            archive.writestr(f"{i:04d}.png", png_bytes(image))
    return path


def write_tar(path: Path, images: np.ndarray) -> Path:
    with tarfile.open(path, "w") as archive:
        for i, image in enumerate(images):
            data = png_bytes(image)
            info = tarfile.TarInfo(f"{i:04d}.png")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


# --- max_pixels ---------------------------------------------------------------------------------------


def test_archives_obey_max_pixels(tmp_path, cifar_images):
    images = cifar_images[:2]  # 32 x 32 = 1024 pixels each
    for source_type, path in ((ZipSource, write_zip(tmp_path / "a.zip", images)),
                              (TarSource, write_tar(tmp_path / "a.tar", images))):  # fmt: skip
        with pytest.raises(BadImageError, match=r"0000.png: 32x32 = 1024 pixels exceeds the limit of 1023 pixels"):
            source_type(path, max_pixels=1023).load(0)
        np.testing.assert_array_equal(source_type(path, max_pixels=1024).load(1), images[1])
        np.testing.assert_array_equal(source_type(path, max_pixels=0).load(0), images[0])
        with pytest.raises(InputError, match="max_pixels must be"):
            source_type(path, max_pixels=-1)
        assert as_source(path, max_pixels=7).max_pixels == 7  # as_source passes it on


def test_as_source_validates_max_pixels_even_for_arrays(cifar_images):
    with pytest.raises(InputError, match="max_pixels must be"):
        as_source(cifar_images[:2], max_pixels=-5)


def test_cli_max_pixels_refuses_a_zip_member_in_one_line(tmp_path, cifar_images, headless_weights):
    archive = write_zip(tmp_path / "a.zip", cifar_images[:2])  # the first member fails before any forward pass
    result = CliRunner().invoke(
        main,
        ["fid", str(archive), str(archive), "--max-pixels", "100", "--weights", str(headless_weights),
         "--device", "cpu", "--no-cache", "-q"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ganeval: error: cannot decode image ")
    assert f"{archive}:0000.png" in lines[0]
    assert "1024 pixels exceeds the limit of 100 pixels" in lines[0]


def test_cli_rejects_a_negative_max_pixels():
    result = CliRunner().invoke(main, ["fid", "a", "b", "--max-pixels", "-1"])
    assert result.exit_code == 2
    assert "--max-pixels" in result.stderr


def test_max_pixels_is_in_the_cache_key_only_when_it_decides_what_is_skipped(tmp_path, cifar_images, headless_weights):
    from ganeval.config import Settings
    from ganeval.features.views import default_view
    from ganeval.inputs import Pipeline, StoreOptions, resolve_input

    archive = write_zip(tmp_path / "a.zip", cifar_images[:2])

    def key(skip_bad: bool, max_pixels: int | None):
        store = StoreOptions(cache=True, max_pixels=max_pixels)
        pipeline = Pipeline(Settings(weights=str(headless_weights), skip_bad=skip_bad), store)
        return pipeline._cache_key(resolve_input(str(archive), "A", store, None), default_view())

    assert key(False, 100) == key(False, None)  # a refused image is an error: nothing cached differs
    assert key(True, 100) != key(True, None) != key(True, 200)


# --- under torchrun ------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::ganeval.metrics.RankDeficientWarning")
def test_cli_under_torchrun_matches_one_process(tmp_path, cifar_images, headless_weights, extractor):
    """`torchrun ... -m ganeval fid` shards extraction over 2 gloo ranks and prints one JSON line (rank 0).

    Each rank runs one intra-op thread (OMP_NUM_THREADS=1), and oneDNN's float32 convolutions round
    differently with 1 and 2 threads (pool3 moves by ~1e-6), so the single-process reference also runs
    with one thread: then pool3 agrees bit for bit (batch size does not matter) and only the order of the
    float64 accumulation differs, far below the 1e-6 compared.
    """
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip(f"torchrun not found next to {sys.executable}")
    a = write_folder(cifar_images[:6], tmp_path / "a")
    b = write_folder(cifar_images[6:12], tmp_path / "b")
    cmd = [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "ganeval", "fid", str(a), str(b),
           "--device", "cpu", "--weights", str(headless_weights), "--json", "-q", "--no-cache"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(results) == 1, done.stdout  # rank 1 prints nothing

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        want = ganeval.fid(a, b, extractor=extractor, progress=False, cache=False)
    finally:
        torch.set_num_threads(threads)
    assert results[0]["n_real"] == results[0]["n_fake"] == 6
    assert results[0]["fid"] == pytest.approx(want, rel=1e-6)
