"""Update rules, optax-style: ``init(w, hp) -> state`` and ``update(g, state, lr, hp, w) -> (delta, state)``.

Both functions are pure: they never modify ``w``, ``g`` or ``state``; the new parameters are
``w + delta``. ``lr`` is the learning rate for this step (the schedule has already been applied
to the rule's ``lr`` hyper-parameter). Each rule describes its hyper-parameters once in
``params``; the CLI, the TUI and the README are built from that description.

Conventions (see README "Three ways to write momentum"):

* ``momentum`` is the EWA form ``v = beta v + (1 - beta) g; w -= lr v``: beta weighs the *past*.
  The course note's GDM code writes ``s = (1 - b) s + b g`` with ``b = 0.6``: that is this rule
  with ``beta = 1 - b = 0.4`` and ``init = first`` (v starts from the first gradient).
* ``sgd_momentum`` is the ``torch.optim.SGD`` form ``v = mu v + g; w -= lr v``. With the same
  ``mu = beta`` it takes steps ``1 / (1 - beta)`` times larger than the EWA form, so the EWA form
  with ``lr`` equals the torch form with ``lr (1 - beta)``.
* ``rmsprop`` is the note's: ``eps`` *inside* the square root.
* ``adam`` is the note's: ``t`` incremented first, both moments bias-corrected, ``eps`` outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .params import Param, ParamError, ParamSet

State = dict[str, Any]
Init = Callable[[np.ndarray, Mapping[str, Any]], State]
Update = Callable[[np.ndarray, State, float, Mapping[str, Any], np.ndarray], "tuple[np.ndarray, State]"]


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    params: ParamSet
    init: Init
    update: Update
    formula: str
    main_beta: str | None = None
    aliases: tuple[str, ...] = ()
    #: name of the state entry that is this rule's own running average (for the EWA chart)
    average: str | None = None
    average_label: str = ""
    #: True when one step is a linear map of (w - w*, state) on a quadratic: theory applies
    linear: bool = False
    #: optional cross-parameter check, raising ParamError
    check: Callable[[Mapping[str, Any]], None] | None = None
    #: the same step done in place on ``w`` and ``state`` (which the caller owns), with one
    #: scratch array instead of a temporary per operation: for large parameter arrays (the
    #: network). Equal to ``update`` up to rounding; the pure ``update`` stays the reference.
    update_inplace: Callable[[np.ndarray, State, float, Mapping[str, Any], np.ndarray], None] | None = None

    def hparams(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults overlaid with ``values``, each validated; raises ParamError with one line."""
        hp = self.params.resolve(values, owner=f"rule {self.name}")
        if self.check is not None:
            self.check(hp)
        return hp


def _lr_param(default: float) -> Param:
    return Param("lr", default, "learning rate eta0 (before the schedule)", low=0.0, low_open=True,
                 high=1e6, scale="log", symbol="lr")


def _beta_param(name: str, default: float, help: str, symbol: str) -> Param:
    return Param(name, default, help, low=0.0, high=1.0, high_open=True, symbol=symbol)


def _eps_param(default: float, help: str) -> Param:
    return Param("eps", default, help, low=0.0, high=1.0, scale="log", symbol="eps")


# ---------------------------------------------------------------------------------------------
# gd
def _gd_init(w, hp):
    return {}


def _gd_update(g, state, lr, hp, w):
    return -(lr * g), state


# ---------------------------------------------------------------------------------------------
# momentum (EWA form)
def _momentum_init(w, hp):
    return {"v": np.zeros_like(w), "t": 0}


def _momentum_update(g, state, lr, hp, w):
    beta = hp["beta"]
    t = state["t"] + 1
    v_prev = g if (t == 1 and hp["init"] == "first") else state["v"]
    v = beta * v_prev + (1 - beta) * g
    step = v / (1 - beta**t) if hp["bias_correction"] else v
    return -(lr * step), {"v": v, "t": t}


# ---------------------------------------------------------------------------------------------
# sgd_momentum (torch.optim.SGD form) and nesterov
def _velocity_init(w, hp):
    return {"v": np.zeros_like(w)}


def _momentum_check(hp):
    if hp["bias_correction"] and hp["init"] == "first":
        raise ParamError("momentum: bias correction needs --init zero (a first-gradient start has no bias to correct)")


def _sgd_momentum_update(g, state, lr, hp, w):
    v = hp["momentum"] * state["v"] + g
    return -(lr * v), {"v": v}


def _nesterov_update(g, state, lr, hp, w):
    mu = hp["momentum"]
    v = mu * state["v"] + g
    return -(lr * (g + mu * v)), {"v": v}


# ---------------------------------------------------------------------------------------------
# rmsprop (the note's: eps inside the root)
def _cache_init(w, hp):
    return {"cache": np.zeros_like(w)}


def _rmsprop_update(g, state, lr, hp, w):
    dr = hp["decay_rate"]
    cache = dr * state["cache"] + (1 - dr) * g**2
    return -(lr * g / np.sqrt(cache + hp["eps"])), {"cache": cache}


# ---------------------------------------------------------------------------------------------
# adagrad (torch form: eps outside the root, no lr decay)
def _adagrad_update(g, state, lr, hp, w):
    cache = state["cache"] + g * g
    return -(lr * g / (np.sqrt(cache) + hp["eps"])), {"cache": cache}


# ---------------------------------------------------------------------------------------------
# adam / adamw (the note's order of operations)
def _adam_init(w, hp):
    return {"m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0}


def _adam_moments(g, state, hp):
    b1, b2 = hp["beta1"], hp["beta2"]
    t = state["t"] + 1
    m = b1 * state["m"] + (1 - b1) * g
    mb = m / (1 - b1**t)
    v = b2 * state["v"] + (1 - b2) * g**2
    vb = v / (1 - b2**t)
    return m, mb, v, vb, t


def _adam_update(g, state, lr, hp, w):
    m, mb, v, vb, t = _adam_moments(g, state, hp)
    return -(lr * mb / (np.sqrt(vb) + hp["eps"])), {"m": m, "v": v, "t": t}


def _adamw_update(g, state, lr, hp, w):
    # torch.optim.AdamW: w <- w (1 - lr wd), then the Adam step
    m, mb, v, vb, t = _adam_moments(g, state, hp)
    return -(lr * hp["weight_decay"] * w) - lr * mb / (np.sqrt(vb) + hp["eps"]), {"m": m, "v": v, "t": t}


# ---------------------------------------------------------------------------------------------
# in-place variants (mutate w and state; the caller owns both)
def _scratch(state: State, w: np.ndarray) -> np.ndarray:
    buf = state.get("_scratch")
    if buf is None or buf.shape != w.shape or buf.dtype != w.dtype:
        buf = state["_scratch"] = np.empty_like(w)
    return buf


def _gd_inplace(g, state, lr, hp, w):
    buf = _scratch(state, w)
    np.multiply(g, lr, out=buf)
    w -= buf


def _momentum_inplace(g, state, lr, hp, w):
    beta = hp["beta"]
    t = state["t"] = state["t"] + 1
    v = state["v"]
    if t == 1 and hp["init"] == "first":
        v[...] = g
    buf = _scratch(state, w)
    v *= beta
    np.multiply(g, 1 - beta, out=buf)
    v += buf
    scale = lr / (1 - beta**t) if hp["bias_correction"] else lr
    np.multiply(v, scale, out=buf)
    w -= buf


def _sgd_momentum_inplace(g, state, lr, hp, w):
    v = state["v"]
    v *= hp["momentum"]
    v += g
    buf = _scratch(state, w)
    np.multiply(v, lr, out=buf)
    w -= buf


def _nesterov_inplace(g, state, lr, hp, w):
    mu = hp["momentum"]
    v = state["v"]
    v *= mu
    v += g
    buf = _scratch(state, w)
    np.multiply(v, mu, out=buf)
    buf += g
    buf *= lr
    w -= buf


def _rmsprop_inplace(g, state, lr, hp, w):
    dr = hp["decay_rate"]
    cache = state["cache"]
    buf = _scratch(state, w)
    np.multiply(g, g, out=buf)
    buf *= 1 - dr
    cache *= dr
    cache += buf
    np.add(cache, hp["eps"], out=buf)
    np.sqrt(buf, out=buf)
    np.divide(g, buf, out=buf)
    buf *= lr
    w -= buf


def _adagrad_inplace(g, state, lr, hp, w):
    cache = state["cache"]
    buf = _scratch(state, w)
    np.multiply(g, g, out=buf)
    cache += buf
    np.sqrt(cache, out=buf)
    buf += hp["eps"]
    np.divide(g, buf, out=buf)
    buf *= lr
    w -= buf


def _adam_inplace(g, state, lr, hp, w):
    b1, b2 = hp["beta1"], hp["beta2"]
    t = state["t"] = state["t"] + 1
    m, v = state["m"], state["v"]
    buf = _scratch(state, w)
    if "weight_decay" in hp:  # AdamW: w <- w - lr wd w, with the Adam step taken from the old w's gradient
        w *= 1 - lr * hp["weight_decay"]
    m *= b1
    np.multiply(g, 1 - b1, out=buf)
    m += buf
    v *= b2
    np.multiply(g, g, out=buf)
    buf *= 1 - b2
    v += buf
    np.multiply(v, 1.0 / (1 - b2**t), out=buf)
    np.sqrt(buf, out=buf)
    buf += hp["eps"]
    np.divide(m, buf, out=buf)
    buf *= lr / (1 - b1**t)
    w -= buf


_MOMENTUM_MU = Param("momentum", 0.9, "velocity decay mu (weight of the past velocity)", low=0.0, high=1.0,
                     high_open=True, symbol="mu")

RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> Rule:
    RULES[rule.name] = rule
    return rule


_register(Rule(
    "gd", "gradient descent", ParamSet((_lr_param(1e-2),)), _gd_init, _gd_update,
    "w <- w - lr g", aliases=("sgd",), linear=True, update_inplace=_gd_inplace,
))
_register(Rule(
    "momentum", "momentum (EWA form)",
    ParamSet((
        _lr_param(1e-2),
        _beta_param("beta", 0.9, "weight of the past in v = beta v + (1-beta) g (the note's beta=0.6 is 0.4 here)", "β"),
        Param("init", "first", "first: v starts at the first gradient (the note); zero: v starts at 0",
              kind="choice", choices=("first", "zero")),
        Param("bias_correction", False, "divide v by 1 - beta^t (needs init=zero)", kind="bool"),
    )),
    _momentum_init, _momentum_update,
    "v <- β v + (1-β) g;  w <- w - lr v   [v̂ = v/(1-β^t) if bias-corrected]",
    main_beta="beta", average="v", average_label="v (momentum)", linear=True, check=_momentum_check,
    update_inplace=_momentum_inplace,
))
_register(Rule(
    "sgd_momentum", "SGD with momentum (torch form)", ParamSet((_lr_param(1e-2), _MOMENTUM_MU)),
    _velocity_init, _sgd_momentum_update,
    "v <- mu v + g;  w <- w - lr v", main_beta="momentum", average="v", average_label="v (velocity)",
    linear=True, update_inplace=_sgd_momentum_inplace,
))
_register(Rule(
    "nesterov", "Nesterov momentum (torch form)", ParamSet((_lr_param(1e-2), _MOMENTUM_MU)),
    _velocity_init, _nesterov_update,
    "v <- mu v + g;  w <- w - lr (g + mu v)", main_beta="momentum", average="v", average_label="v (velocity)",
    linear=True, update_inplace=_nesterov_inplace,
))
_register(Rule(
    "rmsprop", "RMSProp (the note's, eps inside the root)",
    ParamSet((
        _lr_param(1e-2),
        _beta_param("decay_rate", 0.99, "weight of the past in the squared-gradient cache", "ρ"),
        _eps_param(1e-8, "added to the cache inside the square root"),
    )),
    _cache_init, _rmsprop_update,
    "s <- ρ s + (1-ρ) g²;  w <- w - lr g / sqrt(s + eps)", main_beta="decay_rate", average="cache",
    average_label="cache (EWA of g²)", update_inplace=_rmsprop_inplace,
))
_register(Rule(
    "adagrad", "AdaGrad (torch form)",
    ParamSet((_lr_param(1e-2), _eps_param(1e-10, "added to the root of the accumulated squares"))),
    _cache_init, _adagrad_update,
    "s <- s + g²;  w <- w - lr g / (sqrt(s) + eps)", average="cache", average_label="sum of g²",
    update_inplace=_adagrad_inplace,
))
_ADAM_PARAMS = (
    _lr_param(1e-3),
    _beta_param("beta1", 0.9, "weight of the past in the first moment m", "β1"),
    _beta_param("beta2", 0.999, "weight of the past in the second moment v", "β2"),
    _eps_param(1e-8, "added to sqrt(v-hat) (outside the root)"),
)
_register(Rule(
    "adam", "Adam (the note's)", ParamSet(_ADAM_PARAMS), _adam_init, _adam_update,
    "t+=1; m <- β1 m + (1-β1) g; v <- β2 v + (1-β2) g²; w <- w - lr m̂ / (sqrt(v̂) + eps)",
    main_beta="beta1", average="m", average_label="m (Adam)", update_inplace=_adam_inplace,
))
_register(Rule(
    "adamw", "AdamW (decoupled weight decay, torch form)",
    ParamSet(_ADAM_PARAMS + (
        Param("weight_decay", 1e-2, "decoupled weight decay: w <- w (1 - lr wd) before the Adam step",
              low=0.0, high=1e3, symbol="wd"),
    )),
    _adam_init, _adamw_update,
    "w <- w - lr wd w - lr m̂ / (sqrt(v̂) + eps)   (Adam's m, v)",
    main_beta="beta1", average="m", average_label="m (AdamW)", update_inplace=_adam_inplace,
))

ALIASES = {alias: rule.name for rule in RULES.values() for alias in rule.aliases}


def rule_names() -> list[str]:
    return list(RULES)


def get_rule(name: str) -> Rule:
    key = ALIASES.get(name, name)
    try:
        return RULES[key]
    except KeyError:
        known = ", ".join(list(RULES) + list(ALIASES))
        raise ParamError(f"unknown rule {name!r} (known: {known})") from None


def note_momentum_beta(note_beta: float) -> float:
    """The EWA-form beta equal to the note's GDM ``beta`` (which weighs the *new* gradient)."""
    return 1.0 - note_beta
