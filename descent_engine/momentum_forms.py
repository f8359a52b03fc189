"""One momentum setting written in its three forms, side by side (the lab's momentum-forms panel).

The forms, for gradients ``g_k``:

* **EWA** (this package's ``momentum``): ``v = beta v + (1 - beta) g;  w -= lr v``.
* **heavy ball** (Polyak; the note's ``sgd_momentum``): ``v = mu v + g;  w -= alpha v``, i.e.
  ``w' = w - alpha g + mu (w - w_prev)``.
* **torch** (``torch.optim.SGD``): ``buf = mu buf + (1 - dampening) g`` (on the first step
  ``buf = g``, dampening is not applied);  ``w -= lr (g + mu buf)`` with ``nesterov``, else
  ``w -= lr buf``.

One trajectory, three spellings. With ``v`` started at 0, ``u = lr v`` of the EWA form is
``alpha v`` of the heavy ball when ``mu = beta`` and ``alpha = lr (1 - beta)``; the torch form is
the heavy ball with ``lr = alpha``, ``dampening = 0``. The EWA form with ``v`` started at the
first gradient (``init = first``, the note's GDM) is the torch form with ``lr`` the same,
``dampening = beta``; the heavy ball has no setting for that start.

Per form, on a quadratic with largest eigenvalue ``L``:

* the **effective learning rate**: the step per unit gradient once the velocity has settled
  under a constant gradient: ``lr`` (EWA), ``alpha / (1 - mu)`` (heavy ball),
  ``lr (1 - dampening) / (1 - mu)`` (torch), ``lr / (1 - mu)`` (torch, Nesterov). Equal across
  the forms of one trajectory.
* the **stability bound** of the form's own step size (the rule's iteration map, see
  :mod:`descent_engine.theory`): heavy ball ``alpha L < 2 (1 + mu)``, so the EWA form
  ``lr < 2 (1 + beta) / ((1 - beta) L)`` and the damped torch form
  ``lr < 2 (1 + mu) / ((1 - dampening) L)``; Nesterov ``lr L < 2 (1 + mu) / (1 + 2 mu)``.
* the **steady-state noise factor**: the variance of the update ``w_{k+1} - w_k`` under iid
  gradient noise (variance ``s^2``; in a flat direction, so no feedback through ``w``) divided by
  that of plain SGD at the same effective learning rate (``lr_eff^2 s^2``). The EWA of iid noise
  ``v = sum_j beta^j (1 - beta) xi_{k-j}`` has variance ``(1 - beta)^2 / (1 - beta^2) s^2``, so the
  factor is ``(1 - beta) / (1 + beta)``; it is the same number in every form of one trajectory.
  Nesterov's update ``(1 + mu) xi_k + sum_{j>=1} mu^{j+1} xi_{k-j}`` gives
  ``(1 - mu)^2 ((1 + mu)^2 + mu^4 / (1 - mu^2))``.

Pure NumPy; the adaptive rules have no momentum forms (None).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

FORMS = ("ewa", "heavy_ball", "torch")


@dataclass(frozen=True)
class Form:
    """One spelling: its name, update text, hyper-parameters and the numbers in its own terms."""

    name: str
    update: str
    hparams: dict[str, Any]
    effective_lr: float
    #: the largest stable value of this form's step size for the given L (None: no L given)
    stable_below: float | None
    #: True when this form with these hyper-parameters makes the rule's trajectory exactly
    exact: bool = True
    note: str = ""


@dataclass(frozen=True)
class MomentumForms:
    rule: str
    forms: tuple[Form, ...]
    effective_lr: float
    noise_factor: float
    lam_max: float | None

    def form(self, name: str) -> Form:
        return next(f for f in self.forms if f.name == name)


def ewa_noise_factor(beta: float) -> float:
    """Variance of the EWA (and heavy-ball / torch) update under iid noise / plain SGD's, same lr_eff."""
    return (1.0 - beta) / (1.0 + beta)


def nesterov_noise_factor(mu: float) -> float:
    return (1.0 - mu) ** 2 * ((1.0 + mu) ** 2 + mu ** 4 / (1.0 - mu * mu))


def _bound(x: float, lam_max: float | None) -> float | None:
    return None if lam_max is None or lam_max <= 0 else x / lam_max


def _ewa(lr: float, beta: float, init: str, lam_max: float | None, bias_correction: bool = False) -> Form:
    update = "v = β v + (1-β) g;  w -= lr v" + ("/(1-β^t)" if bias_correction else "")
    return Form("ewa", update, {"lr": lr, "beta": beta, "init": init, "bias_correction": bias_correction}, lr,
                _bound(2.0 * (1.0 + beta) / (1.0 - beta), lam_max))


def _heavy_ball(alpha: float, mu: float, lam_max: float | None, exact: bool = True, note: str = "") -> Form:
    return Form("heavy_ball", "v = μ v + g;  w -= α v", {"alpha": alpha, "mu": mu}, alpha / (1.0 - mu),
                _bound(2.0 * (1.0 + mu), lam_max), exact, note)


def _torch(lr: float, mu: float, dampening: float, lam_max: float | None, exact: bool = True, note: str = "") -> Form:
    return Form("torch", "buf = μ buf + (1-d) g;  w -= lr buf",
                {"lr": lr, "momentum": mu, "dampening": dampening, "nesterov": False},
                lr * (1.0 - dampening) / (1.0 - mu), _bound(2.0 * (1.0 + mu) / (1.0 - dampening), lam_max), exact, note)


def momentum_forms(rule: str, hp: Mapping[str, Any], lam_max: float | None = None) -> MomentumForms | None:
    """The three forms of ``rule`` at ``hp`` (None for a rule without momentum forms: the adaptive ones).

    ``lam_max``: the largest Hessian eigenvalue, for the stability bounds (None: no bounds).
    """
    lr = float(hp["lr"])
    if rule in ("gd", "sgd_momentum"):
        mu = float(hp.get("momentum", 0.0)) if rule == "sgd_momentum" else 0.0
        forms = (_ewa(lr / (1.0 - mu), mu, "zero", lam_max), _heavy_ball(lr, mu, lam_max),
                 _torch(lr, mu, 0.0, lam_max))
        return MomentumForms(rule, forms, lr / (1.0 - mu), ewa_noise_factor(mu), lam_max)
    if rule == "momentum":
        beta = float(hp["beta"])
        first = hp.get("init", "zero") == "first"
        corrected = bool(hp.get("bias_correction", False))
        note = "bias correction divides v by 1-β^t: the same only once β^t is negligible" if corrected else ""
        if first:
            torch = _torch(lr, beta, beta, lam_max, not corrected, note)
            hb = _heavy_ball(lr * (1.0 - beta), beta, lam_max, False,
                             note or "v starts at the first gradient here; the heavy ball's velocity starts at 0")
        else:
            torch = _torch(lr * (1.0 - beta), beta, 0.0, lam_max, not corrected, note)
            hb = _heavy_ball(lr * (1.0 - beta), beta, lam_max, not corrected, note)
        forms = (_ewa(lr, beta, "first" if first else "zero", lam_max, corrected), hb, torch)
        return MomentumForms(rule, forms, lr, ewa_noise_factor(beta), lam_max)
    if rule == "nesterov":
        mu = float(hp["momentum"])
        lr_eff = lr / (1.0 - mu)
        x = 2.0 * (1.0 + mu) / (1.0 + 2.0 * mu)
        forms = (
            Form("ewa", "v = β v + (1-β) g;  w -= lr ((1-β) g + β v)", {"lr": lr_eff, "beta": mu, "init": "zero"},
                 lr_eff, _bound(x / (1.0 - mu), lam_max)),
            Form("heavy_ball", "(none: Nesterov's gradient is taken at a look-ahead point)", {}, lr_eff, None,
                 False, "the heavy ball has no Nesterov setting with the same iterates"),
            Form("torch", "buf = μ buf + g;  w -= lr (g + μ buf)",
                 {"lr": lr, "momentum": mu, "dampening": 0.0, "nesterov": True}, lr_eff, _bound(x, lam_max)),
        )
        return MomentumForms(rule, forms, lr_eff, nesterov_noise_factor(mu), lam_max)
    return None


# -- the forms as code, for tests and for the panel's "same trajectory" claim ----------------------
def trajectory(form: Form, grad, w0: np.ndarray, steps: int) -> np.ndarray:
    """``steps + 1`` iterates of ``form`` from ``w0`` under ``grad(w)`` (rows), written from the formulas above."""
    w = np.array(w0, dtype=float)
    out = [w.copy()]
    hp = form.hparams
    v = np.zeros_like(w)
    for k in range(steps):
        g = grad(w)
        if form.name == "ewa":
            beta = hp["beta"]
            v = g.copy() if (k == 0 and hp.get("init") == "first") else beta * v + (1 - beta) * g
            if form.update.endswith("β v)"):  # Nesterov in the EWA form
                step = hp["lr"] * ((1 - beta) * g + beta * v)
            else:
                step = hp["lr"] * (v / (1 - beta ** (k + 1)) if hp.get("bias_correction") else v)
        elif form.name == "heavy_ball":
            v = hp["mu"] * v + g
            step = hp["alpha"] * v
        else:
            v = g.copy() if k == 0 else hp["momentum"] * v + (1 - hp["dampening"]) * g
            step = hp["lr"] * (g + hp["momentum"] * v) if hp["nesterov"] else hp["lr"] * v
        w = w - step
        out.append(w.copy())
    return np.array(out)
