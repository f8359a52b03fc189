"""The 2-D lab's engine at max speed in a worker process (see :mod:`tui.background`).

At max speed the engine would take every moment the UI thread has; on the UI thread it gets a
budget per tick (measured: 0.16-0.23 of the headless engine's steps per second), in a thread it
holds the GIL and keys lag. Here a child process steps the runs as fast as it can while the UI
thread only draws.

The lab on screen stays the one truth. A *session* begins when the lab runs at max speed: the
screen's side (:class:`EngineProcess`) sends the runs' settings and their progress
(:meth:`~tui.lab.model.Trace.export_state`); the child (:func:`step_loop`) rebuilds the same runs,
takes the progress over and steps them in lockstep (the lab's own :meth:`~tui.lab.model.Lab.step`,
stopping where the lab stops), sending their progress back at most
:data:`~tui.background.FRAME_RATE` times a second. The screen adopts a reply only while nothing
changed on its side since the session began or since the last reply it adopted (no key, no step of
its own, no new runs); any change ends the session, and one from the new state begins if the lab
still runs at max speed. A reply of an ended session is dropped. The runs are deterministic (their
sampler is part of their progress), so the steps are bit for bit those the screen would have taken.

While the child starts (about a second), or if it cannot run (a problem that cannot be rebuilt
there), the lab steps on the UI thread as before.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from ..background import FRAME_RATE, BackgroundProcess
from .model import Lab

#: steps the child takes between looks at the pipe
CHUNK = 64


def step_loop(conn: Connection) -> None:
    """The child: one session at a time; steps while its runs are not done; waits otherwise.

    A thread reads the pipe all the time, so the screen's side never blocks sending a session
    (the runs' progress is larger than a pipe's buffer) while this side blocks sending a reply."""
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        try:
            while True:
                msg = conn.recv()
                inbox.put(msg)
                if msg is None:
                    return
        except (EOFError, OSError):
            inbox.put(None)

    threading.Thread(target=read, name="pipe-reader", daemon=True).start()
    lab: Lab | None = None
    token: Any = None
    last = 0.0
    conn.send(("ready",))
    while True:
        try:
            while lab is None or lab.done or not inbox.empty():
                msg = inbox.get()  # waits while there is nothing to step
                if msg is None:
                    return
                if msg[0] == "begin":
                    _, token, settings, states, max_steps, stop_flags = msg
                    lab = Lab(settings, max_steps=max_steps)
                    lab.stop_flags = stop_flags
                    for trace, state in zip(lab.traces, states):
                        trace.adopt_state(state)
                    last = time.perf_counter()
                elif msg[0] == "end":
                    lab = None
            lab.step(CHUNK)
            now = time.perf_counter()
            if lab.done or now - last >= 1.0 / FRAME_RATE:
                conn.send(("state", token, [t.export_state() for t in lab.traces]))
                last = now
        except (EOFError, OSError):
            return
        except Exception:  # a run that cannot be rebuilt here: the screen steps it itself
            conn.send(("error", token, traceback.format_exc(limit=3)))
            lab = None


def _fingerprint(lab: Lab) -> tuple:
    """What a reply must find unchanged to be adopted."""
    return (lab.version, tuple(id(t) for t in lab.traces), tuple(t.k for t in lab.traces), lab.stop_flags,
            lab.max_steps)


class EngineProcess:
    """The screen's side: :meth:`advance` in place of :meth:`Lab.advance` at max speed."""

    def __init__(self) -> None:
        self._proc: BackgroundProcess | None = None
        self._ready = False
        self._token = 0
        self._session: tuple | None = None  # the fingerprint the session's next reply must find
        #: why the child is not used (it failed to start, or a run could not be rebuilt there)
        self.error: str | None = None

    @staticmethod
    def wanted(lab: Lab) -> bool:
        return lab.running and lab.speed is None and not lab.done

    def advance(self, lab: Lab) -> int | None:
        """Steps the child took for ``lab`` since the last call (adopted), 0 while a session waits for
        its first reply, or None when the lab must step itself (not at max speed, child starting
        or unusable)."""
        if not self.wanted(lab) or self.error is not None:
            self.end()
            return None
        if self._proc is None:
            try:
                self._proc = BackgroundProcess(step_loop, name="descent-lab-engine")
            except Exception as exc:  # pragma: no cover - no processes on this machine
                self.error = f"the engine process did not start ({exc.__class__.__name__})"
                return None
        msg = self._proc.latest()
        if self._proc.error is not None:
            self.error = self._proc.error
            return None
        if msg is not None:
            self._ready = True
        if not self._ready:
            return None
        if msg is not None and msg[0] == "error" and msg[1] == self._token:
            self.error = msg[2].strip().splitlines()[-1]
            self._session = None
            return None
        fingerprint = _fingerprint(lab)
        if self._session != fingerprint:  # something changed here: a session from the lab as it is
            self.end()
            self._token += 1
            sent = self._proc.send(("begin", self._token, [t.settings for t in lab.traces],
                                    [t.export_state() for t in lab.traces], lab.max_steps, lab.stop_flags))
            if not sent:
                self.error = self._proc.error
                return None
            self._session = fingerprint
            return 0
        if msg is None or msg[0] != "state" or msg[1] != self._token:
            return 0
        before = lab.k
        for trace, state in zip(lab.traces, msg[2]):
            trace.adopt_state(state)
        self._session = _fingerprint(lab)
        return lab.k - before

    def end(self) -> None:
        """End the session (the child stops stepping; a late reply is dropped)."""
        if self._session is not None and self._proc is not None:
            self._proc.send(("end",))
        self._session = None

    def close(self) -> None:
        if self._proc is not None:
            self._proc.close()
            self._proc = None
