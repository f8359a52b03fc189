"""What ``train`` measures besides the Solver's own histories: the sharpness
(:class:`~.hessian.SharpnessMonitor`) and the gradient noise scale (:class:`~.noise.NoiseMonitor`),
each every K steps and at the last step, and the final parameters under the course's names.

:class:`TrainMonitors` is driven from a training loop: ``after_step(solver)`` after each step
measures whatever is due and returns the new records. Measuring never touches the Solver's
random stream, so a run's losses are the same with and without it.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .hessian import SharpnessMonitor, SharpnessRecord
from .noise import NoiseMonitor, NoiseRecord


def interval(value: Any) -> int | None:
    """A monitor interval as a Param holds it (a whole number, or the word "off"/None) -> int or None."""
    if value is None or (isinstance(value, str) and value == "off"):
        return None
    return int(value)


class TrainMonitors:
    def __init__(self, sharpness_every: Any = None, noise_every: Any = None, *, seed: int = 0) -> None:
        s, n = interval(sharpness_every), interval(noise_every)
        self.sharpness = SharpnessMonitor(s, seed=seed) if s else None
        self.noise = NoiseMonitor(n, seed=seed) if n else None

    @property
    def active(self) -> bool:
        return self.sharpness is not None or self.noise is not None

    def after_step(self, solver) -> list[SharpnessRecord | NoiseRecord]:
        """Measure what is due after the step just taken (nothing once the run diverged)."""
        if solver.diverged:
            return []
        out: list[SharpnessRecord | NoiseRecord] = []
        for m in (self.sharpness, self.noise):
            if m is not None and m.due(solver):
                with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                    out.append(m.measure(solver))
        return out

    def histories(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for m in (self.sharpness, self.noise):
            if m is not None:
                out.update(m.histories())
        return out

    def seconds(self) -> float:
        """Time spent measuring so far."""
        return sum(r.seconds for m in (self.sharpness, self.noise) if m is not None for r in m.records)


def final_parameters(model) -> dict[str, np.ndarray]:
    """The model's parameters under the course's names (W1, b1, ..., Wk, bk), as copies."""
    return {k: np.array(v) for k, v in model.params.items()}


def load_parameters(model, params: Mapping[str, np.ndarray]) -> None:
    """Put saved parameters (:func:`final_parameters`, e.g. from a train NPZ) into ``model`` (same
    shapes; ValueError naming the first mismatch)."""
    for k, w in model.params.items():
        if k not in params:
            raise ValueError(f"no parameter {k} in the saved set (it has {', '.join(params)})")
        v = np.asarray(params[k])
        if v.shape != w.shape:
            raise ValueError(f"parameter {k} has shape {v.shape}, the model's is {w.shape}")
        w[...] = v


def monitor_summary(monitors: TrainMonitors) -> dict[str, Any]:
    """The last measurements, for a train file's ``summary`` (JSON-ready; empty when nothing was measured)."""
    out: dict[str, Any] = {}
    if monitors.sharpness is not None and monitors.sharpness.records:
        r = monitors.sharpness.records[-1]
        out.update(final_sharpness=r.sharpness, final_preconditioned_sharpness=r.preconditioned,
                   final_stability_threshold=r.threshold, final_sharpness_iteration=r.iteration)
    if monitors.noise is not None and monitors.noise.records:
        r = monitors.noise.records[-1]
        out.update(final_noise_scale=r.b_noise, final_noise_scale_ewa=r.b_noise_ewa,
                   final_noise_scale_iteration=r.iteration)
    if monitors.active:
        out["measuring_seconds"] = monitors.seconds()
    return out
