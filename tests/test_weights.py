"""Where weights come from and what formats load: resolution order, import, download checks."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest
import torch

from ganeval.errors import WeightsError
from ganeval.inception import store
from ganeval.inception.weights import build_network, has_head, read_state_dict, trunk_digest


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty ganeval home and torch hub, so nothing on this machine leaks into the test."""
    monkeypatch.setenv("GANEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANEVAL_WEIGHTS", raising=False)
    hub = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    yield tmp_path
    torch.hub.set_dir(hub)


def tiny_file(path: Path, content: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_resolution_order(home, monkeypatch):
    hub_tfd = tiny_file(home / "hub" / "checkpoints" / store.TORCH_FIDELITY_NAME)
    assert store.resolve_weights(download=False) == hub_tfd
    hub_pfid = tiny_file(home / "hub" / "checkpoints" / store.CANONICAL_NAME)
    assert store.resolve_weights(download=False) == hub_pfid
    imported = tiny_file(home / "home" / "weights" / store.IMPORTED_NAME)
    assert store.resolve_weights(download=False) == imported
    canonical = tiny_file(home / "home" / "weights" / store.CANONICAL_NAME)
    assert store.resolve_weights(download=False) == canonical
    env = tiny_file(home / "env.pth")
    monkeypatch.setenv("GANEVAL_WEIGHTS", str(env))
    assert store.resolve_weights(download=False) == env
    explicit = tiny_file(home / "explicit.pth")
    assert store.resolve_weights(explicit, download=False) == explicit


def test_nothing_found_without_download(home):
    with pytest.raises(WeightsError, match="ganeval weights fetch"):
        store.resolve_weights(download=False)
    with pytest.raises(WeightsError, match="not found"):
        store.resolve_weights(home / "missing.pth")


def test_download_checks_sha256(home):
    payload = b"not really weights"
    source = tiny_file(home / "remote.bin", payload)
    target = home / "home" / "weights" / "got.bin"
    with pytest.raises(WeightsError, match="sha256"):
        store._download(source.as_uri(), target, "0" * 64, timeout=5)
    assert not target.exists() and not list(target.parent.glob(".download-*"))
    good = hashlib.sha256(payload).hexdigest()
    assert store._download(source.as_uri(), target, good, timeout=5).read_bytes() == payload


def test_import_torchscript_and_pth_give_the_same_network(torchscript_weights, weights_with_head, home):
    """The TorchScript file imports head-less; a .pth with a head keeps it; the trunks are identical."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from_ts = read_state_dict(store.import_weights(torchscript_weights))
    assert not has_head(from_ts)
    with_head = read_state_dict(store.import_weights(weights_with_head))
    assert has_head(with_head)
    assert trunk_digest(from_ts) == trunk_digest(with_head)
    assert build_network(with_head).has_head and not build_network(from_ts).has_head


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    corrupt = tiny_file(tmp_path / "corrupt.pth", b"PK\x03\x04 definitely not a zip")
    with pytest.raises(WeightsError, match="cannot read"):
        read_state_dict(corrupt)
    foreign = tmp_path / "foreign.pth"
    torch.save({"layer.weight": torch.zeros(2)}, foreign)
    with pytest.raises(WeightsError, match="not an FID Inception weights file"):
        read_state_dict(foreign)
