"""Optimisation problems: loss, gradient, start, known optimum and plot bounds.

* ``notes-ls``: the course note's least squares, data generated exactly as the note does
  (``np.random.seed(0)``; ``N = 500`` points from ``normal([-3, 0], [3, 1])``; ``y = 1`` where the
  second coordinate is positive). Loss ``||y - Xw||^2``, gradient ``2 X^T X w - 2 X^T y``, start 0.
  ``batch_size > 0`` gives mini-batch gradients ``(N/B) 2 X_B^T (X_B w - y_B)`` (unbiased).
* ``quadratic``: ``0.5 (w - w*)^T H (w - w*)`` with eigenvalues ``kappa`` and 1, rotated.
* ``rosenbrock``: the banana valley ``(a - x)^2 + b (y - x^2)^2``.
* ``saddle``: a double well ``(x^2 - 1)^2 / 4 + s y^2 / 2``: a saddle at the origin between two
  minima; the run starts next to the saddle, where plain GD crawls and Adam does not.
* ``himmelblau`` (four minima), ``beale`` (a long flat valley) and ``rastrigin`` (a bowl covered
  in local minima): landscapes where the start and the rule decide which minimum a run finds.
* ``spectrum``: a d-dimensional quadratic whose eigenvalues spread from 1 to ``kappa``, started
  with an error of 1 along every eigendirection (``ProblemSpec.planar`` is False: no landscape).
* ``function``: a 2-D function of x and y typed with ``--f`` (exact derivatives; the optimum
  found numerically).
* ``data``: the note's least squares on the columns of a CSV file (``--data``): features, then y.
"""

# each module registers its problems; the import order is the order of the registry (and the p key)
from . import notes  # noqa: F401  isort: skip
from . import classic  # noqa: F401  isort: skip
from . import multimodal  # noqa: F401  isort: skip
from . import spectrum  # noqa: F401  isort: skip
from . import function  # noqa: F401  isort: skip
from . import data  # noqa: F401  isort: skip
from .base import PROBLEMS, Problem, ProblemSpec, get_problem_spec, make_problem, problem_names
from .notes import notes_data

__all__ = ["PROBLEMS", "Problem", "ProblemSpec", "get_problem_spec", "make_problem", "notes_data", "problem_names"]
