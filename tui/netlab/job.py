"""Training for the network lab: one view's solvers (:class:`TrainingJob`) and the frozen copies
of their histories the charts draw (:class:`TrackData`).

A job trains its solvers in lockstep, one round (one step of each unfinished solver) at a time;
``version`` counts the steps taken, so a reader knows when there is something new to draw.
:meth:`TrainingJob.snapshot` copies every history under the job's lock: the copy is what crosses to
the UI (from a thread, or pickled through a pipe from a worker process, see :mod:`.runner`).
"""

from __future__ import annotations

import threading
import time
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from descent_engine import adjust
from descent_engine.ewa import ewa
from descent_engine.network.config import TrainConfig
from descent_engine.network.hessian import SharpnessMonitor
from descent_engine.network.lab_plans import Plan
from descent_engine.network.noise import NoiseEWA, model_grad_fn, noise_scale
from descent_engine.network.solver import Solver

from descent_engine.averages import DEFAULT_BETA as DEFAULT_EWA_BETA

#: iterations per solver in one synchronous slice (the ``n`` key)
SLICE_ROUNDS = 5
#: seconds of training per worker slice before it lets go of the GIL
WORKER_BUDGET = 0.02
#: the live paces ``,`` and ``.`` step through: at most this many iterations of each run a second
#: (None: as fast as the machine trains)
PACES: tuple[int | None, ...] = (None, 800, 400, 200, 100, 50, 25)
#: the sharpness instrument (``h``) measures at most once every this many epochs, and at the last
#: iteration; live, a measurement waits while the instrument's time exceeds MEASURE_BUDGET of the
#: training's (so it adds at most about that to training; the chart's title shows the fraction)
SHARPNESS_EPOCHS = 1
MEASURE_BUDGET = 0.25  # the cost target: measuring adds at most a quarter to training
#: gradient noise scale: draws of a small (the run's batch) and a large (NOISE_FACTOR times) batch
NOISE_DRAWS = 2
NOISE_FACTOR = 4
#: one colour per compared rule (and per effective-batch setting); a plan's colour is its rule's name
RULE_COLORS = {"sgd": "cyan", "sgd_momentum": "orange", "adam": "green", "rmsprop": "magenta"}


def chart_color(name: str) -> str:
    """A plan's colour name (its rule) as a chart colour; anything else as it is ("auto")."""
    return RULE_COLORS.get(name, name)


def ewa_beta(config: TrainConfig) -> float:
    """The loss EWA's beta: the rule's main beta, or :data:`~descent_engine.averages.DEFAULT_BETA`."""
    mb = adjust.main_beta(config)
    return mb[1] if mb is not None else DEFAULT_EWA_BETA



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
    #: the sharpness instrument (empty arrays while it is off): the iterations measured at, the top
    #: Hessian eigenvalue, the preconditioned one (nan for rules without a preconditioner), the
    #: rule's stability threshold (nan where none is known), the smoothed noise scale B_noise
    sharp_iteration: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sharpness: np.ndarray = field(default_factory=lambda: np.zeros(0))
    preconditioned: np.ndarray = field(default_factory=lambda: np.zeros(0))
    threshold: np.ndarray = field(default_factory=lambda: np.zeros(0))
    noise_scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: seconds spent measuring and training (the instrument's cost is their ratio)
    measure_seconds: float = 0.0
    train_seconds: float = 0.0

    @property
    def measure_cost(self) -> float:
        """The instrument's time as a fraction of the training's (nan before any training)."""
        return self.measure_seconds / self.train_seconds if self.train_seconds > 0 else float("nan")

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
    """One plan and its solver (with the schedule's planned rates, drawn dim under the actual ones)."""

    def __init__(self, plan: Plan, solver: Solver) -> None:
        self.plan = plan
        self.solver = solver
        self.monitor: SharpnessMonitor | None = None
        self.noise = NoiseEWA(0.9)
        self.noise_history: list[float] = []
        self.measure_seconds = self.train_seconds = 0.0
        #: hold measurements to MEASURE_BUDGET (live training); False: every due one (tests)
        self.budgeted = False
        self._last_cost = 0.0
        s = solver
        epochs = np.arange(s.num_iterations) // s.iterations_per_epoch
        self.planned_lr = s.schedule.lrs(epochs, s.hp["lr"], s.schedule_hp)

    def data(self) -> TrackData:
        s = self.solver
        diverged = len(s.loss_history) - 1 if s.diverged else None
        return TrackData(
            self.plan.label, self.plan.group, chart_color(self.plan.color), s.update_rule, self.plan.config,
            s.iterations_per_epoch, s.num_iterations, s.num_epochs, s.t, s.epoch, s.done, diverged,
            np.asarray(s.loss_history, dtype=float), np.asarray(s.lr_history, dtype=float), self.planned_lr,
            s.update_ratio_history, np.asarray(s.log_acc_iteration_history, dtype=float),
            np.asarray(s.train_acc_history, dtype=float), np.asarray(s.val_acc_history, dtype=float),
            float(s.best_val_acc), *self._instrument(),
        )

    def _instrument(self) -> tuple:
        recs = self.monitor.records if self.monitor is not None else []
        nan = float("nan")
        return (np.array([r.iteration for r in recs], dtype=float), np.array([r.sharpness for r in recs]),
                np.array([nan if r.preconditioned is None else r.preconditioned for r in recs]),
                np.array([nan if r.threshold is None else r.threshold for r in recs]),
                np.array(self.noise_history[:len(recs)]), self.measure_seconds, self.train_seconds)

    def step(self) -> None:
        """One training step, then the instrument if it is on and due (its time kept apart)."""
        t0 = time.perf_counter()
        self.solver.step()
        t1 = time.perf_counter()
        self.train_seconds += t1 - t0
        mon = self.monitor
        if mon is not None and mon.due(self.solver) and (self.solver.done or self.within_budget()):
            mon.measure(self.solver)
            self.noise_history.append(self._noise())
            self._last_cost = time.perf_counter() - t1  # the next one is likely to cost as much
            self.measure_seconds += self._last_cost

    def within_budget(self) -> bool:
        """False while measuring has cost more than :data:`MEASURE_BUDGET` of the training time
        (only when ``budgeted``: a test's synchronous slices measure on schedule, by the clock never)."""
        return not self.budgeted or self.measure_seconds + self._last_cost <= MEASURE_BUDGET * self.train_seconds

    def _noise(self) -> float:
        s = self.solver
        n = s.X_train.shape[0]
        small = min(s.batch_size, max(n // NOISE_FACTOR, 1))
        big = min(small * NOISE_FACTOR, n)
        if big <= small:
            return math.nan
        res = noise_scale(model_grad_fn(s.model, s.X_train, s.y_train), n, s.t, small, big, NOISE_DRAWS)
        return self.noise.update(res)

    def set_sharpness(self, on: bool, budgeted: bool = False) -> None:
        """Turn the instrument on (every :data:`SHARPNESS_EPOCHS` epochs; with ``budgeted``, every
        half epoch while within :data:`MEASURE_BUDGET`) or off."""
        self.budgeted = budgeted
        if not on:
            self.monitor = None
        elif self.monitor is None:
            ipe = self.solver.iterations_per_epoch
            self.monitor = SharpnessMonitor(max(1, ipe // 2) if budgeted else SHARPNESS_EPOCHS * ipe)


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
                track.step()
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

    def set_sharpness(self, on: bool, budgeted: bool = False) -> None:
        with self.lock:
            for t in self.tracks:
                t.set_sharpness(on, budgeted)
            self.version += 1

    def snapshot(self) -> tuple[int, list[TrackData]]:
        with self.lock:
            return self.version, [t.data() for t in self.tracks]


