"""The network lab's settings keys and the palette's messages, as a mixin of
:class:`~.screen.NetworkScreen`: each change of setting is one pure function of
:mod:`descent_engine.network.lab_plans` or :mod:`descent_engine.adjust`, then ``_start`` (a new
run, the old one kept as a ghost). A value that the engine's Params reject is a notification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from descent_engine import adjust
from descent_engine.network.data import DATASETS
from descent_engine.network.lab_plans import cycle, scaled_rule, set_knob, with_dataset, with_schedule
from descent_engine.params import ParamError
from descent_engine.rules import RULES, get_rule
from descent_engine.schedules import SCHEDULES

from ..messages import SetChoice, SetParam
from .job import PACES, SLICE_ROUNDS

if TYPE_CHECKING:
    from .screen import NetworkScreen

    _Base = NetworkScreen
else:
    _Base = object


class LabActions(_Base):
    """Keys and messages that change what the network lab trains."""

    def action_sharpness(self) -> None:
        """``h``: the fourth chart shows the sharpness instrument (it measures only while shown)."""
        self.sharpness = not self.sharpness
        if self.job is not None:
            self.job.set_sharpness(self.sharpness, budgeted=self.autorun)
            self._sync_training()
        if self.sharpness and self.job is not None and self.job.done:
            self.notify("the sharpness is measured while training: r trains the run again", timeout=4)
        self._drawn = None
        self.redraw()

    # -- actions ----------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rule" and self.view != "single":
            return False  # the compared rules and the study's two rules are fixed
        if action == "sgd_batch" and self.view != "effective":
            return False
        if action == "sharpness" and self.view == "effective":
            return False  # the study's six runs: no sharpness chart
        return True

    def action_toggle_run(self) -> None:
        if self.job is not None and self.job.done:  # a finished run starts again
            self.wants_running = True
            self.action_restart()
            return
        self.wants_running = not self.wants_running
        self._sync_training()
        self.redraw()

    def action_slice(self) -> None:
        """Pause and train one slice of :data:`SLICE_ROUNDS` iterations here, synchronously."""
        self.wants_running = False
        self._sync_training()
        if self.job is not None:
            if self.job.done:
                self.notify("this run is done: r restarts it", severity="warning")
            self.job.train_rounds(SLICE_ROUNDS)
            self._sync_training()  # a worker process answers with a snapshot: the timer takes it
        self.redraw()

    def action_pace(self, direction: int) -> None:
        """``,`` slower, ``.`` faster: a cap on the iterations per second of live training."""
        self.pace_index = min(max(self.pace_index + direction, 0), len(PACES) - 1)
        if self.job is not None:
            self.job.pace = PACES[self.pace_index]
        pace = PACES[self.pace_index]
        self.notify(f"pace: at most {pace} iterations a second" if pace else "pace: full speed", timeout=2)
        self.redraw()

    def action_restart(self) -> None:
        self._start(self.view, self.base, self.lr_scale, self.beta_steps, ghost=False, sgd_batch=self.sgd_batch)

    def action_sgd_batch(self, direction: int) -> None:
        """``]``/``[``: the study's sgd batch one sgd_momentum batch (100) larger or smaller."""
        momentum = self.plans[0].config.batch_size
        current = max(p.config.batch_size for p in self.plans if p.config.rule == "sgd")
        new = current + direction * momentum
        if new < momentum:
            self.notify(f"the sgd batch is at its smallest, sgd_momentum's {momentum}")
            return
        self._start(self.view, self.base, self.lr_scale, self.beta_steps, ghost=False, sgd_batch=new)

    def action_rule(self, direction: int) -> None:
        name = cycle(RULES.names(), get_rule(self.base.rule).name, direction)
        self._start("single", scaled_rule(self.base, name))

    def action_beta(self, direction: int) -> None:
        if self.view != "single":
            moved = [p for p in self.plans if adjust.main_beta(p.config) is not None
                     and adjust.step_beta(p.config, direction) != p.config]
            if not moved:
                self.notify("β is at the end of its range")
                return
            self._start(self.view, self.base, self.lr_scale, self.beta_steps + direction, sgd_batch=self.sgd_batch)
            return
        mb = adjust.main_beta(self.base)
        if mb is None:
            self.notify(f"{get_rule(self.base.rule).name} has no β (try u for another rule)")
            return
        moved = adjust.step_beta(self.base, direction)
        if moved == self.base:
            self.notify(f"{get_rule(self.base.rule).params.get(mb[0]).label} is at the end of its range")
            return
        self._start("single", moved)

    def action_lr(self, factor: float) -> None:
        if self.view != "single":
            self._start(self.view, self.base, self.lr_scale * factor, self.beta_steps, sgd_batch=self.sgd_batch)
            return
        self._start("single", adjust.scale_lr(self.base, factor))

    def action_schedule(self, direction: int) -> None:
        name = cycle(SCHEDULES.names(), self.base.schedule, direction)
        self._start(self.view, with_schedule(self.base, name), self.lr_scale, self.beta_steps, sgd_batch=self.sgd_batch)

    def action_dataset(self, direction: int) -> None:
        """``p``/``P``: the next or previous bundled dataset, at its defaults (the network's "problem")."""
        self._switch_dataset(cycle(DATASETS.names(), self.base.dataset, direction))

    def _switch_dataset(self, name: str) -> None:
        try:
            new = with_dataset(self.base, name)
        except ParamError as exc:
            self.notify(str(exc), severity="error", title="not changed")
            return
        old_ghost, self.ghost = self.ghost, None  # a run on other data is no reference
        if not self._start(self.view, new, self.lr_scale, self.beta_steps, ghost=False, sgd_batch=self.sgd_batch):
            self.ghost = old_ghost
        else:
            self.notify(f"dataset {name}", timeout=2)

    # -- the palette's messages ---------------------------------------------------------------------
    def on_set_param(self, message: SetParam) -> None:
        """``set NAME = VALUE`` from the palette: checked by the knob's Param; a bad value is a notification."""
        message.stop()
        if message.name == "dataset":
            self.on_set_choice(SetChoice("dataset", str(message.value)))
            return
        try:
            new = set_knob(self.base, message.name, message.value)
        except (ParamError, ValueError) as exc:
            self.notify(str(exc), severity="error", title="not changed")
            return
        view = "single" if message.name == "lr" else self.view  # the compare lrs are the note's (l/L scale them)
        self._start(view, new, self.lr_scale if view != "single" else 1.0, self.beta_steps, sgd_batch=self.sgd_batch)

    def on_set_choice(self, message: SetChoice) -> None:
        message.stop()
        try:
            if message.kind == "dataset":
                self._switch_dataset(message.name)
            elif message.kind == "schedule":
                self._start(self.view, with_schedule(self.base, SCHEDULES.canonical(message.name)), self.lr_scale,
                            self.beta_steps, sgd_batch=self.sgd_batch)
            elif message.kind == "rule":
                self._start("single", scaled_rule(self.base, RULES.canonical(message.name)))
            else:
                self.notify(f"the network lab has no {message.kind} to choose", severity="warning")
        except ParamError as exc:
            self.notify(str(exc), severity="error", title="not changed")

    def action_view(self, view: str) -> None:
        """``c``/``f``: open that view (the note's settings), or go back to the single run."""
        self._start("single" if self.view == view else view, self.base, ghost=False)

    def action_help(self) -> None:
        from ..screens.help import HelpScreen

        self.app.push_screen(HelpScreen())

    def action_close(self) -> None:
        self._stop_training()
        self.dismiss(None)

