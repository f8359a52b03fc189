"""One table of keys for every screen: the footer, the help screen, the README and the tests are
built from it.

A :class:`Key` is one entry: an id (stable, as Posting's ``Binding(id=)``: remapping a key later
changes one line here), the key or keys, the action, a short description for the footer and a
longer tooltip for the help. A screen takes its ``BINDINGS`` from :func:`bindings` of its table;
:func:`hints` is the one footer builder (the keys shown, minus those ``check_action`` says do not
apply now).

The same letter means the same idea in both labs (``u`` rule, ``b`` beta, ``l`` lr, ``d``
schedule, ``space`` run/pause, ``n`` one step or slice, ``r`` restart, ``,``/``.`` speed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    id: str
    key: str
    action: str
    description: str
    key_display: str | None = None
    tooltip: str = ""
    show: bool = True

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.description, show=self.show, key_display=self.key_display,
                       tooltip=self.tooltip, id=self.id)

    @property
    def shown_key(self) -> str:
        return self.key_display or self.key.split(",")[0]


def pair(id: str, key: str, action: str, arg_up: object, arg_down: object, description: str, tooltip_up: str,
         down_description: str, tooltip_down: str = "") -> tuple[Key, Key]:
    """A lower-case key and its shifted twin (``u``/``U``): one shown, the other in help only."""
    up = Key(f"{id}.up", key, f"{action}({arg_up!r})", description, key_display=f"{key}/{key.upper()}",
             tooltip=tooltip_up)
    down = Key(f"{id}.down", key.upper(), f"{action}({arg_down!r})", down_description, show=False,
               tooltip=tooltip_down or down_description)
    return up, down


#: keys every screen of the app answers (the App's own bindings)
GLOBAL_KEYS: tuple[Key, ...] = (
    Key("app.screenshot", "s", "screenshot", "screenshot", show=False,
        tooltip="save an SVG of the screen (the current directory, or --screenshot-dir)"),
    Key("app.palette", "ctrl+p", "command_palette", "set", tooltip="set any value of this screen by name"),
)

#: the 2-D lab
LAB_KEYS: tuple[Key, ...] = (
    Key("lab.run", "space", "toggle_run", "run/pause", tooltip="run or pause (a run stopped at convergence or at --steps runs on)"),
    Key("lab.step", "n", "step", "step", tooltip="one step, paused"),
    Key("lab.reset", "r", "reset", "reset", tooltip="start again from the start point"),
    *pair("lab.rule", "u", "rule", 1, -1, "rule", "next rule, at its suggested lr (an lr you set is kept if stable for it)", "previous rule"),
    *pair("lab.beta", "b", "beta", 1, -1, "β", "raise the rule's main β along the ladder", "lower β"),
    *pair("lab.lr", "l", "lr", 2.0, 0.5, "lr ×2/÷2", "double lr", "halve lr"),
    *pair("lab.schedule", "d", "schedule", 1, -1, "schedule", "next lr schedule", "previous schedule"),
    *pair("lab.problem", "p", "problem", 1, -1, "problem", "next problem", "previous problem"),
    Key("lab.slower", "comma", "speed(-1)", "slower", key_display=",", tooltip="fewer steps a second"),
    Key("lab.faster", "full_stop", "speed(1)", "faster", key_display=".", tooltip="more steps a second, up to max"),
    Key("lab.start", "o", "place_start", "start",
        tooltip="a ⊕ on the landscape: arrows move it, enter restarts from there, esc cancels (or click)"),
    Key("lab.cursor.left", "left", "move_cursor(-1, 0)", "start point left", show=False),
    Key("lab.cursor.right", "right", "move_cursor(1, 0)", "start point right", show=False),
    Key("lab.cursor.up", "up", "move_cursor(0, 1)", "start point up", show=False),
    Key("lab.cursor.down", "down", "move_cursor(0, -1)", "start point down", show=False),
    Key("lab.cursor.apply", "enter", "apply_start", "restart from the start point", show=False),
    Key("lab.cursor.cancel", "escape", "cancel_start", "keep the start point", show=False),
    Key("lab.compare", "c", "compare", "compare", tooltip="compare rules side by side (again: one rule)"),
    Key("lab.add_rule", "a", "add_rule", "add", tooltip="compare: add the next rule"),
    Key("lab.remove_rule", "x", "remove_rule", "remove", tooltip="compare: remove the last rule"),
    Key("lab.export", "w", "export", "write",
        tooltip="write the runs on screen as CSV and NPZ and the session as TOML (descent-tui --config FILE)"),
    Key("lab.history", "h", "history", "history",
        tooltip="every run so far with its settings and end; enter makes one the ghost, w writes the table"),
    Key("lab.ratemap", "m", "ratemap", "rate map",
        tooltip="the rate per step over a grid of lr and β, predicted and measured; enter applies a cell"),
    Key("lab.forms", "f", "forms", "forms",
        tooltip="the current momentum setting in the EWA, heavy-ball and torch forms, side by side"),
    Key("lab.ewa", "e", "ewa_lab", "EWA", tooltip="the note's temperature example: EWA and bias correction"),
    Key("lab.network", "t", "network", "network", tooltip="train the note's network live"),
    Key("lab.help", "question_mark", "help", "help", key_display="?", tooltip="every key and setting"),
    Key("lab.quit", "q", "quit", "quit", tooltip="quit"),
)

#: the network lab (tooltips that name the engine's plans are filled in by the screen's module)
NETLAB_KEYS: tuple[Key, ...] = (
    Key("net.run", "space", "toggle_run", "run", tooltip="train or pause"),
    Key("net.step", "n", "slice", "slice", tooltip="train a few iterations, paused"),
    Key("net.reset", "r", "restart", "restart", tooltip="train again from the same seed"),
    *pair("net.rule", "u", "rule", 1, -1, "rule", "next rule, at the note's lr (single run)", "previous rule"),
    *pair("net.beta", "b", "beta", 1, -1, "β", "raise the main β (every rule's, in compare and study)", "lower β"),
    *pair("net.lr", "l", "lr", 2.0, 0.5, "lr ×2/÷2", "double lr (every rule's, in compare and study)", "halve lr"),
    *pair("net.schedule", "d", "schedule", 1, -1, "schedule", "next lr schedule, fitted to the run",
          "previous schedule"),
    *pair("net.dataset", "p", "dataset", 1, -1, "dataset", "next bundled dataset, at its defaults",
          "previous dataset"),
    Key("net.compare", "c", "view('compare')", "compare",
        tooltip="compare sgd, sgd_momentum, adam, rmsprop at the note's lrs (again: single run)"),
    Key("net.effective", "f", "view('effective')", "batch",
        tooltip="the note's effective-batch study (again: single run)"),
    Key("net.sgd_batch.up", "right_square_bracket", "sgd_batch(1)", "sgd batch", key_display="[/]",
        tooltip="effective batch: sgd's batch one sgd_momentum batch larger"),
    Key("net.sgd_batch.down", "left_square_bracket", "sgd_batch(-1)", "smaller sgd batch", show=False,
        tooltip="effective batch: sgd's batch one sgd_momentum batch smaller"),
    Key("net.sharpness", "h", "sharpness", "sharpness",
        tooltip="the update-size chart ⇄ the sharpness (top Hessian eigenvalue) against the rule's stability "
                "threshold, with the gradient noise scale and the instrument's cost"),
    Key("net.slower", "comma", "pace(1)", "speed", key_display=",/.", tooltip="train slower"),
    Key("net.faster", "full_stop", "pace(-1)", "faster", key_display=".", show=False,
        tooltip="train faster, up to full speed"),
    Key("net.palette", "ctrl+p", "app.command_palette", "set value", show=False,
        tooltip="set lr, batch size, hidden sizes, epochs; pick a dataset, schedule or rule"),
    Key("net.screenshot", "s", "app.screenshot", "screenshot", show=False,
        tooltip="save an SVG of the screen (the current directory, or --screenshot-dir)"),
    Key("net.help", "question_mark", "help", "help", key_display="?", tooltip="every key and setting"),
    Key("net.back", "escape,t", "close", "back", key_display="esc", tooltip="back to the 2-D lab"),
    Key("net.quit", "q", "app.quit", "quit", show=False, tooltip="quit"),
)


def bindings(table: Iterable[Key]) -> list[Binding]:
    return [k.binding() for k in table]


def with_global(screen_bindings: Sequence[Binding]) -> list[Binding]:
    """A screen's bindings with the app's shown ones (the palette) before the last (quit)."""
    shown = bindings(k for k in GLOBAL_KEYS if k.show)
    return [*screen_bindings[:-1], *shown, *screen_bindings[-1:]]


def hints(bindings: Sequence[Binding], check_action: Callable[[str, tuple[object, ...]], bool | None],
          describe: Callable[[Binding], str] | None = None) -> list[tuple[str, str]]:
    """The footer's (key, description) pairs: shown bindings whose action applies now."""
    out = []
    for b in bindings:
        if not isinstance(b, Binding) or not b.show:
            continue
        action = b.action.partition("(")[0]
        if check_action(action, ()) is False:
            continue
        out.append((b.key_display or b.key, describe(b) if describe else b.description))
    return out
