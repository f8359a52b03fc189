"""Benchmark of the lab's drawing: prints figures and ratios, asserts nothing.

Run: ``python benchmarks/tui.py`` (about 40 s). Measures, in one run:

1. the median time of a full redraw of the main screen at 160x48 with every chart live (one
   engine step, then every chart rebuilt), against a naive baseline: six textual-plotext
   widgets replotting all of their data every frame (``Text.from_ansi``, no decimation);
   plus the frames per second the running app actually reaches headless at max speed;
2. key press to updated screen, in a pty while the app runs at max speed (``l`` pressed, time
   until the new lr is written to the terminal);
3. bytes per second written to a 120x40 pty while running at the default speed;
4. time from spawning ``descent-tui`` to its first frame;
5. (issue 9) key press to updated screen at 160x48 and 120x40, median and p95 over
   :data:`PRESSES` presses: the 2-D lab at max speed, and the network lab while it trains, with
   its training in a worker thread (the old way) and in a worker process (the default now);
6. CPU the app uses while the network lab is paused (the app and its children, from /proc);
7. the app's engine at max speed against the headless engine (steps per second, same settings).

Targets (issues 3 and 9): >= 30 fps full redraw, key to screen p95 < 50 ms in both labs at both
sizes, <= 150 KB/s to a 120x40 terminal, paused CPU ~0, app engine >= 50% of headless, first
frame < 1 s. ``python benchmarks/tui.py --quick`` skips 1-4 and uses 20 presses.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from textual.app import App  # noqa: E402
from textual.containers import Grid  # noqa: E402
from textual_plotext import PlotextPlot  # noqa: E402

from descent_engine.run import Settings  # noqa: E402
from tui.app import DescentApp  # noqa: E402
from tui.widgets.plot import Chart, Landscape  # noqa: E402
from tui.lab import LabScreen  # noqa: E402

sys.path.insert(1, str(Path(__file__).resolve().parent))  # after ROOT: benchmarks/tui.py is not the tui package
from ptykit import cpu_seconds, pct, presses, read_for, spawn_cmd, stop  # noqa: E402

HISTORY_STEPS = 2000
FRAMES = 30
NOTES_GDM = Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4, "init": "first"})
#: the note's momentum on mini-batches of 20: it never converges to float precision, so a run at
#: max speed keeps running for the whole measurement (the full-batch run converges at step 148
#: and stops, which would measure an idle lab)
RUNNING = Settings("notes-ls", "momentum", problem_params={"batch_size": 20},
                   rule_params={"lr": 1e-4, "beta": 0.4, "init": "first"})


# -- 1. redraw: ours vs naive ------------------------------------------------------------------
async def ours_redraw() -> float:
    app = DescentApp(NOTES_GDM, autorun=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.lab.step(HISTORY_STEPS)
        app.lab.step(1)
        screen = app.screen
        assert isinstance(screen, LabScreen)
        screen.draw()
        await pilot.pause()
        widgets = list(screen.query(Chart)) + list(screen.query(Landscape))
        times = []
        for _ in range(FRAMES):
            t = time.perf_counter()
            app.lab.step(1)
            screen.draw()  # text lines and every chart, no budget
            for w in widgets:
                w.render()
            times.append(time.perf_counter() - t)
            await pilot.pause()
        return statistics.median(times)


class NaiveApp(App):
    CSS = "Grid { grid-size: 2 3; } PlotextPlot { border: round $primary; }"

    def compose(self):
        with Grid():
            for _ in range(6):
                yield PlotextPlot()


async def naive_redraw() -> float:
    from tui.lab.model import Trace

    trace = Trace(NOTES_GDM)
    trace.run.history.capacity = None  # naive: keep and plot every point
    trace.step(HISTORY_STEPS)
    app = NaiveApp()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        plots = list(app.query(PlotextPlot))
        times = []
        for _ in range(FRAMES):
            t = time.perf_counter()
            trace.step(1)
            d = trace.data()
            step = d.step.tolist()
            series = [
                [np.log10(np.maximum(d.loss - d.loss_star, 1e-300))],
                [d.w[:, 1]],  # landscape: the trajectory as a scatter (no contours at all)
                [np.log10(np.abs(d.grad[:, 0]) + 1e-300), np.log10(np.abs(d.grad[:, 1]) + 1e-300)],
                [d.w[:, 0], d.w[:, 1]],
                [d.grad[:, 0], d.ewa, d.ewa_corrected, d.avg[:, 0]],
                [d.lr],
            ]
            for i, (plot, ys) in enumerate(zip(plots, series)):
                plt = plot.plt
                plt.clear_data()
                for y in ys:
                    if i == 1:
                        plt.scatter(d.w[:, 0].tolist(), y.tolist())
                    else:
                        plt.plot(step[: len(y)], y.tolist())
                plot.render()
            times.append(time.perf_counter() - t)
            await pilot.pause()
        return statistics.median(times)


async def live_fps(seconds: float = 3.0) -> tuple[float, float]:
    """Frames per second of the real app, headless at 160x48, max speed, frame cap lifted."""
    app = DescentApp(RUNNING, autorun=True, frame_rate=200)
    async with app.run_test(size=(160, 48)) as pilot:
        app.lab.set_speed(len(__import__("tui.lab.model", fromlist=["SPEEDS"]).SPEEDS) - 1)
        await pilot.pause(1.5)  # the engine process starts (about a second); then it is measured
        loss = app.screen.query_one("#loss", Chart)
        b0, k0, t0 = loss.builds, app.lab.k, time.perf_counter()
        await pilot.pause(seconds)
        b1, k1, t1 = loss.builds, app.lab.k, time.perf_counter()
        return (b1 - b0) / (t1 - t0), (k1 - k0) / (t1 - t0)


# -- in a pty (benchmarks/ptykit.py) --------------------------------------------------------------
APP_CMD = [sys.executable, "-m", "tui", "--problem", "notes-ls", "--batch-size", "20", "--rule", "momentum",
           "--lr", "1e-4", "--beta", "0.4", "--init", "first"]


def spawn(cols: int, rows: int) -> tuple[int, int]:
    return spawn_cmd(APP_CMD, cols, rows)


def first_frame() -> float | None:
    """Seconds from fork to the first frame (the landscape's title written to the pty)."""
    t = time.perf_counter()
    pid, fd = spawn(120, 40)
    spawned = time.perf_counter() - t
    _, seen = read_for(fd, 10.0, until=b"Landscape")
    stop(pid, fd)
    return None if seen is None else spawned + seen


def bytes_per_second(seconds: float = 5.0) -> tuple[float, float]:
    pid, fd = spawn(120, 40)
    read_for(fd, 3.0, until=b"Landscape")
    read_for(fd, 0.5)
    data, _ = read_for(fd, seconds)
    stop(pid, fd)
    esc = data.count(b"\x1b[")
    return len(data) / seconds, esc / seconds


def key_latency(presses: int = 10) -> list[float]:
    pid, fd = spawn(120, 40)
    read_for(fd, 3.0, until=b"Landscape")
    to_max_speed(fd)  # the engine is as busy as it gets
    read_for(fd, 1.0)
    out = []
    lr = 1e-4
    for i in range(presses):
        key, lr = (b"l", lr * 2) if i % 2 == 0 else (b"L", lr / 2)
        target = f"lr {lr:.2e}".encode()
        read_for(fd, 0.2)  # drain
        os.write(fd, key)
        _, seen = read_for(fd, 2.0, until=target)
        out.append(seen if seen is not None else float("nan"))
    stop(pid, fd)
    return out


# -- 5-7. issue 9: both labs at two sizes, thread against process, paused CPU, engine speed ----------
PRESSES = 50
SIZES = ((160, 48), (120, 40))
NET_HOST = [sys.executable, str(Path(__file__).resolve()), "--net-host"]


def net_host(worker: str) -> None:
    """The network lab alone (``--net-host thread|process``), training from the start."""
    from textual.app import App as _App

    from tui.netlab.screen import NetworkScreen

    from tui.app import settle_garbage_collector

    class Host(_App):
        def on_mount(self) -> None:
            self.push_screen(NetworkScreen(worker=worker), lambda _: self.exit())
            self.set_timer(1.0, settle_garbage_collector)  # as the app does (tui.app.run_app)

    Host().run()


def net_latency(worker: str, cols: int, rows: int, n: int) -> list[float]:
    pid, fd = spawn_cmd(NET_HOST + [worker], cols, rows)
    read_for(fd, 10.0, until=b"training")
    read_for(fd, 0.5)
    out = presses(fd, n, [(b"l", b"lr 0.02"), (b"L", b"lr 0.01")])
    stop(pid, fd)
    return out


def to_max_speed(fd: int) -> bool:
    """Press ``.`` until the status line says ``max`` (keys sent before the app reads its input
    are lost, so pressing eight times blind may leave it at 30/s); False if it never did."""
    for _ in range(20):
        os.write(fd, b".")
        _, seen = read_for(fd, 0.3, until=b"running max")
        if seen is not None:
            return True
    return False


def lab_latency(cols: int, rows: int, n: int) -> list[float]:
    pid, fd = spawn(cols, rows)
    read_for(fd, 5.0, until=b"Landscape")
    if not to_max_speed(fd):
        print("  (the lab never reached max speed)")
    read_for(fd, 1.0)
    lr = 1e-4
    targets = []
    for i in range(2):
        key, lr = (b"l", lr * 2) if i % 2 == 0 else (b"L", lr / 2)
        targets.append((key, f"lr {lr:.2e}".encode()))
    out = presses(fd, n, targets)
    stop(pid, fd)
    return out


def paused_cpu(worker: str, seconds: float = 3.0) -> float:
    pid, fd = spawn_cmd(NET_HOST + [worker], 120, 40)
    read_for(fd, 10.0, until=b"training")
    os.write(fd, b" ")
    read_for(fd, 2.0, until=b"paused")
    read_for(fd, 1.5)  # past the app's one garbage collection a second after the start
    c0, t0 = cpu_seconds(pid), time.perf_counter()
    read_for(fd, seconds)
    c1, t1 = cpu_seconds(pid), time.perf_counter()
    stop(pid, fd)
    return (c1 - c0) / (t1 - t0)


def headless_steps_per_second(steps: int = 100_000) -> float:
    from descent_engine.run import Run

    best = 0.0
    for _ in range(3):
        run = Run(RUNNING, capacity=4096)
        t = time.perf_counter()
        run.step(steps)
        best = max(best, steps / (time.perf_counter() - t))
    return best


def report_latency(label: str, xs: list[float]) -> None:
    good = [x for x in xs if x == x]
    if not good:
        print(f"  {label}: the update was never seen")
        return
    p95 = pct(good, 0.95)
    print(f"  {label}: median {statistics.median(good) * 1e3:6.1f} ms  p95 {p95 * 1e3:6.1f} ms  "
          f"max {max(good) * 1e3:6.1f} ms  ({len(good)}/{len(xs)} seen)  "
          f"{'meets' if p95 < 0.05 else 'MISSES'} p95 < 50 ms")


def issue9(n: int) -> None:
    print(f"key to screen, p95 over {n} presses (target p95 < 50 ms):")
    for cols, rows in SIZES:
        report_latency(f"2-D lab at max speed      {cols}x{rows}", lab_latency(cols, rows, n))
        for worker in ("thread", "process"):
            report_latency(f"network lab, {worker:7} {cols}x{rows}", net_latency(worker, cols, rows, n))
    for worker in ("thread", "process"):
        cpu = paused_cpu(worker)
        print(f"network lab paused ({worker}): {cpu * 100:.1f}% of a core (target ~0)")
    fps, sps = asyncio.run(live_fps())
    head = headless_steps_per_second()
    print(f"2-D engine: app at max speed {sps:,.0f} steps/s, headless {head:,.0f} steps/s = "
          f"{sps / head:.2f} (target >= 0.50)")


def main() -> None:
    if "--net-host" in sys.argv:
        net_host(sys.argv[sys.argv.index("--net-host") + 1])
        return
    if "--quick" in sys.argv:
        issue9(20)
        return
    print("descent-tui benchmark (targets: >= 30 fps at 160x48, key < 50 ms, < 150 KB/s, first frame < 1 s)")
    ours = asyncio.run(ours_redraw())
    naive = asyncio.run(naive_redraw())
    print(f"full redraw 160x48, {HISTORY_STEPS} steps of history, all six charts rebuilt:")
    print(f"  ours  {ours * 1e3:7.1f} ms  = {1 / ours:6.1f} fps")
    print(f"  naive {naive * 1e3:7.1f} ms  = {1 / naive:6.1f} fps   (ours is {naive / ours:.1f}x faster)")
    fps, sps = asyncio.run(live_fps())
    print(f"  live app headless at max speed: {fps:.1f} frames/s with every chart rebuilt, {sps:,.0f} steps/s")
    ff = first_frame()
    print(f"first frame in a pty: {ff * 1e3:.0f} ms" if ff is not None else "first frame: not seen in 10 s")
    lat = key_latency()
    good = [x for x in lat if x == x]
    if good:
        print(f"key to screen (pty, running at max speed): median {statistics.median(good) * 1e3:.1f} ms, "
              f"max {max(good) * 1e3:.1f} ms over {len(good)} presses")
    else:
        print("key to screen: updated lr never seen")
    bps, esc = bytes_per_second()
    print(f"bytes to a 120x40 pty while running (default speed): {bps / 1024:.1f} KB/s, {esc:,.0f} escape codes/s "
          f"({bps / 1024 / 150:.2f}x the 150 KB/s budget)")
    issue9(PRESSES)


if __name__ == "__main__":
    main()
