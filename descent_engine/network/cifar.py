"""CIFAR-10 from its official *binary* archive, preprocessed as the course preprocesses it.

The archive ``cifar-10-binary.tar.gz`` (https://www.cs.toronto.edu/~kriz/cifar.html, 170,052,171
bytes, MD5 ``c32a1d4ab5d03f1284b67883e8d87530``) holds ``cifar-10-batches-bin/data_batch_1.bin``
... ``data_batch_5.bin`` and ``test_batch.bin``: 10,000 records each, a record being one label
byte (0..9) and 3,072 pixel bytes, channel-major (the 1,024 red values of the 32x32 image row by
row, then green, then blue), plus ``batches.meta.txt`` (the ten class names, one a line).

Nothing is ever unpickled: the python version of the archive (``cifar-10-python.tar.gz``, pickles)
is refused. The archive is streamed once (``tarfile`` stream mode over ``gzip``, whose CRC is
checked), every member's size is checked against the layout before a byte of it is read, and the
float32 arrays are filled in place.

The course's preprocessing (CS231n ``get_CIFAR10_data``): training images ``0 .. num_train-1``
(49,000) are the training split, the next ``num_val`` (1,000, the last of the 50,000) the
validation split, the mean image of the *training split* is subtracted from every split, and each
image stays channel-major, flattened to 3,072 features (feature ``c * 1024 + 32 * row + col``).
The test batch is kept too (``X_test, y_test``, mean-subtracted the same way).

Pure NumPy and the standard library; callers show progress through a callback.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
MD5 = "c32a1d4ab5d03f1284b67883e8d87530"  # the published checksum of the binary version
ARCHIVE_BYTES = 170_052_171  # size of the official binary archive
PYTHON_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"  # the pickle version, refused

FOLDER = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCH = "test_batch.bin"
META = "batches.meta.txt"
RECORDS_PER_BATCH = 10_000  # the official layout; a test may pass fewer
IMAGE_BYTES = 3 * 32 * 32
RECORD_BYTES = 1 + IMAGE_BYTES
NUM_CLASSES = 10
NUM_VAL = 1_000  # the course keeps the last 1,000 training images for validation
MAX_META_BYTES = 4_096  # the official batches.meta.txt is 61 bytes
MAX_MEMBERS = 64  # the official archive has 8 (the folder, six batches, readme.html, meta)
CHUNK_RECORDS = 1_000  # records decoded per read
_SHORT = 60


class CifarError(ValueError):
    """The archive cannot be read as CIFAR-10 (the message is one user-facing line)."""


def short(text: object, limit: int = _SHORT) -> str:
    """A long user value shortened for a one-line message."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit // 2 - 2] + "..." + s[-(limit // 2 - 1):]


@dataclass
class Cifar10:
    """The preprocessed splits; ``arrays()`` is what the ``.npz`` holds."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    mean_image: np.ndarray
    label_names: list[str]

    def arrays(self) -> dict[str, np.ndarray]:
        out = {"X_train": self.X_train, "y_train": self.y_train, "X_val": self.X_val, "y_val": self.y_val}
        if self.X_test is not None and self.y_test is not None:
            out.update(X_test=self.X_test, y_test=self.y_test)
        out["mean_image"] = self.mean_image
        if self.label_names:
            out["label_names"] = np.array(self.label_names, dtype=str)  # a unicode array, no pickle
        return out

    def describe(self) -> str:
        test = 0 if self.X_test is None else self.X_test.shape[0]
        return (f"CIFAR-10: {self.X_train.shape[0]} train / {self.X_val.shape[0]} val / {test} test, "
                f"{self.X_train.shape[1]} features (mean image of the training split subtracted)")


def save_npz(data: Cifar10, fh: BinaryIO) -> None:
    """Write the splits with ``np.savez`` (plain arrays, readable with ``allow_pickle=False``)."""
    np.savez(fh, **data.arrays())


def check_sizes(num_train: int | None, num_val: int, num_test: int | None,
                records_per_batch: int = RECORDS_PER_BATCH) -> tuple[int, int, int]:
    """Resolve the split sizes (``None`` = the rest / the whole test batch) or raise a CifarError."""
    total = len(TRAIN_BATCHES) * records_per_batch
    if num_val < 1:
        raise CifarError(f"--num-val must be at least 1, got {num_val}")
    if num_val >= total:
        raise CifarError(f"--num-val {num_val} leaves no training images (the archive has {total})")
    if num_train is None:
        num_train = total - num_val
    if num_train < 1:
        raise CifarError(f"--num-train must be at least 1, got {num_train}")
    if num_train + num_val > total:
        raise CifarError(f"--num-train {num_train} plus --num-val {num_val} is more than the {total} training "
                         "images of the archive")
    if num_test is None:
        num_test = records_per_batch
    if not 0 <= num_test <= records_per_batch:
        raise CifarError(f"--num-test must be in 0..{records_per_batch}, got {num_test}")
    return num_train, num_val, num_test


def read_cifar10(archive: str | os.PathLike, *, num_train: int | None = None, num_val: int = NUM_VAL,
                 num_test: int | None = None, records_per_batch: int = RECORDS_PER_BATCH,
                 progress: Callable[[int, int], None] | None = None) -> Cifar10:
    """Read and preprocess ``cifar-10-binary.tar.gz``; every problem is one CifarError line.

    ``num_train`` training images (default: all but the validation ones), then ``num_val``
    validation images, in archive order; the first ``num_test`` test images (default all).
    ``progress(done, total)`` is called with records read so far.
    """
    num_train, num_val, num_test = check_sizes(num_train, num_val, num_test, records_per_batch)
    path = Path(archive)
    where = short(path)
    _check_file(path, where)
    reader = _Reader(where, num_train, num_val, num_test, records_per_batch, progress)
    try:
        # gzip.GzipFile checks the CRC and length at the end of the stream (tarfile's own
        # gzip reader does not), so a damaged byte anywhere is an error, not a wrong pixel
        with open(path, "rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as gz:
            with tarfile.open(fileobj=gz, mode="r|") as tar:
                reader.read(tar)
            reader.current = ""
            while gz.read(1 << 20):  # the rest of the stream (tar padding), to reach the checksum
                pass
    except CifarError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        at = f" while reading {reader.current}" if reader.current else ""
        raise CifarError(f"{where} is truncated or corrupt{at} ({short(exc)}); download it again") from None
    return reader.finish()


def _check_file(path: Path, where: str) -> None:
    if not path.exists():
        raise CifarError(f"archive {where} does not exist")
    if path.is_dir():
        raise CifarError(f"archive {where} is a directory (give the file cifar-10-binary.tar.gz)")
    if "cifar-10-python" in path.name:
        raise CifarError(f"{where} is the python version of CIFAR-10 (pickles, never unpickled here); "
                         "use the binary version cifar-10-binary.tar.gz")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise CifarError(f"cannot read {where}: {exc.strerror or exc}") from None
    if magic != b"\x1f\x8b":
        raise CifarError(f"{where} is not a gzip file (expected the binary archive cifar-10-binary.tar.gz)")


class _Reader:
    """One pass over the tar stream, filling preallocated arrays."""

    def __init__(self, where: str, num_train: int, num_val: int, num_test: int, records: int,
                 progress: Callable[[int, int], None] | None) -> None:
        self.where, self.records, self.progress = where, records, progress
        self.num_train, self.num_val, self.num_test = num_train, num_val, num_test
        self.X_train = np.empty((num_train, IMAGE_BYTES), dtype=np.float32)
        self.X_val = np.empty((num_val, IMAGE_BYTES), dtype=np.float32)
        self.X_test = np.empty((num_test, IMAGE_BYTES), dtype=np.float32)
        self.train_labels = np.empty(len(TRAIN_BATCHES) * records, dtype=np.uint8)
        self.test_labels = np.empty(records, dtype=np.uint8)
        self.seen: set[str] = set()
        self.label_names: list[str] = []
        self.current = ""
        self.done = 0
        self.total = (len(TRAIN_BATCHES) + 1) * records

    def read(self, tar: tarfile.TarFile) -> None:
        expected = self.records * RECORD_BYTES
        for count, member in enumerate(tar, start=1):
            if count > MAX_MEMBERS:
                raise CifarError(f"{self.where} has more than {MAX_MEMBERS} members: not the CIFAR-10 binary archive")
            name = re.sub(r"^(\./)+", "", member.name).rstrip("/")
            top, _, base = name.partition("/")
            if top in ("cifar-10-batches-py", "cifar-10-batches-mat"):
                kind = "python (pickle)" if top.endswith("py") else "MATLAB"
                raise CifarError(f"{self.where} is the {kind} version of CIFAR-10; use the binary version "
                                 "cifar-10-binary.tar.gz (descent-tui never unpickles)")
            wanted = top == FOLDER and (base in TRAIN_BATCHES or base == TEST_BATCH)
            if wanted:
                if base in self.seen:
                    raise CifarError(f"{self.where} holds {name} twice: not the CIFAR-10 binary archive")
                if not member.isreg():
                    raise CifarError(f"{self.where}: {name} is not a regular file")
                if member.size != expected:
                    raise CifarError(f"{self.where}: {name} is {member.size:,} bytes, expected {expected:,} "
                                     f"({self.records:,} records of {RECORD_BYTES:,} bytes)")
                self.current = name
                self._read_batch(tar, member, base)
                self.current = ""
                self.seen.add(base)
            elif top == FOLDER and base == META and member.isreg() and member.size <= MAX_META_BYTES:
                self.current = name
                self._read_meta(tar, member)
                self.current = ""
            elif member.size > expected:  # skipping it would still decompress it all
                raise CifarError(f"{self.where}: unexpected member {short(name)} of {member.size:,} bytes: "
                                 "not the CIFAR-10 binary archive")

    def _read_meta(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        fh = tar.extractfile(member)
        text = fh.read(MAX_META_BYTES).decode("ascii", "replace") if fh is not None else ""
        names = [line.strip() for line in text.splitlines() if line.strip()]
        self.label_names = names if len(names) == NUM_CLASSES else []

    def _read_batch(self, tar: tarfile.TarFile, member: tarfile.TarInfo, base: str) -> None:
        fh = tar.extractfile(member)
        assert fh is not None  # a regular file
        is_test = base == TEST_BATCH
        first = 0 if is_test else TRAIN_BATCHES.index(base) * self.records  # global index of record 0
        labels = self.test_labels if is_test else self.train_labels
        done = 0
        while done < self.records:
            n = min(CHUNK_RECORDS, self.records - done)
            buf = fh.read(n * RECORD_BYTES)
            if len(buf) != n * RECORD_BYTES:
                got = done * RECORD_BYTES + len(buf)
                raise CifarError(f"{self.where}: {member.name} ends after {got:,} of {member.size:,} bytes "
                                 "(truncated archive); download it again")
            block = np.frombuffer(buf, dtype=np.uint8).reshape(n, RECORD_BYTES)
            bad = np.flatnonzero(block[:, 0] >= NUM_CLASSES)
            if bad.size:
                k = int(bad[0])
                raise CifarError(f"{self.where}: {member.name} record {done + k} has label {int(block[k, 0])}, "
                                 f"expected 0..{NUM_CLASSES - 1} (corrupt archive)")
            labels[first + done:first + done + n] = block[:, 0]
            if is_test:
                self._place(block, done, self.X_test, 0, self.num_test)
            else:
                g = first + done
                self._place(block, g, self.X_train, 0, self.num_train)
                self._place(block, g, self.X_val, self.num_train, self.num_train + self.num_val)
            done += n
            self.done += n
            if self.progress is not None:
                self.progress(self.done, self.total)

    @staticmethod
    def _place(block: np.ndarray, g: int, out: np.ndarray, lo: int, hi: int) -> None:
        """Copy the block's records with global indices in ``[lo, hi)`` into ``out[index - lo]``."""
        a, b = max(g, lo), min(g + block.shape[0], hi)
        if a < b:
            out[a - lo:b - lo] = block[a - g:b - g, 1:]  # uint8 -> float32, exact

    def finish(self) -> Cifar10:
        missing = [b for b in (*TRAIN_BATCHES, TEST_BATCH) if b not in self.seen]
        if len(missing) == len(TRAIN_BATCHES) + 1:
            raise CifarError(f"{self.where} holds no {FOLDER}/ batches: not the CIFAR-10 binary archive "
                             "(cifar-10-binary.tar.gz)")
        if missing:
            raise CifarError(f"{self.where} has no {FOLDER}/{missing[0]} (truncated or not the official archive)")
        nt, nv = self.num_train, self.num_val
        # pixels are integers, so this float64 sum is exact and the mean is correctly rounded
        mean_image = self.X_train.sum(axis=0, dtype=np.float64) / nt
        for X in (self.X_train, self.X_val, self.X_test):
            X -= mean_image  # computed in float64, rounded once to float32, in place
        y_train = self.train_labels[:nt].astype(np.int64)
        y_val = self.train_labels[nt:nt + nv].astype(np.int64)
        y_test = self.test_labels[:self.num_test].astype(np.int64)
        keep_test = self.num_test > 0
        return Cifar10(self.X_train, y_train, self.X_val, y_val,
                       self.X_test if keep_test else None, y_test if keep_test else None,
                       mean_image, self.label_names)
