"""One convention everywhere: REAL then FAKE, IS rates FAKE; a package that needs no checkout and no data
for what it ships; a command line that answers without torch."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import ganeval
from ganeval.errors import InputError
from tests.conftest import run_cli, write_folder


def test_python_is_rates_the_generated_set(extractor, cifar_tensor):
    real, fake = cifar_tensor[:12], cifar_tensor[12:18]
    options = {"extractor": extractor, "progress": False, "is_splits": 3}
    both = ganeval.score(real, fake, ("fid", "is"), **options)
    alone = ganeval.inception_score(fake, **options)
    assert (both["is_mean"], both["is_std"]) == alone
    assert alone != ganeval.inception_score(real, **options)  # so the line above can tell them apart
    assert both["n_real"] == 12 and both["n_fake"] == 6 and "n_a" not in both
    with pytest.raises(InputError, match="FID compare the real set with a generated one"):
        ganeval.score(fake, None, ("fid", "is"), **options)


def test_cli_score_is_equals_is_of_fake(image_folders, weights_with_head):
    real, fake = image_folders
    common = ("--metrics", "is", "--splits", "4", "--device", "cpu", "--weights", str(weights_with_head), "--json",
              "-q", "--no-cache")  # fmt: skip
    code, out, err = run_cli("score", str(real), str(fake), *common)
    assert code == 0, err
    both = json.loads(out)
    code, out, err = run_cli("is", str(fake), *common[2:])
    assert code == 0, err
    alone = json.loads(out)
    assert both["is_mean"] == alone["is_mean"] and both["is_std"] == alone["is_std"]
    assert both["n_real"] == 24 and both["n_fake"] == alone["n_fake"] == 24 and "n_real" not in alone
    code, out, err = run_cli("is", str(real), *common[2:])
    assert json.loads(out)["is_mean"] != alone["is_mean"]


def test_with_ref_is_reads_nothing_of_the_reference(cifar_images, tmp_path, weights_with_head, counted):
    """`score --ref NAME FAKE --metrics is`: only FAKE goes through the network; no data root is needed."""
    fake = write_folder(cifar_images[:12], tmp_path / "fake")
    (tmp_path / "no-data").mkdir()
    code, out, err = run_cli("score", "--ref", "fashion-mnist-test", str(fake), "--metrics", "is", "--splits", "3",
                             "--data-root", str(tmp_path / "no-data"), "--weights", str(weights_with_head),
                             "--device", "cpu", "--json", "-q", "--no-cache")  # fmt: skip
    assert code == 0, err
    assert sum(counted) == 12 and json.loads(out)["n_fake"] == 12


def test_committed_reference_needs_no_data(cifar_images, tmp_path, headless_weights, counted, monkeypatch):
    import ganeval.sources.datasets as datasets

    def offline(root, split):
        raise OSError("no network in this test")

    entry = datasets.DATASETS["fashion-mnist"]
    monkeypatch.setitem(datasets.DATASETS, "fashion-mnist", type(entry)(**{**entry.__dict__, "download": offline}))
    fake = write_folder(cifar_images[:8], tmp_path / "fake")
    (tmp_path / "no-data").mkdir()
    common = ("--data-root", str(tmp_path / "no-data"), "--weights", str(headless_weights), "--device", "cpu",
              "--json", "-q", "--no-cache")  # fmt: skip
    code, out, err = run_cli("fid", "--ref", "fashion-mnist-test", str(fake), *common)
    assert code == 0, err
    result = json.loads(out)
    assert result["n_real"] == 10_000 and result["n_fake"] == 8 and result["fid"] > 0
    assert sum(counted) == 8  # the committed statistics, no pass over the reference
    # What the committed file cannot give asks for the data, naming the file it needs.
    code, _, err = run_cli("kid", "--ref", "fashion-mnist-test", str(fake), *common)
    assert code == 1 and "fashion-mnist:test needs t10k-images-idx3-ubyte" in err and "train-images" not in err


def test_an_extractor_with_contradicting_settings_is_refused(extractor, cifar_tensor):
    a, b = cifar_tensor[:4], cifar_tensor[4:8]
    for wrong in ({"mode": "clean"}, {"precision": "exact"}, {"device": "meta"}, {"batch_size": 3}):
        with pytest.raises(InputError, match=f"contradicts {next(iter(wrong))}="):
            ganeval.fid(a, b, extractor=extractor, progress=False, **wrong)
    with pytest.raises(InputError, match="contradicts weights="):
        ganeval.Scorer(("fid",), extractor=extractor, weights=__file__)
    agreeing = {"mode": extractor.mode, "precision": extractor.precision, "device": "cpu"}
    assert ganeval.fid(a, b, extractor=extractor, progress=False, **agreeing) >= 0


@pytest.mark.parametrize("args", [["--help"], ["fid", "--help"], ["refs", "list"], ["cache", "list"]])
def test_the_command_line_answers_without_importing_torch(args, tmp_path):
    code = (
        "import sys\nfrom ganeval.cli import main\n"
        f"main({args!r}, standalone_mode=False)\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')"
    )
    env = {"GANEVAL_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "NO-TORCH"


def test_importing_the_package_does_not_import_torch():
    code = "import sys, ganeval\nassert 'torch' not in sys.modules\nganeval.Settings\nassert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_fetching_weights_shows_the_user_no_warning_about_ganevals_own_calls(torchscript_weights, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "ganeval", "weights", "import", str(torchscript_weights)],
        capture_output=True, text=True, env={"GANEVAL_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower() and "deprecated" not in done.stderr.lower()


ARGUMENT_ERRORS = [
    (["score", "A", "B", "--metrics", "fidd"], "unknown metric(s) fidd"),
    (["fid", "A", "no-such-folder/"], "no such file or folder: no-such-folder/"),
    (["score", "A", "B", "--protocol", "adm", "--mode", "clean"], "--mode clean contradicts it"),
    (["score", "A", "B", "--features", "dinov3"], "unknown feature space 'dinov3'"),
    (["score", "A", "B", "--mode", "dinov2-vit-s-14=cmmd"], "mode 'cmmd' is not one of dinov2-vit-s-14's"),
    (["score", "A", "B", "--metrics", "authpct"], "give --train INPUT"),
    (["benchmark", "A", "no-such-folder", "--out", "OUT/r.jsonl"], "no such file or folder: no-such-folder"),
    (["neighbours", "no-such", "B", "--out", "OUT/c.png"], "no such file or folder: no-such"),
    (["stats", "no-such", "-o", "OUT/s.npz"], "no such file or folder: no-such"),
]


@pytest.mark.parametrize(("args", "message"), ARGUMENT_ERRORS, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _) in
                                                                    enumerate(ARGUMENT_ERRORS)])  # fmt: skip
def test_argument_errors_are_reported_with_torch_unimportable(args, message, image_folders, tmp_path):
    """The checks run before torch is imported: with torch made unimportable each is still its one-line error
    (an import attempt would raise ModuleNotFoundError instead)."""
    real, fake = image_folders
    args = [{"A": str(real), "B": str(fake)}.get(a, a.replace("OUT", str(tmp_path))) for a in args]
    code = f"import sys\nsys.modules['torch'] = None\nfrom ganeval.cli import main\nmain({args!r}, prog_name='ganeval')"
    env = {"GANEVAL_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganeval: error: ")
    assert message in lines[0] and "torch" not in lines[0]
