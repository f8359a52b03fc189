"""The help screen: every key, every chart, every rule and schedule, generated.

Nothing here is a hand-kept list of keys or hyper-parameters: the keys come from the app's
``BINDINGS`` (and those of the screen help was opened from), the rules and schedules from the
engine's registries, so help cannot drift from what the app does.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from rich.markdown import Markdown as RichMarkdown
from textual.widgets import Footer, Static

from descent_engine.params import Param
from descent_engine.presets import NOTE_GDM_BETA
from descent_engine.rules import RULES, note_momentum_beta
from descent_engine.schedules import SCHEDULES


CHARTS = (
    ("Loss", "log10(L − L\\*) against the step, with L\\* the problem's true optimum (the note's "
             "\"log(loss − optimal loss)\"): linear convergence reads as a straight line."),
    ("Gradients", "|g_i| per dimension of the gradient."),
    ("Parameters", "w_i per dimension, with the optimum w\\*_i marked."),
    ("EWA", "one gradient component raw, its EWA and its bias-corrected EWA at the current β, and "
            "the rule's own running average where it keeps one (see each rule below), so the note's "
            "EWA section and the optimizers meet on one chart."),
    ("Landscape", "the loss over the problem's bounds as contour bands, the trajectory on top, "
                  "★ = w\\* (the note's contour figure, live)."),
    ("Learning rate", "η_t so far, with the schedule's coming shape dimmed."),
    ("Ghost", "after a change of setting the previous run is drawn dim on every chart."),
)

STATUS_FIELDS = (
    ("Status line", "problem, rule, every hyper-parameter, schedule, step and state "
                    "(running, paused, or diverged at step k)."),
    ("λmax, λmin, κ", "largest and smallest Hessian eigenvalue and the condition number "
                      "κ = λmax/λmin (2-D and quadratic problems)."),
    ("stable lr <", "the largest learning rate for which the current rule converges on this "
                    "problem; a warning shows when the settings are past it."),
    ("lr\\*, β\\*", "the optimal learning rate (and momentum β) for the current rule."),
    ("rate predicted … measured", "the factor by which the distance |w − w\\*| to the optimum shrinks per "
                                  "step, predicted by the theory and measured on the run (the status "
                                  "line's \"rates per step, of |w - w\\*|\"); the loss gap L − L\\* "
                                  "shrinks by its square."),
)


def _md(text: str) -> str:
    """Escape Markdown punctuation in registry text (help strings are plain text)."""
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return text


def _own_bindings(node: object) -> list[Binding]:
    """The bindings a class of the project declares (Textual's own base bindings left out)."""
    out: list[Binding] = []
    seen: set[int] = set()
    for cls in type(node).__mro__:
        declared = cls.__dict__.get("BINDINGS")
        if not declared or cls.__module__.startswith("textual.") or id(declared) in seen:
            continue
        seen.add(id(declared))
        out.extend(b for b in Binding.make_bindings(declared) if not b.system)
    return out


def key_rows(bindings: Iterable[BindingType], key_display: Callable[[Binding], str]) -> list[tuple[str, str]]:
    """(keys, description) rows; keys sharing one action and description are joined."""
    rows: dict[tuple[str, str], list[str]] = {}
    for b in Binding.make_bindings(bindings):
        if b.system:
            continue
        desc = b.tooltip or b.description or b.action.replace("_", " ")
        # the key itself, not a footer abbreviation such as "u/U"
        rows.setdefault((b.action, desc), []).append(key_display(dataclasses.replace(b, key_display=None)))
    return [(" ".join(dict.fromkeys(keys)), desc) for (_, desc), keys in rows.items()]


def _key_list(rows: Sequence[tuple[str, str]]) -> str:
    width = max((len(keys) for keys, _ in rows), default=0)
    return "\n".join(f"- `{keys.replace('`', ''):<{width}}` {_md(desc)}" for keys, desc in rows)


def _param_line(p: Param) -> str:
    return (f"  - `{p.name}`{f' ({p.symbol})' if p.symbol and p.symbol != p.name else ''}: "
            f"default {_md(p.default_text())}, range {_md(p.range_text())}; {_md(p.help)}")


def rules_markdown() -> str:
    parts = ["## Update rules", "",
             "Each rule's update and hyper-parameters (default, allowed range, meaning); `b`/`B` "
             "step the rule's main β.", ""]
    for rule in RULES.values():
        alias = f" (alias {', '.join(rule.aliases)})" if rule.aliases else ""
        parts.append(f"- **{rule.name}**{alias}: {_md(rule.title)}")
        parts.append(f"  - `{rule.formula.replace('`', '')}`")
        for p in rule.params:
            parts.append(_param_line(p))
        if rule.main_beta:
            parts.append(f"  - `b`/`B` step `{rule.main_beta}`")
        if rule.average:
            parts.append(f"  - EWA chart: {_md(rule.average_label or rule.average)}")
    return "\n".join(parts)


def schedules_markdown() -> str:
    parts = ["## Learning-rate schedules", "",
             "η0 is the rule's `lr`; an epoch of a 2-D problem is one step unless steps-per-epoch "
             "says otherwise.", ""]
    for s in SCHEDULES.values():
        parts.append(f"- **{s.name}**: {_md(s.title)}; `{s.formula.replace('`', '')}`")
        for p in s.params:
            parts.append(_param_line(p))
    return "\n".join(parts)


def note_beta_markdown() -> str:
    ewa_beta = note_momentum_beta(NOTE_GDM_BETA)
    return "\n".join([
        "## The note's β and the app's β", "",
        f"The note's GD-with-momentum code writes `s = (1 − β) s + β g` with β = {NOTE_GDM_BETA:g}: its β "
        f"weighs the *new* gradient. The app uses the EWA convention everywhere, "
        f"`v = β v + (1 − β) g`, where β weighs the *past*. So the note's β = {NOTE_GDM_BETA:g} is the "
        f"app's β = 1 − {NOTE_GDM_BETA:g} = {ewa_beta:g} (rule `momentum`, init `first`), and "
        "`descent-tui` opens on exactly the note's run.",
    ])


def help_markdown(app_rows: Sequence[tuple[str, str]], screen_rows: Sequence[tuple[str, str]] = (),
                  screen_title: str = "") -> str:
    """The whole help text as Markdown (pure, so it is easy to test)."""
    parts = ["# descent-tui help", "",
             "`↑`/`↓`, `PgUp`/`PgDn` scroll; `esc`, `?` or `q` close.", ""]
    if screen_rows:
        parts += [f"## Keys of the {screen_title or 'current screen'}", "", _key_list(screen_rows), ""]
    parts += ["## Keys of the lab", "", _key_list(app_rows), "",
              "`ctrl+p` opens the command palette: set any hyper-parameter to a typed value "
              "(checked against its range).", ""]
    parts += ["## Charts", ""] + [f"- **{name}**: {text}" for name, text in CHARTS] + [""]
    parts += ["## Status and theory line", ""] + [f"- **{name}**: {text}" for name, text in STATUS_FIELDS] + [""]
    parts += [rules_markdown(), "", schedules_markdown(), "", note_beta_markdown(), ""]
    return "\n".join(parts)


class HelpScreen(ModalScreen[None]):
    """Scrollable help; the keys listed are the running app's own bindings."""

    #: the Markdown shown (set on mount)
    source: str = ""

    CSS_PATH = "screens.tcss"

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "close"),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-scroll") as scroll:
            scroll.border_title = "Help"
            yield Static(id="help-text")
        yield Footer()

    def on_mount(self) -> None:
        self.source = self._text()
        # one Rich renderable, not Textual's Markdown widget: a widget per block took seconds
        self.query_one("#help-text", Static).update(RichMarkdown(self.source, code_theme="ansi_dark"))
        self.query_one("#help-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_page(self, direction: int) -> None:
        scroll = self.query_one("#help-scroll", VerticalScroll)
        (scroll.scroll_page_down if direction > 0 else scroll.scroll_page_up)(animate=False)

    def _opened_from(self) -> Screen | None:
        stack = self.app.screen_stack
        below = stack[: stack.index(self)] if self in stack else stack
        return below[-1] if below else None

    def _text(self) -> str:
        display = self.app.get_key_display
        app_rows = key_rows(_own_bindings(self.app), display)
        under = self._opened_from()
        screen_rows: list[tuple[str, str]] = []
        title = ""
        if under is not None:
            screen_rows = key_rows(_own_bindings(under), display)
            title = getattr(under, "HELP_TITLE", "") or type(under).__name__.removesuffix("Screen")
        return help_markdown(app_rows, screen_rows, title)


if __name__ == "__main__":  # manual run: python -m tui.screens.help
    from textual.app import App

    class _Host(App):
        BINDINGS = [Binding("space", "pause", "run/pause"), Binding("question_mark", "help", "help"),
                    Binding("q", "quit", "quit")]

        def action_help(self) -> None:
            self.push_screen(HelpScreen())

        def on_mount(self) -> None:
            self.push_screen(HelpScreen())

    _Host().run()
