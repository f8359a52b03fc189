"""The network lab's plans and settings arithmetic, without any drawing: what each view trains.

* the single run's default (:func:`default_config`: the note's net on digits at the note's lr);
* :func:`plans_for`: the runs of a view (single, compare, effective) as :class:`Plan`; the compare
  and study views are the engine's :func:`~.experiments.compare_plan` and
  :func:`~.experiments.effective_plan` (the CLI's runs) as the lab's keys left them
  (:func:`study_config`: lr scaled, main beta nudged, the single view's schedule fitted to the run);
* :func:`scaled_rule`, :func:`tuned`, :func:`with_schedule`, :func:`with_dataset`: one change of
  setting each, as pure functions from a TrainConfig to a new one (built on :mod:`descent_engine.adjust`);
* :func:`cycle`: the next or previous name of a registry (the ``u``/``d``/``g`` keys).

Pure NumPy and dataclasses: the screen in ``tui/netlab`` and the tests call these.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from .. import adjust
from ..params import ParamError
from ..rules import get_rule
from .config import NETWORK_PARAMS, TrainConfig
from .data import Dataset
from .dataset_defaults import dataset_defaults
from .experiments import NOTE_LRS, NOTE_STEPS, compare_plan, effective_plan

#: the single run's length: the note's net on digits is near 100% training accuracy after 20
#: epochs, which take about a second; 60 keep the live charts moving long enough to watch
DEFAULT_EPOCHS = 60
COMPARE_RULES = tuple(NOTE_LRS)  # sgd, sgd_momentum, adam, rmsprop
#: the registry's schedule defaults are written for runs of about this many epochs (cosine period
#: 100, staircase at 50 and 100, warm-up 10): the lab fits them to its own run length
SCHEDULE_HORIZON = 100
VIEWS = ("single", "compare", "effective")


def default_config() -> TrainConfig:
    """The note's net on digits (TrainConfig's defaults: hidden [100]*5, weight_scale 5e-2, batch
    100, sgd_momentum) at the note's lr, for :data:`DEFAULT_EPOCHS` epochs."""
    return TrainConfig(dataset="digits", rule="sgd_momentum", rule_params={"lr": NOTE_LRS["sgd_momentum"]},
                       epochs=DEFAULT_EPOCHS)


def cycle(names: Sequence[str], current: str, direction: int) -> str:
    """The name ``direction`` places after ``current`` in ``names`` (a registry's ``names()``), wrapping."""
    names = list(names)
    i = names.index(current) if current in names else -1
    return names[(i + direction) % len(names)]


def note_lr(rule: str) -> float:
    """The note's learning rate for its four rules, the registry's default for the others."""
    name = get_rule(rule).name
    return NOTE_LRS.get(name, get_rule(name).params.get("lr").default)


def fit_schedule(schedule: str, epochs: int) -> dict[str, Any]:
    """Registry defaults for ``schedule`` stretched from :data:`SCHEDULE_HORIZON` epochs to ``epochs``."""
    return adjust.fit_schedule(schedule, epochs, SCHEDULE_HORIZON)


def with_schedule(config: TrainConfig, schedule: str) -> TrainConfig:
    return replace(config, schedule=schedule, schedule_params=fit_schedule(schedule, config.epochs))


def with_dataset(config: TrainConfig, name: str) -> TrainConfig:
    """``config`` on dataset ``name`` with that dataset's defaults (:func:`dataset_defaults`) applied:
    a field override replaces the field, a rule override starts the rule from its note lr."""
    overrides = dataset_defaults(name)
    c = replace(config, dataset=name, num_train=None)
    rule_params = overrides.pop("rule_params", None)
    if "rule" in overrides and overrides["rule"] != c.rule:
        c = scaled_rule(c, overrides.pop("rule"))
    overrides.pop("rule", None)
    if overrides:
        c = replace(c, **overrides)
    if rule_params:
        c = replace(c, rule_params={**c.rule_params, **rule_params})
    if c.schedule != "constant":
        c = with_schedule(c, c.schedule)
    return c


def set_knob(config: TrainConfig, name: str, value: Any) -> TrainConfig:
    """One network knob (a :data:`~.config.NETWORK_PARAMS` name, or ``lr``) set from a typed value
    or string, validated by its Param; ParamError with one line otherwise."""
    if name == "lr":
        p = get_rule(config.rule).params.get("lr")
        return adjust.with_rule_param(config, "lr", p.parse(value) if isinstance(value, str) else p.validate(value))
    if name not in NETWORK_PARAMS:
        raise ParamError(f"the network lab has no setting {name!r} (it has: lr, {', '.join(NETWORK_PARAMS.names())})")
    p = NETWORK_PARAMS.get(name)
    parsed = p.parse(value) if isinstance(value, str) else p.validate(value)
    if name == "hidden":
        parsed = tuple(parsed)
    c = replace(config, **{name: parsed})
    if name == "epochs" and c.schedule != "constant":
        c = with_schedule(c, c.schedule)
    c.validate()
    return c


def run_epochs(config: TrainConfig, num_train: int) -> int:
    """The epochs a run of ``config`` on ``num_train`` examples spans (the last may be partial)."""
    per_epoch = max(num_train // config.batch_size, 1)
    return -(-config.num_iterations // per_epoch) if config.num_iterations else config.epochs


@dataclass(frozen=True)
class Plan:
    """One run of a view: its label, the group it is averaged in (effective batch), its config and,
    for the compare and study views, the data the experiment's plan trains it on. ``color`` is a
    name the screen maps to its palette (the rule's, by default)."""

    label: str
    group: str
    config: TrainConfig
    color: str = "auto"
    data: Dataset | None = field(default=None, compare=False)


def scaled_rule(config: TrainConfig, rule: str, lr_scale: float = 1.0, beta_steps: int = 0) -> TrainConfig:
    """``config`` with ``rule`` at the note's lr times ``lr_scale`` and its main beta ``beta_steps`` rungs along the beta ladder."""
    return tuned(replace(config, rule=rule, rule_params={}), note_lr(rule) * lr_scale, beta_steps)


def tuned(config: TrainConfig, lr: float, beta_steps: int = 0) -> TrainConfig:
    """``config`` at ``lr`` with its main beta ``beta_steps`` rungs along the beta ladder."""
    c = adjust.set_lr(config, lr)
    if beta_steps and adjust.main_beta(c) is not None:
        c = adjust.step_beta(c, 1 if beta_steps > 0 else -1, abs(beta_steps))
    return c


def study_config(planned: TrainConfig, base: TrainConfig, num_train: int, lr_scale: float, beta_steps: int) -> TrainConfig:
    """A planned experiment run as the keys left it: lr times ``lr_scale``, main beta nudged
    ``beta_steps`` times, the single view's schedule fitted to the run. Unchanged by default."""
    c = planned
    if lr_scale != 1.0 or beta_steps:
        c = tuned(c, adjust.current_lr(c) * lr_scale, beta_steps)
    if base.schedule != "constant":
        c = replace(c, schedule=base.schedule, schedule_params=fit_schedule(base.schedule, run_epochs(c, num_train)))
    return c


def plans_for(view: str, base: TrainConfig, data: Dataset, *, steps: dict[str, int] | None = None,
              lr_scale: float = 1.0, beta_steps: int = 0, sgd_batch: int | None = None) -> list[Plan]:
    """The runs a view trains. ``base`` is the single view's config and ``data`` its whole dataset.

    The compare and study views are the engine's :func:`compare_plan` and :func:`effective_plan`
    (the CLI's runs) with the net, batch (sgd_momentum's, in the study) and seed of ``base``, the
    step counts ``steps`` (default the note's) and, for the study, sgd at ``sgd_batch`` (None: the
    note's 600); then :func:`study_config` applies the keys' lr scale, beta nudges and schedule.
    A plan's ``color`` is its rule's name (the screen's palette maps it).
    """
    if view == "single":
        return [Plan(get_rule(base.rule).name, "", base)]
    steps = {**NOTE_STEPS, **(steps or {})}
    net = dict(hidden=base.hidden, weight_scale=base.weight_scale, dtype=base.dtype)
    if view == "compare":
        planned = compare_plan(data, rules=COMPARE_RULES, batch_size=base.batch_size, seed=base.seed,
                               steps=steps["compare-rules"], **net)
        return [Plan(p.rule, p.rule, study_config(p.config, base, p.data.X_train.shape[0], lr_scale, beta_steps),
                     p.rule, p.data) for p in planned]
    if view == "effective":
        planned = effective_plan(data, sgd_batch=sgd_batch, momentum_batch=base.batch_size,
                                 steps=steps["effective-batch"], **net)
        return [Plan(f"{p.rule} seed {p.seed}", f"{p.rule} batch {p.batch_size}",
                     study_config(p.config, base, p.data.X_train.shape[0], lr_scale, beta_steps),
                     p.rule, p.data) for p in planned]
    raise ValueError(view)
