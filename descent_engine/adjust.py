"""Settings arithmetic: every change of settings the CLI, the keys and the palette make, as pure
functions from :class:`~descent_engine.run.Settings` to new Settings.

* :func:`switch_rule` gives the new rule its suggested lr for the problem (below its stability
  bound), unless the lr was chosen (a flag, a key, the palette, a preset), the two rules are of
  one family (gradient-scaled or adaptive: an adaptive rule's lr is a per-coordinate step, not a
  multiple of the gradient) and the chosen lr is stable for the new rule.
* :func:`switch_problem` re-suggests the lr (a rate chosen for another problem means nothing
  here); :func:`set_param` keeps a chosen lr through a change of a problem's knob while it stays
  stable, as a rule switch does.
* :func:`switch_schedule` keeps the lr and starts the schedule from its registry defaults.
* :func:`scale_lr` multiplies the lr (clamped into its range); :func:`step_beta` moves the rule's
  main beta along :data:`BETA_LADDER`, which holds the note's 0.4 (its "beta = 0.6") and the
  lecture's 0.5, 0.9, 0.98.
* :func:`compare_set` builds compare mode: by default each rule at its own suggested lr; with
  ``same_lr`` every rule at the base's lr (the note's "GD vs momentum at the same lr").
* :func:`apply` applies any of these to one run of a compare set or to all.

Nothing here draws or prints: a change that cannot be made raises ParamError with one line.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable, Sequence, TypeVar

from . import theory
from .params import ParamError
from .problems import get_problem_spec
from .rules import Rule, get_rule
from .run import Settings, suggested_lr
from .schedules import get_schedule

#: where the beta keys stop: 0, 0.1, ..., 0.9, then the values practitioners use near 1
BETA_LADDER: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)

KINDS = ("rule", "schedule", "problem")

#: a 2-D lab Settings or a network TrainConfig: both have rule, rule_params, schedule, schedule_params
C = TypeVar("C")


# -- the learning rate ---------------------------------------------------------------------------
def with_suggested_lr(settings: Settings) -> Settings:
    """``settings`` with the lr the problem suggests for its rule (kept below the stability bound)."""
    base = replace(settings, rule_params={k: v for k, v in settings.rule_params.items() if k != "lr"})
    r = base.resolved()
    lr = suggested_lr(r.problem, r.rule, r.hp)
    return replace(base, rule_params={**base.rule_params, "lr": lr}, lr_suggested=True)


def stability_bound(settings: Settings) -> float | None:
    """The largest stable lr of the settings' rule on its problem (None: no bound is known)."""
    r = settings.resolved()
    if not r.rule.linear:
        return None
    return theory.stable_lr(r.rule, r.hp, theory.spectrum(r.problem.hessian()).lam_max)


def _family(rule: Rule) -> str:
    return "gradient-scaled" if rule.linear else "adaptive"


def _keep_or_suggest(new: Settings, old: Settings) -> Settings:
    """``new`` with ``old``'s chosen lr if it carries over (same family, stable), else suggested."""
    if old.lr_explicit and _family(get_rule(old.rule)) == _family(get_rule(new.rule)):
        candidate = replace(new, rule_params={**new.rule_params, "lr": old.rule_params["lr"]}, lr_suggested=False)
        bound = stability_bound(candidate)
        if bound is None or candidate.rule_params["lr"] < bound:
            return candidate
    return with_suggested_lr(new)


def with_rule_param(config: C, name: str, value: Any) -> C:
    """``config`` (a Settings or a network TrainConfig) with one rule knob set; an lr set so is chosen."""
    changes: dict[str, Any] = {"rule_params": {**config.rule_params, name: value}}
    if name == "lr" and hasattr(config, "lr_suggested"):
        changes["lr_suggested"] = False
    return replace(config, **changes)


def current_lr(config: C) -> float:
    """The lr before the schedule (the rule's default if none was given)."""
    return float(get_rule(config.rule).hparams(config.rule_params)["lr"])


def set_lr(config: C, lr: float) -> C:
    """The lr set to ``lr``, clamped into its range (a chosen lr)."""
    p = get_rule(config.rule).params.get("lr")
    return with_rule_param(config, "lr", p.clamp(lr))


def scale_lr(config: C, factor: float) -> C:
    """The lr times ``factor``, clamped into the lr's range (a chosen lr from then on).

    Works on anything with ``rule`` and ``rule_params`` (the 2-D lab's Settings, the network's TrainConfig).
    """
    return set_lr(config, current_lr(config) * factor)


# -- beta -------------------------------------------------------------------------------------------
def ladder_step(value: float, direction: int, ladder: Sequence[float] = BETA_LADDER) -> float:
    """The next ladder value above (``direction`` > 0) or below ``value``; ``value`` at an end.

    A value between rungs moves to the neighbouring rung (0.93 -> 0.95 up, 0.9 down).
    """
    if direction > 0:
        above = [b for b in ladder if b > value + 1e-12]
        return above[0] if above else value
    below = [b for b in ladder if b < value - 1e-12]
    return below[-1] if below else value


def main_beta(settings: C) -> tuple[str, float] | None:
    """The name and value of the rule's main beta (None for rules without one: gd, adagrad)."""
    rule = get_rule(settings.rule)
    if rule.main_beta is None:
        return None
    return rule.main_beta, float(rule.hparams(settings.rule_params)[rule.main_beta])


def step_beta(settings: C, direction: int, steps: int = 1) -> C:
    """The rule's main beta ``steps`` rungs up or down :data:`BETA_LADDER` (it stops at an end).

    ParamError if the rule has no beta. The lr stays as it is (a chosen lr stays chosen).
    Works on a Settings or a network TrainConfig.
    """
    mb = main_beta(settings)
    if mb is None:
        raise ParamError(f"{get_rule(settings.rule).name} has no beta")
    name, value = mb
    new = value
    for _ in range(steps):
        new = ladder_step(new, direction)
    if new == value:
        return settings
    return replace(settings, rule_params={**settings.rule_params, name: new})


# -- switching rule, problem, schedule --------------------------------------------------------------
def switch_rule(settings: Settings, rule: str) -> Settings:
    """``settings`` under ``rule`` with the registry defaults of its other knobs; lr as the module says."""
    name = get_rule(rule).name
    if name == get_rule(settings.rule).name:
        return settings
    new = replace(settings, rule=name, rule_params={}, lr_suggested=False)
    return _keep_or_suggest(new, settings)


def switch_problem(settings: Settings, problem: str) -> Settings:
    """``settings`` on ``problem`` (its registry defaults and its own start) at the lr suggested there."""
    name = get_problem_spec(problem).name
    return with_suggested_lr(replace(settings, problem=name, problem_params={}, start=None))


def set_start(settings: Settings, start) -> Settings:
    """``settings`` starting from ``start`` (one finite number per dimension; None: the problem's
    own start); ParamError for a wrong dimension or a non-finite value."""
    new = replace(settings, start=None if start is None else tuple(float(v) for v in start))
    new.resolved()
    return new


def switch_schedule(settings: Settings, schedule: str, params: dict[str, Any] | None = None) -> Settings:
    """``settings`` under ``schedule`` (its registry defaults, or ``params``); the lr is kept."""
    sched = get_schedule(schedule)
    new = replace(settings, schedule=sched.name, schedule_params=dict(params or {}))
    new.resolved()
    return new


def fit_schedule(schedule: str, epochs: int, horizon: int) -> dict[str, Any]:
    """The registry defaults of ``schedule`` (written for ``horizon`` epochs) stretched to ``epochs``.

    By each knob's ``unit``: epoch counts scale by ``epochs / horizon`` (at least 1), per-epoch
    rates by its inverse, per-epoch factors to the same total decay, so the schedule has the same
    shape over the run as over the horizon. If the registry rejects the result: its defaults ({}).
    """
    sched = get_schedule(schedule)
    s = epochs / horizon
    out: dict[str, Any] = {}
    for p in sched.params:
        d = p.default
        if p.unit == "epochs":
            out[p.name] = (tuple(max(1, round(m * s)) for m in d) if p.kind == "ints" else max(1, round(d * s)))
        elif p.unit == "rate":
            out[p.name] = d / s
        elif p.unit == "factor":
            out[p.name] = d ** (1 / s)
    try:
        sched.hparams(out)
    except ParamError:
        return {}
    return out


def owner_params(settings: Settings, kind: str):
    """The ParamSet of the settings' rule, schedule or problem."""
    if kind == "rule":
        return get_rule(settings.rule).params
    if kind == "schedule":
        return get_schedule(settings.schedule).params
    if kind == "problem":
        return get_problem_spec(settings.problem).params
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")


def owner_name(settings: Settings, kind: str) -> str:
    return {"rule": settings.rule, "schedule": settings.schedule, "problem": settings.problem}[kind]


def set_param(settings: Settings, kind: str, name: str, value: Any) -> Settings:
    """One knob set to ``value`` (a typed string is parsed by its Param); ParamError if it has no such knob.

    A problem knob keeps a chosen lr while it stays stable and re-suggests a suggested one.
    """
    params = owner_params(settings, kind)
    if name not in params:
        flags = ", ".join(params.names()) or "no settings"
        raise ParamError(f"{kind} {owner_name(settings, kind)} has no setting {name!r} (it has: {flags})")
    p = params.get(name)
    parsed = p.parse(value) if isinstance(value, str) else p.validate(value)
    if kind == "rule":
        new = with_rule_param(settings, name, parsed)
    elif kind == "schedule":
        new = replace(settings, schedule_params={**settings.schedule_params, name: parsed})
    else:
        moved = replace(settings, problem_params={**settings.problem_params, name: parsed})
        new = _keep_or_suggest(moved, settings) if "lr" in settings.rule_params else moved
    new.resolved()
    return new


# -- compare sets -------------------------------------------------------------------------------------
#: at most this many rules side by side in compare mode
MAX_COMPARE = 4


def compare_set(base: Settings, rules: Sequence[str], *, same_lr: bool = False, limit: int | None = None) -> list[Settings]:
    """One Settings per rule (duplicates dropped), the base rule keeping the base's own settings.

    By default every other rule gets its own suggested lr for the problem (adaptive rules the
    problem's adaptive rate); with ``same_lr`` every rule runs at the base's lr, the note's
    "GD vs momentum at the same lr 1e-4".
    """
    names: list[str] = []
    for r in rules:
        name = get_rule(r).name
        if name not in names:
            names.append(name)
    if limit is not None:
        names = names[:limit]
    base_rule = get_rule(base.rule).name
    lr = base.resolved().hp["lr"]
    out = []
    for name in names:
        if name == base_rule:
            out.append(base)
            continue
        fresh = replace(base, rule=name, rule_params={}, lr_suggested=False)
        out.append(fresh.with_rule_param("lr", lr) if same_lr else with_suggested_lr(fresh))
    for s in out:
        s.resolved()
    return out


def apply(settings: Sequence[Settings], change: Callable[[Settings], Settings], index: int | None = None) -> list[Settings]:
    """``change`` applied to run ``index`` of a compare set, or to every run (``index`` None).

    With every run, a run whose rule lacks what the change needs (a beta, say) is left as it is;
    ParamError only if no run could take the change.
    """
    out = list(settings)
    targets = range(len(out)) if index is None else [index]
    errors: list[ParamError] = []
    for i in targets:
        try:
            out[i] = change(out[i])
        except ParamError as exc:
            if index is not None:
                raise
            errors.append(exc)
    if errors and len(errors) == len(out):
        raise errors[0]
    return out
