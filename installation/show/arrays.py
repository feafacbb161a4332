"""Latent and direction arrays (.npy, .npz) read safely: sizes come from the headers first.

A .npy header states the dtype and shape; a .npz is a zip of .npy members whose central
directory states each member's uncompressed size. Both are checked against the bytes the file
really holds and against MAX_ARRAY_BYTES before any array is allocated or any member is
decompressed past its header, so a small file cannot ask for gigabytes. Object arrays (pickles)
are never loaded. Every problem is an ArrayFileError (a ValueError) whose text names the file.
"""

from __future__ import annotations

import logging
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

log = logging.getLogger(__name__)

MAX_ARRAY_FILE_BYTES = 256 * 2**20  # a .npy or .npz on disk (a directions file is a few MB)
MAX_ARRAY_BYTES = 64 * 2**20  # one array in memory
MAX_NPZ_MEMBERS = 64  # arrays in one .npz (`latent-walk directions` writes 3)
NUMBERS = "fiu"  # dtype kinds of latents and directions: float, signed and unsigned int
TEXT = "U"  # dtype kind of the names of a directions .npz
EOCD = struct.Struct("<4s4H2LH")  # zip end of central directory record (22 bytes)
EOCD_SIGNATURE = b"PK\x05\x06"
MAX_ZIP_COMMENT = 0xFFFF
CENTRAL_ENTRY_BYTES = 46  # fixed part of one central directory entry
MAX_MEMBER_NAME = 255
# what reading a damaged, encrypted or exotic zip member raises
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, OSError, EOFError)
# The array names of each kind of .npz, defined once for every reader (and the show check):
# a latent (w or ws), the first name present wins: `ws` as stored latents (latents/<name>.npz)
# may name it, `w` as `latent-walk project` writes it.
LATENT_KEYS = ("ws", "w")
# a `latent-walk directions` file: directions [K, w_dim] or [K, num_ws, w_dim], std [K]
# (optional), names [K] (optional; else pc0 … pc<K-1>)
DIRECTIONS_KEY = "directions"
DIRECTION_STD_KEY = "std"
DIRECTION_NAMES_KEY = "names"


class ArrayFileError(ValueError):
    """A .npy/.npz that cannot be read safely; the text names the file and the reason."""


@dataclass(frozen=True)
class ArrayInfo:
    """What a .npy header says: shape and dtype (the data is not read)."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        """Bytes of the data the header announces."""
        return math.prod(self.shape) * self.dtype.itemsize


def npy_info(path: Path, kinds: str = NUMBERS) -> ArrayInfo:
    """The checked header of a .npy file."""
    size = _file_size(path)
    with open(path, "rb") as fp:
        return _header(fp, size, str(path), kinds)


def read_npy(path: Path, kinds: str = NUMBERS) -> np.ndarray:
    """The array of a .npy file, its header checked before the data is read."""
    size = _file_size(path)
    with open(path, "rb") as fp:
        _header(fp, size, str(path), kinds)
        fp.seek(0)
        return _read(fp, str(path))


def npz_infos(path: Path, kinds: str | None = None) -> dict[str, ArrayInfo]:
    """The checked headers of every array of a .npz, by name (no member is decompressed).

    `kinds`: the dtype kinds every member must have; None checks sizes only (a caller checks
    the kinds of the members it uses).
    """
    with _open_zip(path) as archive:
        return {
            _array_name(member): _member_header(archive, member, path, kinds)
            for member in archive.infolist()
        }


def read_npz(
    path: Path, names: tuple[str, ...], kinds: str = NUMBERS + TEXT
) -> dict[str, np.ndarray]:
    """The arrays `names` of a .npz (those it holds), each header checked before its data."""
    out: dict[str, np.ndarray] = {}
    with _open_zip(path) as archive:
        for member in archive.infolist():
            name = _array_name(member)
            if name not in names:
                continue
            _member_header(archive, member, path, kinds)
            try:
                with archive.open(member) as fp:
                    out[name] = _read(fp, f"{path}[{name}]")
            except ZIP_ERRORS as err:
                raise ArrayFileError(f"{path}[{name}]: cannot read: {err}") from None
    return out


def latent_key(names: Iterable[str], keys: tuple[str, ...] = LATENT_KEYS) -> str | None:
    """The first of `keys` among a .npz's array names; None when it holds none of them."""
    present = set(names)
    return next((key for key in keys if key in present), None)


def read_latent_file(path: Path, keys: tuple[str, ...] = LATENT_KEYS) -> np.ndarray:
    """The float32 array of a .npy, or of a .npz's first array named in `keys`.

    Headers are checked before any data is read; a .npz may hold other arrays too.

    Raises:
        ArrayFileError: the file cannot be read safely, holds no numbers, or (a .npz) has
            none of `keys`; the text names the file.
    """
    if Path(path).suffix.lower() != ".npz":
        return np.asarray(read_npy(path), dtype=np.float32)
    arrays = read_npz(path, keys, kinds=NUMBERS)
    key = latent_key(arrays, keys)
    if key is None:
        found = ", ".join(npz_infos(path)) or "none"
        wanted = " or ".join(repr(k) for k in keys)
        raise ArrayFileError(f"{path}: no {wanted} array (found: {found})")
    return np.asarray(arrays[key], dtype=np.float32)


def read_direction(path: Path, index: int, is_sigma: bool) -> np.ndarray:
    """Entry `index` of a directions .npz as float32, times its std when `is_sigma`.

    Raises:
        ArrayFileError: the file cannot be read safely.
        KeyError, IndexError: it has no such array or entry (the show check rules both out).
    """
    arrays = read_npz(path, (DIRECTIONS_KEY, DIRECTION_STD_KEY), kinds=NUMBERS)
    array = np.asarray(arrays[DIRECTIONS_KEY][index], dtype=np.float32)
    if is_sigma:
        array = array * np.float32(arrays[DIRECTION_STD_KEY][index])
    return array


def _file_size(path: Path) -> int:
    """Size of a regular file, refused past MAX_ARRAY_FILE_BYTES."""
    try:
        size = os.stat(path).st_size
    except OSError as err:
        raise ArrayFileError(f"{path}: cannot read: {err.strerror or err}") from None
    if not Path(path).is_file():
        raise ArrayFileError(f"{path}: not a regular file")
    if size > MAX_ARRAY_FILE_BYTES:
        raise ArrayFileError(
            f"{path}: {size} bytes; a latent or direction file is at most "
            f"{MAX_ARRAY_FILE_BYTES // 2**20} MiB"
        )
    return size


def _header(fp: IO[bytes], available: int, what: str, kinds: str | None) -> ArrayInfo:
    """Read and check a .npy header at fp's position; `available`: bytes of the whole .npy."""
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ArrayFileError(f"{what}: .npy format version {version} is not supported")
    except ArrayFileError:
        raise
    except (ValueError, OSError, EOFError, SyntaxError, TypeError) as err:
        raise ArrayFileError(f"{what}: not a .npy array ({err})") from None
    info = ArrayInfo(tuple(int(n) for n in shape), dtype)
    if kinds is not None and (dtype.hasobject or dtype.kind not in kinds or dtype.fields):
        raise ArrayFileError(f"{what}: holds {dtype} values; expected numbers")
    if info.nbytes > MAX_ARRAY_BYTES:
        raise ArrayFileError(
            f"{what}: shape {list(info.shape)} is {info.nbytes} bytes; an array here is at most "
            f"{MAX_ARRAY_BYTES // 2**20} MiB"
        )
    if fp.tell() + info.nbytes > available:
        raise ArrayFileError(
            f"{what}: truncated: shape {list(info.shape)} needs {info.nbytes} bytes of data, "
            f"the file holds {max(available - fp.tell(), 0)}"
        )
    return info


def _read(fp: IO[bytes], what: str) -> np.ndarray:
    """The array at fp (its header already checked), never unpickling."""
    try:
        return np.lib.format.read_array(fp, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ArrayFileError(f"{what}: cannot read: {err}") from None


def _open_zip(path: Path) -> zipfile.ZipFile:
    """The .npz as a ZipFile, once its central directory is known to be small."""
    size = _file_size(path)
    with open(path, "rb") as fp:
        tail_bytes = min(size, EOCD.size + MAX_ZIP_COMMENT)
        fp.seek(size - tail_bytes)
        tail = fp.read(tail_bytes)
    at = tail.rfind(EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < EOCD.size:
        raise ArrayFileError(f"{path}: not a .npz (zip) file")
    entries, directory_bytes = EOCD.unpack_from(tail, at)[4:6]
    most = MAX_NPZ_MEMBERS * (CENTRAL_ENTRY_BYTES + MAX_MEMBER_NAME + 2 * 0xFFFF)
    if entries > MAX_NPZ_MEMBERS or directory_bytes > most:
        raise ArrayFileError(f"{path}: holds {entries} entries; a .npz here holds at most "
                             f"{MAX_NPZ_MEMBERS} arrays")  # fmt: skip
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise ArrayFileError(f"{path}: not a .npz (zip) file ({err})") from None
    if len(archive.infolist()) > MAX_NPZ_MEMBERS:
        archive.close()
        raise ArrayFileError(f"{path}: a .npz here holds at most {MAX_NPZ_MEMBERS} arrays")
    return archive


def _array_name(member: zipfile.ZipInfo) -> str:
    """'w.npy' -> 'w' (np.savez's member names)."""
    name = member.filename
    return name[: -len(".npy")] if name.endswith(".npy") else name


def _member_header(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path, kinds: str | None
) -> ArrayInfo:
    """The checked header of one .npz member; only its first bytes are decompressed."""
    what = f"{path}[{_array_name(member)}]"
    if member.file_size > MAX_ARRAY_BYTES + 2**16:
        raise ArrayFileError(f"{what}: {member.file_size} bytes uncompressed; an array here is "
                             f"at most {MAX_ARRAY_BYTES // 2**20} MiB")  # fmt: skip
    try:
        with archive.open(member) as fp:
            return _header(fp, member.file_size, what, kinds)
    except ZIP_ERRORS as err:
        raise ArrayFileError(f"{what}: cannot read: {err}") from None
