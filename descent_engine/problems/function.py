"""``function``: a 2-D function of ``x`` and ``y`` typed by the user (``--f EXPR``).

The text is parsed by :mod:`descent_engine.expr` (never ``eval``); the gradient and the Hessian
are its exact symbolic derivatives. The optimum is not known in closed form, so it is found
numerically and labelled so (``Problem.optimum_numerical``): a damped Newton iteration on the
symbolic Hessian, run from a grid of starts over the search box all at once (vectorized), keeps
the points where the gradient vanishes and the Hessian is positive semi-definite; the lowest of
them is ``w_star`` (of equal ones, the nearest to the start). The search box and the view are
``--bounds xmin:xmax,ymin:ymax`` when given, else found around the start: a box of half-width
``3 max(1, |start|)`` is searched and the view is the smallest box holding the start and the
optimum, padded.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Mapping

import numpy as np

from ..expr import ExprError, Function2D, compile_function, evaluate
from ..params import Param, ParamError, ParamSet
from .base import PROBLEMS, Problem, ProblemSpec, check_start

#: the start when --start is not given: Rosenbrock's classic start (so --f with its formula is the built-in)
DEFAULT_START = (-1.5, 2.0)
GRID = 13
NEWTON_STEPS = 80


def parse_bounds(text: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """``"xmin:xmax,ymin:ymax"`` -> ``((xmin, xmax), (ymin, ymax))``; ParamError (one line) otherwise."""
    form = "expected xmin:xmax,ymin:ymax (e.g. -2:2,-1:3)"
    parts = str(text).split(",")
    if len(parts) != 2:
        raise ParamError(f"bounds: {form}, got {text!r}"[:200])
    out = []
    for axis, part in zip("xy", parts):
        ends = part.split(":")
        try:
            lo, hi = (float(e) for e in ends) if len(ends) == 2 else (math.nan, "bad")  # type: ignore[misc]
        except ValueError:
            raise ParamError(f"bounds: {form}, got {text!r}"[:200]) from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ParamError(f"bounds: the {axis} range must be finite numbers, got {part!r}"[:200])
        if not lo < hi:
            raise ParamError(f"bounds: the {axis} range must have min < max, got {part!r}"[:200])
        out.append((lo, hi))
    return out[0], out[1]


def _hessians(f: Function2D, X: np.ndarray, Y: np.ndarray):
    (a, b), (_, c) = f.hessian_trees
    with np.errstate(all="ignore"):
        return tuple(np.broadcast_to(evaluate(t, X, Y), X.shape).astype(float) for t in (a, b, c))


def _values(f: Function2D, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.broadcast_to(f.value(X, Y), X.shape).astype(float)


def _lam_min(a, b, c):
    return 0.5 * (a + c) - np.sqrt(0.25 * (a - c) ** 2 + b * b)


def find_minima(f: Function2D, box, start: np.ndarray) -> list[np.ndarray]:
    """Local minima of ``f`` found from a GRID x GRID grid of starts over ``box`` and ``start``,
    lowest first (of equal values, nearest to ``start`` first)."""
    (x0, x1), (y0, y1) = box
    gx, gy = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    X = np.append(gx.ravel(), start[0])
    Y = np.append(gy.ravel(), start[1])
    active = np.arange(X.size)  # the points still moving (the others have converged or left)
    with np.errstate(all="ignore"):
        for _ in range(NEWTON_STEPS):
            if active.size == 0:
                break
            x, y = X[active], Y[active]
            F = _values(f, x, y)
            G = f.gradient(x, y)
            a, b, c = _hessians(f, x, y)
            # Levenberg shift where H is not definite, so the step still goes downhill
            scale = np.abs(a) + np.abs(c) + np.abs(b)
            lam = _lam_min(a, b, c)
            mu = np.where(lam > 0, 0.0, 1e-9 * scale + 1e-300 - lam)  # a pure Newton step where H is definite
            a2, c2 = a + mu, c + mu
            det = a2 * c2 - b * b
            dx = -(c2 * G[0] - b * G[1]) / det
            dy = -(a2 * G[1] - b * G[0]) / det
            bad = ~(np.isfinite(dx) & np.isfinite(dy))
            dx, dy = np.where(bad, -G[0], dx), np.where(bad, -G[1], dy)
            slope = G[0] * dx + G[1] * dy
            t = np.ones_like(x)
            done = ~np.isfinite(F)
            for _ in range(40):  # backtracking, for every point at once
                Fn = _values(f, x + t * dx, y + t * dy)
                ok = done | (np.isfinite(Fn) & (Fn <= F + 1e-4 * t * slope))
                if ok.all():
                    break
                t = np.where(ok, t, 0.5 * t)
            move = ~done & np.isfinite(_values(f, x + t * dx, y + t * dy))
            sx, sy = np.where(move, t * dx, 0.0), np.where(move, t * dy, 0.0)
            X[active], Y[active] = x + sx, y + sy
            # still moving: a step above rounding, and not yet far outside the box (a run to infinity)
            tiny = np.maximum(np.abs(sx) / (1 + np.abs(x)), np.abs(sy) / (1 + np.abs(y))) <= 1e-15
            far = (np.abs(X[active] - 0.5 * (x0 + x1)) > 2 * (x1 - x0)) | (np.abs(Y[active] - 0.5 * (y0 + y1)) > 2 * (y1 - y0))
            active = active[~(tiny | far | ~move)]
        F = _values(f, X, Y)
        G = f.gradient(X, Y)
        a, b, c = _hessians(f, X, Y)
    # a minimum: inside the search box (grown by half its size each way: a run that left it found
    # no minimum there), the gradient zero to rounding, the Hessian positive semi-definite
    inside = ((X >= x0 - 0.5 * (x1 - x0)) & (X <= x1 + 0.5 * (x1 - x0))
              & (Y >= y0 - 0.5 * (y1 - y0)) & (Y <= y1 + 0.5 * (y1 - y0)))
    with np.errstate(all="ignore"):
        size = np.abs(F) + 1.0
        gnorm = np.hypot(G[0], G[1])
        curv = np.abs(a) + np.abs(c) + np.abs(b) + 1.0
        keep = (inside & np.isfinite(F) & np.isfinite(curv) & (gnorm <= 1e-7 * np.sqrt(size * curv))
                & (_lam_min(a, b, c) >= -1e-8 * curv))
    found: list[tuple[float, float, np.ndarray]] = []
    for i in np.flatnonzero(keep):
        w = np.array([X[i], Y[i]])
        if any(np.max(np.abs(w - m)) <= 1e-6 * (1 + np.max(np.abs(m))) for _, _, m in found):
            continue
        found.append((float(F[i]), float(np.hypot(*(w - start))), w))
    if not found:
        return []
    low = min(v for v, _, _ in found)
    tie = 1e-9 * (1 + abs(low))
    found.sort(key=lambda item: (0 if item[0] <= low + tie else 1, item[0] if item[0] > low + tie else 0, item[1]))
    return [m for _, _, m in found]


def _has_variable(node) -> bool:
    return node.op == "var" or any(_has_variable(a) for a in node.args)


def _view(start: np.ndarray, w_star: np.ndarray):
    """A square box centred on the optimum, reaching 1.3 times the start's distance along the
    farther axis (at least 0.5): a run overshooting w* (momentum) stays in view, and a round
    bowl looks round."""
    half = max(1.3 * float(np.max(np.abs(np.asarray(start, float) - np.asarray(w_star, float)))), 0.5)
    return tuple((float(m - half), float(m + half)) for m in w_star)


@lru_cache(maxsize=32)
def _function(text: str, bounds_text: str | None, start: tuple[float, float] | None) -> Problem:
    try:
        f = compile_function(text)
    except ExprError as exc:
        raise ParamError(f"f: {exc}") from None
    box = parse_bounds(bounds_text) if bounds_text != "auto" else None
    if start is not None:
        w0 = check_start(start, 2, "function")
    elif box is None or all(lo <= v <= hi for (lo, hi), v in zip(box, DEFAULT_START)):
        w0 = np.array(DEFAULT_START)
    else:
        w0 = np.array([(lo + hi) / 2 for lo, hi in box])
    if not math.isfinite(float(f.value(*w0))) or not np.all(np.isfinite(f.gradient(*w0))):
        raise ParamError(f"f: {text} is not defined (or not finite) at the start ({w0[0]:g}, {w0[1]:g})"[:300])
    search = box
    if search is None:
        h = 3.0 * max(1.0, float(np.max(np.abs(w0))))
        search = ((w0[0] - h, w0[0] + h), (w0[1] - h, w0[1] + h))
    minima = find_minima(f, search, w0)
    if not minima:
        where = ", ".join(f"{lo:g}:{hi:g}" for lo, hi in search)
        raise ParamError(f"f: found no minimum of {text} in {where}; give --bounds around one"[:300])
    w_star = minima[0]
    bounds = box if box is not None else _view(w0, w_star)
    quadratic = not any(_has_variable(t) for row in f.hessian_trees for t in row)  # a constant Hessian
    lam_max = float(np.max(np.abs(np.linalg.eigvalsh(f.hessian(*w_star)))))
    lr_hint = 0.1 if lam_max == 0 else float(min(0.1, max(1e-6, 1.0 / lam_max)))

    def loss(w):
        return float(evaluate(f.tree, w[0], w[1]))

    def full_grad(w):
        return f.gradient(w[0], w[1])

    def hessian_at(w):
        return f.hessian(float(w[0]), float(w[1]))

    def loss_grid(W0, W1):
        return np.broadcast_to(f.value(W0, W1), np.shape(W0)).astype(float)

    params = {"f": text, "bounds": bounds_text}
    return Problem(
        "function", f"f(x, y) = {text}", w0, w_star, float(f.value(*w_star)), bounds, loss, full_grad,
        hessian_at, loss_grid, quadratic=quadratic, params=params, lr_hint=lr_hint, adaptive_lr_hint=1e-2,
        minima=tuple(minima[:8]), optimum_numerical=True,
    )


#: the function when --f is not given (so the problem, like every other, builds from its defaults)
DEFAULT_F = "x**2 + 10*y**2"


def _build(hp: Mapping[str, Any], start: tuple[float, ...] | None) -> Problem:
    return _function(hp["f"], hp["bounds"], None if start is None else tuple(start))


PROBLEMS.register("function", ProblemSpec(
    "function", "a 2-D function of x and y that you type (--f)",
    ParamSet((
        Param("f", DEFAULT_F, "the function of x and y: numbers, + - * / **, ( ), exp log sqrt sin cos tanh abs, "
              "pi, e", kind="text"),
        Param("bounds", "auto", "the view and the search box for the optimum, xmin:xmax,ymin:ymax (auto: found "
              "around the start)", kind="text", words=("auto",)),
    )),
    _build, "f(x, y) as typed; exact gradient; the optimum found numerically; start (-1.5, 2)",
    uses_start=True,
))
