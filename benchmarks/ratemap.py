"""Benchmark of the rate map: prints figures and a ratio, asserts nothing.

Run: ``python benchmarks/ratemap.py`` (about 15 s). Measures, in one run, as whole processes
(interpreter start, imports, work, output):

* ``descent-tui ratemap --size 64 --steps 500`` (64 x 64 cells, 500 steps each, written as JSON),
* one ``descent-tui run --steps 500`` of the same settings (the baseline),

the median of several of each, and the ratio (target of issue 10: at most 5x). Also the rate
map's engine time in this process, for two problems and a rule that runs row by row (Adam).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from descent_engine.ratemap import compute  # noqa: E402
from descent_engine.run import Settings  # noqa: E402

SETTINGS = ["--problem", "notes-ls", "--rule", "momentum", "--lr", "1e-4", "--beta", "0.4"]
REPEATS = 5


def wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui", *argv], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "map.json")
        wall(["run", *SETTINGS, "--steps", "500"])  # warm the file cache
        runs, maps = [], []
        for _ in range(REPEATS):
            runs.append(wall(["run", *SETTINGS, "--steps", "500"]))
            maps.append(wall(["ratemap", *SETTINGS, "--size", "64", "--steps", "500", "--out", out]))
    run_t, map_t = statistics.median(runs), statistics.median(maps)
    print(f"descent-tui run --steps 500 (whole process)            {run_t * 1e3:8.1f} ms (median of {REPEATS})")
    print(f"descent-tui ratemap --size 64 --steps 500 (whole process) {map_t * 1e3:6.1f} ms (median of {REPEATS})")
    print(f"ratio rate map / run: {map_t / run_t:.2f}x (target <= 5x)")
    print("engine only, in this process (64 x 64 cells x 500 steps):")
    for s in (Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4}),
              Settings("rosenbrock", "nesterov", rule_params={"lr": 1e-4}),
              Settings("quadratic", "adam", rule_params={"lr": 1e-2})):
        start = time.perf_counter()
        m = compute(s, size=64, steps=500)
        dt = time.perf_counter() - start
        print(f"  {s.problem:<11} {s.rule:<9} {dt * 1e3:7.1f} ms  ({m.mode}; gradient: {m.grad_mode})")


if __name__ == "__main__":
    main()
