"""A folder of image files, listed recursively in an order that is the same on every machine."""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterable, Sequence

import numpy as np
from PIL import Image

from ganeval.errors import BadImageError, InputError, check
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import pil_to_rgb

DEFAULT_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "bmp")

# Everything PIL is known to raise on a corrupt, truncated or hostile file (UnidentifiedImageError and
# FileNotFoundError are OSErrors); a file that raises one of these is a bad image, not a ganeval bug.
DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)

_READ_CHUNK = 1 << 20


class FolderSource(ImageSource):
    """Image files under `path` (recursively), sorted by relative POSIX path.

    Hidden files and folders (name starting with ".") are ignored silently; other files whose extension
    (case-insensitive) is not in `extensions` are counted in `skipped`. Symlinked folders are followed,
    once each. `verify=True` makes the fingerprint hash file contents instead of trusting size and mtime.
    """

    def __init__(self, path: str | os.PathLike, extensions: Sequence[str] = DEFAULT_EXTENSIONS, verify: bool = False):
        self.root = os.path.abspath(os.fspath(path))
        self.extensions = tuple(e.lower().lstrip(".") for e in extensions)
        self.verify = verify
        check(os.path.exists(self.root), f"no such folder: {self.root}")
        check(os.path.isdir(self.root), f"not a folder: {self.root}")
        self.files, self._skipped = _list_images(self.root, frozenset(self.extensions))
        check(
            len(self.files) > 0,
            f"no images ({', '.join(self.extensions)}) found in {self.root}"
            + (f" ({self._skipped} other files ignored)" if self._skipped else ""),
        )
        self._fingerprint: str | None = None

    def __len__(self) -> int:
        return len(self.files)

    def path(self, index: int) -> str:
        """Absolute path of image `index`."""
        return os.path.join(self.root, *self.files[index].split("/"))

    def describe(self, index: int) -> str:
        return self.path(index)

    def load(self, index: int) -> np.ndarray:
        path = self.path(index)
        try:
            with Image.open(path) as img:
                img.load()
                return pil_to_rgb(img)
        except DECODE_ERRORS as exc:
            raise BadImageError(path, str(exc) or type(exc).__name__) from None

    @property
    def skipped(self) -> int:
        return self._skipped

    @property
    def fingerprint(self) -> str:
        """sha256 over (relative path, size, mtime_ns), or (relative path, content sha256) with verify.

        Computed on first use and then fixed for this instance.
        """
        if self._fingerprint is None:
            digest = hashlib.sha256(b"ganeval-folder-v1\0" + (b"content" if self.verify else b"stat"))
            for rel in self.files:
                name = os.fsencode(rel)
                digest.update(struct.pack("<Q", len(name)) + name)
                digest.update(self._file_identity(rel))
            self._fingerprint = digest.hexdigest()
        return self._fingerprint

    def _file_identity(self, rel: str) -> bytes:
        path = os.path.join(self.root, *rel.split("/"))
        try:
            if self.verify:
                return _sha256_file(path)
            st = os.stat(path)
            return struct.pack("<Qq", st.st_size, st.st_mtime_ns)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None

    def __repr__(self) -> str:
        return f"FolderSource({self.root!r}, {len(self)} images)"


def _sha256_file(path: str) -> bytes:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.digest()


def _list_images(root: str, extensions: frozenset[str]) -> tuple[list[str], int]:
    """Relative POSIX paths of images under `root` in sorted order, and the count of other files."""
    images: list[str] = []
    skipped = 0
    for rel_dir, filenames in _walk(root):
        for name in filenames:
            if name.startswith("."):
                continue
            ext = name.rpartition(".")[2].lower() if "." in name else ""
            if ext in extensions:
                images.append(f"{rel_dir}/{name}" if rel_dir else name)
            else:
                skipped += 1
    images.sort()
    return images, skipped


def _walk(root: str) -> Iterable[tuple[str, list[str]]]:
    """(relative POSIX dir, file names) for every non-hidden folder; symlink loops visited once."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise_unreadable, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # deterministic alias choice
        rel = os.path.relpath(dirpath, root)
        yield ("" if rel == "." else rel.replace(os.sep, "/")), filenames


def _raise_unreadable(exc: OSError) -> None:
    raise InputError(f"cannot list folder {exc.filename}: {exc.strerror or exc}")
