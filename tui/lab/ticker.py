"""The lab's one timing mechanism: step the engine, then draw, with a key's effect painted first.

One UI timer runs exactly while the lab is running on its own (stopped when paused, finished,
or when another screen is on top: a screen underneath does no work). Each tick steps the engine
for at most :data:`STEP_BUDGET` seconds; charts are rebuilt at most :data:`FRAME_RATE` times a
second, in slices of about :data:`FRAME_BUDGET` seconds, each its own message, so a key press
waits for one slice at most, and a slice lets a waiting key go first. Frames are paced so that
building charts takes at most :data:`DRAW_SHARE` of the UI thread. At max speed the steps come
from a worker process instead (:mod:`.engine_process`): each tick adopts the steps it took, so
the UI thread only draws. After a key the text lines are drawn at once, and the charts and the
engine wait until those lines have rendered.

The owner (the lab screen) provides ``lab`` (the model), ``draw(budget, next_slice) -> bool``
(True when every chart is up to date) and ``draw_text()``. With ``autorun=False`` (tests,
snapshots) nothing steps on its own and every draw is complete, so snapshots never depend on
timing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from textual.timer import Timer

from ..background import FRAME_RATE  # redraws per second while running (both labs)
from ..widgets.plot.strips import input_pending
from .engine_process import EngineProcess
from .model import Lab

#: seconds of chart building in one go (a key press waits for one slice at most)
FRAME_BUDGET = 0.005
#: seconds of engine stepping per tick (the engine shares the UI thread: see model.py)
STEP_BUDGET = 0.008
#: engine ticks per second while running: several per frame, so a key never waits for more than
#: one STEP_BUDGET
STEP_RATE = 30
#: a key's paint holds back charts and engine for at most this many seconds
HOLD_LIMIT = 0.25
#: at most this share of the UI thread's time goes to building charts while running: a frame
#: that cost ``c`` seconds is followed by the next no sooner than ``c / DRAW_SHARE`` seconds later
#: (measured at 120x40, max speed: a frame of six charts and the landscape costs 40-60 ms, so
#: ten frames a second kept the UI thread 80% busy and a key waited behind several slices)
DRAW_SHARE = 0.2


class Owner(Protocol):
    lab: Lab

    def draw(self, budget: float | None, next_slice: bool) -> bool: ...

    def draw_text(self) -> None: ...

    def text_painted(self) -> bool: ...

    def set_interval(self, interval: float, callback, *, name: str | None = None) -> Timer: ...

    def call_after_refresh(self, callback) -> bool: ...

    def call_later(self, callback) -> bool: ...


class Ticker:
    def __init__(self, owner: Owner, *, autorun: bool, frame_rate: float = FRAME_RATE) -> None:
        self.owner = owner
        self.autorun = autorun
        self.frame_rate = frame_rate
        self.active = True  # False while another screen is on top
        self._timer: Timer | None = None
        self._last_tick = 0.0
        self._last_frame = 0.0
        self._stepped = False
        self._drawn_all = False
        self._slice_pending = False
        self._yielded = 0
        self._yielded_slices = 0
        self._new_frame = False
        self._held_since: float | None = None
        self._frame_cost = 0.0  # seconds of chart building the last complete frame took
        self._building = 0.0  # ... and the frame being built so far
        #: the engine process (max speed only; never with ``autorun=False``: tests step in-process)
        self.engine: EngineProcess | None = EngineProcess() if autorun else None

    @property
    def lab(self) -> Lab:
        return self.owner.lab

    # -- the timer ----------------------------------------------------------------------------
    def sync(self) -> None:
        """Run the timer exactly while the lab runs on its own and is on screen."""
        want = self.autorun and self.active and self.lab.running and not self.lab.done
        if want and self._timer is None:
            self._last_tick = time.perf_counter()
            self._timer = self.owner.set_interval(1.0 / max(STEP_RATE, self.frame_rate), self._tick, name="lab-tick")
        elif not want and self._timer is not None:
            self._timer.stop()
            self._timer = None
        if not want and self.engine is not None:
            self.engine.end()  # nothing steps while the lab is paused, done or covered

    @property
    def ticking(self) -> bool:
        return self._timer is not None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._held_since is not None and self.owner.text_painted():
            self._release()
        if self._held():
            return  # a key's effect is on its way to the screen (the engine catches up next tick)
        if input_pending(self.owner) and self._yielded < 3:
            self._yielded += 1  # a key waits: let it go first (dt grows, the engine catches up)
            return
        self._yielded = 0
        dt, self._last_tick = now - self._last_tick, now
        taken = self.engine.advance(self.lab) if self.engine is not None else None
        if taken is None:  # not at max speed, or the engine process is not (yet) there
            taken = self.lab.advance(min(dt, 0.25), budget=STEP_BUDGET)
        self._stepped = self._stepped or bool(taken)
        if self.lab.done:
            self.lab.running = False
            self.sync()
            self.request_frame()
        elif self._stepped and self._drawn_all and now - self._last_frame >= self.frame_interval:
            self._last_frame = now
            self._stepped = False
            self.request_frame()

    # -- frames ---------------------------------------------------------------------------------
    def request_frame(self) -> None:
        """Draw as a message of its own, queued behind any key press already waiting."""
        self._new_frame = True
        self._schedule_slice()

    def _schedule_slice(self) -> None:
        # Textual takes queued messages without yielding to the event loop; posting from a loop
        # callback lets a key the input thread has just handed over land in the queue first
        if self._slice_pending:
            return
        self._slice_pending = True
        try:
            asyncio.get_running_loop().call_soon(self.owner.call_later, self._next_slice)
        except RuntimeError:  # no running loop (shutting down)
            self._slice_pending = False

    @property
    def frame_interval(self) -> float:
        """Seconds between frames while running: the frame rate's, or longer when frames are
        costly (see :data:`DRAW_SHARE`)."""
        return max(0.95 / self.frame_rate, self._frame_cost / DRAW_SHARE)

    def redraw(self, next_slice: bool = False) -> None:
        """Draw (in real use within a budget per slice; tests draw everything)."""
        start = time.perf_counter()
        done = self.owner.draw(FRAME_BUDGET if self.autorun else None, next_slice)
        self._building = (self._building if next_slice else 0.0) + time.perf_counter() - start
        if done:
            self._frame_cost = self._building
        self._drawn_all = done
        if not done:
            self._schedule_slice()

    def _held(self) -> bool:
        since = self._held_since
        if since is not None and time.perf_counter() - since > HOLD_LIMIT:
            self._held_since = since = None
        return since is not None

    def _next_slice(self) -> None:
        self._slice_pending = False
        if self._held() or not self.active:
            return
        if input_pending(self.owner) and self._yielded_slices < 5:
            self._yielded_slices += 1  # a key waits: it goes first, this slice after it
            self._schedule_slice()
            return
        self._yielded_slices = 0
        if self._new_frame:
            self._new_frame = False
            self.redraw()
        elif not self._drawn_all:
            self.redraw(next_slice=True)

    def after_key(self) -> None:
        """After a key: the text lines now, the charts once that paint is on screen."""
        self.sync()
        if not self.autorun:
            self.redraw()
            return
        self.owner.draw_text()
        self._held_since = time.perf_counter()
        self.owner.call_after_refresh(self._try_release)

    def _try_release(self) -> None:
        """After a refresh: the charts go on once the key's text is drawn (that refresh may have
        come before its widgets asked to be repainted); if not yet, the next tick looks again."""
        if self._held_since is not None and self.owner.text_painted():
            self._release()

    def _release(self) -> None:
        self._held_since = None
        self._new_frame = False  # this is the new frame
        self.redraw()

    # -- another screen on top ------------------------------------------------------------------
    def suspend(self) -> None:
        self.active = False
        self.sync()

    def resume(self) -> None:
        self.active = True
        self.sync()
        self.redraw()

    def close(self) -> None:
        """Stop the engine process (the screen is going away)."""
        if self.engine is not None:
            self.engine.close()
