"""Pieces every sub-command shares: one-line errors, atomic output files, a stderr progress bar.

Nothing here imports Textual, so the headless commands start fast.
"""

from __future__ import annotations

import errno
import io
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TextIO

from descent_engine.params import shorten_path


class CliError(Exception):
    """A user mistake: printed as ``descent-tui: error: <message>`` with exit status 2."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is so that cleanup runs as for Ctrl-C.

    ``descent-tui`` exits with status ``128 + signum`` (143 for SIGTERM, 129 for SIGHUP).
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def shorten(value: object, limit: int = 80) -> str:
    """``value`` as text, cut in the middle to at most ``limit`` characters (for error messages)."""
    return shorten_path(value, limit)


def write_error(target: object, exc: OSError) -> CliError:
    """``cannot write PATH: No space left on device`` for an OSError while writing ``target``."""
    return CliError(f"cannot write {shorten(target)}: {exc.strerror or exc}")


def quiet_stdout() -> None:
    """Point stdout at /dev/null once writing to it failed (a closed pipe, a full disk), so the
    interpreter's last flush of it at exit cannot fail again and print a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _temp_prefix(name: str) -> str:
    # The temporary name adds about 15 characters: a name close to the file system's limit
    # would make the temporary file fail where the target itself is fine.
    return f".{name[:120]}."


@contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w") -> Iterator[TextIO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    A failed or interrupted write leaves nothing behind (no partial output file). An OSError
    while opening, writing (inside the block: the writer's own), flushing, closing or renaming
    becomes a :class:`CliError` ``cannot write PATH: <strerror>``.
    """
    target = Path(path)
    check_writable(target)
    directory = _directory(target)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target.name), suffix=".part", dir=directory)
    except OSError as exc:
        raise write_error(target, exc) from None
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a normal file follows the umask
        with os.fdopen(fd, mode, newline="" if "b" not in mode else None) as handle:
            fd = -1
            yield handle
        os.replace(tmp, target)
    except BaseException as exc:
        if fd >= 0:  # fdopen itself failed
            _quiet(os.close, fd)
        _quiet(os.unlink, tmp)
        if isinstance(exc, OSError):
            raise write_error(target, exc) from None
        raise


def _quiet(fn: Callable[..., object], *args: object) -> None:
    try:
        fn(*args)
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _directory(target: Path) -> Path:
    return target.parent if str(target.parent) else Path(".")


def _name_max(directory: Path) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):  # no pathconf (Windows) or no answer: no limit known
        return 1 << 30


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before a long computation) if ``path`` cannot be created.

    Catches a missing or unwritable directory, a directory in the way and a name longer than
    the file system allows (ENAMETOOLONG), each as one :class:`CliError` line.
    """
    target = Path(path)
    directory = _directory(target)
    try:
        os.stat(target)
    except FileNotFoundError:
        pass
    except OSError as exc:  # ENAMETOOLONG, ENOTDIR, ELOOP, EACCES ...
        raise write_error(target, exc) from None
    try:
        if not directory.is_dir():
            raise CliError(f"cannot write {shorten(target)}: directory {shorten(directory)} does not exist")
        if target.is_dir():
            raise CliError(f"cannot write {shorten(target)}: it is a directory")
    except OSError as exc:
        raise write_error(target, exc) from None
    if len(os.fsencode(target.name)) > _name_max(directory):
        raise write_error(target, OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG)))
    if not os.access(directory, os.W_OK):
        raise CliError(f"cannot write {shorten(target)}: directory {shorten(directory)} is not writable")


class Progress:
    """A progress bar on stderr, shown only on a terminal and only once work has taken > ``delay`` s.

    ``update(done)`` is cheap to call often: it redraws at most ten times a second. The bar is
    kept three columns short of the terminal's width (it never wraps), and :meth:`close` blanks
    exactly what was drawn, so nothing of it is left on the line. As a context manager it is
    closed however the block ends (an error, Ctrl-C, SIGTERM).
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
        self._drawn = 0  # characters on the line now

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return 80

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if now - self.start < self.delay or now - self._last < 0.1:
            return
        self._last = now
        frac = min(max(done / self.total, 0.0), 1.0)
        width = 30
        filled = int(round(frac * width))
        elapsed = now - self.start
        eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
        bar = "#" * filled + "-" * (width - filled)
        text = f"{self.label} [{bar}] {frac * 100:5.1f}%  {done}/{self.total}  eta {eta:5.1f}s"
        # three columns spare: the terminal echoes Ctrl-C as "^C" after the bar, and a line that
        # wraps can no longer be blanked with "\r"
        room = max(self._columns() - 3, 1)
        text = text[:room].ljust(min(self._drawn, room))  # covers the end of a longer old line
        self._write("\r" + text)
        self._drawn = len(text)

    def close(self) -> None:
        """Blank the bar's line and put the cursor at its start (what follows starts clean)."""
        if self._drawn:
            drawn, self._drawn = self._drawn, 0
            self._write("\r" + " " * (drawn + 2) + "\r")  # + 2: the "^C" echoed after it

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away (SIGHUP): nothing to clear
            self.enabled = False
