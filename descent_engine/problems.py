"""2-D optimisation problems: loss, gradient, start, known optimum and plot bounds.

* ``notes-ls``: the course note's least squares, data generated exactly as the note does
  (``np.random.seed(0)``; ``N = 500`` points from ``normal([-3, 0], [3, 1])``; ``y = 1`` where the
  second coordinate is positive). Loss ``||y - Xw||^2``, gradient ``2 X^T X w - 2 X^T y``, start 0.
  ``batch_size > 0`` gives mini-batch gradients ``(N/B) 2 X_B^T (X_B w - y_B)`` (unbiased).
* ``quadratic``: ``0.5 (w - w*)^T H (w - w*)`` with eigenvalues ``kappa`` and 1, rotated.
* ``rosenbrock``: the banana valley ``(a - x)^2 + b (y - x^2)^2``.
* ``saddle``: a double well ``(x^2 - 1)^2 / 4 + s y^2 / 2``: a saddle at the origin between two
  minima; the run starts next to the saddle, where plain GD crawls and Adam does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .params import Param, ParamError, ParamSet
from .registry import Registry


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
    loss_grid: Callable[[np.ndarray, np.ndarray], np.ndarray]
    quadratic: bool = False
    stochastic: bool = False
    batch_grad: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    #: a learning rate that shows the problem well: for the gradient-scaled rules (gd and the
    #: momentum forms) and for the adaptive rules (whose step is about lr per coordinate)
    lr_hint: float = 1e-2
    adaptive_lr_hint: float = 1e-2

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

    def hparams(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.params.resolve(values, owner=f"problem {self.name}")

    def make(self, values: Mapping[str, Any] | None = None) -> Problem:
        return self.build(self.hparams(values))


# ---------------------------------------------------------------------------------------------
def notes_data(n: int = 500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The note's data set: ``X`` (n, 2) and ``y`` (n,) of 0/1 labels."""
    rs = np.random.RandomState(seed)  # the same stream as np.random.seed(seed) + np.random.normal
    X = rs.normal([-3, 0], [3, 1], [n, 2])
    y = (X[:, 1] > 0).astype(float)
    return X, y


def _notes_ls(hp: Mapping[str, Any]) -> Problem:
    X, y = notes_data()
    n = X.shape[0]
    XtX = X.T @ X
    two_Xty = (2 * X.T) @ y  # the note's `2 * X.T @ y` (evaluated left to right)
    w_star = np.linalg.solve(XtX, X.T @ y)
    r_star = y - X @ w_star
    loss_star = float(r_star @ r_star)
    yy = float(y @ y)
    batch = int(hp["batch_size"])
    if batch > n:
        raise ParamError(f"batch_size must be at most {n} for notes-ls, got {batch}")

    def loss(w):
        # the note's np.linalg.norm(y - X @ w) ** 2 written out (norm is sqrt(r.r)) for speed;
        # the same operations, so the same bits: NumPy's float64 ** 2 (C pow) is not always s * s
        r = y - X @ w
        return float(np.sqrt(r.dot(r)) ** 2)

    def full_grad(w):
        return 2 * (XtX @ w) - two_Xty

    def batch_grad(w, rng):
        idx = rng.choice(n, size=batch, replace=False)
        Xb = X[idx]
        return (n / batch) * 2 * (Xb.T @ (Xb @ w - y[idx]))

    def hessian_at(w):
        return 2 * XtX

    def loss_grid(W0, W1):
        return (XtX[0, 0] * W0 * W0 + 2 * XtX[0, 1] * W0 * W1 + XtX[1, 1] * W1 * W1
                - two_Xty[0] * W0 - two_Xty[1] * W1 + yy)

    return Problem(
        "notes-ls", f"notes least squares (N={n})", np.zeros(2), w_star, loss_star,
        ((-0.5, 0.5), (-0.5, 0.5)), loss, full_grad, hessian_at, loss_grid, quadratic=True,
        stochastic=batch > 0, batch_grad=batch_grad if batch > 0 else None, params=dict(hp),
        lr_hint=1e-4, adaptive_lr_hint=5e-3,
    )


def _quadratic(hp: Mapping[str, Any]) -> Problem:
    kappa = float(hp["kappa"])
    angle = math.radians(float(hp["angle"]))
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag([kappa, 1.0]) @ R.T
    w_star = np.zeros(2)

    def loss(w):
        return float(0.5 * (w @ (H @ w)))

    def full_grad(w):
        return H @ w

    def hessian_at(w):
        return H

    def loss_grid(W0, W1):
        return 0.5 * (H[0, 0] * W0 * W0 + 2 * H[0, 1] * W0 * W1 + H[1, 1] * W1 * W1)

    return Problem(
        "quadratic", f"quadratic κ={kappa:g} at {hp['angle']:g}°", np.array([-3.0, 2.5]), w_star, 0.0,
        ((-4.0, 4.0), (-4.0, 4.0)), loss, full_grad, hessian_at, loss_grid, quadratic=True, params=dict(hp),
        lr_hint=min(0.05, 1.0 / kappa), adaptive_lr_hint=0.05,
    )


def _rosenbrock(hp: Mapping[str, Any]) -> Problem:
    a, b = float(hp["a"]), float(hp["b"])

    def loss(w):
        x, y = w
        return float((a - x) ** 2 + b * (y - x * x) ** 2)

    def full_grad(w):
        x, y = w
        r = y - x * x
        return np.array([-2 * (a - x) - 4 * b * x * r, 2 * b * r])

    def hessian_at(w):
        x, y = w
        return np.array([[2 - 4 * b * (y - x * x) + 8 * b * x * x, -4 * b * x], [-4 * b * x, 2 * b]])

    def loss_grid(W0, W1):
        return (a - W0) ** 2 + b * (W1 - W0 * W0) ** 2

    return Problem(
        "rosenbrock", f"Rosenbrock a={a:g} b={b:g}", np.array([-1.5, 2.0]), np.array([a, a * a]), 0.0,
        ((-2.0 * max(1.0, a), 2.0 * max(1.0, a)), (-1.0, 3.0 * max(1.0, a * a))),
        loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=0.05 / b, adaptive_lr_hint=1e-2,
    )


def _saddle(hp: Mapping[str, Any]) -> Problem:
    s = float(hp["stiffness"])

    def loss(w):
        x, y = w
        return float((x * x - 1) ** 2 / 4 + s * y * y / 2)

    def full_grad(w):
        x, y = w
        return np.array([x * (x * x - 1), s * y])

    def hessian_at(w):
        x, _ = w
        return np.array([[3 * x * x - 1, 0.0], [0.0, s]])

    def loss_grid(W0, W1):
        return (W0 * W0 - 1) ** 2 / 4 + s * W1 * W1 / 2

    return Problem(
        "saddle", f"double well with a saddle (s={s:g})", np.array([0.01, 1.0]), np.array([1.0, 0.0]), 0.0,
        ((-1.6, 1.6), (-1.2, 1.2)), loss, full_grad, hessian_at, loss_grid, params=dict(hp),
        lr_hint=min(0.05, 0.5 / s), adaptive_lr_hint=2e-2,
    )


PROBLEMS: Registry[ProblemSpec] = Registry("problem")
for _spec in (
    ProblemSpec(
        "notes-ls", "the note's least squares (N=500, seed 0)",
        ParamSet((Param("batch_size", 0, "mini-batch size for the gradient (0: full batch)", kind="int",
                        low=0, high=500),)),
        _notes_ls, "||y - Xw||^2 on the note's data; w0 = 0",
    ),
    ProblemSpec(
        "quadratic", "2-D quadratic with condition number and rotation",
        ParamSet((
            Param("kappa", 10.0, "condition number (eigenvalues kappa and 1)", low=1.0, high=1e6, scale="log",
                  symbol="κ"),
            Param("angle", 30.0, "rotation of the eigenvectors in degrees", low=-90.0, high=90.0),
        )),
        _quadratic, "0.5 w^T H w, H = R diag(kappa, 1) R^T",
    ),
    ProblemSpec(
        "rosenbrock", "Rosenbrock's banana valley",
        ParamSet((
            Param("a", 1.0, "valley floor passes through (a, a^2)", low=0.1, high=10.0),
            Param("b", 100.0, "steepness of the valley walls", low=0.1, high=1e4, scale="log"),
        )),
        _rosenbrock, "(a - x)^2 + b (y - x^2)^2; start (-1.5, 2)",
    ),
    ProblemSpec(
        "saddle", "double well with a saddle at the origin",
        ParamSet((Param("stiffness", 5.0, "curvature s across the valley", low=0.01, high=1e4, scale="log"),)),
        _saddle, "(x^2 - 1)^2 / 4 + s y^2 / 2; start (0.01, 1) next to the saddle",
    ),
):
    PROBLEMS.register(_spec.name, _spec)


def problem_names() -> list[str]:
    return list(PROBLEMS)


def get_problem_spec(name: str) -> ProblemSpec:
    return PROBLEMS.get(name)


def make_problem(name: str, values: Mapping[str, Any] | None = None) -> Problem:
    return get_problem_spec(name).make(values)
