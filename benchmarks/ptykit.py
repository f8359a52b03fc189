"""Helpers of the benchmarks that drive the app in a pseudo-terminal: spawn a command in a pty of a
given size, read what it writes (until some bytes appear), press keys and time their effect, stop
it, and read a process's CPU time (with its children) from /proc."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spawn_cmd(cmd: list[str], cols: int, rows: int) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(ROOT)
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
        os.execvpe(cmd[0], cmd, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd


def read_for(fd: int, seconds: float, until: bytes | None = None) -> tuple[bytes, float | None]:
    """Read for ``seconds``; if ``until`` is given, also return when it first appeared."""
    buf = bytearray()
    start = time.perf_counter()
    seen_at = None
    while True:
        left = seconds - (time.perf_counter() - start)
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], min(left, 0.05))
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            buf += chunk
            if until is not None and seen_at is None and until in buf[-(len(chunk) + len(until)):]:
                seen_at = time.perf_counter() - start
                return bytes(buf), seen_at
    return bytes(buf), seen_at


def stop(pid: int, fd: int) -> None:
    try:
        os.write(fd, b"q")
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    os.close(fd)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def presses(fd: int, n: int, targets: list[tuple[bytes, bytes]]) -> list[float]:
    """Press ``key`` and time until ``expect`` is written, cycling through ``targets``."""
    out = []
    for i in range(n):
        key, expect = targets[i % len(targets)]
        read_for(fd, 0.15)  # drain
        os.write(fd, key)
        _, seen = read_for(fd, 2.0, until=expect)
        out.append(seen if seen is not None else float("nan"))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children (/proc), in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry))
    for p in pids:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total
