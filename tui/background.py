"""Heavy work in a child process, so the UI thread never waits for the GIL.

A :class:`BackgroundProcess` starts ``target(conn)`` in a fresh interpreter (``spawn``: safe in a
process that runs threads, as Textual does) and talks to it through a duplex pipe:

* ``send(message)``: a command down (any picklable value); never blocks for long (the child reads
  its commands between slices of work);
* ``latest()``: every message the child sent since the last call, of which only the newest is kept
  (the messages are *mergeable*: each is a whole snapshot, so a UI that falls behind skips frames
  instead of queueing them); None when nothing new came. A thread receives them as they come, so
  ``latest()`` never waits for a large message the child is still writing (measured: 80 ms once,
  the niced child descheduled halfway through a 300 KB snapshot), and the child never blocks
  sending while the UI blocks sending it a large command (a dataset, a session);
* ``close()``: asks the child to stop (``None`` down the pipe), then terminates it if it lingers.

The child's loop owns its pace: it sends a snapshot at most :data:`FRAME_RATE` times a second and
blocks in ``conn.recv()`` while it has nothing to do (a paused lab uses no CPU). The network lab's
loop is :func:`tui.netlab.remote.train_loop`, the 2-D lab's :func:`tui.lab.engine_process.step_loop`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any, Callable

#: redraws per second at most while a screen trains or runs (and snapshots a child sends)
FRAME_RATE = 10
#: the child's niceness: the UI process keeps priority over the work it hands off
NICE = 10


def _run(target: Callable[[Connection], None], conn: Connection, nice: int) -> None:
    """The child: its output would land on the parent's terminal (Textual draws on it), so none;
    it runs ``nice`` (lower priority than the UI: on a busy machine the UI gets the core first)."""
    if nice:
        try:
            os.nice(nice)
        except OSError:
            pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    target(conn)


class BackgroundProcess:
    def __init__(self, target: Callable[[Connection], None], *, name: str = "background", nice: int = NICE) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_run, args=(target, child, nice), name=name, daemon=True)
        # Textual replaces sys.stderr with an object without a file descriptor; multiprocessing's
        # resource tracker needs the real one to start
        saved, sys.stderr = sys.stderr, sys.__stderr__
        try:
            self.process.start()
        finally:
            sys.stderr = saved
        child.close()
        self.error: str | None = None
        self._lock = threading.Lock()
        self._newest: Any = None
        threading.Thread(target=self._read, name=f"{name}-reader", daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                msg = self._conn.recv()
                with self._lock:
                    self._newest = msg
        except (OSError, EOFError, ValueError) as exc:
            self.error = self.error or f"the background process stopped ({exc.__class__.__name__})"

    @property
    def alive(self) -> bool:
        return self.error is None and self.process.is_alive()

    def send(self, message: Any) -> bool:
        """Send ``message`` to the child; False (and ``error`` set) if it has gone."""
        try:
            self._conn.send(message)
            return True
        except (OSError, EOFError, ValueError) as exc:
            self.error = self.error or f"the background process stopped ({exc.__class__.__name__})"
            return False

    def latest(self) -> Any:
        """The newest message the child sent since the last call (older ones dropped), or None."""
        with self._lock:
            newest, self._newest = self._newest, None
        return newest

    def close(self, timeout: float = 1.0) -> None:
        self.send(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout)
        self._conn.close()
