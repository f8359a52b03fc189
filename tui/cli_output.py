"""Writers for ``descent-tui run --out``: CSV, JSON and NPZ of a run's rows.

Every number is written with ``repr(float)`` (the shortest text that reads back to the same
float), so a file reproduces the run to the last digit. JSON has no NaN/inf: they become null.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, TextIO

import numpy as np

FORMATS = (".csv", ".json", ".npz")
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


def write_json(handle: TextIO, settings: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
               summary: Mapping[str, Any]) -> None:
    """Streamed in chunks so a long run does not need its rows as Python objects all at once."""
    handle.write('{"settings": ' + json.dumps(json_safe(settings)) + ', "history": {')
    for j, key in enumerate(HISTORY_KEYS):
        arr = arrays[key]
        handle.write(("" if j == 0 else ", ") + json.dumps(key) + ": [")
        for start in range(0, arr.shape[0], _CHUNK):
            handle.write(("" if start == 0 else ",") + _json_rows(arr[start:start + _CHUNK].tolist()))
        handle.write("]")
    handle.write('}, "summary": ' + json.dumps(json_safe(summary)) + "}\n")


def write_npz(handle, settings: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
              summary: Mapping[str, Any]) -> None:
    """The history arrays plus ``settings`` and ``summary`` as JSON strings (loads without pickle)."""
    np.savez(handle, **{k: arrays[k] for k in HISTORY_KEYS},
             settings=np.array(json.dumps(json_safe(settings))),
             summary=np.array(json.dumps(json_safe(summary))))
