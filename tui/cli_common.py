"""Pieces every sub-command shares: one-line errors, atomic output files, a stderr progress bar.

Nothing here imports Textual, so the headless commands start fast.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TextIO


class CliError(Exception):
    """A user mistake: printed as ``descent-tui: error: <message>`` with exit status 2."""


@contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w") -> Iterator[TextIO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    A failed or interrupted write leaves nothing behind (no partial output file).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise CliError(f"cannot write {target}: directory {directory} does not exist")
    if target.is_dir():
        raise CliError(f"cannot write {target}: it is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise CliError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a normal file follows the umask
    try:
        with os.fdopen(fd, mode, newline="" if "b" not in mode else None) as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before a long computation) if ``path`` cannot be created."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise CliError(f"cannot write {target}: directory {directory} does not exist")
    if target.is_dir():
        raise CliError(f"cannot write {target}: it is a directory")
    if not os.access(directory, os.W_OK):
        raise CliError(f"cannot write {target}: directory {directory} is not writable")


class Progress:
    """A progress bar on stderr, shown only on a terminal and only once work has taken > ``delay`` s.

    ``update(done)`` is cheap to call often: it redraws at most ten times a second.
    """

    def __init__(self, total: int, label: str = "", stream: TextIO | None = None, delay: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.delay = delay
        self.clock = clock
        self.start = clock()
        self._last = 0.0
        self._shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.delay or now - self._last < 0.1:
            return
        self._last = now
        self._shown = True
        frac = min(max(done / self.total, 0.0), 1.0)
        width = 30
        filled = int(round(frac * width))
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {frac * 100:5.1f}%  {done}/{self.total}  eta {eta:5.1f}s ")
        self.stream.flush()

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()
