"""What a problem is (:class:`Problem`, :class:`ProblemSpec`) and the registry of them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import numpy as np

from ..params import ParamError, ParamSet
from ..registry import Registry


@dataclass
class Problem:
    """One problem instance. ``grad(w, rng)`` is stochastic only when ``stochastic`` is True."""

    name: str
    title: str
    w0: np.ndarray
    w_star: np.ndarray
    loss_star: float
    bounds: tuple[tuple[float, float], tuple[float, float]]
    loss: Callable[[np.ndarray], float]
    full_grad: Callable[[np.ndarray], np.ndarray]
    hessian_at: Callable[[np.ndarray], np.ndarray]
    #: the loss over a grid of (w0, w1) for the landscape; None for problems of more than two dimensions
    loss_grid: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
    quadratic: bool = False
    stochastic: bool = False
    batch_grad: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: a learning rate that shows the problem well: for the gradient-scaled rules (gd and the
    #: momentum forms) and for the adaptive rules (whose step is about lr per coordinate)
    lr_hint: float = 1e-2
    adaptive_lr_hint: float = 1e-2
    #: every known minimum (landscapes with several minima); ``w_star`` is the one theory uses
    minima: tuple[np.ndarray, ...] = ()
    #: for quadratics built from their spectrum: the eigenvectors (columns) and eigenvalues of H
    eigenbasis: np.ndarray | None = None
    eigenvalues: np.ndarray | None = None
    #: True when ``w_star`` was found numerically (a typed function), not known in closed form
    optimum_numerical: bool = False

    def suggested_lr(self, rule_is_linear: bool) -> float:
        """The lr a UI switches to when this problem or the rule family changes."""
        return self.lr_hint if rule_is_linear else self.adaptive_lr_hint

    @property
    def dim(self) -> int:
        return int(self.w0.shape[0])

    def grad(self, w: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        if self.stochastic and self.batch_grad is not None and rng is not None:
            return self.batch_grad(w, rng)
        return self.full_grad(w)

    def eigen_errors(self, w: np.ndarray) -> np.ndarray:
        """The error along each eigendirection of the Hessian at w*, ``Q^T (w - w*)`` (rows for a history)."""
        if self.eigenbasis is None:
            _, Q = np.linalg.eigh(self.hessian())
        else:
            Q = self.eigenbasis
        return (np.asarray(w) - self.w_star) @ Q

    def started_at(self, start) -> "Problem":
        """This problem started at ``start`` (checked: one finite number per dimension); a 2-D
        view widens to hold the start. ParamError (one line) for a wrong dimension."""
        w0 = check_start(start, self.dim, self.name)
        bounds = self.bounds
        if self.dim == 2:
            bounds = tuple(_widen(lo, hi, float(v)) for (lo, hi), v in zip(self.bounds, w0))  # type: ignore[assignment]
        return replace(self, w0=w0, bounds=bounds)

    def hessian(self) -> np.ndarray:
        """The Hessian at the optimum (constant for quadratic problems; local otherwise)."""
        return self.hessian_at(self.w_star)


@dataclass(frozen=True)
class ProblemSpec:
    name: str
    title: str
    params: ParamSet
    build: Callable[[Mapping[str, Any]], Problem]
    description: str
    #: False for problems whose dimension can exceed two (no landscape: the lab shows them headless only)
    planar: bool = True
    #: True when ``build(hp, start)`` takes the start (a typed function finds its view around it)
    uses_start: bool = False

    def hparams(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.params.resolve(values, owner=f"problem {self.name}")

    def make(self, values: Mapping[str, Any] | None = None, start=None) -> Problem:
        """The problem for ``values``, started at ``start`` (None: the problem's own start)."""
        hp = self.hparams(values)
        if self.uses_start:
            return self.build(hp, None if start is None else tuple(float(v) for v in start))  # type: ignore[call-arg]
        problem = self.build(hp)
        return problem if start is None else problem.started_at(start)


def check_start(start, dim: int, name: str) -> np.ndarray:
    """``start`` as a float vector of ``dim`` finite numbers, or ParamError (one line)."""
    w0 = np.array([float(v) for v in start], dtype=float)
    if w0.shape != (dim,):
        raise ParamError(f"start: expected {dim} number{'s' if dim != 1 else ''} (problem {name} has dimension "
                         f"{dim}), got {w0.size}")
    if not np.all(np.isfinite(w0)):
        raise ParamError(f"start must be finite, got {','.join(repr(float(v)) for v in w0)}")
    return w0


def _widen(lo: float, hi: float, v: float) -> tuple[float, float]:
    """``(lo, hi)`` stretched to hold ``v`` with a margin of a tenth of the new span."""
    if lo <= v <= hi:
        return lo, hi
    new_lo, new_hi = min(lo, v), max(hi, v)
    pad = 0.1 * (new_hi - new_lo)
    return (new_lo - pad if v < lo else lo), (new_hi + pad if v > hi else hi)


# ---------------------------------------------------------------------------------------------


def quadratic_functions(H: np.ndarray):
    """``loss, full_grad, hessian_at, loss_grid`` of ``1/2 w^T H w`` (loss_grid None beyond 2-D)."""

    def loss(w):
        return float(0.5 * (w @ (H @ w)))

    def full_grad(w):
        return H @ w

    def hessian_at(w):
        return H

    def loss_grid(W0, W1):
        return 0.5 * (H[0, 0] * W0 * W0 + 2 * H[0, 1] * W0 * W1 + H[1, 1] * W1 * W1)

    return loss, full_grad, hessian_at, (loss_grid if H.shape == (2, 2) else None)


PROBLEMS: Registry[ProblemSpec] = Registry("problem")


def problem_names() -> list[str]:
    return list(PROBLEMS)


def get_problem_spec(name: str) -> ProblemSpec:
    return PROBLEMS.get(name)


def make_problem(name: str, values: Mapping[str, Any] | None = None) -> Problem:
    return get_problem_spec(name).make(values)
