"""The Rule type: each rule's math written once, as a ``step`` from which both paths follow.

A rule's ``step(g, state, lr, hp, w, out) -> (d, new_state)`` returns the amount ``d`` to take
from ``w`` (``w_new = w - d``) and the rule's next state. It is written with NumPy ufuncs whose
``out=`` targets come from ``out``:

* the pure path (``Rule.update``, the reference; the 2-D lab) passes :data:`PURE`, whose every
  target is None: each operation makes a fresh array and nothing given is modified;
* the in-place path (``Rule.update_inplace``, the network's Solver) passes a namespace whose
  targets are the state's own arrays (``out.v`` is ``state.v``) and scratch arrays (``out.s0``,
  ``out.s1``), and runs the step over cache-sized blocks of the flattened arrays.

Both paths run the same operations in the same order, so they agree to the last bit (every
operation is elementwise and correctly rounded, so blocking changes no bit either).

A rule's state is a small typed dataclass (one per rule, :class:`RuleState`), readable by
field name as ``state["v"]`` too (``Rule.average`` names the field the EWA chart shows).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from ..registry import Registry
from ..params import Param, ParamError, ParamSet

#: bytes per array in a block of the in-place path: a large array's step runs block by block, so
#: its few arrays stay in the CPU cache across the step's operations. Measured on the network's
#: whole flat parameter array (3072 features: 349k numbers): 1 MiB blocks beat whole arrays by
#: 2-7% and 128 KiB blocks (whose Python overhead per block shows) by 3-20%; small arrays run whole
BLOCK_BYTES = 1 << 20


class RuleState:
    """Base of the typed rule states: read access by field name, as a mapping would give.

    Copies and pickles hold the fields only (not the in-place path's scratch arrays)."""

    __slots__ = ("_work",)  # the in-place path's scratch arrays and views (not part of the state)

    def keys(self) -> tuple[str, ...]:
        return tuple(self.__dataclass_fields__)  # type: ignore[attr-defined]

    def items(self) -> tuple[tuple[str, Any], ...]:
        return tuple((k, getattr(self, k)) for k in self.keys())

    def __getitem__(self, name: str) -> Any:
        if name in self.__dataclass_fields__:  # type: ignore[attr-defined]
            return getattr(self, name)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self.__dataclass_fields__  # type: ignore[attr-defined]

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self.__dataclass_fields__ else default  # type: ignore[attr-defined]

    def __copy__(self):
        return type(self)(*(getattr(self, k) for k in self.keys()))

    def __deepcopy__(self, memo):
        return type(self)(*(copy.deepcopy(getattr(self, k), memo) for k in self.keys()))

    def __reduce__(self):
        return type(self), tuple(getattr(self, k) for k in self.keys())


class _Pure:
    """The pure path's ``out``: every target is None, so every operation returns a new array."""

    __slots__ = ()
    v = m = cache = s0 = s1 = None

    def __getattr__(self, name: str) -> None:  # state fields of rules added later
        return None


#: ``out`` for the pure path
PURE = _Pure()

Step = Callable[..., "tuple[np.ndarray, RuleState]"]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    params: ParamSet
    init: Callable[[np.ndarray, Mapping[str, Any]], RuleState]
    #: the one definition: ``step(g, state, lr, hp, w, out) -> (d, new_state)``, ``w_new = w - d``
    step: Step
    formula: str
    main_beta: str | None = None
    aliases: tuple[str, ...] = ()
    #: name of the state field that is this rule's own running average (for the EWA chart)
    average: str | None = None
    average_label: str = ""
    #: optional cross-parameter check, raising ParamError
    check: Callable[[Mapping[str, Any]], None] | None = None
    #: scratch arrays ``step`` uses on the in-place path (``out.s0``, ``out.s1``)
    scratch: int = 1
    #: theory on quadratics: the map of one step on one eigen-direction, ``linear_map(hp, x)``
    #: with ``x = lr * lam`` (a 1x1 or 2x2 matrix on ``(e, u)``); None for a non-linear rule
    linear_map: Callable[[Mapping[str, Any], float], np.ndarray] | None = None
    #: optional closed form of the largest stable ``x`` (else found from ``linear_map``)
    stability_x: Callable[[Mapping[str, Any]], float] | None = None
    #: optional closed form of the best constant settings ``optimum(lam_min, lam_max)``
    optimum: Callable[[float, float], Any] | None = None
    update: Callable[..., "tuple[np.ndarray, RuleState]"] = field(init=False, repr=False, compare=False)
    update_inplace: Callable[..., None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "update", _pure(self.step))
        object.__setattr__(self, "update_inplace", _inplace(self.step, self.scratch))

    @property
    def linear(self) -> bool:
        """True when one step is a linear map of (w - w*, state) on a quadratic: theory applies."""
        return self.linear_map is not None

    def hparams(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``values``, each validated; raises ParamError with one line."""
        hp = self.params.resolve(values, owner=f"rule {self.name}")
        if self.check is not None:
            self.check(hp)
        return hp


def _pure(step: Step):
    def update(g, state, lr, hp, w):
        """``(delta, new_state)`` with ``w_new = w + delta``; modifies nothing it is given."""
        d, new = step(g, state, lr, hp, w, PURE)
        return -d, new

    return update


class _Work:
    """What the in-place path keeps between calls for one state and one ``w``: the scratch
    arrays and, per block of the flattened arrays, a namespace of views (state arrays, scratch)
    that is the step's ``state`` and ``out`` at once."""

    __slots__ = ("w", "arrays", "scalars", "blocks")

    def __init__(self, state: RuleState, w: np.ndarray, n_scratch: int) -> None:
        self.w = w
        self.arrays = tuple((k, a) for k, a in state.items() if isinstance(a, np.ndarray) and a.shape == w.shape)
        self.scalars = tuple(k for k in state.keys() if k not in dict(self.arrays))
        n = w.size
        block = max(BLOCK_BYTES // w.itemsize, 1)
        if n <= 2 * block or not all(a.flags.c_contiguous for a in (w, *dict(self.arrays).values())):
            bounds = [(0, n)]
            shaped = lambda a, lo, hi: a  # noqa: E731
        else:
            bounds = [(lo, min(lo + block, n)) for lo in range(0, n, block)]
            shaped = lambda a, lo, hi: a.reshape(-1)[lo:hi]  # noqa: E731
        size = bounds[0][1] - bounds[0][0]
        scratch = [np.empty(size, w.dtype) for _ in range(n_scratch)]
        self.blocks = []
        for lo, hi in bounds:
            ns = SimpleNamespace(**{k: shaped(a, lo, hi) for k, a in self.arrays})
            for i, sc in enumerate(scratch):
                setattr(ns, f"s{i}", sc[: hi - lo].reshape(w.shape) if len(bounds) == 1 else sc[: hi - lo])
            self.blocks.append((lo, hi, ns, shaped(w, lo, hi)))

    def fits(self, state: RuleState, w: np.ndarray) -> bool:
        if self.w is not w:
            return False
        for k, a in self.arrays:
            if getattr(state, k) is not a:
                return False
        return True


def _inplace(step: Step, n_scratch: int):
    def update_inplace(g, state, lr, hp, w):
        """The same step done on ``w`` and ``state`` in place (the caller owns both)."""
        work = getattr(state, "_work", None)
        if work is None or not work.fits(state, w):
            work = state._work = _Work(state, w, n_scratch)
        blocks, scalars = work.blocks, work.scalars
        if len(blocks) == 1:
            ns = blocks[0][2]
            for k in scalars:
                setattr(ns, k, getattr(state, k))
            d, new = step(g, ns, lr, hp, w, ns)
            np.subtract(w, d, out=w)
        else:
            gf = g.reshape(-1)
            for k in scalars:
                value = getattr(state, k)
                for _, _, ns, _ in blocks:
                    setattr(ns, k, value)
            for lo, hi, ns, wb in blocks:
                d, new = step(gf[lo:hi], ns, lr, hp, wb, ns)
                np.subtract(wb, d, out=wb)
        # the arrays were updated in place (through the views); the rest (a step count) is adopted
        for k in scalars:
            setattr(state, k, getattr(new, k))

    return update_inplace


# ---------------------------------------------------------------------------------------------
# hyper-parameter descriptions shared by several rules
def lr_param(default: float) -> Param:
    return Param("lr", default, "learning rate eta0 (before the schedule)", low=0.0, low_open=True,
                 high=1e6, scale="log", symbol="lr")


def beta_param(name: str, default: float, help: str, symbol: str) -> Param:
    return Param(name, default, help, low=0.0, high=1.0, high_open=True, symbol=symbol)


def eps_param(default: float, help: str) -> Param:
    return Param("eps", default, help, low=0.0, high=1.0, scale="log", symbol="eps")


# ---------------------------------------------------------------------------------------------
# the registry
RULES: Registry[Rule] = Registry("rule")


def register(rule: Rule) -> Rule:
    return RULES.register(rule.name, rule, rule.aliases)


def aliases() -> dict[str, str]:
    """alias -> rule name (``sgd`` -> ``gd``)."""
    return RULES.aliases()


def rule_names() -> list[str]:
    return list(RULES)


def get_rule(name: str) -> Rule:
    return RULES.get(name)
