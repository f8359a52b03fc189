"""A d-dimensional quadratic with a chosen spectrum: why momentum helps an ill-conditioned problem.

``L(w) = 1/2 (w - w*)^T H (w - w*)`` with ``H = Q diag(lambda) Q^T``: the eigenvalues spread from 1
to ``kappa`` (log or linear spacing), ``Q`` a fixed random rotation (seed 0; the identity with
``--rotate off``, where the adaptive rules' per-coordinate scaling sees the eigenbasis). The run
starts at ``w* + Q 1``: an error of 1 along every eigendirection, so each direction's error
``q_i^T (w - w*)`` starts at 1 and the chart of the errors shows which directions lag.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..params import Param, ParamSet
from .base import PROBLEMS, Problem, ProblemSpec, quadratic_functions


def eigenvalues(dim: int, kappa: float, spacing: str) -> np.ndarray:
    """``dim`` eigenvalues from 1 to ``kappa`` inclusive, ascending (all 1 when dim is 1)."""
    if dim == 1:
        return np.ones(1)
    if spacing == "log":
        return np.logspace(0.0, np.log10(kappa), dim)
    return np.linspace(1.0, kappa, dim)


def rotation(dim: int, seed: int = 0) -> np.ndarray:
    """A random orthogonal matrix (QR of a Gaussian matrix, signs fixed so it is uniformly drawn)."""
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


def _spectrum(hp: Mapping[str, Any]) -> Problem:
    dim, kappa = int(hp["dim"]), float(hp["kappa"])
    lam = eigenvalues(dim, kappa, hp["spacing"])
    Q = rotation(dim) if hp["rotate"] else np.eye(dim)
    H = (Q * lam) @ Q.T
    H = 0.5 * (H + H.T)  # exactly symmetric
    w_star = np.zeros(dim)
    w0 = Q @ np.ones(dim)
    loss, full_grad, hessian_at, loss_grid = quadratic_functions(H)
    bounds = ((-2.0, 2.0), (-2.0, 2.0))
    if dim == 2:
        bounds = tuple((-1.2 * abs(float(v)) - 0.5, 1.2 * abs(float(v)) + 0.5) for v in w0)  # type: ignore[assignment]

    return Problem(
        "spectrum", f"quadratic d={dim} κ={kappa:g} ({hp['spacing']})", w0, w_star, 0.0, bounds,
        loss, full_grad, hessian_at, loss_grid, quadratic=True, params=dict(hp),
        lr_hint=1.0 / kappa, adaptive_lr_hint=5e-2, eigenbasis=Q, eigenvalues=lam,
    )


PROBLEMS.register("spectrum", ProblemSpec(
    "spectrum", "d-dimensional quadratic with eigenvalues spread from 1 to kappa",
    ParamSet((
        Param("dim", 10, "number of dimensions d", kind="int", low=1, high=2000, scale="log", symbol="d"),
        Param("kappa", 100.0, "condition number (eigenvalues from 1 to kappa)", low=1.0, high=1e6, scale="log",
              symbol="κ"),
        Param("spacing", "log", "how the eigenvalues are spread between 1 and kappa", kind="choice",
              choices=("log", "linear")),
        Param("rotate", True, "rotate the eigenbasis (off: H is diagonal in the coordinates)", kind="bool"),
    )),
    _spectrum, "1/2 w^T Q diag(lambda) Q^T w, lambda from 1 to kappa; start w* + Q 1", planar=False,
))
