"""The adaptive rules: RMSProp, AdaGrad, Adam and AdamW (no linear map: no theory).

* ``rmsprop`` is the note's: ``eps`` *inside* the square root.
* ``adagrad`` is torch's: ``eps`` outside the root, no lr decay.
* ``adam`` is the note's: ``t`` incremented first, both moments bias-corrected, ``eps`` outside.
* ``adamw`` is torch's decoupled weight decay on top of Adam's step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..averages import bias_correct, update_moment
from ..params import Param, ParamSet
from .base import Rule, RuleState, beta_param, eps_param, lr_param, register


@dataclass(slots=True)
class CacheState(RuleState):
    cache: np.ndarray


@dataclass(slots=True)
class AdamState(RuleState):
    m: np.ndarray
    v: np.ndarray
    t: int = 0


def _cache_init(w, hp):
    return CacheState(np.zeros_like(w))


def _adam_init(w, hp):
    return AdamState(np.zeros_like(w), np.zeros_like(w), 0)


# ---------------------------------------------------------------------------------------------
def _rmsprop_step(g, s, lr, hp, w, out):
    g2 = np.multiply(g, g, out=out.s0)
    cache = update_moment(s.cache, g2, hp["decay_rate"], out.cache, out.s0)
    den = np.add(cache, hp["eps"], out=out.s0)
    den = np.sqrt(den, out=out.s0)
    num = np.multiply(g, lr, out=out.s1)
    return np.divide(num, den, out=out.s0), CacheState(cache)


def _adagrad_step(g, s, lr, hp, w, out):
    g2 = np.multiply(g, g, out=out.s0)
    cache = np.add(s.cache, g2, out=out.cache)
    den = np.sqrt(cache, out=out.s0)
    den = np.add(den, hp["eps"], out=out.s0)
    num = np.multiply(g, lr, out=out.s1)
    return np.divide(num, den, out=out.s0), CacheState(cache)


def _adam_step(g, s, lr, hp, w, out):
    """``lr m̂ / (sqrt(v̂) + eps)`` in the note's order of operations."""
    b1, b2 = hp["beta1"], hp["beta2"]
    t = s.t + 1
    m = update_moment(s.m, g, b1, out.m, out.s0)
    g2 = np.multiply(g, g, out=out.s0)
    v = update_moment(s.v, g2, b2, out.v, out.s0)
    num = bias_correct(m, b1, t, out.s1)
    num = np.multiply(num, lr, out=out.s1)
    den = bias_correct(v, b2, t, out.s0)
    den = np.sqrt(den, out=out.s0)
    den = np.add(den, hp["eps"], out=out.s0)
    return np.divide(num, den, out=out.s0), AdamState(m, v, t)


def _adamw_step(g, s, lr, hp, w, out):
    # torch.optim.AdamW: w <- w (1 - lr wd), then the Adam step: d = lr wd w + Adam's d
    d, new = _adam_step(g, s, lr, hp, w, out)
    decay = np.multiply(w, lr * hp["weight_decay"], out=out.s1)
    return np.add(decay, d, out=out.s0), new


# ---------------------------------------------------------------------------------------------
register(Rule(
    "rmsprop", "RMSProp (the note's, eps inside the root)",
    ParamSet((
        lr_param(1e-2),
        beta_param("decay_rate", 0.99, "weight of the past in the squared-gradient cache", "ρ"),
        eps_param(1e-8, "added to the cache inside the square root"),
    )),
    _cache_init, _rmsprop_step,
    "s <- ρ s + (1-ρ) g²;  w <- w - lr g / sqrt(s + eps)", main_beta="decay_rate", average="cache",
    average_label="cache (EWA of g²)", scratch=2,
))
register(Rule(
    "adagrad", "AdaGrad (torch form)",
    ParamSet((lr_param(1e-2), eps_param(1e-10, "added to the root of the accumulated squares"))),
    _cache_init, _adagrad_step,
    "s <- s + g²;  w <- w - lr g / (sqrt(s) + eps)", average="cache", average_label="sum of g²", scratch=2,
))
_ADAM_PARAMS = (
    lr_param(1e-3),
    beta_param("beta1", 0.9, "weight of the past in the first moment m", "β1"),
    beta_param("beta2", 0.999, "weight of the past in the second moment v", "β2"),
    eps_param(1e-8, "added to sqrt(v-hat) (outside the root)"),
)
register(Rule(
    "adam", "Adam (the note's)", ParamSet(_ADAM_PARAMS), _adam_init, _adam_step,
    "t+=1; m <- β1 m + (1-β1) g; v <- β2 v + (1-β2) g²; w <- w - lr m̂ / (sqrt(v̂) + eps)",
    main_beta="beta1", average="m", average_label="m (Adam)", scratch=2,
))
register(Rule(
    "adamw", "AdamW (decoupled weight decay, torch form)",
    ParamSet(_ADAM_PARAMS + (
        Param("weight_decay", 1e-2, "decoupled weight decay: w <- w (1 - lr wd) before the Adam step",
              low=0.0, high=1e3, symbol="wd"),
    )),
    _adam_init, _adamw_step,
    "w <- w - lr wd w - lr m̂ / (sqrt(v̂) + eps)   (Adam's m, v)",
    main_beta="beta1", average="m", average_label="m (AdamW)", scratch=2,
))
