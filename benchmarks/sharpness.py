"""What measuring the sharpness costs: training time with and without a measurement every K steps.

The note's network at the defaults (TrainConfig(): digits, hidden [100]*5, batch 100,
sgd_momentum lr 1e-2 mu 0.9, float32), trained for EPOCHS epochs; with a SharpnessMonitor
(top Hessian eigenvalue on the first 1,000 training examples, float64 Lanczos with exact
Hessian-vector products, tol 1e-3, warm-started) measuring every K steps and at the last one.
Baseline and measured runs take turns (best of ROUNDS each), so a burst of load from another
process hits both alike. Prints figures and ratios, asserts nothing. The ratio to the baseline is noisy on a shared
machine; the steadier figure is the overhead within one run (time measuring / time stepping, both
timed in that run, so the same load hits both).

Run:  python benchmarks/sharpness.py [--quick] [--epochs N] [--every K ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from descent_engine.network.config import TrainConfig
from descent_engine.network.hessian import HessianOperator, SharpnessMonitor, first_examples


def run(cfg: TrainConfig, every: int | None) -> tuple[float, float, SharpnessMonitor | None]:
    """Seconds in training steps, seconds in measurements (timed apart, same run), the monitor."""
    solver = cfg.build()
    monitor = SharpnessMonitor(every) if every else None
    steps = meas = 0.0
    while not solver.done:
        t0 = time.perf_counter()
        solver.step()
        t1 = time.perf_counter()
        steps += t1 - t0
        if monitor is not None and monitor.due(solver):
            monitor.measure(solver)
            meas += time.perf_counter() - t1
    return steps, meas, monitor


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 3 epochs, one round")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--every", type=int, nargs="+", default=[1400, 700])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    epochs, rounds, everies = (3, 1, [20]) if args.quick else (args.epochs, args.rounds, args.every)
    cfg = TrainConfig(epochs=epochs)

    probe = cfg.build()
    X, y = first_examples(probe.X_train, probe.y_train)
    t = time.perf_counter()
    op = HessianOperator(probe.model, X, y)
    t_op = time.perf_counter() - t
    v = np.random.default_rng(0).standard_normal(op.layout.size)
    t = time.perf_counter()
    for _ in range(5):
        op(v)
    t_hvp = (time.perf_counter() - t) / 5
    print(f"network {list(cfg.hidden)}, {op.layout.size} parameters; {probe.num_train} training examples, "
          f"{probe.iterations_per_epoch} steps an epoch, {probe.num_iterations} steps in {epochs} epochs")
    print(f"one Hessian operator (forward pass on {X.shape[0]} examples): {t_op * 1e3:.0f} ms; "
          f"one Hessian-vector product: {t_hvp * 1e3:.0f} ms")

    base = float("inf")
    best: dict[int, tuple[float, float]] = {}
    monitors: dict[int, SharpnessMonitor] = {}
    for _ in range(rounds):
        base = min(base, run(cfg, None)[0])
        for k in everies:
            steps, meas, monitors[k] = run(cfg, k)
            if k not in best or steps + meas < sum(best[k]):
                best[k] = (steps, meas)
    print(f"baseline (no measurement): {base:.2f} s, {base / probe.num_iterations * 1e3:.2f} ms a step")
    for k in everies:
        recs = monitors[k].records
        steps, meas = best[k]
        print(f"every {k:>5} steps: {steps + meas:.2f} s = {(steps + meas) / base:.3f} x baseline; "
              f"within the run {meas:.2f} s measuring / {steps:.2f} s training = {meas / steps * 100:+.1f}% "
              f"overhead; {len(recs)} measurements at {[r.iteration for r in recs]}, HVPs {[r.hvps for r in recs]}; "
              f"sharpness {', '.join(f'{r.sharpness:.3g}' for r in recs)} "
              f"(threshold 2(1+mu)/lr = {recs[-1].threshold:.3g})")

if __name__ == "__main__":
    main()
