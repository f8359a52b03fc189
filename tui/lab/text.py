"""The status line (what runs, with every setting) and the theory line (what the theory says).

Both are built from the registries' Params and ``format_value`` (one source of truth) and
rendered as Rich Text that wraps only between items (items join their words with no-break
spaces), so a narrow terminal wraps the line instead of cutting a word.
"""

from __future__ import annotations

import math
from typing import Iterable

from rich.text import Text

from descent_engine.params import format_value
from descent_engine.problems import get_problem_spec

from ..formatting import params_text
from ..widgets.wrapline import WrapLine
from .model import Lab, Trace, speed_text


def _sci(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e3):
        return f"{x:.{digits - 1}e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return f"{x:.{digits}g}"


def _group(name: str, params: list[str], style: str) -> list[tuple[str, str]]:
    """A name with its first parameter, then one item per further parameter (wrap points)."""
    head = " ".join([name] + params[:1])
    return [(head, style)] + [(p, "") for p in params[1:]]


def settings_items(trace: Trace, with_problem: bool = True, parts=("problem", "rule", "schedule")
                   ) -> list[tuple[str, str]]:
    """(text, style) items for one run: problem, rule with every hp, schedule with its hp."""
    r = trace.run.resolved
    items: list[tuple[str, str]] = []
    if with_problem and "problem" in parts:
        spec = get_problem_spec(r.settings.problem)
        items += _group(spec.name, params_text(spec.params, spec.hparams(r.settings.problem_params)), "bold")
    if "rule" in parts:
        items += _group(r.rule.name, params_text(r.rule.params, r.hp), "bold $accent")
    if "schedule" in parts:
        sched = params_text(r.schedule.params, r.schedule_hp)
        if r.settings.steps_per_epoch != 1:
            sched.append(f"{r.settings.steps_per_epoch} steps/epoch")
        items += _group(r.schedule.name, sched, "")
    return items


def state_item(lab: Lab, trace: Trace | None = None) -> tuple[str, str]:
    traces = [trace] if trace is not None else lab.traces
    diverged = [t for t in traces if t.diverged_at is not None]
    if trace is not None or not lab.compare:
        t = traces[0]
        if t.diverged_at is not None:
            return (f"✖ diverged at step {t.diverged_at}", "bold red")
    elif diverged and len(diverged) == len(traces):
        return ("✖ all diverged", "bold red")
    if trace is None and lab.done:
        return (f"✔ {lab.stop_reason()} (space: run on at {speed_text(lab.speed)})", "bold green")
    if lab.running:
        return (f"▶ running {speed_text(lab.speed)}", "bold green")
    return (f"⏸ paused ({speed_text(lab.speed)})", "bold yellow")


def compare_settings_items(lab: Lab) -> list[tuple[str, str]]:
    """The short form for compare mode: the problem and schedule once (defaults left out), and
    per rule only its name, lr and main β, so four rules fit two lines at 80 columns."""
    first = lab.traces[0].run.resolved
    spec = get_problem_spec(first.settings.problem)
    values = spec.hparams(first.settings.problem_params)
    changed = [p for p in spec.params if values[p.name] != p.default]
    items = _group(spec.name, [f"{p.label} {format_value(p, values[p.name])}" for p in changed], "bold")
    lrs = {format_value(t.run.rule.params.get("lr"), t.run.hp["lr"]) for t in lab.traces}
    shared_lr = len(lrs) == 1 and len(lab.traces) > 1
    if shared_lr:  # the usual case (the note compares at one lr): said once
        items.append((f"lr {lrs.pop()} (all)", "bold"))
    for t in lab.traces:
        r = t.run.resolved
        shown = ([] if shared_lr else ["lr"]) + ([r.rule.main_beta] if r.rule.main_beta else [])
        parts = [f"{p.label} {format_value(p, r.hp[p.name])}" for p in r.rule.params if p.name in shown]
        items.append((" ".join(["│ " + r.rule.name] + parts), "bold $accent"))
        if t.diverged_at is not None:
            items.append((f"✖ diverged at {t.diverged_at}", "bold red"))
    if first.schedule.name != "constant" or first.settings.steps_per_epoch != 1:
        items += [("│", "")] + settings_items(lab.traces[0], parts=("schedule",))
    return items


def status_items(lab: Lab) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    if lab.compare:
        # step and state first: they are what changes, and never the part cut off
        items.append(("compare", "reverse bold"))
        items.append((f"step {lab.k}", "bold"))
        items.append(state_item(lab))
        items += compare_settings_items(lab)
    else:
        items.extend(settings_items(lab.traces[0]))
        items.append((f"step {lab.k}", "bold"))
        items.append(state_item(lab))
    return _join(items)


def _join(items: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(text, style.replace("$accent", "cyan")) for text, style in items]


def theory_items(trace: Trace, prefix: str = "") -> list[tuple[str, str]]:
    """Rates and bounds for one run; the spectrum is shared and added by :func:`theory_items_all`.

    With a ``prefix`` (compare mode) the items are the short form, one per rule.
    """
    run = trace.run
    rep = run.theory()
    lr = run.lr
    rule = run.rule
    lr_text = _lr_formatter(rule)
    rate = run.measured_rate()
    measured = _rate(rate)
    unstable = rep.unstable
    if prefix:
        # one short item per rule (compare mode): the note item explains "predicted/measured"
        bound = f"lr<{lr_text(rep.stable_lr)}" if rep.stable_lr is not None else "adaptive"
        pred = f"{rep.predicted_rate:.3g}" if rep.predicted_rate is not None else "-"
        meas = "-" if rate is None else f"{rate:.3g}"
        text = f"{prefix}: {bound} rate {pred}/{meas}"
        return [(text + (" ⚠ unstable" if unstable else ""), "bold red" if unstable else "")]
    items: list[tuple[str, str]] = []
    if rep.stable_lr is not None:
        items.append((f"stable lr < {lr_text(rep.stable_lr)}", ""))
    if rep.optimum is not None:
        opt = f"lr* {lr_text(rep.optimum.lr)}"
        if rep.optimum.beta is not None:
            sym = rule.params.get(rep.optimum.beta_name).label if rep.optimum.beta_name in rule.params else "β"
            opt += f" {sym}* {rep.optimum.beta:.3g}"
        items.append((opt, ""))
    if rep.predicted_rate is not None:
        items.append((f"rate predicted {rep.predicted_rate:.4g} measured {measured}", ""))
    else:
        items.append((f"rate not predicted ({rule.name} is adaptive), measured {measured}", ""))
    if unstable:
        items.append((f"⚠ lr {lr_text(lr)} past the stability bound {lr_text(rep.stable_lr)}", "bold reverse red"))
    return items


def _lr_formatter(rule):
    """Learning rates printed one way everywhere: by the rule's lr Param (as the status line)."""
    p = rule.params.get("lr") if "lr" in rule.params else None

    def fmt(x: float | None) -> str:
        if x is None or not math.isfinite(x):
            return "-"
        return format_value(p, x) if p is not None else _sci(x)
    return fmt


def _rate(r: float | None) -> str:
    return "-" if r is None else f"{r:.4g}"


def theory_items_all(lab: Lab) -> list[tuple[str, str]]:
    first = lab.traces[0].run
    rep = first.theory()
    items: list[tuple[str, str]] = []
    if rep.local:
        items.append(("local at w*:", "italic"))
    if first.problem.stochastic:
        # the bounds and rates below are those of the full-batch gradient; a mini-batch adds noise
        items.append(("full-batch theory (this run uses mini-batches):", "italic"))
    items.append((f"λmax {_sci(rep.lam_max)} λmin {_sci(rep.lam_min)} κ {_sci(rep.kappa)}", ""))
    if lab.compare:
        items.append(("(rate predicted/measured per step, of |w-w*|)", "dim"))
        for t in lab.traces:
            items.extend(theory_items(t, prefix=t.label))
        return _join(items)
    rule_items = theory_items(lab.traces[0])
    warnings = [it for it in rule_items if it[0].startswith("⚠")]
    items.extend(it for it in rule_items if it not in warnings)
    # the note belongs to the rates: before the warning, never pushed past it
    items.append(("(rates per step, of |w - w*|)", "dim"))
    items.extend(warnings)
    return _join(items)


class StatusLine(WrapLine):
    """Problem, rule, every hyper-parameter, schedule, step and state."""

    KEEP_HEIGHT = True

    def show(self, lab: Lab) -> None:
        self.set_items(status_items(lab))


class TheoryLine(WrapLine):
    """Spectrum, stability bound, optimal settings, predicted and measured rates, warnings."""

    KEEP_HEIGHT = True

    def show(self, lab: Lab) -> None:
        self.set_items(theory_items_all(lab))


def status_text(lab: Lab) -> Text:
    return Text("  ".join(t for t, _ in status_items(lab)))


def theory_text(lab: Lab) -> Text:
    return Text("  ".join(t for t, _ in theory_items_all(lab)))
