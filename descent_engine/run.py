"""A run: problem + rule + schedule + state, stepped on demand, with a history that includes step 0.

Row ``k`` of the history holds the step ``k``, the learning rate used for the update *out of*
``w_k``, the loss at ``w_k``, ``w_k``, the gradient used at ``w_k`` and the rule's own running
average after it has seen that gradient (momentum's ``v``, Adam's ``m``, RMSProp's cache), so
the EWA chart can set the rule's average beside the raw gradient.

The history is bounded when given a ``capacity``: once full it keeps every other row and doubles
its stride, so a run of any length can still be drawn whole in constant memory (the newest row
is always kept as well).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np

from . import theory
from .params import ParamError
from .problems import Problem, get_problem_spec
from .rules import PURE, Rule, get_rule
from .schedules import Schedule, get_schedule


@dataclass(frozen=True)
class Settings:
    """Everything that defines a run. Frozen: a change of setting is a new Settings (and a new Run)."""

    problem: str = "notes-ls"
    rule: str = "momentum"
    schedule: str = "constant"
    problem_params: Mapping[str, Any] = field(default_factory=dict)
    rule_params: Mapping[str, Any] = field(default_factory=dict)
    schedule_params: Mapping[str, Any] = field(default_factory=dict)
    steps_per_epoch: int = 1
    seed: int = 0
    #: the start point w_0 (one number per dimension); None: the problem's own start
    start: tuple[float, ...] | None = None
    #: True when ``rule_params["lr"]`` was filled in from :func:`suggested_lr` rather than chosen
    #: (a flag, a key, a preset): :mod:`descent_engine.adjust` keeps a chosen lr across a rule switch
    #: while it is stable, and re-suggests a suggested one. Not part of a run's identity.
    lr_suggested: bool = field(default=False, compare=False)

    @property
    def lr_explicit(self) -> bool:
        """The lr was chosen (by a flag, a key, the palette or a preset), not suggested."""
        return "lr" in self.rule_params and not self.lr_suggested

    def with_rule_param(self, name: str, value: Any) -> "Settings":
        """``name`` set to ``value``; setting ``lr`` makes it a chosen (explicit) lr."""
        suggested = self.lr_suggested and name != "lr"
        return replace(self, rule_params={**self.rule_params, name: value}, lr_suggested=suggested)

    def with_schedule_param(self, name: str, value: Any) -> "Settings":
        return replace(self, schedule_params={**self.schedule_params, name: value})

    def with_problem_param(self, name: str, value: Any) -> "Settings":
        return replace(self, problem_params={**self.problem_params, name: value})

    def resolved(self) -> "ResolvedSettings":
        """Validate every name and value; raises ParamError with a one-line message."""
        rule = get_rule(self.rule)
        schedule = get_schedule(self.schedule)
        spec = get_problem_spec(self.problem)
        if int(self.steps_per_epoch) < 1:
            raise ParamError(f"steps_per_epoch must be at least 1, got {self.steps_per_epoch}")
        return ResolvedSettings(
            self, spec.make(self.problem_params, self.start), rule, rule.hparams(self.rule_params),
            schedule, schedule.hparams(self.schedule_params),
        )


@dataclass(frozen=True)
class ResolvedSettings:
    settings: Settings
    problem: Problem
    rule: Rule
    hp: dict[str, Any]
    schedule: Schedule
    schedule_hp: dict[str, Any]

    def lrs(self, steps: np.ndarray) -> np.ndarray:
        epochs = np.asarray(steps) // self.settings.steps_per_epoch
        return self.schedule.lrs(epochs, self.hp["lr"], self.schedule_hp)


_FIELDS = ("step", "lr", "loss")


class History:
    """Rows of a run, all kept (``capacity=None``) or decimated to at most ``capacity`` rows."""

    def __init__(self, dim: int, capacity: int | None = None, reserve: int = 1024) -> None:
        if capacity is not None and capacity < 4:
            raise ValueError("capacity must be at least 4")
        self.dim = dim
        self.capacity = capacity
        self.stride = 1
        self._n = 0
        size = reserve if capacity is None else min(reserve, capacity)
        self._step = np.empty(size, dtype=np.int64)
        self._lr = np.empty(size)
        self._loss = np.empty(size)
        self._w = np.empty((size, dim))
        self._grad = np.empty((size, dim))
        self._avg = np.empty((size, dim))
        self.last: tuple[int, float, float, np.ndarray, np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return self._n

    def append(self, step: int, lr: float, loss: float, w: np.ndarray, grad: np.ndarray, avg: np.ndarray) -> None:
        self.last = (step, lr, loss, w, grad, avg)
        if step % self.stride:
            return
        if self._n == self._step.shape[0]:
            if self.capacity is not None and self._n >= self.capacity:
                self._halve()
                if step % self.stride:
                    return
            else:
                self._grow()
        i = self._n
        self._step[i] = step
        self._lr[i] = lr
        self._loss[i] = loss
        self._w[i] = w
        self._grad[i] = grad
        self._avg[i] = avg
        self._n = i + 1

    def _grow(self) -> None:
        new = self._step.shape[0] * 2
        if self.capacity is not None:
            new = min(new, self.capacity)
        for name in ("_step", "_lr", "_loss", "_w", "_grad", "_avg"):
            old = getattr(self, name)
            arr = np.empty((new,) + old.shape[1:], dtype=old.dtype)
            arr[: self._n] = old[: self._n]
            setattr(self, name, arr)

    def _halve(self) -> None:
        self.stride *= 2
        keep = np.flatnonzero(self._step[: self._n] % self.stride == 0)
        m = keep.size
        for name in ("_step", "_lr", "_loss", "_w", "_grad", "_avg"):
            arr = getattr(self, name)
            arr[:m] = arr[keep]
        self._n = m

    # -- views ------------------------------------------------------------------------------------
    def arrays(self, include_last: bool = True) -> dict[str, np.ndarray]:
        """Copies of the kept rows (plus the newest row if decimation skipped it)."""
        n = self._n
        out = {
            "step": self._step[:n].copy(), "lr": self._lr[:n].copy(), "loss": self._loss[:n].copy(),
            "w": self._w[:n].copy(), "grad": self._grad[:n].copy(), "avg": self._avg[:n].copy(),
        }
        if include_last and self.last is not None and (n == 0 or self._step[n - 1] != self.last[0]):
            step, lr, loss, w, grad, avg = self.last
            out["step"] = np.append(out["step"], step)
            out["lr"] = np.append(out["lr"], lr)
            out["loss"] = np.append(out["loss"], loss)
            out["w"] = np.vstack([out["w"], w])
            out["grad"] = np.vstack([out["grad"], grad])
            out["avg"] = np.vstack([out["avg"], avg])
        return out

    def tail(self, since_step: int) -> dict[str, np.ndarray]:
        """Rows with ``step > since_step`` (for handing small batches to a UI)."""
        a = self.arrays()
        sel = a["step"] > since_step
        return {k: v[sel] for k, v in a.items()}


#: (L - L*) beyond this many times its start, or |w| beyond 1e100, counts as divergence
EXPLODE_FACTOR = 1e10
_EPS = float(np.finfo(float).eps)


def converge_tolerance(loss0: float, loss_star: float, lam_max: float = 0.0, w_star_norm: float = 0.0) -> float:
    """The loss gap below which a run has converged, the largest of: the gap at float precision
    of L* (4 eps |L*|); the error |w - w*| at float precision of the start's (the gap of a smooth
    minimum is quadratic in it: eps^2 times the first gap); and w at float precision of w*
    (w cannot come nearer than a few ulps of w*: lam_max/2 (4 eps |w*|)^2)."""
    return max(4.0 * _EPS * abs(loss_star), 4.0 * _EPS * _EPS * max(loss0 - loss_star, 0.0),
               0.5 * abs(lam_max) * (4.0 * _EPS * w_star_norm) ** 2)


def _curvature(problem: Problem) -> float:
    """The largest |eigenvalue| of the Hessian at w* (0 where the problem has none)."""
    try:
        h = np.asarray(problem.hessian(), dtype=float)
        return float(np.max(np.abs(np.linalg.eigvalsh(0.5 * (h + h.T))))) if h.size else 0.0
    except (AttributeError, NotImplementedError, ValueError, np.linalg.LinAlgError):
        return 0.0


class Run:
    """One optimisation run. ``step(n)`` advances it; ``history`` records every (kept) row."""

    def __init__(self, settings: Settings, capacity: int | None = None) -> None:
        self.settings = settings
        r = settings.resolved()
        self.resolved = r
        self.problem: Problem = r.problem
        self.rule: Rule = r.rule
        self.hp = r.hp
        self.schedule: Schedule = r.schedule
        self.schedule_hp = r.schedule_hp
        self.rng = np.random.default_rng(settings.seed)
        self.k = 0
        self.diverged_at: int | None = None
        #: the first step whose loss is at float precision of L* or whose gradient is exactly zero
        #: (the run still steps on: the headless rows 0..steps are all written)
        self.converged_at: int | None = None
        self._rate_key: tuple[int, int] | None = None
        self._rate: float | None = None
        self.w = self.problem.w0.astype(float).copy()
        self.state = self.rule.init(self.w, self.hp)
        self._rule_step = self.rule.step
        self.history = History(self.problem.dim, capacity)
        self._lr_cache_start = 0
        self._lr_cache = r.lrs(np.arange(0, 1024))
        self._avg_key = self.rule.average
        self._nan = np.full_like(self.w, np.nan)
        self._loss_star = self.problem.loss_star
        self.loss0 = self.problem.loss(self.w)
        self._explode = EXPLODE_FACTOR * max(self.loss0 - self.problem.loss_star, 1e-12)
        self._converged_gap = converge_tolerance(self.loss0, self._loss_star, _curvature(self.problem),
                                                 float(np.linalg.norm(self.problem.w_star)))
        self._begin_row(self.w, self.loss0)

    # -- internals ----------------------------------------------------------------------------
    def _lr_at(self, k: int) -> float:
        i = k - self._lr_cache_start
        if i >= self._lr_cache.shape[0]:
            self._lr_cache_start = k
            self._lr_cache = self.resolved.lrs(np.arange(k, k + 4096))
            i = 0
        return float(self._lr_cache[i])

    def _begin_row(self, w: np.ndarray, loss: float) -> None:
        """Gradient, lr and pending update at ``w_k``; append row k. Detects divergence.

        A non-finite ``w`` shows up as a non-finite loss, and a gradient too large to square
        as a non-finite ``g.g``: both count as divergence, as does a loss gap past the explode
        threshold.
        """
        k = self.k
        g = self.problem.grad(w, self.rng)
        lr = self._lr_at(k)
        if math.isfinite(loss) and math.isfinite(float(g @ g)):
            # the rule's step d (w_{k+1} = w_k - d, bit for bit w_k + update's delta)
            d, state = self._rule_step(g, self.state, lr, self.hp, w, PURE)
            avg = getattr(state, self._avg_key) if self._avg_key else self._nan
            self._pending = (d, state)
            self.history.append(k, lr, loss, w, g, avg)
            gap = loss - self._loss_star
            if gap > self._explode:
                self.diverged_at = k
            elif self.converged_at is None and (gap <= self._converged_gap or not g.any()):
                self.converged_at = k
        else:
            self._pending = (None, self.state)
            self.history.append(k, lr, loss, w, g, self._nan)
            self.diverged_at = k

    # -- public -----------------------------------------------------------------------------------
    @property
    def loss(self) -> float:
        return self.history.last[2]  # type: ignore[index]

    @property
    def lr(self) -> float:
        return self.history.last[1]  # type: ignore[index]

    @property
    def grad(self) -> np.ndarray:
        return self.history.last[4]  # type: ignore[index]

    @property
    def done(self) -> bool:
        return self.diverged_at is not None

    def step(self, n: int = 1) -> int:
        """Take up to ``n`` steps; returns how many were taken (fewer if the run diverges)."""
        taken = 0
        loss_fn = self.problem.loss
        with np.errstate(all="ignore"):  # overflow is detected and reported as divergence
            while taken < n and self.diverged_at is None:
                d, self.state = self._pending
                w = self.w - d
                self.w = w
                self.k += 1
                self._begin_row(w, loss_fn(w))
                taken += 1
        return taken

    #: what a run's steps change: all :meth:`export_state` hands over (the rest follows from the
    #: settings: the problem, the rule, the schedule and their constants)
    _MUTABLE = ("k", "diverged_at", "converged_at", "w", "state", "rng", "history", "_pending",
                "_lr_cache_start", "_lr_cache")

    def export_state(self) -> dict[str, Any]:
        """The run's progress as plain picklable values (arrays, the rule state, the sampler), so
        a run built from the same settings elsewhere (another process) can take it over."""
        return {name: getattr(self, name) for name in self._MUTABLE}

    def adopt_state(self, state: Mapping[str, Any]) -> None:
        """Continue from ``state`` (:meth:`export_state` of a run with the same settings): every
        later step is then bit for bit the step the exporting run would have taken."""
        for name in self._MUTABLE:
            setattr(self, name, state[name])
        self._rate_key = None

    def theory(self) -> theory.TheoryReport:
        """The theory line for the current rule and the current learning rate."""
        return theory.report(self.problem.hessian(), self.rule, self.hp, self.lr,
                             local=not self.problem.quadratic)

    def measured_rate(self, window: int = 50) -> float | None:
        """The rate fitted to the history's tail; computed once per step (a UI asks every frame)."""
        key = (self.k, window)
        if self._rate_key != key:
            a = self.history.arrays()
            self._rate = theory.measured_rate(a["loss"], self.problem.loss_star, window, steps=a["step"])
            self._rate_key = key
        return self._rate


def suggested_lr(problem: Problem, rule: Rule, hp: Mapping[str, Any]) -> float:
    """A learning rate that shows ``problem`` well under ``rule``: the problem's hint, kept below
    95% of the rule's stability bound (from the Hessian at w*) for the linear rules."""
    lr = problem.suggested_lr(rule.linear)
    if rule.linear:
        lam_max = theory.spectrum(problem.hessian()).lam_max
        bound = theory.stable_lr(rule, hp, lam_max)
        if bound is not None:
            lr = min(lr, 0.95 * bound)
    return lr
