"""Images inside a zip or tar archive, in the order of their sorted member paths (as a folder would be).

A zip is read member by member from disk (random access); each process opens its own handle, since a
file offset shared by forked DataLoader workers would interleave their reads. A tar, compressed or not,
has no random access, so its image members are read into memory once (CIFAR-10 as JPEG: 16 MB) and
decoded on demand, in the workers.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tarfile
import zipfile

import numpy as np

from ganeval.errors import BadImageError, InputError, check
from ganeval.sources.base import ImageSource
from ganeval.sources.convert import check_max_pixels, decode_image
from ganeval.sources.folder import DEFAULT_EXTENSIONS

ZIP_SUFFIXES = (".zip",)
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


def _is_image_member(name: str, extensions: tuple[str, ...]) -> bool:
    parts = [p for p in name.split("/") if p not in ("", ".")]  # "./a.png" is "a.png"
    if not parts:
        return False
    if any(p.startswith(".") for p in parts) or parts[0] == "__MACOSX":
        return False
    return "." in parts[-1] and parts[-1].rpartition(".")[2].lower() in extensions


class _ArchiveSource(ImageSource):
    """What zip and tar sources share: sorted image members of one archive file, the others counted."""

    path: str
    members: list[str]
    _skipped: int

    def __len__(self) -> int:
        return len(self.members)

    def describe(self, index: int) -> str:
        return f"{self.path}:{self.members[index]}"

    @property
    def decodes(self) -> bool:
        return True

    @property
    def skipped(self) -> int:
        return self._skipped

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, {len(self)} images)"


class ZipSource(_ArchiveSource):
    """Image members of a zip archive, sorted by member path; other members are counted in `skipped`.

    `max_pixels` caps the decoded image size as for `FolderSource` (None: PIL's limit; 0: none): a zip
    member is as able to be a decompression bomb as a file.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        extensions: tuple[str, ...] = DEFAULT_EXTENSIONS,
        verify: bool = False,
        max_pixels: int | None = None,
    ):
        self.path = os.path.abspath(os.fspath(path))
        self.verify = verify
        self.max_pixels = check_max_pixels(max_pixels)
        try:
            with zipfile.ZipFile(self.path) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
        except (OSError, zipfile.BadZipFile) as exc:
            raise InputError(f"cannot read zip archive {self.path}: {exc}") from None
        images = sorted((i for i in infos if _is_image_member(i.filename, extensions)), key=lambda i: i.filename)
        self.members = [i.filename for i in images]
        self._identity = [(i.filename, i.CRC, i.file_size) for i in images]
        self._skipped = len(infos) - len(images)
        check(len(self.members) > 0, f"no images ({', '.join(extensions)}) in zip archive {self.path}")
        self._handle: tuple[int, zipfile.ZipFile] | None = None
        self._fingerprint: str | None = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_handle": None}

    def _archive(self) -> zipfile.ZipFile:
        if self._handle is None or self._handle[0] != os.getpid():
            self._handle = (os.getpid(), zipfile.ZipFile(self.path))
        return self._handle[1]

    def load(self, index: int) -> np.ndarray:
        name = self.members[index]
        try:
            data = self._archive().read(name)
        except (OSError, zipfile.BadZipFile) as exc:
            raise BadImageError(self.describe(index), str(exc)) from None
        return decode_image(io.BytesIO(data), self.describe(index), self.max_pixels)

    @property
    def fingerprint(self) -> str:
        """sha256 of member names, CRC-32s and sizes (the central directory), or of the file with verify."""
        if self._fingerprint is None:
            digest = hashlib.sha256(b"ganeval-zip-v1\0" + (b"content" if self.verify else b"crc"))
            if self.verify:
                with open(self.path, "rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
            for name, crc, size in self._identity:
                encoded = name.encode()
                digest.update(struct.pack("<Q", len(encoded)) + encoded + struct.pack("<IQ", crc, size))
            self._fingerprint = digest.hexdigest()
        return self._fingerprint


class TarSource(_ArchiveSource):
    """Image members of a tar archive (any compression), sorted by member path, held encoded in memory.

    `max_pixels` caps the decoded image size as for `FolderSource` (None: PIL's limit; 0: none).
    """

    def __init__(
        self, path: str | os.PathLike, extensions: tuple[str, ...] = DEFAULT_EXTENSIONS, max_pixels: int | None = None
    ):
        self.path = os.path.abspath(os.fspath(path))
        self.max_pixels = check_max_pixels(max_pixels)
        blobs: dict[str, bytes] = {}
        others = 0
        try:
            with tarfile.open(self.path) as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    if not _is_image_member(member.name, extensions):
                        others += 1
                        continue
                    blobs[member.name] = archive.extractfile(member).read()
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise InputError(f"cannot read tar archive {self.path}: {exc}") from None
        self.members = sorted(blobs)
        self.blobs = [blobs[name] for name in self.members]
        self._skipped = others
        check(len(self.members) > 0, f"no images ({', '.join(extensions)}) in tar archive {self.path}")
        self._fingerprint: str | None = None

    def load(self, index: int) -> np.ndarray:
        return decode_image(io.BytesIO(self.blobs[index]), self.describe(index), self.max_pixels)

    @property
    def fingerprint(self) -> str:
        """sha256 of member paths and bytes: independent of the compression and the archive's order."""
        if self._fingerprint is None:
            digest = hashlib.sha256(b"ganeval-tar-v1\0")
            for name, blob in zip(self.members, self.blobs, strict=True):
                encoded = name.encode()
                digest.update(struct.pack("<QQ", len(encoded), len(blob)) + encoded)
                digest.update(blob)
            self._fingerprint = digest.hexdigest()
        return self._fingerprint
