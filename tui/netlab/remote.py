"""The network lab's training in a worker process (see :mod:`tui.background`).

:func:`train_loop` is the child: it owns one :class:`~.job.TrainingJob` at a time, trains it while
told to run, and sends a snapshot (``job id, version, track data, slices done, done, stepped``) at
most :data:`~tui.background.FRAME_RATE` times a second, after every slice it was asked for, and
when it pauses. Paused, it blocks on the pipe.

:class:`RemoteJob` is the screen's side: the reading surface of a TrainingJob (``snapshot``,
``done``, ``stepped``, ``running``, ``pace``, ``train_rounds``) over the pipe. It is built from the
same :class:`~.job.Track` objects the screen validated, so the screen draws the run's first frame
(and the key's effect) before the child has taken a step; the child rebuilds the same solvers from
the same plans and seeds.
"""

from __future__ import annotations

import hashlib
import time
import traceback
from dataclasses import replace
from multiprocessing.connection import Connection
from typing import Any, Sequence

import numpy as np

from descent_engine.network.data import Dataset

from ..background import FRAME_RATE, BackgroundProcess
from .job import WORKER_BUDGET, Track, TrackData, TrainingJob


def train_loop(conn: Connection) -> None:
    job: TrainingJob | None = None
    job_id: Any = None
    running, pace, slices, last = False, None, 0, 0.0
    datasets: dict[str, Dataset] = {}  # sent once each: a restart sends only its plans

    def send() -> None:
        nonlocal last
        version, tracks = job.snapshot()
        conn.send(("snapshot", job_id, version, tracks, slices, job.done, job.stepped))
        last = time.perf_counter()

    while True:
        try:
            if job is None or not running or job.done or conn.poll():
                msg = conn.recv()  # blocks while there is nothing to train
                if msg is None:
                    return
                kind = msg[0]
                if kind == "data":
                    datasets[msg[1]] = msg[2]
                elif kind == "job":
                    _, job_id, specs, options = msg
                    job = TrainingJob([Track(p, p.config.build(data=datasets[d])) for p, d in specs], **options)
                    job.running, slices = running, 0
                elif kind == "run":
                    running = bool(msg[1])
                    if job is not None:
                        job.running = running
                        if not running:
                            send()
                elif kind == "pace":
                    pace = msg[1]
                elif kind == "sharpness" and job is not None:
                    job.set_sharpness(msg[1], budgeted=True)  # live: held to the time budget
                    send()
                elif kind == "slice" and job is not None:
                    job.train_rounds(msg[1])
                    slices += 1
                    send()
                continue
            if pace:
                job._round()
                time.sleep(1.0 / pace)
            else:
                job.train_for(WORKER_BUDGET)
            if job.done or time.perf_counter() - last >= 1.0 / FRAME_RATE:
                send()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        except Exception as exc:  # a bug or a numerical fault in training: say so, keep serving
            running = False
            try:
                conn.send(("error", job_id, f"{exc.__class__.__name__}: {exc}", traceback.format_exc()))
            except (OSError, EOFError):
                return


def data_key(data: Dataset) -> str:
    """A name for a dataset's contents (the child keeps each one it was sent under it)."""
    h = hashlib.blake2b(digest_size=16)
    for a in (data.X_train, data.y_train, data.X_val, data.y_val):
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(a.data)
    return f"{data.name}:{h.hexdigest()}"


class RemoteJob:
    """One view's runs trained in ``process``; reads like a :class:`~.job.TrainingJob`."""

    _ids = 0

    def __init__(self, process: BackgroundProcess, tracks: Sequence[Track], datasets: Sequence[Any],
                 options: dict[str, Any] | None = None) -> None:
        RemoteJob._ids += 1
        self.id = RemoteJob._ids
        self.process = process
        self.tracks_data: list[TrackData] = [t.data() for t in tracks]
        self.version = 0
        self._done = all(t.solver.done for t in tracks)
        self._stepped = False
        self._running = False
        self._pace: int | None = None
        self._slices_sent = self._slices_done = 0
        self.error: str | None = None
        sent = process.__dict__.setdefault("datasets_sent", set())
        named = process.__dict__.setdefault("dataset_keys", {})  # id -> (dataset, key): hash each once
        keys = []
        for d in datasets:
            if id(d) not in named or named[id(d)][0] is not d:
                named[id(d)] = (d, data_key(d))
            key = named[id(d)][1]
            if key not in sent:
                process.send(("data", key, d))
                sent.add(key)
            keys.append(key)
        process.send(("job", self.id, [(replace(t.plan, data=None), k) for t, k in zip(tracks, keys)], options or {}))

    # -- commands ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @running.setter
    def running(self, value: bool) -> None:
        if bool(value) != self._running:
            self._running = bool(value)
            if not self._running:
                self._slices_sent += 1  # the child answers a pause with a snapshot: wait for it
            self.process.send(("run", self._running))

    @property
    def pace(self) -> int | None:
        return self._pace

    @pace.setter
    def pace(self, value: int | None) -> None:
        if value != self._pace:
            self._pace = value
            self.process.send(("pace", value))

    def set_sharpness(self, on: bool, budgeted: bool = True) -> None:
        self._slices_sent += 1  # answered with a snapshot
        self.process.send(("sharpness", bool(on)))

    def train_rounds(self, rounds: int) -> int:
        """Ask for one slice; its snapshot arrives with a later :meth:`poll`."""
        self._slices_sent += 1
        self.process.send(("slice", rounds))
        return 0

    # -- reading ----------------------------------------------------------------------------------
    def poll(self) -> bool:
        """Take the newest snapshot the child sent; True if it moved this job on."""
        msg = self.process.latest()
        if msg is None or msg[1] != self.id:
            if self.process.error and not self.error:
                self.error = self.process.error
            return False
        if msg[0] == "error":
            self.error, self._running = msg[2], False
            return True
        _, _, self.version, self.tracks_data, self._slices_done, self._done, self._stepped = msg
        return True

    def snapshot(self) -> tuple[int, list[TrackData]]:
        return self.version, list(self.tracks_data)

    @property
    def done(self) -> bool:
        return self._done

    @property
    def stepped(self) -> bool:
        return self._stepped

    @property
    def active(self) -> bool:
        """True while the child has work of this job to report (training, or slices not yet seen)."""
        return self.error is None and not self._done and (self._running or self._slices_done < self._slices_sent)
