"""Driving the engine for the app: live traces, the ghost, speeds and lockstep compare runs.

No Textual here, so it is tested and benchmarked on its own. The app calls :meth:`Lab.advance`
from one UI timer with the time elapsed; ``advance`` steps for at most a small time budget, so a
key press never waits for more than one budget (the engine shares the UI thread instead of
fighting it for the GIL: measured, a free-running engine thread made keys lag 150+ ms, and a
duty-cycled one (2 ms of steps, then a 1-4 ms sleep, switch interval 1 or 5 ms) still gave a
key-to-screen median of 36-58 ms against 9-32 ms here, for no more steps per second).
Tests call :meth:`Lab.step` directly and never touch a clock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from descent_engine.adjust import MAX_COMPARE
from descent_engine.averages import DEFAULT_BETA, EwaState
from descent_engine.rules import RULES
from descent_engine.run import Run, Settings

#: steps per second the `,`/`.` keys cycle through; None = as fast as the budget allows
SPEEDS: tuple[int | None, ...] = (1, 3, 10, 30, 100, 300, 1000, 3000, None)
DEFAULT_SPEED_INDEX = 3
#: rows kept per run (the engine's History halves itself beyond this), enough for any chart width
CAPACITY = 4096
#: the note's comparison: plain gd against (EWA-form) momentum
DEFAULT_COMPARE = ("gd", "momentum")


def speed_text(speed: int | None) -> str:
    return "max" if speed is None else f"{speed}/s"


def next_rule_to_add(current: Sequence[str]) -> str | None:
    """The first registry rule not yet compared, or None when four are on screen (or none left)."""
    if len(current) >= MAX_COMPARE:
        return None
    return next((name for name in RULES if name not in current), None)


class _EwaBuffer:
    """step, EWA and bias-corrected EWA rows, decimated like the engine's History (NumPy rows:
    no Python object per row for the garbage collector to walk, and a cheap copy to pickle)."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.stride = 1
        self.n = 0
        self.data = np.empty((capacity, 3))

    def append(self, step: int, v: float, vc: float) -> None:
        if step % self.stride:
            return
        if self.n >= self.capacity:
            self.stride *= 2
            keep = self.data[: self.n][self.data[: self.n, 0] % self.stride == 0]
            self.n = keep.shape[0]
            self.data[: self.n] = keep
            if step % self.stride:
                return
        row = self.data[self.n]
        row[0], row[1], row[2] = step, v, vc
        self.n += 1

    @property
    def rows(self) -> np.ndarray:
        return self.data[: self.n]

    def export(self) -> tuple:
        return self.stride, self.rows.copy()

    def adopt(self, state: tuple) -> None:
        self.stride, rows = state
        self.n = rows.shape[0]
        self.data[: self.n] = rows


#: runs kept in the lab's history (the oldest dropped beyond)
HISTORY_SIZE = 50


@dataclass(frozen=True)
class RunRecord:
    """One finished (replaced) run of the lab's history: its settings, what it reached, and its
    data, so it can come back as the ghost."""

    number: int
    data: "TraceData"
    converged_at: int | None

    @property
    def settings(self) -> Settings:
        return self.data.settings

    @property
    def steps(self) -> int:
        return int(self.data.step[-1]) if self.data.step.size else 0

    @property
    def final_gap(self) -> float:
        return float(self.data.loss[-1] - self.data.loss_star) if self.data.loss.size else float("nan")


@dataclass(frozen=True)
class TraceData:
    """A frozen copy of what the charts draw for one run (also what a ghost keeps)."""

    label: str
    settings: Settings
    step: np.ndarray
    lr: np.ndarray
    loss: np.ndarray
    w: np.ndarray
    grad: np.ndarray
    avg: np.ndarray
    ewa_step: np.ndarray
    ewa: np.ndarray
    ewa_corrected: np.ndarray
    ewa_beta: float
    loss_star: float
    diverged_at: int | None


class Trace:
    """One live run plus a streaming EWA of its first gradient component (exact, every step).

    The EWA is :class:`descent_engine.averages.EwaState`: the same recurrence and bias correction
    as the rules' own averages and :func:`descent_engine.ewa.ewa` over a whole series."""

    def __init__(self, settings: Settings, label: str | None = None) -> None:
        self.run = Run(settings, capacity=CAPACITY)
        self.label = label or self.run.rule.name
        main = self.run.rule.main_beta
        self.ewa_beta = float(self.run.hp[main]) if main else DEFAULT_BETA
        self._ewa = EwaState()
        self._ewa_rows = _EwaBuffer()
        self._cache: tuple[int, TraceData] | None = None
        self._record()

    @property
    def settings(self) -> Settings:
        return self.run.settings

    @property
    def k(self) -> int:
        return self.run.k

    @property
    def diverged_at(self) -> int | None:
        return self.run.diverged_at

    @property
    def converged_at(self) -> int | None:
        return self.run.converged_at

    def _record(self) -> None:
        g0 = float(self.run.grad[0])
        if np.isfinite(g0):
            self._ewa = self._ewa.update(g0, self.ewa_beta)
        self._ewa_rows.append(self.run.k, self._ewa.v, self._ewa.corrected(self.ewa_beta))

    def export_state(self) -> tuple:
        """The run's progress and the EWA's (picklable; see :meth:`Run.export_state`)."""
        return self.run.export_state(), self._ewa, self._ewa_rows.export()

    def adopt_state(self, state: tuple) -> None:
        """Continue from ``state`` (:meth:`export_state` of a trace with the same settings)."""
        run, self._ewa, rows = state
        self._ewa_rows.adopt(rows)
        self.run.adopt_state(run)
        self._cache = None

    def step(self, n: int, stop_at_convergence: bool = False) -> int:
        """Up to ``n`` steps (fewer at divergence, or at convergence when asked to stop there:
        the run then stands exactly at its "converged at step k")."""
        taken = 0
        run = self.run
        while taken < n and run.diverged_at is None and not (stop_at_convergence and run.converged_at is not None):
            if not run.step(1):
                break
            self._record()
            taken += 1
        return taken

    def data(self) -> TraceData:
        """Arrays for the charts (cached per step, so several charts share one copy)."""
        if self._cache is not None and self._cache[0] == self.run.k:
            return self._cache[1]
        a = self.run.history.arrays()
        rows = self._ewa_rows.rows.copy()
        data = TraceData(
            self.label, self.settings, a["step"], a["lr"], a["loss"], a["w"], a["grad"], a["avg"],
            rows[:, 0], rows[:, 1], rows[:, 2], self.ewa_beta, self.run.problem.loss_star, self.run.diverged_at,
        )
        self._cache = (self.run.k, data)
        return data


class Lab:
    """The runs on screen: one (or up to four in compare mode) live traces and the last ghost.

    ``version`` increases on every change of runs (not on steps), so charts can key on it.
    """

    def __init__(self, settings: Sequence[Settings], compare: bool = False, max_steps: int | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.compare = compare
        #: runs stop here (``--steps``, a preset's steps); None: only at convergence
        self.max_steps = max_steps
        #: the runs stop where they converge / at ``max_steps``; a key turns either off (run on)
        self.stop_at_convergence = True
        self.stop_at_limit = True
        self.traces: list[Trace] = [Trace(s) for s in settings]
        self.ghosts: list[TraceData] = []
        self.speed_index = DEFAULT_SPEED_INDEX
        #: every run replaced so far (newest last, at most HISTORY_SIZE)
        self.history: list[RunRecord] = []
        self._recorded = 0
        self.running = False
        self.version = 0
        self._carry = 0.0
        self._clock = clock

    # -- what is on screen ---------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The settings of the first (in single mode: the only) run."""
        return self.traces[0].settings

    @property
    def speed(self) -> int | None:
        return SPEEDS[self.speed_index]

    @property
    def k(self) -> int:
        return max(t.k for t in self.traces)

    @property
    def diverged(self) -> bool:
        """Every run has diverged: nothing can step any more."""
        return all(t.diverged_at is not None for t in self.traces)

    def _finished(self, t: Trace) -> bool:
        if t.diverged_at is not None:
            return True
        if self.stop_at_convergence and t.converged_at is not None:
            return True
        return self._at_limit(t.k)

    def _at_limit(self, k: int) -> bool:
        return self.stop_at_limit and self.max_steps is not None and k >= self.max_steps

    @property
    def done(self) -> bool:
        """True when no run steps on its own any more: each diverged, converged or is at the limit."""
        return all(self._finished(t) for t in self.traces)

    def stop_reason(self) -> str:
        """Why the runs stopped, as the status line says it ("converged at step 812", ...)."""
        t = self.traces[0] if len(self.traces) == 1 else None
        if self.diverged:
            return f"diverged at step {self.traces[0].diverged_at}" if t else "every run diverged"
        if t is not None and t.converged_at is not None and self.stop_at_convergence:
            return f"converged at step {t.converged_at}"
        if self._at_limit(self.k):
            return f"stopped at step {self.k} (the step limit)"
        return "every run stopped" if self.done else ""

    def run_on(self) -> None:
        """Keep stepping past what stopped the runs (a key asked to): past convergence (the step
        limit, if not reached yet, still stops them), and past the step limit once it is reached."""
        if self._at_limit(self.k):
            self.stop_at_limit = False
        if any(t.converged_at is not None for t in self.traces):
            self.stop_at_convergence = False

    @property
    def stop_flags(self) -> tuple[bool, bool]:
        """(stop at convergence, stop at the step limit)."""
        return self.stop_at_convergence, self.stop_at_limit

    @stop_flags.setter
    def stop_flags(self, flags: tuple[bool, bool]) -> None:
        self.stop_at_convergence, self.stop_at_limit = flags

    # -- changes ---------------------------------------------------------------------------------
    def _remember(self) -> None:
        """The runs on screen go into the history (runs that never stepped are no run)."""
        for t in self.traces:
            if t.k > 0:
                self._recorded += 1
                self.history.append(RunRecord(self._recorded, t.data(), t.converged_at))
        del self.history[:-HISTORY_SIZE]

    def make_ghost(self, record: RunRecord) -> None:
        """A run of the history comes back as the ghost (on the same problem only: ValueError else)."""
        if record.settings.problem != self.settings.problem:
            raise ValueError(f"run {record.number} ran on {record.settings.problem}, not {self.settings.problem}")
        self.ghosts = [record.data]
        self.version += 1

    def apply(self, settings: Sequence[Settings], compare: bool | None = None, ghost: bool = True) -> None:
        """Restart with new settings from the same start; the old runs become the ghost."""
        new = [Trace(s) for s in settings]  # may raise ParamError: nothing changes then
        self._remember()
        if ghost and not self.compare and (compare is None or not compare):
            if self.k > 0:  # a run that never stepped is no ghost: keep the one before it
                self.ghosts = [t.data() for t in self.traces]
        else:
            self.ghosts = []
        # a ghost is only context on the same problem (another landscape, w* and scale otherwise);
        # a change of the problem's own settings (batch size, kappa) keeps it, for comparison
        self.ghosts = [g for g in self.ghosts if g.settings.problem == new[0].settings.problem]
        if compare is not None:
            self.compare = compare
        self.traces = new
        self.stop_flags = (True, True)
        self._carry = 0.0
        self.version += 1

    def reset(self) -> None:
        """Restart the same settings; the ghost stays as it was."""
        self._remember()
        self.traces = [Trace(t.settings) for t in self.traces]
        self.stop_flags = (True, True)
        self._carry = 0.0
        self.version += 1

    def set_speed(self, index: int) -> None:
        self.speed_index = min(max(index, 0), len(SPEEDS) - 1)
        self._carry = 0.0

    # -- stepping --------------------------------------------------------------------------------
    def step(self, n: int = 1) -> int:
        """Advance every live run by ``n`` steps in lockstep (none past the step limit, while the
        lab stops there); returns the most steps any took."""
        if self.stop_at_limit and self.max_steps is not None:
            n = min(n, self.max_steps - self.k)
        stop = self.stop_at_convergence
        return max(t.step(n, stop) for t in self.traces) if n > 0 else 0

    def advance(self, dt: float, budget: float = 0.012) -> int:
        """Steps due after ``dt`` seconds at the current speed, for at most ``budget`` seconds."""
        if not self.running or self.done:
            return 0
        speed = self.speed
        if speed is None:
            due = 1 << 30
        else:
            self._carry = min(self._carry + speed * dt, speed * 0.5 + 1)
            due = int(self._carry)
            self._carry -= due
        taken = 0
        start = self._clock()
        chunk = 1 if speed is not None and speed <= 30 else 16
        while taken < due and not self.done:
            taken += self.step(min(chunk, due - taken))
            if self._clock() - start > budget:
                break
        return taken
