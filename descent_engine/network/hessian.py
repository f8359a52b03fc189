"""Exact Hessian-vector products of the network's training loss, and its sharpness.

The loss is the network's own: mean cross-entropy over the given examples plus
``0.5 * reg * sum(W^2)`` over the weights. :func:`hvp` multiplies its Hessian by a vector with
Pearlmutter's R-operator (a forward R-pass, then a backward R-pass), in float64 whatever the
model's dtype, with the ReLU's second derivative taken as zero: the product is that of the
piecewise-quadratic loss on the current activation pattern, exact to rounding (no finite
differences, which give wrong answers when a step crosses a ReLU kink).

:func:`sharpness` is the algebraically largest eigenvalue of that Hessian (not the largest in
magnitude: a Hessian away from a minimum has negative eigenvalues, and power iteration would find
the most negative one if it dominated) by Lanczos with full reorthogonalisation (Rayleigh-Ritz on
the Krylov space, a few dozen products at most), warm-started from the previous top eigenvector.
With ``precond`` (a diagonal ``P``, name -> array) it is the top eigenvalue of ``P^-1/2 H P^-1/2``.
Vectors are flat float64 arrays in the parameters' order (see :class:`Layout`) or dicts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

SHARPNESS_EXAMPLES = 1000


class Layout:
    """The parameters' names, shapes and offsets: flat float64 vectors <-> dicts name -> array."""

    def __init__(self, params: Mapping[str, np.ndarray]) -> None:
        self.names = list(params)
        self.shapes = {k: tuple(np.shape(v)) for k, v in params.items()}
        self.offsets: dict[str, tuple[int, int]] = {}
        start = 0
        for k in self.names:
            size = int(np.prod(self.shapes[k], dtype=np.int64))
            self.offsets[k] = (start, start + size)
            start += size
        self.size = start

    def flatten(self, tree: Mapping[str, np.ndarray]) -> np.ndarray:
        missing = [k for k in self.names if k not in tree]
        if missing:
            raise ValueError(f"vector has no entry for {', '.join(missing)}")
        out = np.empty(self.size)
        for k in self.names:
            a, b = self.offsets[k]
            out[a:b] = np.asarray(tree[k], dtype=np.float64).reshape(-1)
        return out

    def unflatten(self, vec: np.ndarray) -> dict[str, np.ndarray]:
        vec = np.asarray(vec, dtype=np.float64)
        if vec.shape != (self.size,):
            raise ValueError(f"flat vector must have shape ({self.size},), got {vec.shape}")
        return {k: vec[a:b].reshape(self.shapes[k]) for k, (a, b) in self.offsets.items()}


def first_examples(X: np.ndarray, y: np.ndarray, limit: int = SHARPNESS_EXAMPLES):
    """The first ``min(N, limit)`` examples (the set the sharpness is measured on)."""
    n = min(int(np.shape(X)[0]), int(limit))
    return X[:n], y[:n]


class HessianOperator:
    """``H v`` at the model's current parameters on ``(X, y)``; the forward pass is done once.

    The parameters are copied (float64) when the operator is made: it does not follow later
    training steps. ``op(v)`` takes and returns a flat vector; ``op.hvps`` counts products.
    """

    def __init__(self, model, X: np.ndarray, y: np.ndarray) -> None:
        self.layout = Layout(model.params)
        self.reg = float(model.reg)
        L = self.L = sum(1 for k in model.params if k.startswith("W"))
        self.W = [np.array(model.params[f"W{i + 1}"], dtype=np.float64) for i in range(L)]
        X = np.asarray(X)
        X = X.reshape(X.shape[0], -1) if X.ndim != 2 else X
        self.X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.intp)
        n = self.n = self.X.shape[0]
        if n < 1 or y.shape != (n,):
            raise ValueError(f"need at least one example and y of shape ({n},), got {y.shape}")
        # forward: h[0] = X, h[i] = relu(h[i-1] W_i + b_i) (i < L), scores = h[L-1] W_L + b_L
        self.h = [self.X]
        self.masks = []
        for i in range(L):
            z = self.h[i] @ self.W[i] + np.asarray(model.params[f"b{i + 1}"], dtype=np.float64)
            if i < L - 1:
                mask = z > 0
                self.masks.append(mask)
                self.h.append(z * mask)
            else:
                scores = z
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        self.p = p
        self.loss = float(np.mean(-np.log(p[np.arange(n), y]))) + 0.5 * self.reg * sum(
            float(np.vdot(W, W)) for W in self.W)
        d = p.copy()
        d[np.arange(n), y] -= 1.0
        d /= n
        # dz[i]: the loss's gradient with respect to layer i+1's pre-activation
        self.dz = [None] * L
        self.dz[L - 1] = d
        for i in range(L - 1, 0, -1):
            self.dz[i - 1] = (self.dz[i] @ self.W[i].T) * self.masks[i - 1]
        self.hvps = 0

    def gradient(self) -> np.ndarray:
        """The loss's gradient (flat float64), from the same forward pass."""
        g = {}
        for i in range(self.L):
            g[f"W{i + 1}"] = self.h[i].T @ self.dz[i] + self.reg * self.W[i]
            g[f"b{i + 1}"] = self.dz[i].sum(axis=0)
        return self.layout.flatten(g)

    def __call__(self, v: np.ndarray) -> np.ndarray:
        V = self.layout.unflatten(v)
        L, W, h, masks = self.L, self.W, self.h, self.masks
        VW = [V[f"W{i + 1}"] for i in range(L)]
        # forward R-pass: R(h_0) = 0; R(z_i) = R(h_{i-1}) W_i + h_{i-1} V_i + Vb_i; R(h_i) = mask R(z_i)
        Rh = [None] * L
        Rz = None
        for i in range(L):
            Rz = h[i] @ VW[i] + V[f"b{i + 1}"]
            if i > 0:
                Rz += Rh[i] @ W[i]
            if i < L - 1:
                Rh[i + 1] = Rz * masks[i]
        # backward R-pass: R(d_scores) = (diag(p) - p p^T) R(scores) / n, row by row
        p = self.p
        Rd = p * (Rz - np.sum(p * Rz, axis=1, keepdims=True)) / self.n
        out: dict[str, np.ndarray] = {}
        for i in range(L - 1, -1, -1):
            RgW = h[i].T @ Rd + self.reg * VW[i]
            if i > 0:
                RgW += Rh[i].T @ self.dz[i]
            out[f"W{i + 1}"] = RgW
            out[f"b{i + 1}"] = Rd.sum(axis=0)
            if i > 0:
                # R(dh_{i-1}) = R(dz_i) W_i^T + dz_i V_i^T; the ReLU's mask is constant (no 2nd derivative)
                Rd = (Rd @ W[i].T + self.dz[i] @ VW[i].T) * masks[i - 1]
        self.hvps += 1
        return self.layout.flatten(out)


def hvp(model, X: np.ndarray, y: np.ndarray, v):
    """Exact ``H v`` of the model's training loss on ``(X, y)`` at its current parameters.

    ``v`` is a dict name -> array (the result is then a dict) or a flat vector in the
    parameters' order (the result is then flat). For many products at one point make a
    :class:`HessianOperator` once instead.
    """
    op = HessianOperator(model, X, y)
    if isinstance(v, Mapping):
        return op.layout.unflatten(op(op.layout.flatten(v)))
    return op(np.asarray(v, dtype=np.float64))


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SharpnessResult:
    value: float  # the algebraically largest Ritz value (the top eigenvalue once converged)
    vector: np.ndarray  # its unit Ritz vector, flat float64 (warm start for the next measurement)
    iterations: int  # Lanczos steps (Krylov dimension)
    hvps: int  # Hessian-vector products used
    residual: float  # ||A x - value x|| for the returned unit x
    converged: bool  # residual <= tol * |value|
    smallest: float  # the smallest Ritz value (a rough estimate of the most negative eigenvalue)
    seconds: float


def lanczos_top(op: Callable[[np.ndarray], np.ndarray], dim: int, *, iters: int = 20, tol: float = 1e-3,
                v0: np.ndarray | None = None, rng: np.random.Generator | int | None = 0) -> SharpnessResult:
    """Top algebraic eigenvalue of the symmetric operator ``op`` (flat vectors of length ``dim``).

    Lanczos with full reorthogonalisation; the Ritz values come from ``Q^T A Q`` built from the
    stored products, and it stops when the top Ritz pair's residual ``||A x - theta x||`` (computed
    from those products, no extra one) is at most ``tol * |theta|``, after ``iters`` steps, or
    when the Krylov space is invariant. The eigenvalue's error is then about residual^2 / gap.
    """
    start = time.perf_counter()
    iters = max(1, min(int(iters), int(dim)))
    if v0 is None or not np.all(np.isfinite(v0)) or not np.any(v0):
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        q = gen.standard_normal(dim)
    else:
        q = np.asarray(v0, dtype=np.float64).reshape(-1).copy()
        if q.shape != (dim,):
            raise ValueError(f"v0 must have {dim} entries, got {q.shape[0]}")
    q /= np.linalg.norm(q)
    Q = np.empty((iters, dim))
    AQ = np.empty((iters, dim))
    theta, x, resid, smallest, k = math.nan, q, math.inf, math.nan, 0
    for k in range(1, iters + 1):
        Q[k - 1] = q
        AQ[k - 1] = op(q)
        Qk, AQk = Q[:k], AQ[:k]
        T = Qk @ AQk.T
        T = 0.5 * (T + T.T)
        evals, evecs = np.linalg.eigh(T)
        theta, s, smallest = float(evals[-1]), evecs[:, -1], float(evals[0])
        x = s @ Qk
        xnorm = np.linalg.norm(x)
        x /= xnorm
        resid = float(np.linalg.norm(s @ AQk / xnorm - theta * x))
        if resid <= tol * abs(theta) or k == iters:
            break
        w = AQ[k - 1].copy()
        for _ in range(2):  # full reorthogonalisation, twice ("twice is enough")
            w -= (Qk @ w) @ Qk
        beta = float(np.linalg.norm(w))
        if beta <= 1e-12 * max(abs(theta), 1e-300) or not math.isfinite(beta):
            break  # the Krylov space is invariant: the Ritz values are eigenvalues
        q = w / beta
    converged = bool(resid <= tol * abs(theta)) or resid <= 1e-12 * max(abs(theta), 1e-300)
    return SharpnessResult(theta, x, k, k, resid, converged, smallest, time.perf_counter() - start)


def _inv_sqrt(layout: Layout, precond: Mapping[str, np.ndarray]) -> np.ndarray:
    diag = {k: np.broadcast_to(np.asarray(precond.get(k, 1.0), dtype=np.float64), layout.shapes[k])
            for k in layout.names}
    d = layout.flatten(diag)
    if not np.all(np.isfinite(d)) or not np.all(d > 0):
        raise ValueError("the preconditioner's diagonal must be positive and finite")
    return 1.0 / np.sqrt(d)


def sharpness(model, X: np.ndarray, y: np.ndarray, *, iters: int = 20, tol: float = 1e-3,
              v0: np.ndarray | None = None, rng: np.random.Generator | int | None = 0,
              precond: Mapping[str, np.ndarray] | None = None,
              operator: HessianOperator | None = None) -> SharpnessResult:
    """Top algebraic eigenvalue of the Hessian of the model's loss on ``(X, y)`` (the caller picks
    the examples: :func:`first_examples`), or of ``P^-1/2 H P^-1/2`` with ``precond`` = P's
    diagonal (name -> array; names left out count as 1). ``v0``: the previous top eigenvector
    (flat) as a warm start. ``operator``: a :class:`HessianOperator` made at this point already
    (to share one forward pass between the plain and the preconditioned sharpness)."""
    start = time.perf_counter()
    op = operator if operator is not None else HessianOperator(model, X, y)
    before = op.hvps
    if precond is None:
        apply = op
    else:
        s = _inv_sqrt(op.layout, precond)

        def apply(v):
            return s * op(s * v)
    res = lanczos_top(apply, op.layout.size, iters=iters, tol=tol, v0=v0, rng=rng)
    return SharpnessResult(res.value, res.vector, res.iterations, op.hvps - before, res.residual,
                           res.converged, res.smallest, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------
# rule preconditioners and stability thresholds

def _field(state: Any, name: str):
    """``state[name]`` for a dict state, ``state.name`` for a typed (NamedTuple) one, else None."""
    if isinstance(state, Mapping):
        return state.get(name)
    return getattr(state, name, None)


def preconditioner(rule_name: str, states: Mapping[str, Any], hp: Mapping[str, Any]) -> dict[str, np.ndarray] | None:
    """The diagonal P of the rule's current step ``delta w = -lr P^-1 (...)``, name -> array, or None.

    ``states`` maps each parameter's name to its own rule state (``Solver.optim_states``); a state
    may be a dict or an object with attributes (read through one accessor, so both work).
    adam/adamw: ``sqrt(v / (1 - beta2^t)) + eps`` (None before the first step, t = 0);
    rmsprop (eps inside the root): ``sqrt(cache + eps)``; adagrad: ``sqrt(cache) + eps``;
    other rules have no preconditioner (None).
    """
    from ..rules import get_rule  # the canonical name of an alias (sgd -> gd)

    name = get_rule(rule_name).name
    out: dict[str, np.ndarray] = {}
    for key, st in states.items():
        if name in ("adam", "adamw"):
            v, t = _field(st, "v"), _field(st, "t")
            if v is None or t is None or int(t) < 1:
                return None
            vhat = np.asarray(v, dtype=np.float64) / (1.0 - float(hp["beta2"]) ** int(t))
            out[key] = np.sqrt(vhat) + float(hp["eps"])
        elif name in ("rmsprop", "adagrad"):
            cache = _field(st, "cache")
            if cache is None:
                return None
            cache = np.asarray(cache, dtype=np.float64)
            if name == "rmsprop":
                out[key] = np.sqrt(cache + float(hp["eps"]))
            else:
                out[key] = np.sqrt(cache) + float(hp["eps"])
        else:
            return None
    return out


def stability_threshold(rule_name: str, hp: Mapping[str, Any], lr: float) -> float | None:
    """The curvature above which the rule's step diverges on a quadratic (its full-batch theory).

    gd/sgd: ``2/lr``; sgd_momentum (heavy ball): ``2(1+mu)/lr``; nesterov: ``2(1+mu)/((1+2mu) lr)``;
    momentum (EWA form, = heavy ball with lr (1-beta)): ``2(1+beta)/((1-beta) lr)``; adam/adamw
    (compare with the *preconditioned* sharpness, P frozen, weight decay ignored):
    ``(2+2 beta1)/((1-beta1) lr)``, 38/lr at beta1 0.9; rmsprop/adagrad (preconditioned, no
    momentum): ``2/lr``. None for anything else.
    """
    from ..rules import get_rule

    name = get_rule(rule_name).name
    lr = float(lr)
    if not lr > 0:
        return None
    if name in ("gd", "rmsprop", "adagrad"):
        return 2.0 / lr
    if name == "sgd_momentum":
        return 2.0 * (1.0 + float(hp["momentum"])) / lr
    if name == "nesterov":
        mu = float(hp["momentum"])
        return 2.0 * (1.0 + mu) / ((1.0 + 2.0 * mu) * lr)
    if name == "momentum":
        b = float(hp["beta"])
        return 2.0 * (1.0 + b) / ((1.0 - b) * lr)
    if name in ("adam", "adamw"):
        b1 = float(hp["beta1"])
        return (2.0 + 2.0 * b1) / ((1.0 - b1) * lr)
    return None


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SharpnessRecord:
    iteration: int  # the solver's iteration count (steps taken) when measured
    sharpness: float  # top eigenvalue of H
    preconditioned: float | None  # top eigenvalue of P^-1/2 H P^-1/2 (adam, adamw, rmsprop, adagrad)
    threshold: float | None  # stability_threshold(rule, hp, lr) at the current lr
    hvps: int
    seconds: float


class SharpnessMonitor:
    """Measures a Solver's sharpness every ``every`` steps, warm-starting each from the last.

    ``monitor.due(solver)`` says whether a measurement is due (``solver.t`` a multiple of
    ``every``, or the last step taken); ``monitor.measure(solver)`` measures now and appends a
    :class:`SharpnessRecord` to ``records``; ``monitor.histories()`` gives arrays for a train NPZ.
    Reads only ``solver.model``, ``X_train``, ``y_train``, ``update_rule``, ``hp``,
    ``optim_states``, ``current_lr()``, ``t`` and ``done``.
    """

    def __init__(self, every: int, *, examples: int = SHARPNESS_EXAMPLES, iters: int = 20, tol: float = 1e-3,
                 seed: int = 0) -> None:
        if int(every) < 1:
            raise ValueError(f"sharpness interval must be at least 1, got {every}")
        self.every, self.examples, self.iters, self.tol = int(every), int(examples), int(iters), float(tol)
        self.rng = np.random.default_rng(seed)
        self.records: list[SharpnessRecord] = []
        self._v: np.ndarray | None = None
        self._vp: np.ndarray | None = None
        self._data: tuple[np.ndarray, np.ndarray] | None = None

    def due(self, solver) -> bool:
        t = int(solver.t)
        if t < 1 or (self.records and self.records[-1].iteration == t):
            return False
        return t % self.every == 0 or bool(solver.done)

    def measure(self, solver) -> SharpnessRecord:
        start = time.perf_counter()
        if self._data is None:
            X, y = first_examples(solver.X_train, solver.y_train, self.examples)
            self._data = (np.asarray(X, dtype=np.float64), np.asarray(y))
        op = HessianOperator(solver.model, *self._data)
        res = sharpness(solver.model, *self._data, iters=self.iters, tol=self.tol, v0=self._v, rng=self.rng,
                        operator=op)
        self._v = res.vector
        pre = None
        P = preconditioner(solver.update_rule, solver.optim_states, solver.hp)
        if P is not None:
            rp = sharpness(solver.model, *self._data, iters=self.iters, tol=self.tol, v0=self._vp, rng=self.rng,
                           precond=P, operator=op)
            self._vp, pre = rp.vector, rp.value
        rec = SharpnessRecord(int(solver.t), res.value, pre,
                              stability_threshold(solver.update_rule, solver.hp, solver.current_lr()),
                              op.hvps, time.perf_counter() - start)
        self.records.append(rec)
        return rec

    def histories(self) -> dict[str, np.ndarray]:
        r = self.records
        out = {"sharpness_history": np.array([x.sharpness for x in r], dtype=np.float64),
               "sharpness_iteration_history": np.array([x.iteration for x in r], dtype=np.int64),
               "sharpness_threshold_history": np.array([np.nan if x.threshold is None else x.threshold for x in r],
                                                       dtype=np.float64)}
        if any(x.preconditioned is not None for x in r):
            out["preconditioned_sharpness_history"] = np.array(
                [np.nan if x.preconditioned is None else x.preconditioned for x in r], dtype=np.float64)
        return out
