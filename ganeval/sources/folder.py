"""A folder of image files, listed recursively in an order that is the same on every machine."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from collections.abc import Iterable, Sequence

import numpy as np

from ganeval.errors import BadImageError, InputError, check
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import DECODE_ERRORS, check_max_pixels, decode_image

__all__ = ["DECODE_ERRORS", "DEFAULT_EXTENSIONS", "FolderSource", "display_path"]

DEFAULT_EXTENSIONS: tuple[str, ...] = ("png", "jpg", "jpeg", "webp", "bmp")

_READ_CHUNK = 1 << 20


class FolderSource(ImageSource):
    """Image files under `path` (recursively), sorted by the bytes of their relative POSIX paths.

    The order depends on names only, never on creation order, mtimes or the file system's listing order
    (KID subsets and the IS shuffle are drawn by index, so order changes their values). Names that are not
    valid UTF-8 are kept as bytes (surrogate escapes) and shown with backslash escapes in messages.
    Hidden files and folders (name starting with ".") are ignored silently; other files whose extension
    (case-insensitive) is not in `extensions` are counted in `skipped`. Symlinks are followed; a folder
    reached twice (a symlink loop or alias) is listed once. An entry that is not a readable regular file
    (broken or looping symlink, FIFO, socket, no permission) fails when loaded, as a bad image, so
    `skip_bad` can drop it. `max_pixels` caps the image size decoded (None: PIL's default limit of
    2 x ``Image.MAX_IMAGE_PIXELS``; 0: no limit). `verify=True` makes the fingerprint hash file contents
    instead of trusting size and mtime.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        extensions: Sequence[str] = DEFAULT_EXTENSIONS,
        verify: bool = False,
        max_pixels: int | None = None,
    ):
        self.root = os.path.abspath(os.fspath(path))
        self.extensions = tuple(e.lower().lstrip(".") for e in extensions)
        self.verify = verify
        self.max_pixels = check_max_pixels(max_pixels)
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
        return display_path(self.path(index))

    def load(self, index: int) -> np.ndarray:
        path = self.path(index)
        name = display_path(path)
        try:
            info = os.stat(path)  # follows symlinks: a broken or looping one fails here
            if not stat.S_ISREG(info.st_mode):
                raise BadImageError(name, f"not a regular file ({_file_kind(info.st_mode)})")  # a FIFO would block
            with open(path, "rb") as f:
                return decode_image(f, name, self.max_pixels)
        except OSError as exc:
            raise BadImageError(name, exc.strerror or str(exc)) from None

    @property
    def skipped(self) -> int:
        return self._skipped

    @property
    def decodes(self) -> bool:
        return True

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
        """Size and mtime (or content hash); an unreadable entry hashes its error, so it fails at load time."""
        path = os.path.join(self.root, *rel.split("/"))
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode):
                return b"special:" + _file_kind(info.st_mode).encode()
            if self.verify:
                return _sha256_file(path)
            return struct.pack("<Qq", info.st_size, info.st_mtime_ns)
        except OSError as exc:
            return f"error:{exc.errno}".encode()

    def __repr__(self) -> str:
        return f"FolderSource({self.root!r}, {len(self)} images)"


def display_path(path: str) -> str:
    """`path` printable in any terminal: bytes that are not UTF-8 appear as backslash escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _file_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return "a device or special file"


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
    images.sort(key=os.fsencode)  # byte order: defined for any name, equal to code point order for UTF-8
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
    raise InputError(f"cannot list folder {display_path(exc.filename)}: {exc.strerror or exc}")
