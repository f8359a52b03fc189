"""The lab's charts: what each of the six shows, built from the runs' frozen data.

:class:`LabPlots` hands each chart its lines; the charts themselves skip the work when their data
did not change (the key passed along is the lab's version).
"""

from __future__ import annotations

import time

import numpy as np
from textual.widget import Widget

from ..widgets.plot import PALETTE, PATH_MARKS, Chart, Landscape, Line, Path, stable_limits
from .model import Lab, Trace, TraceData


def _gap_log(loss: np.ndarray, loss_star: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        gap = loss - loss_star
        return np.where(gap > 0, np.log10(np.where(gap > 0, gap, 1.0)), np.nan)


def _log_abs(a: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        a = np.abs(a)
        return np.where(a > 0, np.log10(np.where(a > 0, a, 1.0)), np.nan)


def path_legend(labels: list[str], mono: bool, width: int) -> str:
    """``1:gd  2:momentum`` (or the path marks without colour), labels shortened to fit ``width``;
    empty for a single run, or when even 3-letter labels do not fit."""
    if len(labels) < 2:
        return ""
    tags = [PATH_MARKS[i % len(PATH_MARKS)] + " " if mono else f"{i + 1}:" for i in range(len(labels))]
    for cut in (max(map(len, labels)), 8, 6, 4, 3):
        for sep in ("  ", " "):
            legend = sep.join(t + label[:cut] for t, label in zip(tags, labels))
            if len(legend) <= width:
                return legend
    return ""


#: per-dimension charts draw at most this many dimensions (a norm beyond)
MAX_DIM_LINES = 4
#: eigendirections drawn for a problem of more than two dimensions
EIGEN_LINES = 4


def _run_end(lab: Lab, k: float) -> float:
    """Where a step axis ends: the run's step limit, or without one a round number (1-2-5) past
    1.2 k + 5 (room for the prediction, the run still most of the axis)."""
    if lab.stop_at_limit and lab.max_steps is not None and k <= lab.max_steps:
        return float(lab.max_steps)
    return float(stable_limits((0.0, 1.2 * k + 5.0), None, from_zero=True)[1])


class LabPlots:
    """Draws the lab's charts into ``view`` (the lab screen's widgets, found by id)."""

    def __init__(self, view: Widget) -> None:
        self.view = view
        self._fresh: set[str] = set()
        self._rr = 0  # round-robin position among the charts after the loss chart
        self._costs: dict[str, float] = {}  # each chart's last build time (seconds)
        self._rate_key: tuple | None = None
        self._rate_value: float | None = None

    def draw(self, lab: Lab, shown: list[str], budget: float | None = None, next_slice: bool = False) -> bool:
        """Hand every shown chart its data; returns True when all of them are up to date.

        With a ``budget`` (seconds) the charts are rebuilt in turn until it is spent (the loss
        chart first, the others round-robin), so one frame never costs more than about the budget
        and a key press is never stuck behind six plotext builds. ``next_slice`` goes on with the
        frame begun before (charts already drawn in it are left alone), so a frame always
        completes. Without a budget (tests, snapshots) every chart is updated.
        """
        live = [t.data() for t in lab.traces]
        args = (lab, live, lab.ghosts, lab.compare, lab.version)
        if budget is None:
            for name in shown:
                self.update(name, *args)
            return True
        if not next_slice:
            self._fresh = set()
        others = [c for c in shown if c != "loss"]
        rr = self._rr % max(len(others), 1)
        order = (["loss"] if "loss" in shown else []) + others[rr:] + others[:rr]
        start = time.perf_counter()
        built = 0
        for name in order:
            if name in self._fresh:
                continue
            # the next chart only if it fits (its last build time as the guess); one at least
            if built and time.perf_counter() - start + self._costs.get(name, 0.0) > budget:
                break
            t0 = time.perf_counter()
            self.update(name, *args)
            self.view.query_one(f"#{name}").render()  # build now, inside the budget (cached for the paint)
            self._costs[name] = time.perf_counter() - t0
            built += 1
            self._fresh.add(name)
            if name in others:
                self._rr = others.index(name) + 1
        return all(name in self._fresh for name in shown)

    def update(self, name: str, lab: Lab, live, ghosts, compare: bool, key) -> None:
        first = lab.traces[0]
        if name == "loss":
            self._loss(lab, live, ghosts, compare, key)
        elif name == "landscape":
            self._landscape(first, live, ghosts, key)
        elif name == "eigen":
            self._eigen(first, live, ghosts, compare, key)
        elif name == "grads":
            self._grads(live, ghosts, compare, key)
        elif name == "params":
            self._params(first, live, ghosts, compare, key)
        elif name == "ewa":
            self._ewa(lab, first, live, ghosts, compare, key)
        elif name == "lr":
            self._lr(lab, first, live, ghosts, compare, key)

    def _loss(self, lab: Lab, live: list[TraceData], ghosts: list[TraceData], compare: bool, key) -> None:
        lines = [Line(g.step, _gap_log(g.loss, g.loss_star), "previous" if i == 0 else "", dim=True)
                 for i, g in enumerate(ghosts)]
        lines += [Line(d.step, _gap_log(d.loss, d.loss_star), d.label if compare else "") for d in live]
        xlim = None
        if not compare:
            envelope = self._envelope(lab, live[0])
            if envelope:  # the axis reaches on to where the prediction is drawn
                lines += envelope
                xlim = (0.0, _run_end(lab, float(live[0].step[-1])))
        self.view.query_one("#loss", Chart).show(lines, xlim=xlim, key=key)

    def _envelope(self, lab: Lab, d: TraceData) -> list[Line]:
        """The theory's rate drawn on from the current point: the loss gap of a quadratic falls
        as rate^(2k) (the rate is of |w - w*|), a dim line to where the run is headed."""
        run = lab.traces[0].run
        if not run.problem.quadratic or d.step.size == 0:
            return []
        rate = self._rate(run)
        gap = float(d.loss[-1] - d.loss_star)
        if rate is None or not (0 < rate < 1) or not (gap > 0 and np.isfinite(gap)):
            return []
        k = float(d.step[-1])
        end = _run_end(lab, k)
        if end <= k:
            return []  # the run is at its end: nothing ahead to predict
        j = np.linspace(k, end, 64)
        y = np.log10(gap) + 2.0 * (j - k) * np.log10(rate)
        floor = np.nanmin(_gap_log(d.loss, d.loss_star)) - 2.0  # never far below what is drawn
        keep = y >= floor
        return ([Line(j[keep], y[keep], f"predicted, rate {rate:.3g}", dim=True, clip=False, reference=False)]
                if keep.sum() > 1 else [])

    def _rate(self, run) -> float | None:
        key = (id(run), run.lr)
        if self._rate_key != key:
            self._rate_key, self._rate_value = key, run.theory().predicted_rate
        return self._rate_value

    def _eigen(self, first: Trace, live, ghosts, compare: bool, key) -> None:
        """The error along a few eigendirections of H (labelled by their λ), for problems of more
        than two dimensions: the slow directions are why momentum helps."""
        p = first.run.problem
        lam = np.linalg.eigvalsh(p.hessian()) if p.eigenvalues is None else np.asarray(p.eigenvalues)
        order = np.argsort(lam)
        picks = order[np.unique(np.linspace(0, lam.size - 1, min(EIGEN_LINES, lam.size)).round().astype(int))]
        lines: list[Line] = []
        for g in ghosts:
            e = p.eigen_errors(g.w)
            lines += [Line(g.step, _log_abs(e[:, i]), dim=True) for i in picks]
        if compare:
            slow = picks[0]
            lines += [Line(d.step, _log_abs(p.eigen_errors(d.w)[:, slow]), f"{d.label} λ {lam[slow]:.3g}") for d in live]
        else:
            d = live[0]
            e = p.eigen_errors(d.w)
            lines += [Line(d.step, _log_abs(e[:, i]), f"λ {lam[i]:.3g}") for i in picks]
        self.view.query_one("#eigen", Chart).show(lines, key=key)

    def _landscape(self, first: Trace, live: list[TraceData], ghosts: list[TraceData], key) -> None:
        view = self.view.query_one("#landscape", Landscape)
        p = first.run.problem
        view.set_problem((p.name, tuple(sorted(p.params.items()))), p.loss_grid, p.bounds, p.w_star, p.loss_star)
        paths = [Path(g.w[:, 0], g.w[:, 1], dim=True) for g in ghosts]
        paths += [Path(d.w[:, 0], d.w[:, 1], d.label) for d in live]
        view.show(paths, key=key)
        subtitle = path_legend([d.label for d in live], self.view.app.no_color, view.size.width - 6)
        if subtitle != view.border_subtitle:  # setting it repaints the whole widget, even unchanged
            view.border_subtitle = subtitle

    def _grads(self, live, ghosts, compare, key) -> None:
        per_dim = not compare and live[0].grad.shape[1] <= MAX_DIM_LINES
        lines: list[Line] = []
        for g in ghosts:
            if per_dim:
                lines += [Line(g.step, _log_abs(g.grad[:, i]), dim=True) for i in range(g.grad.shape[1])]
            else:
                lines.append(Line(g.step, _log_abs(np.linalg.norm(g.grad, axis=1)), dim=True))
        if per_dim:
            d = live[0]
            lines += [Line(d.step, _log_abs(d.grad[:, i]), f"|g{i}|") for i in range(d.grad.shape[1])]
            title = "Gradients  log10|g_i|"
        else:
            lines += [Line(d.step, _log_abs(np.linalg.norm(d.grad, axis=1)), d.label if compare else "‖g‖")
                      for d in live]
            title = "Gradients  log10‖g‖"
        self.view.query_one("#grads", Chart).show(lines, title=title, key=key)

    def _params(self, first: Trace, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        shown = range(min(first.run.problem.dim, MAX_DIM_LINES))
        for g in ghosts:
            lines += [Line(g.step, g.w[:, i], dim=True) for i in shown]
        for j, d in enumerate(live):
            for i in shown:
                if compare:
                    lines.append(Line(d.step, d.w[:, i], d.label if i == 0 else "", color=PALETTE[j % len(PALETTE)]))
                else:
                    lines.append(Line(d.step, d.w[:, i], f"w{i}"))
        w_star = first.run.problem.w_star
        dim = first.run.problem.dim
        title = "Parameters  w_i  (— w*_i)" if dim <= MAX_DIM_LINES else f"Parameters  w_0..w_{MAX_DIM_LINES - 1} of {dim}"
        self.view.query_one("#params", Chart).show(lines, hlines=tuple(float(w_star[i]) for i in shown), title=title,
                                                   key=key)

    def _ewa(self, lab: Lab, first: Trace, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        rule = first.run.rule
        if compare:
            for d, t in zip(live, lab.traces):
                r = t.run.rule
                if r.average:
                    lines.append(Line(d.step, d.avg[:, 0], f"{d.label} {r.average}"))
                else:
                    lines.append(Line(d.ewa_step, d.ewa, f"{d.label} EWA"))
            title = "EWA of g0: each rule's own average"
        else:
            d = live[0]
            for g in ghosts:
                lines.append(Line(g.ewa_step, g.ewa, dim=True))
            lines.append(Line(d.step, d.grad[:, 0], "g0", marker="dot", kind="scatter"))
            lines.append(Line(d.ewa_step, d.ewa, "EWA"))
            lines.append(Line(d.ewa_step, d.ewa_corrected, "corrected"))
            if rule.average:
                lines.append(Line(d.step, d.avg[:, 0], rule.average_label or rule.average))
            title = f"EWA of g0  β {d.ewa_beta:g}  window {1 / (1 - d.ewa_beta):.3g}"
        self.view.query_one("#ewa", Chart).show(lines, title=title, key=key)

    def _lr(self, lab: Lab, first: Trace, live, ghosts, compare, key) -> None:
        lines: list[Line] = []
        k = max(d.step[-1] for d in live) if live else 0
        horizon = _run_end(lab, float(k))  # the run's limit, else a round number past 1.2 k + 5
        if not compare:
            future = np.unique(np.linspace(k, horizon, 256).astype(np.int64))
            lines.append(Line(future.astype(float), first.run.resolved.lrs(future), "coming", dim=True))
        for g in ghosts:
            lines.append(Line(g.step, g.lr, dim=True))
        lines += [Line(d.step, d.lr, d.label if compare else "η_t") for d in live]
        top = max((float(np.nanmax(ln.y)) for ln in lines if ln.y.size and np.isfinite(ln.y).any()), default=1.0)
        # from 0 and with head-room, so the legend does not hide a constant rate
        self.view.query_one("#lr", Chart).show(lines, xlim=(0, horizon), ylim=(0, top * 1.3 if top > 0 else 1.0), key=key)
