"""The momentum forms panel (``f`` in the lab): the current setting in the EWA, heavy-ball and torch
forms side by side — each form's hyper-parameters for the same trajectory, the effective
learning rate, the stability bound in the form's own step size and the steady-state noise factor.

The numbers come from :func:`descent_engine.momentum_forms.momentum_forms`; this screen only
lays them out. It follows the lab: opened for the run on screen, it shows that run's rule.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from descent_engine import theory
from descent_engine.momentum_forms import MomentumForms, momentum_forms
from descent_engine.run import Settings

TITLES = {"ewa": "EWA form (the app's)", "heavy_ball": "heavy ball (the note's SGD+momentum)",
          "torch": "torch.optim.SGD"}


def _num(x) -> str:
    if isinstance(x, bool):
        return "on" if x else "off"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def forms_for(settings: Settings) -> MomentumForms | None:
    """The forms of ``settings``' rule with the problem's largest curvature (None: no momentum)."""
    r = settings.resolved()
    lam_max = theory.spectrum(r.problem.hessian()).lam_max
    return momentum_forms(r.rule.name, r.hp, lam_max)


def forms_table(forms: MomentumForms) -> Table:
    table = Table(expand=True, show_lines=True, title=f"{forms.rule}: one trajectory, three ways to write it")
    table.add_column("")
    for f in forms.forms:
        table.add_column(TITLES.get(f.name, f.name), overflow="fold")
    table.add_row("update", *[f.update for f in forms.forms])
    table.add_row("settings", *["  ".join(f"{k} {_num(v)}" for k, v in f.hparams.items()) for f in forms.forms])
    table.add_row("effective lr", *[_num(f.effective_lr) for f in forms.forms])
    table.add_row(f"stable below (λmax {_num(forms.lam_max)})",
                  *["-" if f.stable_below is None else _num(f.stable_below) for f in forms.forms])
    table.add_row("same trajectory", *[("yes" if f.exact else "no: " + f.note) for f in forms.forms])
    return table


def forms_text(forms: MomentumForms | None, rule: str) -> Text | Table:
    if forms is None:
        return Text(f"{rule} has no momentum: the three forms are the same plain step (u switches rule).")
    return forms_table(forms)


class FormsScreen(ModalScreen[None]):
    """The three momentum forms of the lab's current setting."""

    HELP_TITLE = "momentum forms"
    BINDINGS = [Binding("escape,f", "close", "back", key_display="esc"), Binding("q", "app.quit", "quit")]
    DEFAULT_CSS = """
    FormsScreen { background: $background; }
    FormsScreen #forms-body { padding: 0 1; }
    """

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.forms = forms_for(settings)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(forms_text(self.forms, self.settings.rule), id="forms-table")
            yield Static(self._noise(), id="forms-body")
        yield Footer()

    def _noise(self) -> Text:
        if self.forms is None:
            return Text("")
        return Text(f"Steady-state noise: the update's variance is {self.forms.noise_factor:.3g} times plain "
                    f"SGD's at the same effective lr {_num(self.forms.effective_lr)} (for independent gradient "
                    "noise; (1 − β)/(1 + β) for the EWA): momentum averages the noise away as a larger batch "
                    "would.")

    def action_close(self) -> None:
        self.dismiss(None)
