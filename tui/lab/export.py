"""The lab's ``w`` key: the runs on screen (every trace of compare mode) as CSV and NPZ, and the
session as TOML (``descent-tui --config FILE`` reopens it), written beside each other.

Rows are the runs' kept history (the lab keeps at most a few thousand rows per run, thinned
evenly on long runs): step, lr, loss, w_i, g_i. The TOML is the engine's session writer, so a file
written here replays exactly like one from ``--print-config``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from descent_engine.rules import get_rule
from descent_engine.session_toml import to_toml

from .model import Lab


def _stem(directory: Path) -> str:
    stem = f"descent-tui-{time.strftime('%Y%m%d-%H%M%S')}"
    n, out = 1, stem
    while any(directory.glob(out + "*")):
        n += 1
        out = f"{stem}-{n}"
    return out


def export_runs(lab: Lab, directory: Path) -> list[Path]:
    """Write ``<stem>-<rule>.csv`` per run, ``<stem>.npz`` (every run's arrays, prefixed by the
    rule) and ``<stem>.toml``; returns the paths written. OSError when the directory refuses."""
    stem = _stem(directory)
    written: list[Path] = []
    arrays: dict[str, np.ndarray] = {}
    for t in lab.traces:
        d = t.data()
        name = get_rule(t.settings.rule).name
        dim = d.w.shape[1]
        header = ",".join(["step", "lr", "loss"] + [f"w{i}" for i in range(dim)] + [f"g{i}" for i in range(dim)])
        table = np.column_stack([d.step, d.lr, d.loss, d.w, d.grad])
        path = directory / f"{stem}-{name}.csv"
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(header + "\n")
            for row in table:
                fh.write(",".join(repr(float(v)) if i else str(int(v)) for i, v in enumerate(row)) + "\n")
        written.append(path)
        for key, value in (("step", d.step), ("lr", d.lr), ("loss", d.loss), ("w", d.w), ("grad", d.grad)):
            arrays[f"{name}_{key}"] = value
    npz = directory / f"{stem}.npz"
    with open(npz, "xb") as fh:
        np.savez(fh, **arrays)
    written.append(npz)
    first = lab.traces[0].settings
    rules = tuple(get_rule(t.settings.rule).name for t in lab.traces) if lab.compare else ()
    toml = directory / f"{stem}.toml"
    with open(toml, "x", encoding="utf-8") as fh:
        fh.write(to_toml(first, steps=lab.max_steps, compare=rules))
    written.append(toml)
    return written
