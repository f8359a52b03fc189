"""What measuring costs: training time with and without the sharpness (and the noise scale)
measured every K steps, as a fraction of the training time; and the smallest K within 25%.

The network lab's defaults (TrainConfig(): digits, hidden [100]*5, batch 100, sgd_momentum lr 1e-2
mu 0.9, float32), trained for EPOCHS epochs; a SharpnessMonitor (top Hessian eigenvalue on the
first 1,000 training examples, float64 Lanczos on exact Hessian-vector products, tol 1e-3,
warm-started) or a NoiseMonitor measuring every K steps and at the last one. Baseline and measured
runs take turns (best of ROUNDS each), so a burst of load from another process hits both alike.
The steadier figure on a shared machine is the overhead within one run (time measuring / time
stepping, both timed in that run). Prints figures and ratios, asserts nothing.

The default K (``SHARPNESS_EVERY`` and ``NOISE_EVERY`` in descent_engine/network/config.py, the
Params' defaults) is the smallest round K whose measured overhead is at most 25%, with room for a
machine twice as loaded in one part as in the other; the last lines say whether the defaults do.

Run:  python benchmarks/sharpness.py [--quick] [--epochs N] [--every K ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from descent_engine.network.config import NOISE_EVERY, SHARPNESS_EVERY, TrainConfig
from descent_engine.network.hessian import HessianOperator, SharpnessMonitor, first_examples
from descent_engine.network.noise import NoiseMonitor

TARGET = 0.25


def run(cfg: TrainConfig, make=None) -> tuple[float, float, object]:
    """Seconds in training steps, seconds in measurements (timed apart, same run), the monitor."""
    solver = cfg.build()
    monitor = make() if make else None
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
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--every", type=int, nargs="+", default=sorted({250, 500, 1000, SHARPNESS_EVERY}))
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

    kinds = {"sharpness": lambda k: (lambda: SharpnessMonitor(k)), "noise": lambda k: (lambda: NoiseMonitor(k))}
    base = float("inf")
    best: dict[tuple[str, int], tuple[float, float, object]] = {}
    for _ in range(rounds):
        base = min(base, run(cfg)[0])
        for kind, factory in kinds.items():
            for k in everies:
                steps, meas, mon = run(cfg, factory(k))
                if (kind, k) not in best or steps + meas < sum(best[kind, k][:2]):
                    best[kind, k] = (steps, meas, mon)
    per_step = base / probe.num_iterations
    print(f"baseline (no measurement): {base:.2f} s, {per_step * 1e3:.2f} ms a step")
    for kind in kinds:
        costs = []  # one measurement's time in training steps of the same run (the same load hits both)
        for k in everies:
            steps, meas, mon = best[kind, k]
            recs = mon.records
            costs.append((meas / len(recs)) / (steps / probe.num_iterations))
            extra = (f"HVPs {[r.hvps for r in recs]}; sharpness {', '.join(f'{r.sharpness:.3g}' for r in recs)} "
                     f"(2(1+mu)/lr = {recs[-1].threshold:.3g})" if kind == "sharpness" else
                     f"B_noise {', '.join(f'{r.b_noise:.3g}' for r in recs)}")
            print(f"{kind:>9} every {k:>5} steps: {steps + meas:.2f} s = {(steps + meas) / base:.3f} x baseline; "
                  f"within the run {meas:.2f} s measuring / {steps:.2f} s training = {meas / steps * 100:.1f}% of "
                  f"training time; {len(recs)} measurements at {[r.iteration for r in recs]}; {extra}")
        cost = float(np.median(costs))
        k_min = cost / TARGET
        default = SHARPNESS_EVERY if kind == "sharpness" else NOISE_EVERY
        share = cost / default
        print(f"{kind:>9}: one measurement costs as much as {cost:.0f} training steps (median over the runs above); "
              f"within {TARGET:.0%} of training time from K = {k_min:.0f}; the default K = {default} costs "
              f"{share:.1%} (plus one measurement at the last step) -> "
              f"{'within' if share <= TARGET else 'OVER'} the {TARGET:.0%} target")


if __name__ == "__main__":
    main()
