"""Song packages (``.sng``): a whole Clone Hero / YARG song folder in one file.

Clone Hero (since 1.1), YARG and the chart sites ship songs as ``.sng`` packages: the
folder's files (the chart, the recording and its stems, often Opus, the album art) and
its ``song.ini`` entries, in one file. The layout, every integer little-endian:

- a header: ``SNGPKG``, the format version (uint32), and a 16-byte mask;
- the metadata: its length in bytes (uint64), the number of pairs (uint64), then each
  pair as a key and a value (an int32 length, then UTF-8 bytes): the entries of the
  ``[song]`` section of a ``song.ini``;
- the file index: its length (uint64), the number of files (uint64), then each file's
  name (a uint8 length, then UTF-8 bytes), size (uint64) and offset from the start of
  the package (uint64);
- the files' bytes (their total length first, uint64), each masked: byte ``i`` of a
  file is XOR-ed with ``mask[i % 16] ^ (i % 256)``.

:func:`read_sng` reads the header and index only (a library of thousands of packages
is scanned without reading their audio). :func:`song_folder` turns a package into a
song folder that every other part of cymbalism reads as it reads any song folder: the
files are unpacked into a folder of the user's cache (``$CYMBALISM_SNG_CACHE`` moves
it), one folder per package, with a ``song.ini`` written from the metadata. A package
is unpacked again only when it changes; the charts alone are unpacked when that is all
that is asked for (a library scan), the audio when the song is played. The folder keeps
at most :data:`UNPACKED_BUDGET_BYTES` (4 GiB): past it, the packages used longest ago
are removed, as are those whose package is gone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cymbalism.errors import InputError, NotFoundError
from cymbalism.io.charts import CHART_SUFFIXES

__all__ = [
    "ENCRYPTED_SUFFIX",
    "PACKAGE_SUFFIXES",
    "SNG_CACHE_ENV",
    "SNG_SUFFIX",
    "UNPACKED_BUDGET_BYTES",
    "SngEntry",
    "SngPackage",
    "is_sng",
    "read_sng",
    "sng_cache_folder",
    "song_folder",
    "unpack_sng",
    "write_sng",
]

#: The suffix of a song package.
SNG_SUFFIX = ".sng"
#: YARG's own packages: encrypted, so they cannot be read; named so that they are
#: refused with a reason rather than as an unknown file.
ENCRYPTED_SUFFIX = ".yargsong"
#: The suffixes of song packages.
PACKAGE_SUFFIXES = (SNG_SUFFIX, ENCRYPTED_SUFFIX)
#: Where packages are unpacked can be set with this environment variable.
SNG_CACHE_ENV = "CYMBALISM_SNG_CACHE"
_MAGIC = b"SNGPKG"
_VERSION = 1
#: Files unpacked when only the chart is wanted (a scan): the charts and song.ini.
_CHART_FILES = (*CHART_SUFFIXES, ".ini")
#: Bytes unmasked at a time (a multiple of 256, so the mask's period lines up).
_CHUNK = 1 << 20
#: The file in an unpacked folder that says which package, as it was, it holds.
_SIGNATURE = ".cymbalism-sng"


@dataclass(frozen=True)
class SngEntry:
    """A file in a package: its name, size in bytes and offset from the package's start."""

    name: str
    size: int
    offset: int


@dataclass(frozen=True)
class SngPackage:
    """The header and file index of a ``.sng`` package (see the module's description).

    Attributes
    ----------
    path : Path
    version : int
    metadata : dict of str to str
        The package's ``song.ini`` entries, keys in lower case.
    entries : tuple of SngEntry
        Its files, in the package's order.
    """

    path: Path
    version: int
    metadata: dict[str, str]
    entries: tuple[SngEntry, ...]
    mask: bytes = field(repr=False)

    def names(self) -> list[str]:
        """The names of the package's files."""
        return [e.name for e in self.entries]

    def entry(self, name: str) -> SngEntry:
        """The file called ``name`` (any case).

        Raises
        ------
        NotFoundError
            If the package holds no such file.
        """
        for e in self.entries:
            if e.name.lower() == name.lower():
                return e
        raise NotFoundError(f"{self.path.name} holds no file {name!r}")

    def read(self, name: str) -> bytes:
        """The contents of the file called ``name``, unmasked."""
        e = self.entry(name)
        with _open(self.path) as fh:
            fh.seek(e.offset)
            return _unmask(fh.read(e.size), self.mask, 0)

    def extract(self, name: str, dest: str | Path) -> Path:
        """Write the file called ``name`` to ``dest`` (through a temporary file, so a
        reader never sees half a file), a megabyte at a time."""
        e = self.entry(name)
        out = Path(dest)
        fd, temp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        part = Path(temp)
        try:
            with _open(self.path) as fh, os.fdopen(fd, "wb") as sink:
                fh.seek(e.offset)
                for start in range(0, e.size, _CHUNK):
                    sink.write(_unmask(fh.read(min(_CHUNK, e.size - start)), self.mask, start))
            os.replace(part, out)
        finally:
            part.unlink(missing_ok=True)
        return out


def is_sng(path: str | Path) -> bool:
    """Whether ``path`` names a song package by its suffix (``.sng``, or YARG's encrypted
    ``.yargsong``, which :func:`read_sng` refuses with the reason)."""
    return Path(path).suffix.lower() in PACKAGE_SUFFIXES


# ------------------------------------------------------------------------ masking
def _key(mask: bytes) -> np.ndarray:
    """The 256 bytes the mask XORs a file with, repeating (``mask[i % 16] ^ i``)."""
    i = np.arange(256, dtype=np.uint8)
    return np.frombuffer(mask, dtype=np.uint8)[i % 16] ^ i


def _unmask(data: bytes, mask: bytes, start: int) -> bytes:
    """``data`` (the bytes of a file from byte ``start`` on) with the mask undone; the
    same operation masks."""
    if not data:
        return b""
    key = np.roll(_key(mask), -(start % 256))
    x = np.frombuffer(data, dtype=np.uint8)
    return (x ^ np.resize(key, x.size)).tobytes()


# ------------------------------------------------------------------------ reading
def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"no song package at {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


class _Reader:
    """Little-endian fields from a package's header, each checked against its end."""

    def __init__(self, fh: BinaryIO, path: Path, size: int) -> None:
        self.fh, self.path, self.size = fh, path, size

    def bytes(self, n: int, what: str) -> bytes:
        data = self.fh.read(n)
        if len(data) < n:
            raise InputError(f"{self.path.name}: the package ends inside its {what} (truncated?)")
        return data

    def uint(self, fmt: str, what: str) -> int:
        value = struct.unpack(fmt, self.bytes(struct.calcsize(fmt), what))[0]
        return int(value)

    def text(self, n: int, what: str) -> str:
        if n < 0 or n > self.size:
            raise InputError(f"{self.path.name}: its {what} has an impossible length ({n})")
        raw = self.bytes(n, what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{self.path.name}: its {what} is not UTF-8 text") from None


def _safe_name(name: str, path: Path) -> str:
    """A file name that stays inside the folder it is unpacked into."""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise InputError(f"{path.name}: it holds a file named {name[:80]!r}: not a plain file name")
    return name


def read_sng(path: str | Path) -> SngPackage:
    """The header and file index of a ``.sng`` package (its files are not read).

    Raises
    ------
    NotFoundError
        If there is no file.
    InputError
        If it is not a song package, is truncated, or names a file outside itself.
    """
    p = Path(path)
    if p.suffix.lower() == ENCRYPTED_SUFFIX:
        _open(p).close()  # one that is not there is not found
        raise InputError(
            f"{p.name}: YARG's .yargsong packages are encrypted and cannot be read; "
            "cymbalism reads song folders and .sng packages"
        )
    with _open(p) as fh:
        size = os.fstat(fh.fileno()).st_size
        r = _Reader(fh, p, size)
        if fh.read(len(_MAGIC)) != _MAGIC:
            raise InputError(f"{p.name}: not a song package (.sng files begin with SNGPKG)")
        version = r.uint("<I", "header")
        mask = r.bytes(16, "header")
        r.uint("<Q", "metadata")  # its length in bytes: the pairs say theirs
        n_pairs = r.uint("<Q", "metadata")
        if n_pairs > size // 8:
            raise InputError(f"{p.name}: its metadata claims {n_pairs} entries (corrupt?)")
        metadata: dict[str, str] = {}
        for _ in range(n_pairs):
            key = r.text(r.uint("<i", "metadata"), "metadata")
            metadata[key.strip().lower()] = r.text(r.uint("<i", "metadata"), "metadata")
        r.uint("<Q", "file index")
        n_files = r.uint("<Q", "file index")
        if n_files > size // 17:
            raise InputError(f"{p.name}: its file index claims {n_files} files (corrupt?)")
        entries: list[SngEntry] = []
        seen: set[str] = set()
        for _ in range(n_files):
            name = _safe_name(r.text(r.uint("<B", "file index"), "file index"), p)
            n, offset = struct.unpack("<QQ", r.bytes(16, "file index"))
            if offset + n > size:
                raise InputError(f"{p.name}: {name} runs past the package's end (truncated?)")
            if name.startswith("."):  # a packer's leftover (.DS_Store), never a song's file
                continue
            if name.lower() in seen:
                raise InputError(f"{p.name}: it holds two files named {name!r}")
            seen.add(name.lower())
            entries.append(SngEntry(name, int(n), int(offset)))
    return SngPackage(p, version, metadata, tuple(entries), mask)


# ------------------------------------------------------------------------ writing
def _text_field(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<i", len(raw)) + raw


def write_sng(
    path: str | Path,
    files: Mapping[str, bytes],
    metadata: Mapping[str, str] | None = None,
    *,
    mask: bytes | None = None,
) -> Path:
    """Write a song package of ``files`` (name to contents) and ``metadata`` (the
    ``song.ini`` entries), as the games write one.

    Parameters
    ----------
    path : str or Path
    files : mapping of str to bytes
    metadata : mapping of str to str, optional
    mask : bytes, optional
        The 16 bytes the files are masked with; random by default.

    Returns
    -------
    path : Path
    """
    p = Path(path)
    mask = os.urandom(16) if mask is None else bytes(mask)
    if len(mask) != 16:
        raise InputError(f"a package's mask is 16 bytes, got {len(mask)}")
    names = [_safe_name(n, p) for n in files]
    pairs = b"".join(_text_field(k) + _text_field(v) for k, v in (metadata or {}).items())
    index_len = sum(1 + len(n.encode()) + 16 for n in names)
    offset = len(_MAGIC) + 4 + 16 + 16 + len(pairs) + 16 + index_len + 8
    index = b""
    for name in names:
        raw = name.encode()
        if len(raw) > 255:
            raise InputError(f"a package's file names are at most 255 bytes: {name[:40]!r}...")
        index += struct.pack("<B", len(raw)) + raw + struct.pack("<QQ", len(files[name]), offset)
        offset += len(files[name])
    with p.open("wb") as fh:
        fh.write(_MAGIC + struct.pack("<I", _VERSION) + mask)
        fh.write(struct.pack("<QQ", len(pairs) + 8, len(metadata or {})) + pairs)
        fh.write(struct.pack("<QQ", index_len + 8, len(names)) + index)
        fh.write(struct.pack("<Q", sum(len(files[n]) for n in names)))
        for name in names:
            fh.write(_unmask(files[name], mask, 0))
    return p


# ------------------------------------------------------------------------ unpacking
def sng_cache_folder() -> Path:
    """Where packages are unpacked: ``$CYMBALISM_SNG_CACHE``, else ``sng`` in the user's
    cache folder."""
    env = os.environ.get(SNG_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("cymbalism", appauthor=False)) / "sng"


def _ini_text(metadata: Mapping[str, str]) -> str:
    lines = ["[song]"]
    for key, value in metadata.items():
        k = " ".join(key.split()).replace("=", "")
        if k and not k.startswith("["):
            lines.append(f"{k} = {' '.join(value.split())}")
    return "\n".join(lines) + "\n"


def song_folder(path: str | Path, *, audio: bool = True) -> Path:
    """The song folder of ``path``: a folder is itself; a ``.sng`` package is unpacked
    (see the module's description) and its folder returned.

    Parameters
    ----------
    path : str or Path
        A song folder, a package, or any other file (returned as it is).
    audio : bool
        Unpack the package's audio and art too, not only its charts and ``song.ini``.

    Raises
    ------
    NotFoundError, InputError
        If a package cannot be read or unpacked.
    """
    p = Path(path).expanduser()
    if not is_sng(p) or p.is_dir():
        return p
    return unpack_sng(read_sng(p), audio=audio)


def unpack_sng(package: SngPackage, *, audio: bool = True) -> Path:
    """The song folder a package read by :func:`read_sng` is unpacked into (see the
    module's description); ``audio`` as in :func:`song_folder`.

    Raises
    ------
    InputError
        If it cannot be unpacked.
    """
    p = package.path
    try:
        st = p.stat()
        real = p.resolve()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from None
    key = hashlib.sha256(str(real).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    folder = sng_cache_folder() / key
    signature = f"{real}\n{st.st_size}\n{st.st_mtime_ns}\n"
    with _UNPACKING:  # one thread at a time (the studio answers requests in threads)
        return _unpack(package, folder, signature, audio=audio)


#: Held while a package is unpacked.
_UNPACKING = threading.Lock()


def _unpack(package: SngPackage, folder: Path, signature: str, *, audio: bool) -> Path:
    p = package.path
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker = folder / _SIGNATURE
        if not marker.is_file() or marker.read_text("utf-8", "replace") != signature:
            for old in folder.iterdir():  # the package changed: what was unpacked is stale
                if old.is_file():
                    old.unlink()
            marker.write_text(signature, "utf-8")
        else:
            os.utime(marker)  # used now: the last to go when the cache is trimmed
        names = package.names()
        if not any(n.lower() == "song.ini" for n in names):
            ini = folder / "song.ini"
            if not ini.is_file():
                ini.write_text(_ini_text(package.metadata), "utf-8")
        unpacked = 0
        for e in package.entries:
            if not audio and not e.name.lower().endswith(_CHART_FILES):
                continue
            out = folder / e.name
            if not (out.is_file() and out.stat().st_size == e.size):
                package.extract(e.name, out)
                unpacked += e.size
    except OSError as exc:
        raise InputError(
            f"cannot unpack {p.name} into {folder}: {exc.strerror} "
            f"(set ${SNG_CACHE_ENV} to another folder)"
        ) from None
    if unpacked > 0 and audio:
        _trim(folder.parent, keep=folder)
    return folder


#: How much the unpacked packages may hold, in bytes. Past it, the folders of the
#: packages used longest ago are removed (they are unpacked again when next played).
UNPACKED_BUDGET_BYTES = 4 * 2**30


def _trim(root: Path, *, keep: Path) -> None:
    """Remove unpacked folders whose package is gone, then, while the rest hold more than
    :data:`UNPACKED_BUDGET_BYTES`, those used longest ago (never ``keep``)."""
    folders = []
    for folder in root.iterdir():
        marker = folder / _SIGNATURE
        try:
            source = Path(marker.read_text("utf-8", "replace").split("\n", 1)[0])
            used = marker.stat().st_mtime
            size = sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
        except OSError:
            continue  # not one of ours, or being unpacked: left alone
        if folder != keep and not source.is_file():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folders.append((used, size, folder))
    total = sum(size for _, size, _ in folders)
    for _, size, folder in sorted(folders, key=lambda f: f[0]):
        if total <= UNPACKED_BUDGET_BYTES:
            break
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)
            total -= size
