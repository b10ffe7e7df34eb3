"""Where the weights of every network come from, and the digest that names them in results.

Resolution order for a network (first hit wins):
1. the file given for it (`--weights NAME=FILE`, `weights={"NAME": FILE}`);
2. ganeval's weights folder (`$GANEVAL_HOME/weights`): the official file name, then `NAME-imported.*`;
3. the torch hub cache, where torch.hub, torchvision and torch-fidelity keep their downloads;
4. a download from the official address (sha256-checked where the publisher gives the digest).

Inception keeps its own order (`ganeval.inception.store`). A weights file is named in cache keys,
statistics files and records by its sha256, remembered per (path, size, mtime) in the weights folder so
a 1.2 GB file is hashed once, not on every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ganeval.atomic import atomic_write
from ganeval.errors import WeightsError
from ganeval.features.spaces import Network, get_network
from ganeval.paths import weights_dir

DIGESTS_FILE = ".sha256.json"


def _hub_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def imported_path(network: Network) -> Path:
    return weights_dir() / f"{network.name}-imported{Path(network.weights.filename).suffix}"


def candidates(network: Network) -> list[Path]:
    """Every place the network's file may already be (steps 2 and 3)."""
    names = (network.weights.filename, *network.weights.other_names)
    return [weights_dir() / network.weights.filename, imported_path(network), *(_hub_dir() / n for n in names)]


def how_to_get(network: Network) -> str:
    w = network.weights
    size = f", {w.size}" if w.size else ""
    return (
        f"run `ganeval weights fetch {network.name}` (downloads {w.filename}{size} from {w.url}), "
        f"`ganeval weights import {network.name} FILE`, or pass --weights {network.name}=FILE"
    )


def resolve(name: str, explicit: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The weights file of network (or space) `name`, downloading it when it is nowhere and `download`."""
    network = get_network(name)
    if network.weights is None:  # Inception
        from ganeval.inception.store import resolve_weights

        return resolve_weights(explicit, download=download)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise WeightsError(f"weights file for {network.name} not found: {path}")
        return path
    for path in candidates(network):
        if path.is_file():
            return path
    if not download:
        raise WeightsError(f"no weights for {network.name}: {how_to_get(network)}")
    return fetch(network.name)


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a weights file, remembered by (real path, size, mtime) so large files are hashed once."""
    return remembered_digest(path, "file", sha256_file)


def remembered_digest(path: str | os.PathLike, kind: str, compute: Callable[[str], str]) -> str:
    """`compute(path)`, remembered in the weights folder by (kind, real path, size, mtime): a digest of a
    weights file costs seconds (reading hundreds of MB), and every command needs it for its cache keys."""
    real = os.path.realpath(path)
    st = os.stat(real)
    memo_path = weights_dir() / DIGESTS_FILE
    key = real if kind == "file" else f"{kind}:{real}"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    entry = memo.get(key)
    if isinstance(entry, list) and entry[:2] == [st.st_size, st.st_mtime_ns]:
        return entry[2]
    digest = compute(real)
    memo[key] = [st.st_size, st.st_mtime_ns, digest]
    with contextlib.suppress(OSError):  # a read-only home: compute again next time
        atomic_write(memo_path, lambda f: f.write(json.dumps(memo, indent=1).encode()))
    return digest


def check_digest(network: Network, path: Path) -> None:
    """Refuse a downloaded file whose sha256 is not the published one (full digest or torchvision prefix)."""
    w = network.weights
    got = sha256_file(path)
    if w.sha256 and got != w.sha256:
        raise WeightsError(f"{w.filename} has sha256 {got}, expected {w.sha256}")
    if w.sha256_prefix and not got.startswith(w.sha256_prefix):
        raise WeightsError(f"{w.filename} has sha256 {got[:16]}..., expected it to start with {w.sha256_prefix}")


def fetch(name: str, timeout: float = 30.0) -> Path:
    """Download network `name`'s official file into ganeval's weights folder (sha256-checked), atomically."""
    network = get_network(name)
    if network.weights is None:
        from ganeval.inception.store import fetch as fetch_inception

        return fetch_inception()
    from tqdm import tqdm

    w = network.weights
    target = weights_dir() / w.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        try:
            with urllib.request.urlopen(w.url, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                with tqdm(total=total, unit="B", unit_scale=True, desc=w.filename, file=sys.stderr) as bar:
                    for chunk in iter(lambda: response.read(1 << 20), b""):
                        out.write(chunk)
                        bar.update(len(chunk))
        except OSError as exc:
            raise WeightsError(f"cannot download {w.url} ({exc}); {how_to_get(network)}") from None
        check_digest(network, Path(tmp))
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def import_file(name: str, source: str | os.PathLike) -> Path:
    """Check that `source` builds network `name` and copy it into ganeval's weights folder."""
    network = get_network(name)
    if network.weights is None:
        from ganeval.inception.store import import_weights

        return import_weights(source)
    from ganeval.features.registry import load_network

    load_network(network.name, Path(source))  # raises WeightsError naming what does not fit
    official = network.weights.sha256 or None
    digest = sha256_file(source)
    target = weights_dir() / network.weights.filename if official == digest else imported_path(network)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".import-")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
