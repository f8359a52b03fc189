"""The network lab: the note's fully-connected net trained live (``t`` in the app).

Three views over :mod:`descent_engine.network`:

* **single** (the default): one run of the current rule and schedule. Charts: the training loss
  per iteration with its EWA, train and validation accuracy per epoch, the learning rate, and the
  size of each layer's update relative to its weights. A change of setting restarts the run and
  keeps the previous one as a dim ghost.
* **compare** (``c``): sgd, sgd_momentum, adam and rmsprop with the note's learning rates, from
  the same initial weights and minibatch stream, trained in lockstep and overlaid.
* **effective batch** (``f``): the note's study, sgd at batch 600 (``[``/``]`` change it by 100)
  against sgd_momentum at batch 100 for the same number of steps, seeds 100/200/300; each
  setting's mean with its min-max band and, when done, the relative error of the final training
  accuracy against the note's 0.04.

The compare and study views step the runs :func:`~descent_engine.network.experiments.compare_plan`
and :func:`~descent_engine.network.experiments.effective_plan` plan, the very runs the CLI's
``descent-tui experiment compare-rules|effective-batch`` trains (seeds, batches, the note's step
counts, learning rates); the net, batch and seed come from the single view's settings (by default
the note's). Only the keys change them: ``l``/``b``/``d`` scale every lr, nudge every beta, set a
schedule.

Small terminals (under :data:`COMPACT_HEIGHT` rows): the status and summary keep to
:data:`COMPACT_LINES` lines, dropping their least useful items whole (:func:`fit_items`), and a
chart too low for its legend draws none (:func:`legend_fits`); the summary names each series of
the multi-series views with its chart mark instead.

Threads: a :class:`TrainingJob` owns the solvers of one view and a lock; a Textual thread worker
trains it in slices of about :data:`WORKER_BUDGET` seconds (each solver step holds the lock, so a
redraw never waits longer than one step), and one UI timer redraws at most :data:`FRAME_RATE`
times a second, only when the job's ``version`` moved. Pausing stops both: a paused screen uses
no CPU; ``,``/``.`` cap the pace (:data:`PACES`) so a short run stays watchable.
``NetworkScreen(autorun=False)`` never trains on its own: the ``n`` key trains one slice
of :data:`SLICE_ROUNDS` iterations synchronously, so tests depend on neither threads nor clock.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from descent_engine.ewa import ewa
from descent_engine import adjust
from descent_engine.network.config import TrainConfig
from descent_engine.network.data import Dataset, DatasetError, load_dataset
from descent_engine.network.experiments import (NOTE_LRS, NOTE_SEEDS, NOTE_STEPS, REL_ERROR_TARGET, compare_plan,
                                                effective_plan, rel_error)
from descent_engine.network.solver import Solver
from descent_engine.params import ParamError, format_value
from descent_engine.rules import RULES, get_rule
from descent_engine.schedules import SCHEDULES, get_schedule

from rich.cells import cell_len

from ..widgets.plot import MONO_MARKERS, Chart, Line
from ..widgets.wrapline import KeyHints
from ..formatting import params_text
from ..widgets.wrapline import WrapLine

#: the single run's length: the note's net on digits is near 100% training accuracy after 20
#: epochs, which take about a second; 60 keep the live charts moving long enough to watch
DEFAULT_EPOCHS = 60
#: the EWA of the loss for rules without a beta of their own
DEFAULT_EWA_BETA = 0.9
COMPARE_RULES = tuple(NOTE_LRS)  # sgd, sgd_momentum, adam, rmsprop
#: iterations per solver in one synchronous slice (the ``n`` key)
SLICE_ROUNDS = 5
#: seconds of training per worker slice before it lets go of the GIL
WORKER_BUDGET = 0.02
#: redraws per second at most while training
FRAME_RATE = 10
#: the live paces ``,`` and ``.`` step through: at most this many iterations of each run a second
#: (None: as fast as the machine trains)
PACES: tuple[int | None, ...] = (None, 800, 400, 200, 100, 50, 25)
#: the registry's schedule defaults are written for runs of about this many epochs (cosine period
#: 100, staircase at 50 and 100, warm-up 10): the lab fits them to its own run length
SCHEDULE_HORIZON = 100
#: below this the screen says the terminal is too small (width, height)
MIN_SIZE = (60, 18)
#: below this height the status and summary lines keep to COMPACT_LINES lines (status, summary)
#: and drop their least useful items, so the charts keep rows for data
COMPACT_HEIGHT = 32
COMPACT_LINES = (2, 1)
#: rows of a chart's content (its ``size``, inside the border) outside its plot: the plot's
#: frame (2) and the x tick labels (1)
CHART_CHROME_ROWS = 3
#: plotext draws a marker as this glyph (its legend and ours)
MARKER_GLYPHS = {"braille": "⢕", "dot": "•", "hd": "▞"}

#: one colour per compared rule (and per effective-batch setting), with a darker one for its band
RULE_COLORS = {"sgd": "cyan", "sgd_momentum": "orange", "adam": "green", "rmsprop": "magenta"}
STUDY_COLORS = {"sgd": "cyan", "sgd_momentum": "orange"}
BAND_COLORS = {"cyan": 30, "orange": 130}
BAND_MARKER = "·"
#: compare view: validation accuracy in a mark no series takes without colour, so that every chart
#: gives the rules the same marks (the ones the summary line shows, :func:`series_glyph`)
VAL_MARKER = "·"
#: the same colours as Rich styles for the text lines (plotext's "orange" is not a Rich colour)
TEXT_COLORS = {"cyan": "cyan", "orange": "dark_orange", "green": "green", "magenta": "magenta"}


def text_style(color: str) -> str:
    return f"bold {TEXT_COLORS.get(color, '')}".strip()


def series_glyph(index: int, mono: bool) -> str:
    """The mark of the ``index``-th coloured series of a chart: a colour swatch, or without colour
    the marker :class:`~tui.charts.Chart` gives it (its ``MONO_MARKERS`` in order)."""
    if not mono:
        return "━"
    marker = MONO_MARKERS[index % len(MONO_MARKERS)]
    return MARKER_GLYPHS.get(marker, marker)


def plot_rows(chart_height: int, xlabel: bool = False) -> int:
    """The rows of the plot area of a chart ``chart_height`` rows high inside its border (plotext
    adds an x label row from a height of 14)."""
    return chart_height - CHART_CHROME_ROWS - (1 if xlabel and chart_height >= 14 else 0)


def legend_fits(labels: int, chart_height: int, xlabel: bool = False) -> bool:
    """True when a legend of ``labels`` rows leaves the plot at least as many rows beside it."""
    return 2 * labels <= plot_rows(chart_height, xlabel)


def without_legend(lines: Sequence[Line]) -> list[Line]:
    return [replace(ln, label="") for ln in lines]


def wrapped_lines(items: Sequence[tuple[str, ...]], width: int, separator: str = "  ") -> int:
    """How many lines :class:`~tui.status.WrapLine` wraps ``items`` into at ``width`` cells."""
    lines, used, sep = 1, 0, cell_len(separator)
    for item in items:
        w = cell_len(item[0])
        if used and used + sep + w > width:
            lines, used = lines + 1, 0
        used += (sep if used else 0) + w
    return lines if items else 0


def fit_items(items: Sequence[tuple[str, str, int]], width: int, max_lines: int) -> list[tuple[str, str]]:
    """``(text, style, priority)`` items cut to fit ``max_lines`` lines: the lowest priority goes
    first, the later of equal priority first; whole items only, never a part of one."""
    kept = list(items)
    while len(kept) > 1 and wrapped_lines(kept, width) > max_lines:
        del kept[min(range(len(kept)), key=lambda i: (kept[i][2], -i))]
    return [(text, style) for text, style, _ in kept]

VIEWS = ("single", "compare", "effective")
VIEW_TITLES = {"single": "network lab", "compare": "compare rules", "effective": "effective batch"}


# ---------------------------------------------------------------------------------------------
# settings


def default_config() -> TrainConfig:
    """The note's net on digits (TrainConfig's defaults: hidden [100]*5, weight_scale 5e-2, batch
    100, sgd_momentum) at the note's lr, for :data:`DEFAULT_EPOCHS` epochs."""
    return TrainConfig(dataset="digits", rule="sgd_momentum", rule_params={"lr": NOTE_LRS["sgd_momentum"]},
                       epochs=DEFAULT_EPOCHS)


def note_lr(rule: str) -> float:
    """The note's learning rate for its four rules, the registry's default for the others."""
    name = get_rule(rule).name
    return NOTE_LRS.get(name, get_rule(name).params.get("lr").default)


def fit_schedule(schedule: str, epochs: int) -> dict[str, Any]:
    """Registry defaults for ``schedule`` stretched from :data:`SCHEDULE_HORIZON` epochs to ``epochs``."""
    return adjust.fit_schedule(schedule, epochs, SCHEDULE_HORIZON)


def with_schedule(config: TrainConfig, schedule: str) -> TrainConfig:
    return replace(config, schedule=schedule, schedule_params=fit_schedule(schedule, config.epochs))


def main_beta(config: TrainConfig) -> tuple[Any, float] | None:
    """The rule's main beta Param (for its label and format) and value, or None (gd, adagrad)."""
    mb = adjust.main_beta(config)
    return None if mb is None else (get_rule(config.rule).params.get(mb[0]), mb[1])


def ewa_beta(config: TrainConfig) -> float:
    mb = main_beta(config)
    return mb[1] if mb is not None else DEFAULT_EWA_BETA


def run_epochs(config: TrainConfig, num_train: int) -> int:
    """The epochs a run of ``config`` on ``num_train`` examples spans (the last may be partial)."""
    per_epoch = max(num_train // config.batch_size, 1)
    return -(-config.num_iterations // per_epoch) if config.num_iterations else config.epochs


@dataclass(frozen=True)
class Plan:
    """One run of a view: its label, the group it is averaged in (effective batch), its config and,
    for the compare and study views, the data the experiment's plan trains it on."""

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
    """
    if view == "single":
        return [Plan(get_rule(base.rule).name, "", base)]
    steps = {**NOTE_STEPS, **(steps or {})}
    net = dict(hidden=base.hidden, weight_scale=base.weight_scale, dtype=base.dtype)
    if view == "compare":
        planned = compare_plan(data, rules=COMPARE_RULES, batch_size=base.batch_size, seed=base.seed,
                               steps=steps["compare-rules"], **net)
        return [Plan(p.rule, p.rule, study_config(p.config, base, p.data.X_train.shape[0], lr_scale, beta_steps),
                     RULE_COLORS[p.rule], p.data) for p in planned]
    if view == "effective":
        planned = effective_plan(data, sgd_batch=sgd_batch, momentum_batch=base.batch_size,
                                 steps=steps["effective-batch"], **net)
        return [Plan(f"{p.rule} seed {p.seed}", f"{p.rule} batch {p.batch_size}",
                     study_config(p.config, base, p.data.X_train.shape[0], lr_scale, beta_steps),
                     STUDY_COLORS[p.rule], p.data) for p in planned]
    raise ValueError(view)


# ---------------------------------------------------------------------------------------------
# training (thread-safe) and frozen snapshots for the charts


@dataclass(frozen=True)
class TrackData:
    """A frozen copy of one run's histories (what the charts draw; also what a ghost keeps)."""

    label: str
    group: str
    color: str
    rule: str
    config: TrainConfig
    iterations_per_epoch: int
    num_iterations: int
    num_epochs: int  # the solver's (with a fixed step count the last epoch may be partial)
    t: int
    epoch: int
    done: bool
    diverged_at: int | None
    loss: np.ndarray
    lr: np.ndarray
    planned_lr: np.ndarray
    ratios: np.ndarray  # (iterations, layers)
    acc_iteration: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    best_val_acc: float

    @property
    def acc_epoch(self) -> np.ndarray:
        """Accuracy checks in epochs (a check after iteration t is at (t + 1) / iterations per epoch)."""
        return (self.acc_iteration + 1) / self.iterations_per_epoch

    @property
    def loss_ewa(self) -> np.ndarray:
        return ewa(self.loss, ewa_beta(self.config), bias_correction=True) if self.loss.size else self.loss

    @property
    def mean_log_ratio(self) -> np.ndarray:
        """The mean over layers of log10 ||dW|| / ||W|| per iteration."""
        return np.mean(log10(self.ratios), axis=1) if self.ratios.size else np.zeros(0)


def log10(a: np.ndarray) -> np.ndarray:
    """log10 of positive values, nan elsewhere (the charts drop nan)."""
    a = np.asarray(a, dtype=float)
    with np.errstate(all="ignore"):
        return np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)


class Track:
    def __init__(self, plan: Plan, solver: Solver) -> None:
        self.plan = plan
        self.solver = solver
        s = solver
        epochs = np.arange(s.num_iterations) // s.iterations_per_epoch
        self.planned_lr = s.schedule.lrs(epochs, s.hp["lr"], s.schedule_hp)

    def data(self) -> TrackData:
        s = self.solver
        diverged = len(s.loss_history) - 1 if s.diverged else None
        return TrackData(
            self.plan.label, self.plan.group, self.plan.color, s.update_rule, self.plan.config,
            s.iterations_per_epoch, s.num_iterations, s.num_epochs, s.t, s.epoch, s.done, diverged,
            np.asarray(s.loss_history, dtype=float), np.asarray(s.lr_history, dtype=float), self.planned_lr,
            s.update_ratio_history, np.asarray(s.log_acc_iteration_history, dtype=float),
            np.asarray(s.train_acc_history, dtype=float), np.asarray(s.val_acc_history, dtype=float),
            float(s.best_val_acc),
        )


class TrainingJob:
    """The solvers of one view, trained in lockstep; safe to train in one thread and read in another.

    ``version`` counts the steps taken, so a reader knows when there is something new to draw.
    """

    def __init__(self, tracks: Sequence[Track]) -> None:
        self.tracks = list(tracks)
        self.lock = threading.Lock()
        self.version = 0
        #: set by the UI; a worker trains while it is True and stops at the next step when not
        self.running = False
        #: True while a worker thread is inside :meth:`train_while_running`
        self.active = False
        #: at most this many rounds a second in the worker (None: no limit)
        self.pace: int | None = None

    @property
    def done(self) -> bool:
        return all(t.solver.done for t in self.tracks)

    @property
    def stepped(self) -> bool:
        return any(t.solver.t for t in self.tracks)

    def _round(self) -> int:
        taken = 0
        for track in self.tracks:
            with self.lock:
                if track.solver.done:
                    continue
                track.solver.step()
                self.version += 1
                taken += 1
        return taken

    def train_rounds(self, rounds: int) -> int:
        """Train every unfinished solver ``rounds`` iterations (a deterministic slice)."""
        taken = 0
        for _ in range(rounds):
            n = self._round()
            if not n:
                break
            taken += n
        return taken

    def train_for(self, budget: float, clock: Callable[[], float] = time.perf_counter) -> int:
        """Train whole rounds until ``budget`` seconds are spent (at least one round)."""
        start = clock()
        taken = 0
        while self.running and not self.done:
            taken += self._round()
            if clock() - start >= budget:
                break
        return taken

    def train_while_running(self) -> None:
        """The worker's body: slices until paused, finished or replaced."""
        self.active = True
        try:
            while self.running and not self.done:
                if self.pace:
                    self._round()
                    time.sleep(1.0 / self.pace)
                else:
                    self.train_for(WORKER_BUDGET)
                    time.sleep(0.001)  # hand the GIL to the UI thread between slices
        finally:
            self.active = False

    def snapshot(self) -> tuple[int, list[TrackData]]:
        with self.lock:
            return self.version, [t.data() for t in self.tracks]


# ---------------------------------------------------------------------------------------------
# text


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "-"


def hidden_text(hidden: Sequence[int]) -> str:
    h = list(hidden)
    return f"{h[0]}×{len(h)}" if len(set(h)) == 1 and len(h) > 1 else ",".join(map(str, h))


def rule_items(config: TrainConfig, style: str = "bold cyan", prefix: str = "", extra: str = "") -> list[tuple[str, str]]:
    """The rule (by the name it was given: the note's ``sgd`` is the registry's ``gd``) and every hyper-parameter."""
    rule = get_rule(config.rule)
    params = params_text(rule.params, rule.hparams(config.rule_params))
    return _head(prefix + config.rule, extra, params, style)


def schedule_items(config: TrainConfig) -> list[tuple[str, str]]:
    sched = get_schedule(config.schedule)
    params = params_text(sched.params, sched.hparams(config.schedule_params))
    return [(" ".join([f"{sched.name} schedule"] + params[:1]), "")] + [(p, "") for p in params[1:]]


def state_item(tracks: Sequence[TrackData], running: bool, pace: int | None = None) -> tuple[str, str]:
    diverged = [t for t in tracks if t.diverged_at is not None]
    if len(tracks) == 1 and diverged:
        return f"✖ diverged at iteration {diverged[0].diverged_at}", "bold red"
    if tracks and all(t.done for t in tracks):
        return ("✔ done" + (f" ({len(diverged)} diverged)" if diverged else ""), "bold green")
    slow = f" ≤{pace} it/s" if pace else ""
    return (f"▶ training{slow}", "bold green") if running else (f"⏸ paused{slow}", "bold yellow")


def progress_items(view: str, tracks: Sequence[TrackData]) -> list[tuple[str, str]]:
    if not tracks:
        return []
    t0 = tracks[0]
    if view == "effective":
        return [(f"step {min(t.t for t in tracks)}/{t0.num_iterations} each", "bold")]
    if view == "compare":  # a fixed step count: the last epoch is partial, so count in iterations
        return [(f"it {t0.t}/{t0.num_iterations} ({t0.t / t0.iterations_per_epoch:.1f} epochs)", "bold")]
    return [(f"epoch {t0.epoch}/{t0.num_epochs}", "bold"), (f"it {t0.t}/{t0.num_iterations}", "bold")]


def short_rule_items(config: TrainConfig, style: str, prefix: str = "", extra: str = "") -> list[tuple[str, str]]:
    """The rule with its lr and main beta only (compare and study views: the rest are registry defaults)."""
    rule = get_rule(config.rule)
    hp = rule.hparams(config.rule_params)
    shown = [p for p in rule.params if p.name in ("lr", rule.main_beta)]
    return _head(prefix + config.rule, extra, params_text(shown, hp), style)


def _head(name: str, extra: str, params: list[str], style: str) -> list[tuple[str, str]]:
    """``name extra first-param`` as one item (wraps as a unit), then one item per further param."""
    head = " ".join(t for t in (name, extra, *params[:1]) if t)
    return [(head, style)] + [(p, "") for p in params[1:]]


def status_items(view: str, data: Dataset, plans: Sequence[Plan], tracks: Sequence[TrackData],
                 running: bool, pace: int | None = None) -> list[tuple[str, str]]:
    """The status line: view, state, progress, dataset, net, batch, rules with their hyper-parameters,
    schedule. The single view lists every hyper-parameter; the compare and study views the lr and the
    main beta of each rule (their other hyper-parameters are the registry's defaults)."""
    first = plans[0].config
    n_train = first.num_train or data.X_train.shape[0]
    items = [(VIEW_TITLES[view], "bold reverse"), state_item(tracks, running, pace), *progress_items(view, tracks),
             (f"{data.name} {n_train} train / {data.X_val.shape[0]} val", "bold"),
             (f"net {data.num_features}→[{hidden_text(first.hidden)}]→{data.num_classes}", ""),
             (f"weight scale {first.weight_scale:g}", ""),
             (first.dtype, "")]
    if view == "single":
        items.append((f"batch {first.batch_size}", ""))
        items += rule_items(first)
    elif view == "compare":
        items.append((f"batch {first.batch_size}", ""))
        for i, p in enumerate(plans):
            items += short_rule_items(p.config, text_style(p.color), prefix="│ " if i else "")
        items.append(("│", ""))
    else:
        seen: dict[str, Plan] = {}
        for p in plans:
            seen.setdefault(p.group, p)
        for p in seen.values():
            c = p.config
            items += short_rule_items(c, text_style(p.color), extra=f"batch {c.batch_size}")
        items.append(("seeds " + ",".join(str(p.config.seed) for p in plans if p.group == plans[0].group), ""))
    items += schedule_items(first)
    return items


def compact_status_items(view: str, data: Dataset, plans: Sequence[Plan], tracks: Sequence[TrackData],
                         running: bool, mono: bool = False, pace: int | None = None) -> list[tuple[str, str, int]]:
    """The status line for a small terminal, as ``(text, style, priority)`` for :func:`fit_items`:
    priority 2 always stays, 1 goes before it, 0 first. The multi-series views name each series
    with its chart mark (:func:`series_glyph`) and lr; their betas, the net and the constant
    schedule are the first to go."""
    first = plans[0].config
    n_train = first.num_train or data.X_train.shape[0]
    items = [(VIEW_TITLES[view], "bold reverse", 2), (*state_item(tracks, running, pace), 2)]
    progress = progress_items(view, tracks)
    items += [(text, style, 2 if i == 0 else 1) for i, (text, style) in enumerate(progress)]
    items.append((f"{data.name} {n_train}/{data.X_val.shape[0]}", "bold", 1))
    if view == "single":
        items.append((f"batch {first.batch_size}", "", 1))
        items += [(text, style, 2 if i == 0 else 1) for i, (text, style) in enumerate(rule_items(first))]
    else:
        if view == "compare":
            items.append((f"batch {first.batch_size}", "", 1))
            series = list(plans)
        else:
            seen: dict[str, Plan] = {}
            for p in plans:
                seen.setdefault(p.group, p)
            series = list(seen.values())
        for i, p in enumerate(series):
            c = p.config
            extra = f"batch {c.batch_size}" if view == "effective" else ""
            rule = short_rule_items(c, text_style(p.color), prefix=series_glyph(i, mono) + " ", extra=extra)
            items += [(text, style, 2 if j == 0 else 0) for j, (text, style) in enumerate(rule)]
        if view == "effective":
            items.append(("seeds " + ",".join(str(p.config.seed) for p in plans if p.group == plans[0].group), "", 1))
    sched = schedule_items(first)
    keep = 2 if first.schedule != "constant" else 0
    items += [(text, style, keep if i == 0 else min(keep, 1)) for i, (text, style) in enumerate(sched)]
    items.append((f"net {data.num_features}→[{hidden_text(first.hidden)}]→{data.num_classes}", "", 0))
    return items


def compact_info_items(view: str, tracks: Sequence[TrackData], ghost: TrackData | None) -> list[tuple[str, str, int]]:
    """The summary line for a small terminal, as ``(text, style, priority)`` for :func:`fit_items`."""
    if not tracks:
        return []
    done = all(t.done for t in tracks)
    if view == "single":
        t = tracks[0]
        items = [(f"loss {_num(_last(t.loss))}", "", 2), (f"EWA {_num(_last(t.loss_ewa))}", "", 0),
                 (f"train {_num(_last(t.train_acc))}", "", 2), (f"val {_num(_last(t.val_acc))}", "", 2),
                 (f"best {_num(t.best_val_acc)}", "", 0)]
        if ghost is not None:
            items.append((f"previous ({ghost_label(ghost)}) val {_num(_last(ghost.val_acc))}", "dim", 1))
        return items
    if view == "compare":
        items = [("final val acc" if done else "val acc now", "bold", 1)]
        for t in tracks:
            text = f"{t.label} " + ("✖" if t.diverged_at is not None else _num(_last(t.val_acc)))
            items.append((text, text_style(t.color), 2))
        return items
    items = [("mean train acc", "bold", 1)]
    avgs = []
    for group, ts in group_tracks(tracks).items():
        avg = _mean_final(ts)
        avgs.append(avg)
        items.append((f"{ts[0].config.rule} {_num(avg)}", text_style(ts[0].color), 2))
    if done and len(avgs) == 2 and all(math.isfinite(a) for a in avgs):
        text, style = _verdict(rel_error(*avgs))
        items.append((text.replace("relative error", "rel err"), style, 2))
    elif not done:
        items.append((f"rel err when all {len(tracks)} runs are done", "dim", 0))
    return items


def _mean_final(ts: Sequence[TrackData]) -> float:
    finals = [_last(t.train_acc) for t in ts]
    return float(np.mean(finals)) if finals and all(math.isfinite(f) for f in finals) else float("nan")


def _verdict(err: float) -> tuple[str, str]:
    similar = err < REL_ERROR_TARGET
    verdict = f"< {REL_ERROR_TARGET:g}: similar" if similar else f">= {REL_ERROR_TARGET:g}: not similar"
    return f"relative error {err:.4f} ({verdict})", "bold reverse" if similar else "bold red"


def _last(a: np.ndarray) -> float:
    return float(a[-1]) if a.size else float("nan")


def info_items(view: str, tracks: Sequence[TrackData], ghost: TrackData | None,
               mono: bool = False) -> list[tuple[str, str]]:
    """The line under the status: the latest numbers, or the study's summary; in the multi-series
    views each series is named with its chart mark (:func:`series_glyph`), a legend that fits."""
    if not tracks:
        return []
    if view == "single":
        t = tracks[0]
        items = [(f"loss {_num(_last(t.loss))}", ""), (f"EWA {_num(_last(t.loss_ewa))}", ""),
                 (f"train acc {_num(_last(t.train_acc))}", ""), (f"val acc {_num(_last(t.val_acc))}", ""),
                 (f"best val {_num(t.best_val_acc)}", "")]
        if ghost is not None:
            items.append((f"previous ({ghost_label(ghost)}): train {_num(_last(ghost.train_acc))} "
                          f"val {_num(_last(ghost.val_acc))}", "dim"))
        return items
    if view == "compare":
        items = [("final" if all(t.done for t in tracks) else "now", "bold")]
        for i, t in enumerate(tracks):
            text = f"{series_glyph(i, mono)} {t.label}: train {_num(_last(t.train_acc))} val {_num(_last(t.val_acc))}"
            if t.diverged_at is not None:
                text += f" ✖ diverged at {t.diverged_at}"
            items.append((text, text_style(t.color)))
        return items
    return effective_summary(tracks, mono)


def group_tracks(tracks: Sequence[TrackData]) -> dict[str, list[TrackData]]:
    out: dict[str, list[TrackData]] = {}
    for t in tracks:
        out.setdefault(t.group, []).append(t)
    return out


def effective_summary(tracks: Sequence[TrackData], mono: bool = False) -> list[tuple[str, str]]:
    """Average final training accuracy per setting and their relative error (the note's < 0.04)."""
    groups = group_tracks(tracks)
    done = all(t.done for t in tracks)
    items = [("final" if done else "so far", "bold")]
    avgs = []
    for i, (group, ts) in enumerate(groups.items()):
        finals = [_last(t.train_acc) for t in ts]
        avg = _mean_final(ts)
        avgs.append(avg)
        items.append((f"{series_glyph(i, mono)} {group}: mean train acc {_num(avg)} (min {_num(min(finals))}, max {_num(max(finals))})",
                      text_style(ts[0].color)))
    if done and len(avgs) == 2 and all(math.isfinite(a) for a in avgs):
        items.append(_verdict(rel_error(*avgs)))
    elif not done:
        items.append((f"relative error when all {len(tracks)} runs are done", "dim"))
    return items


def ghost_label(g: TrackData) -> str:
    return f"{g.rule} lr {adjust.current_lr(g.config):g}"


# ---------------------------------------------------------------------------------------------
# the screen


def _cycle(names: Sequence[str], current: str, direction: int) -> str:
    names = list(names)
    i = names.index(current) if current in names else -1
    return names[(i + direction) % len(names)]


class NetworkScreen(ModalScreen[None]):
    """Train the note's network live; switch rule, beta, lr and schedule; compare; the batch study."""

    CSS_PATH = "network.tcss"
    HELP_TITLE = "network lab"

    BINDINGS = [
        Binding("space", "toggle_run", "run/pause"),
        Binding("n", "slice", "train a slice"),
        Binding("r", "restart", "restart"),
        Binding("u", "rule(1)", "rule", key_display="u/U", tooltip="next rule, at the note's lr (single run)"),
        Binding("U", "rule(-1)", "previous rule", show=False),
        Binding("b", "beta(1)", "β", key_display="b/B", tooltip="raise the main β (every rule's, in compare and study)"),
        Binding("B", "beta(-1)", "lower β", show=False),
        Binding("l", "lr(2.0)", "lr ×2/÷2", key_display="l/L", tooltip="double lr (every rule's, in compare and study)"),
        Binding("L", "lr(0.5)", "halve lr", show=False),
        Binding("d", "schedule(1)", "schedule", key_display="d/D", tooltip="next lr schedule, fitted to the run"),
        Binding("D", "schedule(-1)", "previous schedule", show=False),
        Binding("c", "view('compare')", "compare rules",
                tooltip=f"compare {', '.join(COMPARE_RULES)} at the note's lrs, {NOTE_STEPS['compare-rules']} steps "
                        "(again: single run)"),
        Binding("f", "view('effective')", "effective batch",
                tooltip=f"the note's effective-batch study: seeds {'/'.join(map(str, NOTE_SEEDS))}, "
                        f"{NOTE_STEPS['effective-batch']} steps (again: single run)"),
        Binding("right_square_bracket", "sgd_batch(1)", "sgd batch", key_display="[/]",
                tooltip="effective batch: sgd's batch one sgd_momentum batch larger"),
        Binding("left_square_bracket", "sgd_batch(-1)", "smaller sgd batch", show=False,
                tooltip="effective batch: sgd's batch one sgd_momentum batch smaller"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("escape,t", "close", "back", key_display="esc"),
        Binding("comma", "pace(1)", "slower", key_display=",", show=False,
                tooltip="train slower (" + ", ".join(f"{p} it/s" for p in PACES[1:]) + ")"),
        Binding("full_stop", "pace(-1)", "faster", key_display=".", show=False,
                tooltip="train faster, up to full speed"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, config: TrainConfig | None = None, *, data: Dataset | None = None, autorun: bool = True,
                 steps: dict[str, int] | None = None, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """``steps`` overrides the note's step counts of the compare and study views (tests)."""
        super().__init__(name=name, id=id, classes=classes)
        self.autorun = autorun
        self.steps = {**NOTE_STEPS, **(steps or {})}
        self._fixed_data = data
        self._datasets: dict[str, Dataset] = {}
        config = config or default_config()
        if config.schedule != "constant" and not config.schedule_params:
            config = with_schedule(config, config.schedule)
        #: the single view's settings; the compare and study views take net, data and schedule from it
        self.base = config
        self.view = "single"
        #: compare and study views: every rule's lr is the note's times lr_scale, its beta nudged beta_steps times
        self.lr_scale = 1.0
        self.beta_steps = 0
        #: the study's sgd batch (None: the note's 600, six times sgd_momentum's)
        self.sgd_batch: int | None = None
        self.plans: list[Plan] = []
        self.job: TrainingJob | None = None
        self.ghost: TrackData | None = None
        #: the user's wish: train (space) or stay paused; a change of setting keeps it
        self.wants_running = autorun
        self._worker: Worker | None = None
        self._timer: Timer | None = None
        self._drawn: object = None
        self._ready = False
        #: a small terminal: the status and summary keep to COMPACT_LINES lines
        self.compact = False
        #: index into PACES (0: full speed); kept across restarts
        self.pace_index = 0
        self.error: str | None = None
        self._start("single", config, ghost=False)

    # -- data and jobs ----------------------------------------------------------------------------
    def dataset(self, config: TrainConfig) -> Dataset:
        if self._fixed_data is not None:
            data = self._fixed_data
        else:
            key = f"{config.dataset}#{config.data_seed}"
            if key not in self._datasets:
                self._datasets[key] = load_dataset(config.dataset, seed=config.data_seed)
            data = self._datasets[key]
        return data.subset(config.num_train) if config.num_train else data

    def plan_data(self, plan: Plan) -> Dataset:
        """What a plan trains on: the experiment's data, or the single view's."""
        return plan.data if plan.data is not None else self.dataset(plan.config)

    def _start(self, view: str, base: TrainConfig, lr_scale: float = 1.0, beta_steps: int = 0,
               ghost: bool = True, sgd_batch: int | None = None) -> bool:
        """Train a fresh job for ``view``; the old single run becomes the ghost. False (and nothing
        changes) when the settings are rejected."""
        try:
            full = self.dataset(replace(base, num_train=None))
            plans = plans_for(view, base, full, steps=self.steps, lr_scale=lr_scale, beta_steps=beta_steps,
                              sgd_batch=sgd_batch)
            tracks = []
            for p in plans:
                p.config.validate()
                tracks.append(Track(p, p.config.build(data=self.plan_data(p))))
        except (ParamError, DatasetError) as exc:
            self.error = str(exc)
            if self._ready:
                self.notify(str(exc), severity="error", title="not changed")
            return False
        old = self.job
        if old is not None:
            old.running = False
            if ghost and self.view == "single" and view == "single" and old.stepped:
                self.ghost = old.snapshot()[1][0]
        if view != "single":
            self.ghost = None
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self.view, self.base, self.lr_scale, self.beta_steps, self.sgd_batch = view, base, lr_scale, beta_steps, sgd_batch
        self.plans, self.job = plans, TrainingJob(tracks)
        self.error = None
        if self._ready:
            self._sync_training()
            self.redraw()
        return True

    # -- compose and lifecycle --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield WrapLine(id="net-status")
        yield WrapLine(id="net-info")
        with Grid(id="net-charts"):
            yield Chart("Loss", xlabel="iteration", id="net-loss")
            yield Chart("Accuracy", xlabel="epoch", id="net-acc")
            yield Chart("Learning rate", xlabel="iteration", id="net-lr")
            yield Chart("Update / weight", xlabel="iteration", id="net-ratio")
        yield Static("", id="net-too-small")
        yield KeyHints(id="net-hints")

    def on_mount(self) -> None:
        self._ready = True
        self._apply_size(self.app.size.width, self.app.size.height)
        if self.error:
            self.notify(self.error, severity="error")
        self._sync_training()
        self.redraw()
        self.call_after_refresh(self.redraw)

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)
        self.call_after_refresh(self.redraw)  # chart titles fit the new chart widths

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.compact = height < COMPACT_HEIGHT
        self.set_class(self.compact, "-compact")
        self.query_one("#net-too-small", Static).update(
            f"terminal too small for the network lab (need {MIN_SIZE[0]}x{MIN_SIZE[1]}, have {width}x{height})")

    def on_unmount(self) -> None:
        self._stop_training()

    # -- training in a worker ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True while the screen trains (or, with autorun off, would train) on its own."""
        return self.wants_running and self.job is not None and not self.job.done

    def _sync_training(self) -> None:
        """Start the worker and the redraw timer exactly while the screen should train."""
        job = self.job
        if job is None:
            return
        job.running = self.running and self.autorun
        job.pace = PACES[self.pace_index]
        if job.running and (self._worker is None or self._worker.is_finished):
            self._worker = self.run_worker(job.train_while_running, name="network training", group="network",
                                           thread=True, exclusive=True, exit_on_error=False)
        if job.running and self._timer is None:
            self._timer = self.set_interval(1.0 / FRAME_RATE, self._tick, name="network-redraw")

    def _stop_training(self) -> None:
        if self.job is not None:
            self.job.running = False
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        """The one UI timer: redraw when the job moved; stop when the worker has stopped."""
        job = self.job
        idle = job is None or (not job.active and (self._worker is None or self._worker.is_finished))
        self.redraw()
        if idle and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker:
            return
        if event.state == WorkerState.ERROR:
            self.wants_running = False
            self.notify(f"training stopped: {event.worker.error}", severity="error")
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.redraw()

    # -- actions ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rule" and self.view != "single":
            return False  # the compared rules and the study's two rules are fixed
        if action == "sgd_batch" and self.view != "effective":
            return False
        return True

    def action_toggle_run(self) -> None:
        if self.job is not None and self.job.done:  # a finished run starts again
            self.wants_running = True
            self.action_restart()
            return
        self.wants_running = not self.wants_running
        self._sync_training()
        self.redraw()

    def action_slice(self) -> None:
        """Pause and train one slice of :data:`SLICE_ROUNDS` iterations here, synchronously."""
        self.wants_running = False
        self._sync_training()
        if self.job is not None:
            if self.job.done:
                self.notify("this run is done: r restarts it", severity="warning")
            self.job.train_rounds(SLICE_ROUNDS)
        self.redraw()

    def action_pace(self, direction: int) -> None:
        """``,`` slower, ``.`` faster: a cap on the iterations per second of live training."""
        self.pace_index = min(max(self.pace_index + direction, 0), len(PACES) - 1)
        if self.job is not None:
            self.job.pace = PACES[self.pace_index]
        pace = PACES[self.pace_index]
        self.notify(f"pace: at most {pace} iterations a second" if pace else "pace: full speed", timeout=2)
        self.redraw()

    def action_restart(self) -> None:
        self._start(self.view, self.base, self.lr_scale, self.beta_steps, ghost=False, sgd_batch=self.sgd_batch)

    def action_sgd_batch(self, direction: int) -> None:
        """``]``/``[``: the study's sgd batch one sgd_momentum batch (100) larger or smaller."""
        momentum = self.plans[0].config.batch_size
        current = max(p.config.batch_size for p in self.plans if p.config.rule == "sgd")
        new = current + direction * momentum
        if new < momentum:
            self.notify(f"the sgd batch is at its smallest, sgd_momentum's {momentum}")
            return
        self._start(self.view, self.base, self.lr_scale, self.beta_steps, ghost=False, sgd_batch=new)

    def action_rule(self, direction: int) -> None:
        name = _cycle(list(RULES), get_rule(self.base.rule).name, direction)
        self._start("single", scaled_rule(self.base, name))

    def action_beta(self, direction: int) -> None:
        if self.view != "single":
            moved = [p for p in self.plans if adjust.main_beta(p.config) is not None
                     and adjust.step_beta(p.config, direction) != p.config]
            if not moved:
                self.notify("β is at the end of its range")
                return
            self._start(self.view, self.base, self.lr_scale, self.beta_steps + direction, sgd_batch=self.sgd_batch)
            return
        mb = main_beta(self.base)
        if mb is None:
            self.notify(f"{get_rule(self.base.rule).name} has no β (try u for another rule)")
            return
        moved = adjust.step_beta(self.base, direction)
        if moved == self.base:
            self.notify(f"{mb[0].label} is at the end of its range")
            return
        self._start("single", moved)

    def action_lr(self, factor: float) -> None:
        if self.view != "single":
            self._start(self.view, self.base, self.lr_scale * factor, self.beta_steps, sgd_batch=self.sgd_batch)
            return
        self._start("single", adjust.scale_lr(self.base, factor))

    def action_schedule(self, direction: int) -> None:
        name = _cycle(list(SCHEDULES), self.base.schedule, direction)
        self._start(self.view, with_schedule(self.base, name), self.lr_scale, self.beta_steps, sgd_batch=self.sgd_batch)

    def action_view(self, view: str) -> None:
        """``c``/``f``: open that view (the note's settings), or go back to the single run."""
        self._start("single" if self.view == view else view, self.base, ghost=False)

    def action_help(self) -> None:
        from .help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_close(self) -> None:
        self._stop_training()
        self.dismiss(None)

    # -- drawing ----------------------------------------------------------------------------------
    def redraw(self) -> None:
        if not self._ready or self.job is None:
            return
        version, tracks = self.job.snapshot()
        sizes = tuple(c.size for c in self.query(Chart))
        state = (id(self.job), version, self.running, self.view, self.ghost is not None, sizes)
        mono = bool(getattr(self.app, "no_color", False))
        pace = PACES[self.pace_index]
        status, info = self.query_one("#net-status", WrapLine), self.query_one("#net-info", WrapLine)
        data = self.plan_data(self.plans[0])
        if self.compact:
            width = (status.content_size.width or self.size.width - 2) or self.app.size.width - 2
            status.set_items(fit_items(compact_status_items(self.view, data, self.plans, tracks, self.running, mono, pace),
                                       width, COMPACT_LINES[0]))
            info.set_items(fit_items(compact_info_items(self.view, tracks, self.ghost), width, COMPACT_LINES[1]))
        else:
            status.set_items(status_items(self.view, data, self.plans, tracks, self.running, pace))
            info.set_items(info_items(self.view, tracks, self.ghost, mono))
        self.query_one("#net-hints", KeyHints).show(self.key_hints())
        if state == self._drawn:
            return
        self._drawn = state
        key = (id(self.job), self.view)
        self.query_one("#net-acc", Chart).xlabel = "iteration" if self.view == "effective" else "epoch"
        if self.view == "effective":
            self._draw_effective(tracks, key)
        else:
            self._draw_runs(tracks, key)

    def key_hints(self) -> list[tuple[str, str]]:
        out = []
        for b in self.BINDINGS:
            if not isinstance(b, Binding) or not b.show:
                continue
            action = b.action.partition("(")[0]
            if self.check_action(action, ()) is False:
                continue
            desc = b.description
            if action == "view" and b.action == f"view({self.view!r})":
                desc = "single run"
            out.append((b.key_display or b.key, desc))
        return out

    def _title(self, chart: Chart, long: str, short: str) -> str:
        return long if len(long) + 4 <= chart.size.width or chart.size.width == 0 else short

    def _draw_runs(self, tracks: list[TrackData], key: object) -> None:
        compare = self.view == "compare"
        ghost = [self.ghost] if self.ghost is not None and not compare else []
        loss = self.query_one("#net-loss", Chart)
        lines = [Line(np.arange(g.loss.size), g.loss_ewa, "previous", dim=True) for g in ghost]
        if compare:
            lines += [Line(np.arange(t.loss.size), t.loss_ewa, t.label, color=t.color) for t in tracks]
            beta = DEFAULT_EWA_BETA
        else:
            t = tracks[0]
            beta = ewa_beta(t.config)
            x = np.arange(t.loss.size)
            lines += [Line(x, t.loss, "loss", color="blue", marker="dot", kind="scatter"),
                      Line(x, t.loss_ewa, "EWA", color="orange")]
        b = format_value(main_beta(tracks[0].config)[0], beta) if main_beta(tracks[0].config) else f"{beta:g}"
        loss.show(self._legend(loss, lines), key=key, title=self._title(
            loss, f"Training loss per iteration · EWA β {b} bias-corrected", f"Loss · EWA β {b}"))

        acc = self.query_one("#net-acc", Chart)
        lines = []
        for g in ghost:
            lines += [Line(g.acc_epoch, g.train_acc, "previous", dim=True), Line(g.acc_epoch, g.val_acc, dim=True)]
        if compare:
            for t in tracks:
                lines += [Line(t.acc_epoch, t.train_acc, t.label, color=t.color),
                          Line(t.acc_epoch, t.val_acc, color=t.color, marker=VAL_MARKER, kind="scatter")]
            long, short = f"Accuracy per epoch · train ─ val {VAL_MARKER}", f"Accuracy · train ─ val {VAL_MARKER}"
        else:
            t = tracks[0]
            lines += [Line(t.acc_epoch, t.train_acc, "train", color="cyan"),
                      Line(t.acc_epoch, t.val_acc, "val", color="green", marker="hd")]
            long, short = "Accuracy per epoch · train · validation", "Accuracy · train · val"
        xmax = max(t.num_iterations / t.iterations_per_epoch for t in tracks)
        acc.show(self._legend(acc, lines), key=key, ylim=(0, 1), xlim=(0, xmax), title=self._title(acc, long, short))

        lr = self.query_one("#net-lr", Chart)
        lines = [Line(np.arange(g.lr.size), log10(g.lr), dim=True) for g in ghost]
        for t in tracks:
            lines.append(Line(np.arange(t.planned_lr.size), log10(t.planned_lr), dim=True))
        for t in tracks:
            lines.append(Line(np.arange(t.lr.size), log10(t.lr), t.label if compare else "", color=t.color))
        lr.show(self._legend(lr, lines), key=key, ylim=_lr_ylim(lines), title=self._title(lr, "Learning rate log10 η_t (dim: planned)",
                                                                          "log10 lr (dim: planned)"))

        ratio = self.query_one("#net-ratio", Chart)
        lines = [Line(np.arange(g.ratios.shape[0]), g.mean_log_ratio, "previous", dim=True) for g in ghost]
        if compare:
            lines += [Line(np.arange(t.ratios.shape[0]), t.mean_log_ratio, t.label, color=t.color) for t in tracks]
            long, short = "Update size log10 ‖ΔW‖/‖W‖ · mean of layers", "log10 ‖ΔW‖/‖W‖"
        else:
            t = tracks[0]
            x = np.arange(t.ratios.shape[0])
            lines += [Line(x, log10(t.ratios[:, i]), f"W{i + 1}") for i in range(t.ratios.shape[1])]
            long, short = "Update size per layer log10 ‖ΔW‖/‖W‖ (— 1e-3)", "log10 ‖ΔW‖/‖W‖"
        ratio.show(self._legend(ratio, lines), key=key, hlines=(-3.0,), title=self._title(ratio, long, short))

    def _legend(self, chart: Chart, lines: Sequence[Line]) -> list[Line]:
        """``lines`` without their legend labels when the legend would crowd the data out of ``chart``
        (the summary line names every series of the multi-series views with its mark)."""
        labels = sum(1 for ln in lines if ln.label)
        if legend_fits(labels, chart.size.height, bool(chart.xlabel)):
            return list(lines)
        return without_legend(lines)

    def _draw_effective(self, tracks: list[TrackData], key: object) -> None:
        groups = group_tracks(tracks)

        def band(chart_id: str, series: Callable[[TrackData], tuple[np.ndarray, np.ndarray]], **opts: Any) -> None:
            chart = self.query_one(chart_id, Chart)
            bands, means = [], []  # every band under every mean
            for group, ts in groups.items():
                mean, lo, hi, x = _band([series(t) for t in ts])
                color = ts[0].color
                dark = BAND_COLORS.get(color, color)
                # a band's edges in small dots: without colour the second mean is drawn in "•"
                bands += [Line(x, lo, color=dark, marker=BAND_MARKER), Line(x, hi, color=dark, marker=BAND_MARKER)]
                means.append(Line(x, mean, group, color=color))
            chart.show(self._legend(chart, bands + means), key=key, **opts)

        loss = self.query_one("#net-loss", Chart)
        band("#net-loss", lambda t: (np.arange(t.loss.size), t.loss_ewa), title=self._title(
            loss, f"Loss EWA · mean of {len(next(iter(groups.values())))} seeds, min-max band", "Loss EWA · mean, band"))
        acc = self.query_one("#net-acc", Chart)
        band("#net-acc", lambda t: (t.acc_iteration, t.train_acc), ylim=(0, 1), title=self._title(
            acc, "Train accuracy per step · mean, min-max band", "Train acc · mean, band"))
        lr = self.query_one("#net-lr", Chart)
        lines = [Line(np.arange(ts[0].lr.size), log10(ts[0].lr), group, color=ts[0].color)
                 for group, ts in groups.items()]
        lr.show(self._legend(lr, lines), key=key, ylim=_lr_ylim(lines), title=self._title(lr, "Learning rate log10 η_t", "log10 lr"))
        ratio = self.query_one("#net-ratio", Chart)
        band("#net-ratio", lambda t: (np.arange(t.ratios.shape[0]), t.mean_log_ratio), hlines=(-3.0,),
             title=self._title(ratio, "Update size log10 ‖ΔW‖/‖W‖ · mean of layers", "log10 ‖ΔW‖/‖W‖"))


def _lr_ylim(lines: Sequence[Line]) -> tuple[float, float] | None:
    """Half a decade around every rate drawn: a constant rate sits mid-chart, not on an edge."""
    ys = [ln.y[np.isfinite(ln.y)] for ln in lines]
    ys = [y for y in ys if y.size]
    if not ys:
        return None
    lo, hi = min(float(y.min()) for y in ys), max(float(y.max()) for y in ys)
    return lo - 0.5, hi + 0.5


def _band(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over runs, cut to the shortest (a diverged run stops early)."""
    n = min(y.shape[0] for _, y in series)
    if n == 0:
        e = np.zeros(0)
        return e, e, e, e
    ys = np.array([np.asarray(y[:n], dtype=float) for _, y in series])
    with np.errstate(all="ignore"):
        return ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0), np.asarray(series[0][0][:n], dtype=float)


if __name__ == "__main__":  # manual run: python -m tui.screens.network
    from textual.app import App

    class _Host(App):
        def on_mount(self) -> None:
            self.push_screen(NetworkScreen(), lambda _: self.exit())

    _Host().run()
