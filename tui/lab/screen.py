"""The 2-D lab: six live charts, the status line, the theory line and the key hints.

The screen owns its state (the :class:`~tui.lab.model.Lab`), its keys (:data:`tui.keys.LAB_KEYS`)
and its timer (:class:`~tui.lab.ticker.Ticker`). Data flows one way: key or palette message ->
an engine function of :mod:`descent_engine.adjust` -> new immutable Settings -> new runs (the old
ones kept as the ghost) -> charts. Which charts show depends on the terminal size (layout classes
set on resize, styled in descent.tcss).
"""

from __future__ import annotations

from typing import Callable, Sequence

from textual.app import ComposeResult
from textual.containers import Grid
from textual.css.query import NoMatches
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Static

from descent_engine import adjust
from descent_engine.params import ParamError
from descent_engine.problems import PROBLEMS
from descent_engine.registry import cycle
from descent_engine.rules import RULES, get_rule
from descent_engine.run import Settings
from descent_engine.schedules import SCHEDULES

from .. import keys
from ..commands import LabCommands
from ..messages import RunCommand, SetChoice, SetParam
from ..widgets.plot import Chart, Landscape
from ..widgets.wrapline import KeyHints, WrapLine
from .model import DEFAULT_COMPARE, MAX_COMPARE, SPEEDS, Lab, next_rule_to_add
from .plots import LabPlots
from .tools import LabTools
from .text import StatusLine, TheoryLine
from .layout import ALL_CHARTS, LAYOUTS, MIN_SIZE, check_lab_settings, lab_problems, layout_for
from .ticker import FRAME_RATE, Ticker


class LabScreen(LabTools, Screen):
    """The lab: loss, landscape, gradients, parameters, EWA and learning-rate charts."""

    BINDINGS = keys.bindings(keys.LAB_KEYS)
    COMMANDS = {LabCommands}
    HELP_TITLE = "2-D lab"

    #: compare mode (add/remove rule apply only then: the footer follows)
    compare = var(False, bindings=True)
    #: index into SPEEDS, clamped by validate_speed_index
    speed_index = var(3)
    #: the start point being placed on the landscape (``o``), or None
    cursor: var[tuple[float, float] | None] = var(None, bindings=True)

    def __init__(self, settings: Settings, *, autorun: bool = True, compare: bool = False,
                 compare_set: Sequence[Settings] | None = None, max_steps: int | None = None,
                 frame_rate: float = FRAME_RATE) -> None:
        super().__init__()
        self.lab = Lab([settings], max_steps=max_steps)
        self._single = settings
        if compare_set:
            self.lab.apply(list(compare_set)[:MAX_COMPARE], compare=True, ghost=False)
        elif compare:
            self._enter_compare()
        self.lab.running = autorun
        #: the user's wish to run: a change of setting after a divergence resumes running
        self._resume = autorun
        self.ticker = Ticker(self, autorun=autorun, frame_rate=frame_rate)
        self.plots = LabPlots(self)
        self.set_reactive(LabScreen.compare, self.lab.compare)
        self.set_reactive(LabScreen.speed_index, self.lab.speed_index)
        self.layout_name = ""
        #: the footer's bindings (the screen's and the app's palette key), built once
        self._footer = keys.with_global(self.BINDINGS)

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Grid(id="charts"):
            yield Chart("Loss  log10(L − L*)", xlabel="step", stable_axes=True, id="loss")
            yield Landscape("Landscape  ★ w*  ○ start  ● now", id="landscape")
            yield Chart("Eigendirections  log10|q_i·(w − w*)|", xlabel="step", stable_axes=True, id="eigen")
            yield Chart("Gradients  log10|g_i|", xlabel="step", stable_axes=True, id="grads")
            yield Chart("Parameters  w_i  (— w*_i)", xlabel="step", stable_axes=True, id="params")
            yield Chart("EWA of g0", xlabel="step", stable_axes=True, id="ewa")
            yield Chart("Learning rate  η_t  (dim: coming)", xlabel="step", stable_axes=True, id="lr")
        yield TheoryLine(id="theory")
        yield KeyHints(id="hints")
        yield Static("", id="too-small")

    # -- lifecycle and layout -----------------------------------------------------------------------
    def on_mount(self) -> None:
        self.apply_layout(self.app.size.width, self.app.size.height)
        self.call_after_refresh(self.ticker.redraw)
        self.ticker.sync()

    def on_unmount(self) -> None:
        self.ticker.close()

    def on_screen_suspend(self) -> None:
        self.ticker.suspend()  # another screen on top: no stepping, no drawing

    def on_screen_resume(self) -> None:
        self.ticker.resume()

    def on_resize(self, event) -> None:
        self.apply_layout(event.size.width, event.size.height)

    def apply_layout(self, width: int, height: int) -> None:
        name = layout_for(width, height)
        if self.layout_name == name:
            return
        self.layout_name = name
        for cls in ("full", "medium", "small", "too-small"):
            self.set_class(cls == name, f"-{cls}")
        self._show_charts()
        self.query_one("#too-small", Static).update(
            f"terminal too small (need {MIN_SIZE[0]}x{MIN_SIZE[1]}, have {width}x{height})")
        self.call_later(self.ticker.redraw)

    def _show_charts(self) -> None:
        shown = self.shown_charts
        for chart_id in ALL_CHARTS:
            widget = self.query_one(f"#{chart_id}")
            if widget.display != (chart_id in shown):
                widget.display = chart_id in shown

    @property
    def shown_charts(self) -> tuple[str, ...]:
        charts = LAYOUTS.get(self.layout_name or "full", ())
        if self.lab.traces[0].run.problem.dim > 2:
            charts = tuple("eigen" if c == "landscape" else c for c in charts)
        return charts

    # -- drawing ------------------------------------------------------------------------------------
    def draw(self, budget: float | None = None, next_slice: bool = False) -> bool:
        """Text lines and charts (the ticker's callback); True when every chart is up to date."""
        try:
            self.set_class(self.lab.compare, "-compare")
            if budget is None or not next_slice:
                self.draw_text()
            if self.layout_name == "too-small":
                return True
            return self.plots.draw(self.lab, list(self.shown_charts), budget, next_slice)
        except NoMatches:  # widgets already removed (shutting down)
            return True

    def draw_text(self) -> None:
        """Only the status, theory and hint lines (cheap: what a key press shows first)."""
        self.query_one(StatusLine).show(self.lab)
        self.query_one(KeyHints).show(keys.hints(self._footer, self.check_action))
        if self.layout_name != "too-small":
            self.query_one(TheoryLine).show(self.lab)

    def text_painted(self) -> bool:
        """The text lines a key changed have been drawn (the ticker holds the charts till then)."""
        return all(line.painted for line in self.query(WrapLine) if line.display)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("add_rule", "remove_rule") and not self.compare:
            return False
        if action in ("move_cursor", "apply_start", "cancel_start"):
            return self.cursor is not None  # only while a start point is being placed
        if action == "place_start":
            return self.lab.traces[0].run.problem.dim == 2  # a landscape to place it on
        return True

    # -- reactives ----------------------------------------------------------------------------------
    def validate_speed_index(self, index: int) -> int:
        return min(max(int(index), 0), len(SPEEDS) - 1)

    def watch_speed_index(self, index: int) -> None:
        self.lab.set_speed(index)
        self.ticker.after_key()

    # -- changing settings --------------------------------------------------------------------------
    def change(self, settings: Sequence[Settings], compare: bool | None = None) -> bool:
        """Restart with new settings (old runs become the ghost); a bad value is a notification."""
        try:
            self.lab.apply(list(settings), compare=compare)
        except ParamError as exc:
            self.notify(str(exc), severity="error", title="not changed")
            return False
        if not self.lab.compare:
            self._single = self.lab.settings
        self.compare = self.lab.compare
        if self.layout_name:
            self._show_charts()  # a problem of more dimensions swaps the landscape for its eigendirections
        self._after_change()
        return True

    def _after_change(self) -> None:
        if self._resume and not self.lab.done:
            self.lab.running = True
        self.ticker.after_key()

    def _all_settings(self) -> list[Settings]:
        return [t.settings for t in self.lab.traces]

    def adjust_all(self, change: Callable[[Settings], Settings], what: str = "not changed",
                   target: str | None = None) -> bool:
        """Apply an engine adjustment to every run on screen, or to the one whose rule is ``target``."""
        current = self._all_settings()
        index = None
        if target is not None:
            names = [get_rule(s.rule).name for s in current]
            try:
                index = names.index(get_rule(target).name)
            except (ParamError, ValueError):
                self.notify(f"{target} is not on screen (on screen: {', '.join(names)})", severity="error",
                            title=what)
                return False
        try:
            out = adjust.apply(current, change, index=index)
        except ParamError as exc:
            self.notify(str(exc), severity="error", title=what)
            return False
        return self.change(out)

    def on_set_param(self, message: SetParam) -> None:
        kind, _, name = message.name.rpartition(".")
        kind = kind or "rule"
        problem = PROBLEMS.get(self.lab.settings.problem)
        if kind == "problem" and name not in problem.params:
            # a setting of another problem (the palette's "f = x**2 + y**2"): switch to it with that value
            owners = [n for n, spec in PROBLEMS.items() if name in spec.params]
            if len(owners) == 1:
                self.adjust_all(lambda s: adjust.set_param(adjust.switch_problem(s, owners[0]), "problem", name,
                                                           str(message.value)), "not set")
                return
        self.adjust_all(lambda s: adjust.set_param(s, kind, name, str(message.value)), "not set",
                        target=message.target)

    def on_set_choice(self, message: SetChoice) -> None:
        self.set_choice(message.kind, message.name)

    def on_run_command(self, message: RunCommand) -> None:
        self.run_action(message.action)

    def set_choice(self, kind: str, name: str) -> bool:
        """Switch rule, schedule or problem by name (as the keys do), or load a preset."""
        if kind == "rule":
            return self._switch_rule(get_rule(name).name)
        if kind == "schedule":
            return self.adjust_all(lambda s: adjust.switch_schedule(s, name))
        if kind == "problem":
            return self.adjust_all(lambda s: adjust.switch_problem(s, name))
        if kind == "preset":
            from descent_engine.presets import get_preset

            preset = get_preset(name)
            if preset.compare:
                return self.change(preset.compare_set(), compare=True)
            return self.change([preset.settings], compare=False)
        raise ValueError(kind)

    def _switch_rule(self, name: str) -> bool:
        if self.lab.compare:
            current = self._all_settings()
            if name in [get_rule(s.rule).name for s in current]:
                self.notify(f"{name} is already compared")
                return False
            return self.change(adjust.apply(current, lambda s: adjust.switch_rule(s, name), index=len(current) - 1))
        return self.change([adjust.switch_rule(self.lab.settings, name)])

    def _enter_compare(self, rules: Sequence[str] | None = None) -> None:
        base = self.lab.settings
        current = get_rule(base.rule).name
        if rules is None:
            rules = DEFAULT_COMPARE if current in DEFAULT_COMPARE else ("gd", current)
        self._single = base
        self.lab.apply(adjust.compare_set(base, rules, limit=MAX_COMPARE), compare=True)

    # -- actions (the keys of tui.keys.LAB_KEYS) ----------------------------------------------------
    def action_toggle_run(self) -> None:
        if self.lab.done:
            reason = self.lab.stop_reason()
            if self.lab.diverged:
                # nothing to run: the wish to run stays, so the next run (after a change) runs
                self.notify(f"{reason}: change a setting or press r to restart", severity="warning")
                self.lab.running = False
            else:  # converged or at its step limit: a key keeps it running
                self.lab.run_on()
                self.lab.running = self._resume = True
                self.notify(f"{reason}: running on", timeout=2.5)  # brief: it covers the lines below
        else:
            self.lab.running = not self.lab.running
            self._resume = self.lab.running
        self.ticker.after_key()

    def action_step(self) -> None:
        if self.lab.done and not self.lab.diverged:
            self.lab.run_on()
        elif self.lab.done:
            self.notify(f"{self.lab.stop_reason()}: change a setting or press r", severity="warning")
        self.lab.step(1)
        self.ticker.after_key()

    def action_reset(self) -> None:
        self.lab.reset()
        self._after_change()

    def action_rule(self, direction: int) -> None:
        current = get_rule(self.lab.traces[-1].settings.rule).name
        names = list(RULES)
        if self.lab.compare:
            taken = {get_rule(t.settings.rule).name for t in self.lab.traces[:-1]}
            names = [n for n in names if n not in taken]
        self._switch_rule(cycle(names, current, direction))

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
        self.set_choice("schedule", cycle(list(SCHEDULES), self.lab.settings.schedule, direction))

    def action_problem(self, direction: int) -> None:
        self.set_choice("problem", cycle(lab_problems(), self.lab.settings.problem, direction))

    def action_speed(self, direction: int) -> None:
        self.speed_index = self.speed_index + direction

    def action_compare(self) -> None:
        if self.lab.compare:
            self.change([self._single], compare=False)
            return
        try:
            self._enter_compare()
        except ParamError as exc:
            self.notify(str(exc), severity="error")
            return
        self.compare = True
        self._after_change()

    def action_add_rule(self) -> None:
        name = next_rule_to_add([get_rule(t.settings.rule).name for t in self.lab.traces])
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

    def action_quit(self) -> None:
        self.app.exit()
