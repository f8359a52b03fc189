"""A defensive reader for the user's ``.npz`` dataset file: no hang, no absurd allocation, no unpickling.

``np.load`` trusts the file: it opens whatever the name points at (a FIFO blocks forever), inflates
members whole, and allocates whatever an ``.npy`` header claims. This reader looks before it loads:

1. ``os.stat`` the name and refuse anything that is not a regular file (directory, FIFO, socket,
   device, also through a symlink) before opening it; the file is then opened non-blocking and
   ``fstat``-ed again, so a swap between the two calls cannot slip a FIFO in.
2. Read the zip directory (``zipfile``) and bound the members that will be read: their total
   uncompressed size must be at most :func:`size_limit` (:data:`ABSOLUTE_LIMIT`, and at most
   :data:`MEMORY_SHARE` of the memory the machine has available), and a member larger than
   :data:`RATIO_FLOOR` must not inflate more than :data:`MAX_RATIO` times (real arrays compress a
   few times at most; a 1 MB member that inflates to 1 GB is a zip bomb; real data that is that
   redundant can be saved uncompressed with ``np.savez``, which only the size bound limits).
3. For each member, read its ``.npy`` header (``read_magic`` / ``read_array_header_1_0`` /
   ``_2_0``) and refuse object dtypes (pickles: never loaded), structured and non-numeric
   dtypes, and a claimed shape whose size is more than the member holds, all before allocating.
4. Read exactly the claimed bytes into one preallocated buffer (Fortran order is honoured).

Every refusal is a :class:`DatasetError` whose message is one line naming the file.
"""

from __future__ import annotations

import math
import os
import stat
import warnings
import zipfile
import zlib
from typing import BinaryIO, Iterable, Sequence

import numpy as np

from ..params import shorten_path

try:
    from lzma import LZMAError
except ImportError:  # Python built without lzma: zipfile then refuses such members itself
    class LZMAError(Exception):  # type: ignore[no-redef]
        """Stand-in, never raised."""


class DatasetError(ValueError):
    """A dataset cannot be built or read (message is one user-facing line)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).splitlines()))


GIB = 1 << 30
MIB = 1 << 20
#: the most this loader inflates from one file, whatever the machine (float64 CIFAR-10 is 1.2 GiB)
ABSOLUTE_LIMIT = 4 * GIB
#: and at most this share of the memory available when the file is read
MEMORY_SHARE = 0.5
#: members up to this size may compress any amount (a small all-zero array is no threat)
RATIO_FLOOR = 64 * MIB
#: larger members may inflate at most this many times (deflate's ceiling is about 1032)
MAX_RATIO = 200
#: the longest user value shown whole in a message; longer ones keep their start and end
SHOWN_CHARS = 120
#: bytes inflated per read call
CHUNK = 16 * MIB
#: exceptions a damaged or hostile archive can raise from zipfile, zlib, lzma/bz2 and the npy header
ARCHIVE_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, TypeError, KeyError,
                  IndexError, OverflowError, RuntimeError, NotImplementedError, SyntaxError, RecursionError,
                  LZMAError)


def shown(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` on one line, start and end kept around ``...`` (see :func:`~descent_engine.params.shorten_path`)."""
    return shorten_path(text, limit)


def human_bytes(n: int) -> str:
    """``1.0 GiB`` style (binary units), exact bytes below 1 KiB."""
    if n < 1024:
        return f"{n} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        n /= 1024
        if n < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``, else free pages), or None if unknown."""
    try:
        with open("/proc/meminfo", "rb") as fh:
            for line in fh:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def size_limit() -> tuple[int, str]:
    """The most one dataset file may inflate to, and the words that say where the bound comes from."""
    memory = available_memory()
    if memory is not None and memory * MEMORY_SHARE < ABSOLUTE_LIMIT:
        return int(memory * MEMORY_SHARE), f"half the memory available now ({human_bytes(memory)})"
    return ABSOLUTE_LIMIT, "this loader's limit"


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"))


def _not_regular(mode: int, where: str) -> DatasetError:
    if stat.S_ISDIR(mode):
        return DatasetError(f"dataset file {where} is a directory")
    kind = next((words for test, words in _KINDS if test(mode)), "a special file")
    return DatasetError(f"dataset file {where} is {kind}, not a regular file")


def open_regular(path: str | os.PathLike, where: str) -> BinaryIO:
    """The file at ``path`` opened for reading, refusing anything but a non-empty regular file."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise DatasetError(f"dataset file {where} does not exist") from None
    except OSError as exc:
        raise DatasetError(f"cannot read dataset file {where}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an embedded NUL byte
        raise DatasetError(f"cannot read dataset file {where}: {exc}") from None
    if not stat.S_ISREG(mode):
        raise _not_regular(mode, where)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DatasetError(f"cannot read dataset file {where}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between stat and open
            raise _not_regular(info.st_mode, where)
        if info.st_size == 0:
            raise DatasetError(f"dataset file {where} is empty")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def member_names(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's arrays by key, as ``np.load`` names them (``X_train.npy`` -> ``X_train``)."""
    names: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        names[key] = info
    return names


def check_sizes(members: Iterable[tuple[str, int, int]], where: str, limit: int, limit_words: str) -> None:
    """Refuse members ``(key, uncompressed, compressed)`` that would inflate beyond bounds."""
    members = list(members)
    for key, size, packed in members:
        ratio = size / max(packed, 1)
        if size > RATIO_FLOOR and ratio > MAX_RATIO:
            raise DatasetError(f"{where}: {key} inflates from {human_bytes(packed)} to {human_bytes(size)} "
                               f"({ratio:.0f} times); refusing what looks like a zip bomb (if the data is real, "
                               "save it uncompressed with np.savez)")
    total = sum(size for _, size, _ in members)
    if total > limit:
        raise DatasetError(f"{where}: its arrays claim {human_bytes(total)} uncompressed, more than "
                           f"{limit_words} allows ({human_bytes(limit)})")


def _read_header(fh: BinaryIO, key: str, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version in ((1, 0), (2, 0)):
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        with warnings.catch_warnings():  # numpy warns about Python 2 headers; the array is read all the same
            warnings.simplefilter("ignore")
            shape, fortran, dtype = read(fh)
    else:
        raise DatasetError(f"{where}: {key} uses .npy format version {version[0]}.{version[1]}, which this "
                           "loader does not read (save plain numeric arrays with np.savez)")
    if any(d < 0 for d in shape):
        raise DatasetError(f"{where}: {key}'s header claims an impossible shape {shape}")
    return shape, fortran, dtype


def _check_dtype(dtype: np.dtype, key: str, where: str, kinds: tuple[str, str]) -> None:
    if dtype.hasobject:
        raise DatasetError(f"{where}: {key} holds Python objects (pickled data is never loaded); "
                           "save plain numeric arrays")
    if dtype.names is not None or dtype.subdtype is not None:
        raise DatasetError(f"{where}: {key} has a structured dtype ({shown(str(dtype), 60)}); "
                           "save plain numeric arrays")
    allowed, words = kinds
    if dtype.kind not in allowed or dtype.itemsize == 0:
        raise DatasetError(f"{where}: {key} must hold {words}, got dtype {shown(str(dtype), 60)}")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, where: str,
                kinds: tuple[str, str]) -> np.ndarray:
    """One ``.npy`` member, checked (see the module docstring) before anything is allocated."""
    with archive.open(info) as fh:
        shape, fortran, dtype = _read_header(fh, key, where)
        _check_dtype(dtype, key, where, kinds)
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        held = info.file_size - fh.tell()
        if nbytes > held:
            raise DatasetError(f"{where}: {key}'s header claims shape {shape} of {dtype} ({human_bytes(nbytes)}) "
                               f"but the archive holds only {human_bytes(max(held, 0))} for it")
        buffer = np.empty(nbytes, np.uint8)
        got = 0
        while got < nbytes:
            chunk = fh.read(min(CHUNK, nbytes - got))
            if not chunk:
                raise DatasetError(f"{where}: {key} is truncated ({human_bytes(got)} of {human_bytes(nbytes)})")
            buffer[got:got + len(chunk)] = np.frombuffer(chunk, np.uint8)
            got += len(chunk)
    array = buffer.view(dtype)
    array = array.reshape(shape[::-1]).T if fortran else array.reshape(shape)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def read_arrays(path: str | os.PathLike, where: str, kinds: dict[str, tuple[str, str]]) -> dict[str, np.ndarray]:
    """The arrays ``kinds`` names from the ``.npz`` at ``path``; ``kinds`` maps each key to its allowed
    dtype kinds (``np.dtype.kind`` letters) and the words that name them in a refusal."""
    with open_regular(path, where) as fh:
        magic = fh.read(6)
        fh.seek(0)
        if magic == b"\x93NUMPY":
            raise DatasetError(f"{where} is a single .npy array; need an .npz with {', '.join(kinds)}")
        if magic[:1] == b"\x80" and magic[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            raise DatasetError(f"{where} is a Python pickle (pickled data is never loaded: it can run code); "
                               f"save {', '.join(kinds)} with np.savez")
        if not magic.startswith(b"PK"):
            raise DatasetError(f"{where} is not a NumPy .npz archive (save {', '.join(kinds)} with np.savez)")
        try:
            with zipfile.ZipFile(fh) as archive:
                members = member_names(archive)
                for key in kinds:
                    if key not in members:
                        raise DatasetError(f"{where} has no {key!r} array (needs {', '.join(kinds)})")
                check_sizes([(k, members[k].file_size, members[k].compress_size) for k in kinds], where,
                            *size_limit())
                return {key: _read_one(archive, members[key], key, where, allowed)
                        for key, allowed in kinds.items()}
        except DatasetError:
            raise
        except MemoryError:
            raise DatasetError(f"{where}: not enough memory to read its arrays") from None
        except ARCHIVE_ERRORS as exc:
            raise DatasetError(f"{where} is not a readable NumPy .npz archive ({shown(str(exc), 80)})") from None


def _read_one(archive: zipfile.ZipFile, info: zipfile.ZipInfo, key: str, where: str,
              kinds: tuple[str, str]) -> np.ndarray:
    try:
        return read_member(archive, info, key, where, kinds)
    except DatasetError:
        raise
    except MemoryError:
        raise DatasetError(f"{where}: not enough memory to read {key}") from None
    except ARCHIVE_ERRORS as exc:
        raise DatasetError(f"{where}: cannot read {key} ({shown(str(exc), 80)})") from None


__all__: Sequence[str] = ("DatasetError", "read_arrays", "shown", "human_bytes", "size_limit", "check_sizes",
                          "open_regular", "available_memory")
