"""Writers for ``descent-tui run --out``: CSV, JSON and NPZ of a run's rows.

Every number is written with ``repr(float)`` (the shortest text that reads back to the same
float), so a file reproduces the run to the last digit. JSON has no NaN/inf: they become null.

CSV is written row by row. JSON and NPZ need each column whole (``"step": [...]``, ``step.npy``),
so the rows first go column by column to a :class:`Spool` (temporary files beside the output,
removed however the run ends) and the file is then assembled from it a chunk at a time: memory
stays flat for any number of rows. :class:`ArrayColumns` gives arrays already in memory the same
interface.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Protocol, TextIO

import numpy as np

from .common import CliError, shorten, write_error

FORMATS = (".csv", ".json", ".npz")


def output_format(out: str | None) -> str | None:
    """None (summary only), "-" (CSV to stdout) or one of FORMATS; CliError for anything else."""
    if out is None or out == "-":
        return out
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise CliError(f"cannot tell the format of --out {shorten(repr(out))}: use a name ending in "
                       f"{', '.join(FORMATS)}, or - for CSV on stdout")
    return suffix
HISTORY_KEYS = ("step", "lr", "loss", "w", "grad")
_CHUNK = 8192


def csv_header(dim: int) -> str:
    return ",".join(["step", "lr", "loss"] + [f"w{i}" for i in range(dim)] + [f"g{i}" for i in range(dim)])


def csv_line(step: int, lr: float, loss: float, w: np.ndarray, grad: np.ndarray) -> str:
    return ",".join([str(int(step)), repr(float(lr)), repr(float(loss))] + [repr(x) for x in w.tolist()]
                    + [repr(x) for x in grad.tolist()])


def _num(x: float) -> str:
    return repr(x) if math.isfinite(x) else "null"


def _json_rows(values: Iterable[Any]) -> str:
    out = []
    for v in values:
        if isinstance(v, list):
            out.append("[" + ",".join(_num(x) for x in v) + "]")
        elif isinstance(v, int):
            out.append(str(v))
        else:
            out.append(_num(v))
    return ",".join(out)


def json_safe(value: Any) -> Any:
    """Settings/summary values as JSON: tuples become lists, non-finite floats null."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


DTYPES = {"step": np.dtype(np.int64), "lr": np.dtype(np.float64), "loss": np.dtype(np.float64),
          "w": np.dtype(np.float64), "grad": np.dtype(np.float64)}
_MATRIX = ("w", "grad")  # (rows, dim); the others are (rows,)


class Columns(Protocol):
    """The history columns of a run, read a chunk of rows at a time."""

    def shape(self, key: str) -> tuple[int, ...]: ...

    def chunks(self, key: str) -> Iterable[np.ndarray]: ...


class ArrayColumns:
    """:class:`Columns` over arrays in memory (``Run(settings, capacity=None).history.arrays()``)."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.arrays = {k: np.ascontiguousarray(arrays[k], dtype=DTYPES[k]) for k in HISTORY_KEYS}

    def shape(self, key: str) -> tuple[int, ...]:
        return self.arrays[key].shape

    def chunks(self, key: str) -> Iterator[np.ndarray]:
        arr = self.arrays[key]
        for start in range(0, arr.shape[0], _CHUNK):
            yield arr[start:start + _CHUNK]


class Spool:
    """:class:`Columns` kept in five temporary files beside ``target`` while a run appends rows.

    A context manager: the files are removed when the block ends, however it ends, and an
    OSError inside it (a full disk while spooling or while writing the output) becomes
    ``cannot write TARGET: <strerror>``.
    """

    def __init__(self, target: str | os.PathLike, dim: int, rows: int = _CHUNK) -> None:
        self.target = Path(target)
        self.dim = dim
        self.rows = 0
        self._fill = 0
        self._buf = {k: np.empty((rows, dim) if k in _MATRIX else rows, dtype=DTYPES[k]) for k in HISTORY_KEYS}
        self._files: dict[str, Any] = {}
        self._paths: list[str] = []

    def __enter__(self) -> "Spool":
        directory = self.target.parent if str(self.target.parent) else Path(".")
        try:
            for key in HISTORY_KEYS:
                fd, path = tempfile.mkstemp(prefix=f".{self.target.name[:120]}.", suffix=f".{key}.spool",
                                            dir=directory)
                self._paths.append(path)
                self._files[key] = os.fdopen(fd, "w+b")
        except BaseException as exc:
            self.close()
            if isinstance(exc, OSError):
                raise write_error(self.target, exc) from None
            raise
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.close()
        if isinstance(exc, OSError):
            raise write_error(self.target, exc) from None

    def close(self) -> None:
        for fh in self._files.values():
            try:
                fh.close()
            except OSError:
                pass
        self._files = {}
        for path in self._paths:
            try:
                os.unlink(path)
            except OSError:
                pass
        self._paths = []

    def append(self, step: int, lr: float, loss: float, w: np.ndarray, grad: np.ndarray) -> None:
        i, b = self._fill, self._buf
        b["step"][i], b["lr"][i], b["loss"][i], b["w"][i], b["grad"][i] = step, lr, loss, w, grad
        self._fill += 1
        self.rows += 1
        if self._fill == b["step"].shape[0]:
            self._flush()

    def _flush(self) -> None:
        for key, fh in self._files.items():
            fh.write(self._buf[key][:self._fill].tobytes())
        self._fill = 0

    def shape(self, key: str) -> tuple[int, ...]:
        return (self.rows, self.dim) if key in _MATRIX else (self.rows,)

    def chunks(self, key: str) -> Iterator[np.ndarray]:
        self._flush()
        fh = self._files[key]
        fh.flush()
        fh.seek(0)
        width = self.dim if key in _MATRIX else 1
        size = _CHUNK * width * DTYPES[key].itemsize
        while data := fh.read(size):
            arr = np.frombuffer(data, dtype=DTYPES[key])
            yield arr.reshape(-1, self.dim) if key in _MATRIX else arr


def write_json(handle: TextIO, settings: Mapping[str, Any], columns: Columns,
               summary: Mapping[str, Any]) -> None:
    """``{"settings": ..., "history": {"step": [...], ...}, "summary": ...}``, a chunk of rows at a time."""
    handle.write('{"settings": ' + json.dumps(json_safe(settings)) + ', "history": {')
    for j, key in enumerate(HISTORY_KEYS):
        handle.write(("" if j == 0 else ", ") + json.dumps(key) + ": [")
        for i, chunk in enumerate(columns.chunks(key)):
            handle.write(("" if i == 0 else ",") + _json_rows(chunk.tolist()))
        handle.write("]")
    handle.write('}, "summary": ' + json.dumps(json_safe(summary)) + "}\n")


def write_npz(handle, settings: Mapping[str, Any], columns: Columns, summary: Mapping[str, Any]) -> None:
    """What ``np.savez`` writes for the history arrays plus ``settings`` and ``summary`` as JSON
    strings (loads without pickle), each array streamed into its zip entry a chunk at a time."""
    fmt = np.lib.format
    with zipfile.ZipFile(handle, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key in HISTORY_KEYS:
            with archive.open(key + ".npy", "w", force_zip64=True) as entry:
                fmt.write_array_header_1_0(entry, {"descr": fmt.dtype_to_descr(DTYPES[key]),
                                                   "fortran_order": False, "shape": columns.shape(key)})
                for chunk in columns.chunks(key):
                    entry.write(np.ascontiguousarray(chunk, dtype=DTYPES[key]).tobytes())
        for key, doc in (("settings", settings), ("summary", summary)):
            with archive.open(key + ".npy", "w", force_zip64=True) as entry:
                fmt.write_array(entry, np.array(json.dumps(json_safe(doc))), allow_pickle=False)
