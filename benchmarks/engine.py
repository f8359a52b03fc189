"""Engine benchmark: steps per second against the note's own loop, and peak memory.

Run: ``python benchmarks/engine.py`` (a few minutes: tracemalloc slows the step loop several
times) or ``python benchmarks/engine.py --quick`` (seconds).
Prints figures measured in this one run; it asserts nothing about time.

* speed: a ``notes-ls`` Run with the note's momentum settings (lr 1e-4, EWA beta 0.4, v starting
  at the first gradient), with every row kept (``capacity=None``) and with a bounded history,
  against a per-step NumPy loop written like the note's ``runGDM`` (``X.T @ X @ w`` every step,
  lists of results) and a lean loop with ``X.T X`` precomputed.
* memory: tracemalloc's peak while a 1,000,000-step run is made, with a bounded history
  (capacity 4096, decimated) and with every row kept.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from descent_engine.presets import PRESETS  # noqa: E402
from descent_engine.problems import notes_data  # noqa: E402
from descent_engine.run import Run  # noqa: E402

SETTINGS = PRESETS["notes-gdm"].settings
LR = SETTINGS.rule_params["lr"]
NOTE_BETA = 1 - SETTINGS.rule_params["beta"]  # the note's beta weighs the new gradient


def note_loop(steps: int) -> float:
    """The note's runGDM, as written there (X.T @ X @ w every step); returns the final loss."""
    X, y1 = notes_data()
    y = np.expand_dims(y1, axis=-1)
    w = np.zeros((2, 1))
    grads, ws, losses = [], [], []
    for i in range(steps):
        grad = 2 * (X.T @ X @ w) - 2 * X.T @ y
        if i == 0:
            smoothed = grad
        smoothed = (1 - NOTE_BETA) * smoothed + NOTE_BETA * grad
        w = w - LR * smoothed
        grads.append(grad)
        ws.append(w)
        loss = np.linalg.norm(y - X @ w) ** 2
        losses.append(loss)
    return float(losses[-1])


def lean_loop(steps: int) -> float:
    """The same iteration with X^T X and X^T y precomputed (what the engine does)."""
    X, y = notes_data()
    XtX, two_Xty = X.T @ X, (2 * X.T) @ y
    w = np.zeros(2)
    losses = []
    v = None
    for _ in range(steps):
        g = 2 * (XtX @ w) - two_Xty
        v = g if v is None else v
        v = (1 - NOTE_BETA) * v + NOTE_BETA * g
        w = w - LR * v
        losses.append(float(np.linalg.norm(y - X @ w) ** 2))
    return losses[-1]


def engine(steps: int, capacity: int | None) -> float:
    run = Run(SETTINGS, capacity=capacity)
    run.step(steps)
    return run.loss


def rate(fn, steps: int, *args) -> float:
    start = time.perf_counter()
    fn(steps, *args)
    return steps / (time.perf_counter() - start)


def peak_bytes(steps: int, capacity: int | None) -> tuple[int, int]:
    tracemalloc.start()
    run = Run(SETTINGS, capacity=capacity)
    run.step(steps)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, len(run.history)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = ap.parse_args(argv)
    speed_steps = 10_000 if args.quick else 100_000
    rounds = 1 if args.quick else 3
    mem_steps = 50_000 if args.quick else 1_000_000

    print(f"notes-ls, momentum lr {LR:g} EWA beta {SETTINGS.rule_params['beta']:g} (the note's {NOTE_BETA:g}), "
          f"{speed_steps:,} steps, best of {rounds} interleaved rounds")
    cases = {
        "note's runGDM loop (X.T @ X @ w each step)": (note_loop,),
        "lean NumPy loop (X^T X precomputed)": (lean_loop,),
        "Run, capacity=None": (engine, None),
        "Run, capacity=4096": (engine, 4096),
    }
    best = {label: 0.0 for label in cases}
    for _ in range(rounds):  # interleaved, so a busy moment of the machine hits every case alike
        for label, (fn, *extra) in cases.items():
            best[label] = max(best[label], rate(fn, speed_steps, *extra))
    note_sps, lean_sps = list(best.values())[:2]
    rows = list(best.items())
    for label, sps in rows:
        print(f"  {label:<45} {sps:>10,.0f} steps/s   x{sps / note_sps:.2f} of the note's loop,"
              f" x{sps / lean_sps:.2f} of the lean loop")

    print(f"peak traced memory of a {mem_steps:,}-step run (tracemalloc)")
    for cap in (4096, None):
        peak, kept = peak_bytes(mem_steps, cap)
        print(f"  capacity={str(cap):<5} {peak / 2**20:8.2f} MiB   ({kept:,} rows kept)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
