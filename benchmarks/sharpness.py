"""What measuring the sharpness costs: training time with and without a measurement every K steps.

The note's network at the defaults (TrainConfig(): digits, hidden [100]*5, batch 100,
sgd_momentum lr 1e-2 mu 0.9, float32), trained for EPOCHS epochs; with a SharpnessMonitor
(top Hessian eigenvalue on the first 1,000 training examples, float64 Lanczos with exact
Hessian-vector products, tol 1e-3, warm-started) measuring every K steps and at the last one.
Baseline and measured runs take turns (best of ROUNDS each), so a burst of load from another
process hits both alike. Prints figures and ratios, asserts nothing. The wall-clock ratio is noisy on a shared
machine; the time spent inside the measurements (timed apart) is the steadier figure.

Run:  python benchmarks/sharpness.py [--quick] [--epochs N] [--every K ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from descent_engine.network.config import TrainConfig
from descent_engine.network.hessian import HessianOperator, SharpnessMonitor, first_examples


def run(cfg: TrainConfig, every: int | None) -> tuple[float, SharpnessMonitor | None]:
    solver = cfg.build()
    monitor = SharpnessMonitor(every) if every else None
    start = time.perf_counter()
    while not solver.done:
        solver.step()
        if monitor is not None and monitor.due(solver):
            monitor.measure(solver)
    return time.perf_counter() - start, monitor


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: 3 epochs, one round")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--every", type=int, nargs="+", default=[500, 250])
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

    base = [float("inf")]
    timed = {k: float("inf") for k in everies}
    monitors: dict[int, SharpnessMonitor] = {}
    for _ in range(rounds):
        base[0] = min(base[0], run(cfg, None)[0])
        for k in everies:
            secs, monitors[k] = run(cfg, k)
            timed[k] = min(timed[k], secs)
    b = base[0]
    print(f"baseline (no measurement): {b:.2f} s, {b / probe.num_iterations * 1e3:.2f} ms a step")
    for k in everies:
        recs = monitors[k].records
        hvps = [r.hvps for r in recs]
        meas = sum(r.seconds for r in recs)
        print(f"every {k:>5} steps: {timed[k]:.2f} s = {timed[k] / b:.3f} x baseline "
              f"({(timed[k] / b - 1) * 100:+.1f}%); {len(recs)} measurements, {meas:.2f} s in them "
              f"(= {meas / b * 100:.1f}% of the baseline), "
              f"HVPs each {hvps}; sharpness {', '.join(f'{r.sharpness:.3g}' for r in recs)}; "
              f"threshold 2(1+mu)/lr = {recs[-1].threshold:.3g}")


if __name__ == "__main__":
    main()
