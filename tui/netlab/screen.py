"""The network lab: the note's fully-connected net trained live (``t`` in the app).

Three views over :mod:`descent_engine.network` (their plans: :mod:`descent_engine.network.lab_plans`):

* **single** (the default): one run of the current rule and schedule. A change of setting restarts
  the run and keeps the previous one as a dim ghost.
* **compare** (``c``): sgd, sgd_momentum, adam and rmsprop with the note's learning rates, from
  the same initial weights and minibatch stream, trained in lockstep and overlaid.
* **effective batch** (``f``): the note's study, sgd at batch 600 (``[``/``]`` change it by 100)
  against sgd_momentum at batch 100 for the same number of steps, seeds 100/200/300.

The keys are :data:`tui.keys.NETLAB_KEYS`; the text lines are :mod:`.text`, the charts :mod:`.plots`.

Training: a :class:`~.job.TrainingJob` owns the solvers of one view. Live, it runs in a worker
process (:class:`~.remote.RemoteJob` over :class:`tui.background.BackgroundProcess`, niced, sending
a snapshot at most :data:`~tui.background.FRAME_RATE` times a second; ``worker="thread"`` trains in
a Textual thread worker instead, the old way, kept for the benchmark). One UI timer takes the
newest snapshot and redraws the text, then the charts whose data moved, under
:data:`CHART_BUDGET` a tick; a key's effect (the text lines) is painted before the charts. Paused,
or under another screen, nothing runs. ``,``/``.`` cap the pace (:data:`~.job.PACES`).
``NetworkScreen(autorun=False)`` never trains on its own: the ``n`` key trains one slice of
:data:`~.job.SLICE_ROUNDS` iterations synchronously, so tests and snapshots depend on neither
processes, threads nor clock.
"""

from __future__ import annotations

import time
from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from descent_engine.network.config import TrainConfig
from descent_engine.network.data import Dataset, DatasetError, load_dataset
from descent_engine.network.experiments import NOTE_SEEDS, NOTE_STEPS
from descent_engine.network.lab_plans import COMPARE_RULES, Plan, default_config, plans_for, with_schedule
from descent_engine.params import ParamError

from .. import keys
from ..background import FRAME_RATE, BackgroundProcess
from ..widgets.plot import Chart
from ..formatting import MIN_SIZE
from ..widgets.wrapline import KeyHints
from ..widgets.wrapline import WrapLine
from . import plots
from .job import PACES, Track, TrackData, TrainingJob
from .actions import LabActions
from .commands import NetlabCommands
from .remote import RemoteJob, train_loop
from .text import (COMPACT_HEIGHT, COMPACT_LINES, compact_info_items, compact_status_items, fit_items, info_items,
                   status_items)

#: where live training runs: a worker process (the UI thread never waits for the GIL; measured
#: in benchmarks/tui.py against a thread) or "thread"; tests and snapshots step synchronously
WORKER = "process"
#: seconds of chart drawing per tick while training live (at least one chart is drawn)
CHART_BUDGET = 0.015
#: tooltips that name the engine's plans
TOOLTIPS = {
    "net.compare": f"compare {', '.join(COMPARE_RULES)} at the note's lrs, {NOTE_STEPS['compare-rules']} steps "
                   "(again: single run)",
    "net.effective": f"the note's effective-batch study: seeds {'/'.join(map(str, NOTE_SEEDS))}, "
                     f"{NOTE_STEPS['effective-batch']} steps (again: single run)",
    "net.slower": "train slower (" + ", ".join(f"{p} it/s" for p in PACES[1:]) + ")",
}


def _bindings() -> list[Binding]:
    out = []
    for b in keys.bindings(keys.NETLAB_KEYS):
        if b.id in TOOLTIPS:
            b = replace(b, tooltip=TOOLTIPS[b.id])
        out.append(b)
    return out


class NetworkScreen(LabActions, ModalScreen[None]):
    """Train the note's network live; switch rule, beta, lr and schedule; compare; the batch study."""

    CSS_PATH = "network.tcss"
    HELP_TITLE = "network lab"

    BINDINGS = _bindings()
    COMMANDS = {NetlabCommands}

    def __init__(self, config: TrainConfig | None = None, *, data: Dataset | None = None, autorun: bool = True,
                 steps: dict[str, int] | None = None, worker: str = WORKER, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """``steps`` overrides the note's step counts of the compare and study views (tests);
        ``worker`` is where live training runs: "process" or "thread" (see :data:`WORKER`)."""
        super().__init__(name=name, id=id, classes=classes)
        if worker not in ("process", "thread"):
            raise ValueError(f"worker must be 'process' or 'thread', got {worker!r}")
        self.autorun = autorun
        self.worker = worker
        self._process: BackgroundProcess | None = None
        self.steps = {**NOTE_STEPS, **(steps or {})}
        self._fixed_data = data
        self._fixed_name = (config or default_config()).dataset
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
        self._suspended = False
        self._pending: list[str] = []
        #: the fourth chart shows the sharpness instrument (``h``) instead of the update sizes
        self.sharpness = False
        #: a small terminal: the status and summary keep to COMPACT_LINES lines
        self.compact = False
        #: index into PACES (0: full speed); kept across restarts
        self.pace_index = 0
        self.error: str | None = None
        self._start("single", config, ghost=False)

    # -- data and jobs ----------------------------------------------------------------------------
    def dataset(self, config: TrainConfig) -> Dataset:
        if self._fixed_data is not None and config.dataset == self._fixed_name:
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
        self.plans, self.job = plans, self._new_job(tracks, plans)
        self.error = None
        if self._ready:
            self._sync_training()
            self.redraw(charts=False)  # the key's effect first; the charts in the next frame
            self.call_after_refresh(self.redraw)
        return True

    def _new_job(self, tracks: list[Track], plans: list[Plan]) -> TrainingJob | RemoteJob:
        on = getattr(self, "sharpness", False) and self.view != "effective"
        if not (self.autorun and self.worker == "process"):
            job = TrainingJob(tracks)
            job.set_sharpness(on, budgeted=self.autorun)
            return job
        if self._process is None or not self._process.alive:
            self._process = BackgroundProcess(train_loop, name="network training")
        job = RemoteJob(self._process, tracks, [self.plan_data(p) for p in plans])
        if on:
            job.set_sharpness(True)
        return job

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
        self._close_process()

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
        job.running = self.running and self.autorun and not self._suspended
        job.pace = PACES[self.pace_index]
        if isinstance(job, RemoteJob):
            if job.active and self._timer is None and not self._suspended:
                self._timer = self.set_interval(1.0 / FRAME_RATE, self._tick, name="network-redraw")
            return
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

    def _close_process(self) -> None:
        if self._process is not None:
            self._process.close()
            self._process = None

    def on_screen_suspend(self) -> None:
        """Another screen on top (help): this one does no work until it is back."""
        self._suspended = True
        self._stop_training()

    def on_screen_resume(self) -> None:
        if self._suspended:
            self._suspended = False
            self._sync_training()
            self.redraw()

    def _tick(self) -> None:
        """The one UI timer: redraw when the job moved; stop when the worker has stopped."""
        job = self.job
        if isinstance(job, RemoteJob):
            job.poll()
            if job.error:
                self.wants_running = False
                self.notify(f"training stopped: {job.error}", severity="error")
                job.error = None
                job._running = False
            idle = not job.active
        else:
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

    # -- drawing ----------------------------------------------------------------------------------
    def redraw(self, charts: bool = True) -> None:
        """The text lines, then (``charts``) the four charts if their data or size changed."""
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
        self.query_one("#net-hints", KeyHints).show(self.hints())
        if not charts:
            return
        if state != self._drawn:
            self._drawn = state
            self._pending = list(plots.CHART_IDS)  # their data moved: every chart again
        self._draw_pending(tracks)

    def _draw_pending(self, tracks: list[TrackData] | None = None) -> None:
        """Draw the charts still to draw, under :data:`CHART_BUDGET` seconds a tick while training
        live (the rest at the next ticks, so a key waits for about one chart's build at most and
        the UI thread stays mostly idle); all at once when stepped synchronously (tests and
        snapshots stay deterministic)."""
        if not self._pending or self.job is None or not self.is_mounted:
            return
        if tracks is None:
            tracks = self.job.snapshot()[1]
        charts = {name: self.query_one(f"#net-{name}", Chart) for name in plots.CHART_IDS}
        key = (id(self.job), self.view)
        start = time.perf_counter()
        while self._pending:
            name = self._pending.pop(0)
            plots.draw(charts, self.view, tracks, self.ghost, key, only=(name,),
                       sharpness=self.sharpness and self.view != "effective",
                       show_cost=self.autorun)  # a time: never in a test's snapshot
            if self.autorun and time.perf_counter() - start >= CHART_BUDGET:
                break
        if self._pending and self._timer is None:  # no ticks to come (paused): finish in the next frames
            self.call_after_refresh(self._draw_pending)

    def hints(self) -> list[tuple[str, str]]:
        """The footer (:func:`tui.keys.hints`); the key of the open view reads "single run"."""
        def describe(b: Binding) -> str:
            return "single run" if b.action == f"view({self.view!r})" else b.description
        return keys.hints(self.BINDINGS, self.check_action, describe)
