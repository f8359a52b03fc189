"""The descent-tui lab: a Textual app over :mod:`descent_engine`.

Data flows one way: key -> action -> new immutable Settings -> :class:`~tui.driver.Lab` (new
runs, the old ones kept as the ghost) -> charts. One UI timer is in charge of stepping and
drawing while running (bounded rate, no redraw when nothing changed); it is stopped when paused,
so a paused app uses no CPU. ``DescentApp(settings, autorun=False)`` never steps on its own:
tests advance it with the ``n`` key only, which makes every snapshot deterministic.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.timer import Timer

from descent_engine import adjust
from descent_engine.params import ParamError
from descent_engine.problems import PROBLEMS
from descent_engine.rules import RULES, get_rule
from descent_engine.run import Settings
from descent_engine.schedules import SCHEDULES

from .commands import LabCommands
from .compare import DEFAULT_COMPARE, next_rule_to_add
from .driver import MAX_COMPARE, Lab, speed_text
from .lab import LabScreen

#: redraws per second while running (the bytes sent to the terminal scale with it)
FRAME_RATE = 10

#: seconds of chart building in one go: a frame's charts are built in slices of about this, each
#: its own message, so a key press waits for one slice at most, never for a whole frame
FRAME_BUDGET = 0.008

#: seconds of engine stepping per tick (the engine shares the UI thread: see tui/driver.py)
STEP_BUDGET = 0.008

#: engine ticks per second while running: several per frame, so max speed keeps the engine
#: busy ~25% of the time while a key never waits for more than one STEP_BUDGET
STEP_RATE = 30

#: actions that act on the lab; disabled (and hidden) while another screen is on top
LAB_ACTIONS = {
    "toggle_run", "step", "reset", "rule", "beta", "lr", "schedule", "problem", "speed", "compare",
    "add_rule", "remove_rule", "ewa_lab", "network",
}


def default_settings() -> Settings:
    """The note's momentum run (the ``notes-gdm`` preset)."""
    try:
        from descent_engine.presets import DEFAULT_PRESET, PRESETS

        return PRESETS[DEFAULT_PRESET].settings
    except ImportError:  # pragma: no cover - presets land with the CLI issue
        return Settings("notes-ls", "momentum", rule_params={"lr": 1e-4, "beta": 0.4, "init": "first"})


def lab_problems() -> list[str]:
    """The problems the lab can draw (two dimensions: a landscape)."""
    return [name for name, spec in PROBLEMS.items() if spec.planar]


def check_lab_settings(settings: Settings) -> None:
    """ParamError (one line) for settings the lab cannot show."""
    spec = PROBLEMS.get(settings.problem)
    if not spec.planar:
        raise ParamError(f"the lab draws 2-D problems; {spec.name} has more dimensions: run it headless "
                         f"(descent-tui run --problem {spec.name} ...)")


def _cycle(names: Sequence[str], current: str, direction: int) -> str:
    names = list(names)
    i = names.index(current) if current in names else -1
    return names[(i + direction) % len(names)]


class DescentApp(App):
    """The lab. ``autorun=False`` starts paused and never steps on its own (for tests)."""

    TITLE = "descent-tui"
    CSS_PATH = "descent.tcss"
    COMMANDS = App.COMMANDS | {LabCommands}
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("space", "toggle_run", "run/pause"),
        Binding("n", "step", "step"),
        Binding("r", "reset", "reset"),
        Binding("u", "rule(1)", "rule", key_display="u/U", tooltip="next rule"),
        Binding("U", "rule(-1)", "previous rule", show=False),
        Binding("b", "beta(1)", "β", key_display="b/B", tooltip="raise the rule's main β"),
        Binding("B", "beta(-1)", "lower β", show=False),
        Binding("l", "lr(2.0)", "lr ×2/÷2", key_display="l/L", tooltip="double lr"),
        Binding("L", "lr(0.5)", "halve lr", show=False),
        Binding("d", "schedule(1)", "schedule", key_display="d/D", tooltip="next schedule"),
        Binding("D", "schedule(-1)", "previous schedule", show=False),
        Binding("p", "problem(1)", "problem", key_display="p/P", tooltip="next problem"),
        Binding("P", "problem(-1)", "previous problem", show=False),
        Binding("comma", "speed(-1)", "slower", key_display=","),
        Binding("full_stop", "speed(1)", "faster", key_display="."),
        Binding("c", "compare", "compare"),
        Binding("a", "add_rule", "add rule"),
        Binding("x", "remove_rule", "remove rule"),
        Binding("e", "ewa_lab", "EWA lab"),
        Binding("t", "network", "network lab"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("s", "screenshot", "screenshot", show=False,
                tooltip="save an SVG screenshot of the screen (current directory or --screenshot-dir)"),
        Binding("ctrl+p", "command_palette", "set value", show=True),
        Binding("q", "quit", "quit"),
    ]

    def __init__(self, settings: Settings | None = None, *, autorun: bool = True, compare: bool = False,
                 frame_rate: float = FRAME_RATE, screenshot_dir: str | os.PathLike | None = None,
                 compare_set: Sequence[Settings] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.autorun = autorun
        #: where ``s`` saves screenshots (None: the current directory)
        self.screenshot_dir = Path(screenshot_dir) if screenshot_dir is not None else None
        self.frame_rate = frame_rate
        base = settings if settings is not None else default_settings()
        self.lab = Lab([base])
        self._single_settings = base
        if compare_set:
            self.lab.apply(list(compare_set)[:MAX_COMPARE], compare=True, ghost=False)
        elif compare:
            self._enter_compare()
        self.lab.running = autorun
        #: the user's wish to run: a change of setting after a divergence resumes running
        self._resume = autorun
        self._timer: Timer | None = None
        self._last_tick = 0.0
        self._last_frame = 0.0
        self._stepped = False
        self.first_frame_at: float | None = None
        self._drawn_all = False
        self._slice_pending = False
        self._yielded = 0
        self._new_frame = False
        self._held_since: float | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.push_screen(LabScreen())
        self.call_after_refresh(self._first_frame)
        self._sync_timer()

    def _first_frame(self) -> None:
        self.redraw()
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()

    def _sync_timer(self) -> None:
        """Run the one UI timer exactly while the lab is running (and allowed to run on its own)."""
        want = self.autorun and self.lab.running and not self.lab.done
        if want and self._timer is None:
            self._last_tick = time.perf_counter()
            self._timer = self.set_interval(1.0 / max(STEP_RATE, self.frame_rate), self._tick, name="lab-tick")
        elif not want and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _input_pending(self) -> bool:
        """A message (a key press, most likely) waits in the app's queue."""
        queue = getattr(self, "_message_queue", None)
        return queue is not None and not queue.empty()

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._held():
            return  # a key's effect is on its way to the screen (the engine catches up next tick)
        if self._input_pending() and self._yielded < 3:
            # a key waits: let it go first (the engine catches up on the next tick: dt grows)
            self._yielded += 1
            return
        self._yielded = 0
        dt, self._last_tick = now - self._last_tick, now
        taken = self.lab.advance(min(dt, 0.25), budget=STEP_BUDGET)
        self._stepped = self._stepped or bool(taken)
        if self.lab.done:
            self.lab.running = False
            self._sync_timer()
            self._request_frame()
        elif self._stepped and self._drawn_all and now - self._last_frame >= 0.95 / self.frame_rate:
            # charts at the bounded frame rate (not at every engine tick); a frame still being
            # drawn in slices is finished first
            self._last_frame = now
            self._stepped = False
            self._request_frame()

    def _request_frame(self) -> None:
        """Draw as a message of its own, queued behind any key press already waiting."""
        self._new_frame = True
        self._schedule_slice()

    def _schedule_slice(self) -> None:
        """Queue the next chart slice behind any key press that has reached the event loop.

        Textual's message loop takes queued messages without yielding to the event loop, so a
        slice posted straight from a slice would run the whole frame before a key the input
        thread has just handed over (and before the screen paints). Posting from a loop
        callback lets the loop run first: the key's message lands in the queue ahead.
        """
        if self._slice_pending:
            return
        self._slice_pending = True
        try:
            asyncio.get_running_loop().call_soon(self.call_later, self._next_slice)
        except RuntimeError:  # no running loop (shutting down)
            self._slice_pending = False

    def redraw(self, next_slice: bool = False) -> None:
        """Draw the lab. In real use within a time budget per slice (tests draw everything)."""
        try:
            screen = self.screen
        except ScreenStackError:  # shutting down
            return
        if isinstance(screen, LabScreen):
            budget = FRAME_BUDGET if self.autorun else None
            try:
                done = screen.redraw(self.lab, self.key_hints(), budget, next_slice=next_slice)
            except NoMatches:  # widgets already removed (shutting down)
                return
            self._drawn_all = done
            if not done:
                self._schedule_slice()  # the next slice of charts, after any waiting key press

    def _held(self) -> bool:
        """True from a key press until its effect was painted (at most a quarter second)."""
        since = self._held_since
        if since is not None and time.perf_counter() - since > 0.25:
            self._held_since = since = None
        return since is not None

    def _next_slice(self) -> None:
        self._slice_pending = False
        if self._held():
            return  # the release after the paint starts a new frame
        if self._new_frame:
            self._new_frame = False
            self.redraw()
        elif not self._drawn_all:
            self.redraw(next_slice=True)

    def redraw_soon(self) -> None:
        """After a key: the text lines now (painted in the next frame), the charts right after.

        A key's effect reaches the terminal without waiting behind chart builds. Tests
        (autorun=False) draw everything at once, so snapshots never depend on timing.
        """
        if not self.autorun:
            self.redraw()
            return
        screen = self.screen
        if isinstance(screen, LabScreen):
            screen.redraw_text(self.lab, self.key_hints())
            # charts and engine wait until the lines are on screen: the paint carries the key's
            # effect alone instead of behind a chart slice or an engine tick
            self._held_since = time.perf_counter()
            self.call_after_refresh(self._release)

    def _release(self) -> None:
        self._held_since = None
        self._new_frame = False  # this is the new frame
        self.redraw()

    def key_hints(self) -> list[tuple[str, str]]:
        out = []
        for b in self.BINDINGS:
            if not isinstance(b, Binding) or not b.show:
                continue
            action, _, _ = b.action.partition("(")
            if self.check_action(action, ()) is False:
                continue
            out.append((b.key_display or b.key, b.description))
        return out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in LAB_ACTIONS and not isinstance(self.screen, LabScreen):
            return False
        if action in ("add_rule", "remove_rule") and not self.lab.compare:
            return False
        return True

    # -- changing settings ------------------------------------------------------------------------
    def change(self, settings: Sequence[Settings], compare: bool | None = None) -> bool:
        """Restart with new settings (old runs become the ghost); a bad value is a notification."""
        try:
            self.lab.apply(list(settings), compare=compare)
        except ParamError as exc:
            self.notify(str(exc), severity="error", title="not changed")
            return False
        if not self.lab.compare:
            self._single_settings = self.lab.settings
        self._after_change()
        return True

    def _after_change(self) -> None:
        if self._resume and not self.lab.done:
            self.lab.running = True
        self._sync_timer()
        self.redraw_soon()

    def _all_settings(self) -> list[Settings]:
        return [t.settings for t in self.lab.traces]

    def adjust_all(self, change, what: str = "not changed") -> bool:
        """Apply an engine adjustment (:mod:`descent_engine.adjust`) to every run on screen."""
        try:
            out = adjust.apply(self._all_settings(), change)
        except ParamError as exc:
            self.notify(str(exc), severity="error", title=what)
            return False
        return self.change(out)

    def set_param(self, kind: str, name: str, text: str) -> bool:
        """Set a rule/schedule/problem hyper-parameter from typed text (validated by its Param)."""
        return self.adjust_all(lambda s: adjust.set_param(s, kind, name, text), "not set")

    def set_choice(self, kind: str, name: str) -> bool:
        """Switch rule, schedule or problem by name (as the keys do)."""
        if kind == "rule":
            return self._switch_rule(get_rule(name).name)
        if kind == "schedule":
            return self.adjust_all(lambda s: adjust.switch_schedule(s, name))
        if kind == "problem":
            try:
                check_lab_settings(replace(self.lab.settings, problem=name, problem_params={}))
            except ParamError as exc:
                self.notify(str(exc), severity="error", title="not changed")
                return False
            return self.adjust_all(lambda s: adjust.switch_problem(s, name))
        if kind == "preset":
            from descent_engine.presets import get_preset

            return self.change([get_preset(name).settings], compare=False)
        raise ValueError(kind)

    def _switch_rule(self, name: str) -> bool:
        if self.lab.compare:
            current = self._all_settings()
            if name in [get_rule(s.rule).name for s in current]:
                self.notify(f"{name} is already compared")
                return False
            return self.change(adjust.apply(current, lambda s: adjust.switch_rule(s, name), index=len(current) - 1))
        return self.change([adjust.switch_rule(self.lab.settings, name)])

    # -- actions ----------------------------------------------------------------------------------
    def action_toggle_run(self) -> None:
        if self.lab.done:
            # nothing to run or pause: the wish to run stays as it was, so the next run (after a
            # change of setting) runs if this one was running
            k = self.lab.traces[0].diverged_at
            self.notify(f"diverged at step {k}: change a setting or press r to restart", severity="warning")
            self.lab.running = False
        else:
            self.lab.running = not self.lab.running
            self._resume = self.lab.running
        self._sync_timer()
        self.redraw_soon()

    def action_step(self) -> None:
        if self.lab.done:
            self.notify(f"diverged at step {self.lab.traces[0].diverged_at}: change a setting or press r",
                        severity="warning")
        self.lab.step(1)
        if self.lab.done:
            self._sync_timer()
        self.redraw_soon()

    def action_reset(self) -> None:
        self.lab.reset()
        self._after_change()

    def action_rule(self, direction: int) -> None:
        current = get_rule(self.lab.traces[-1].settings.rule).name
        names = list(RULES)
        if self.lab.compare:
            taken = {get_rule(t.settings.rule).name for t in self.lab.traces[:-1]}
            names = [n for n in names if n not in taken]
        self._switch_rule(_cycle(names, current, direction))

    def action_beta(self, direction: int) -> None:
        current = self._all_settings()
        if all(adjust.main_beta(s) is None for s in current):
            self.notify(f"{self.lab.settings.rule} has no beta")
            return
        out = adjust.apply(current, lambda s: adjust.step_beta(s, direction))
        if out == current:
            self.notify("β is at the end of its range")
            return
        self.change(out)

    def action_lr(self, factor: float) -> None:
        self.adjust_all(lambda s: adjust.scale_lr(s, factor))

    def action_schedule(self, direction: int) -> None:
        self.set_choice("schedule", _cycle(list(SCHEDULES), self.lab.settings.schedule, direction))

    def action_problem(self, direction: int) -> None:
        self.set_choice("problem", _cycle(lab_problems(), self.lab.settings.problem, direction))

    def action_speed(self, direction: int) -> None:
        self.lab.set_speed(self.lab.speed_index + direction)
        self.redraw_soon()

    def _enter_compare(self) -> None:
        base = self.lab.settings
        current = get_rule(base.rule).name
        rules = DEFAULT_COMPARE if current in DEFAULT_COMPARE else ("gd", current)
        self._single_settings = base
        self.lab.apply(adjust.compare_set(base, rules, limit=MAX_COMPARE), compare=True)

    def action_compare(self) -> None:
        if self.lab.compare:
            self.change([self._single_settings], compare=False)
        else:
            try:
                self._enter_compare()
            except ParamError as exc:
                self.notify(str(exc), severity="error")
                return
            self._after_change()

    def action_add_rule(self) -> None:
        names = [get_rule(t.settings.rule).name for t in self.lab.traces]
        name = next_rule_to_add(names)
        if name is None:
            self.notify(f"compare shows at most {MAX_COMPARE} rules")
            return
        self.change(self._all_settings() + adjust.compare_set(self.lab.settings, [name]))

    def action_remove_rule(self) -> None:
        current = self._all_settings()
        if len(current) <= 1:
            self.notify("compare needs at least one rule")
            return
        self.change(current[:-1])

    def action_ewa_lab(self) -> None:
        try:
            from .screens.ewa_lab import EwaLabScreen
        except ImportError:
            self.notify("EWA lab not available yet")
            return
        self.push_screen(EwaLabScreen())

    def action_help(self) -> None:
        try:
            from .screens.help import HelpScreen
        except ImportError:
            self.notify("help not available yet")
            return
        self.push_screen(HelpScreen())

    def action_network(self) -> None:
        try:
            from .netlab.screen import NetworkScreen
        except ImportError:
            self.notify("network lab not available yet")
            return
        self.push_screen(NetworkScreen())

    def action_screenshot(self) -> None:
        """Save the screen as SVG (``s``); the notification names the file, or says why it failed."""
        directory = self.screenshot_dir or Path.cwd()
        stem = f"descent-tui-{time.strftime('%Y%m%d-%H%M%S')}"
        target = directory / f"{stem}.svg"
        n = 1
        while target.exists():
            n += 1
            target = directory / f"{stem}-{n}.svg"
        try:
            svg = self.export_screenshot()
            with open(target, "x", encoding="utf-8") as fh:
                fh.write(svg)
        except OSError as exc:
            self.notify(f"cannot write {target}: {exc.strerror or exc}", severity="error", title="no screenshot")
            return
        self.notify(f"saved {target}", title="screenshot")

    def on_screen_resume(self) -> None:
        self.redraw()

    @property
    def status(self) -> str:
        """The status line as plain text (tests read it)."""
        from .status import status_text

        return status_text(self.lab).plain.replace("\u00a0", " ")

    @property
    def speed_label(self) -> str:
        return speed_text(self.lab.speed)


def run_app(settings: Settings | None = None, **options: Any) -> int:
    """Open the lab (the bare ``descent-tui`` command); returns the exit status."""
    if settings is not None:
        check_lab_settings(settings)
    app = DescentApp(settings, **options)
    app.run()
    return int(app.return_code or 0)
