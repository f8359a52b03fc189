"""The network lab's charts: what each view draws in its four charts (:func:`draw`).

The single view: the training loss with its EWA, train and validation accuracy per epoch, the
learning rate (the schedule's planned rate dim under it) and each layer's update size relative to
its weights; the previous run as a dim ghost. The compare view overlays its rules; the study view
draws each setting's mean with its min-max band. Each chart's legend is in its bottom border.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from descent_engine import adjust
from descent_engine.params import format_value
from descent_engine.rules import get_rule

from ..widgets.plot import Chart, Line
from .job import DEFAULT_EWA_BETA, TrackData, ewa_beta, log10
from .text import group_tracks

BAND_COLORS = {"cyan": 30, "orange": 130}
BAND_MARKER = "·"
#: compare view: validation accuracy in a mark no series takes without colour, so that every chart
#: gives the rules the same marks (the ones the summary line shows, :func:`~.text.series_glyph`)
VAL_MARKER = "·"
#: the chart ids of the lab, in grid order
CHART_IDS = ("loss", "acc", "lr", "ratio")


def fitted_legend(chart: Chart, lines: Sequence[Line]) -> list[Line]:
    """``lines`` with their labels: the chart draws its legend in its bottom border, shortened to
    fit and never over the data, so every chart keeps one at every size (the layer chart's W1..Wk)."""
    return list(lines)


def title(chart: Chart, long: str, short: str) -> str:
    return long if len(long) + 4 <= chart.size.width or chart.size.width == 0 else short


def beta_text(config) -> str:
    """The loss EWA's beta as the rule's Param formats it (or plainly, for rules without one)."""
    mb = adjust.main_beta(config)
    if mb is None:
        return f"{DEFAULT_EWA_BETA:g}"
    return format_value(get_rule(config.rule).params.get(mb[0]), mb[1])


def draw(charts: Mapping[str, Chart], view: str, tracks: list[TrackData], ghost: TrackData | None, key: object,
         only: Sequence[str] = CHART_IDS, sharpness: bool = False, show_cost: bool = True) -> None:
    """Draw ``view``'s charts named in ``only`` (``charts`` by :data:`CHART_IDS`); with ``sharpness``
    the fourth chart is the sharpness instrument (:func:`draw_sharpness`) instead of the update sizes."""
    if not tracks:
        return
    if sharpness and "ratio" in only:
        draw_sharpness(charts["ratio"], tracks, key, show_cost)
        only = [c for c in only if c != "ratio"]
    charts["acc"].xlabel = "iteration" if view == "effective" else "epoch"
    if view == "effective":
        draw_effective(charts, tracks, key, only)
    else:
        draw_runs(charts, view == "compare", tracks, ghost, key, only)


def draw_runs(charts: Mapping[str, Chart], compare: bool, tracks: list[TrackData], ghost_track: TrackData | None,
              key: object, only: Sequence[str] = CHART_IDS) -> None:
    ghost = [ghost_track] if ghost_track is not None and not compare else []
    if "loss" in only:
        loss = charts["loss"]
        lines = [Line(np.arange(g.loss.size), g.loss_ewa, "previous", dim=True) for g in ghost]
        if compare:
            lines += [Line(np.arange(t.loss.size), t.loss_ewa, t.label, color=t.color) for t in tracks]
            beta = DEFAULT_EWA_BETA
        else:
            t = tracks[0]
            beta = ewa_beta(t.config)
            x = np.arange(t.loss.size)
            lines += [Line(x, t.loss, "loss", color="blue", marker="dot", kind="scatter"),
                      Line(x, t.loss_ewa, "EWA", color="orange")]
        b = beta_text(tracks[0].config) if not compare else f"{beta:g}"
        loss.show(fitted_legend(loss, lines), key=key, title=title(
            loss, f"Training loss per iteration · EWA β {b} bias-corrected", f"Loss · EWA β {b}"))

    if "acc" in only:
        acc = charts["acc"]
        lines = []
        for g in ghost:
            lines += [Line(g.acc_epoch, g.train_acc, "previous", dim=True), Line(g.acc_epoch, g.val_acc, dim=True)]
        if compare:
            for t in tracks:
                lines += [Line(t.acc_epoch, t.train_acc, t.label, color=t.color),
                          Line(t.acc_epoch, t.val_acc, color=t.color, marker=VAL_MARKER, kind="scatter")]
            long, short = f"Accuracy per epoch · train ─ val {VAL_MARKER}", f"Accuracy · train ─ val {VAL_MARKER}"
        else:
            t = tracks[0]
            lines += [Line(t.acc_epoch, t.train_acc, "train", color="cyan"),
                      Line(t.acc_epoch, t.val_acc, "val", color="green", marker="hd")]
            long, short = "Accuracy per epoch · train · validation", "Accuracy · train · val"
        xmax = max(t.num_iterations / t.iterations_per_epoch for t in tracks)
        acc.show(fitted_legend(acc, lines), key=key, ylim=(0, 1), xlim=(0, xmax), title=title(acc, long, short))

    if "lr" in only:
        lr = charts["lr"]
        lines = [Line(np.arange(g.lr.size), log10(g.lr), dim=True) for g in ghost]
        for t in tracks:
            lines.append(Line(np.arange(t.planned_lr.size), log10(t.planned_lr), dim=True))
        for t in tracks:
            lines.append(Line(np.arange(t.lr.size), log10(t.lr), t.label if compare else "", color=t.color))
        lr.show(fitted_legend(lr, lines), key=key, ylim=_lr_ylim(lines), title=title(lr, "Learning rate log10 η_t (dim: planned)",
                                                                          "log10 lr (dim: planned)"))

    if "ratio" in only:
        ratio = charts["ratio"]
        lines = [Line(np.arange(g.ratios.shape[0]), g.mean_log_ratio, "previous", dim=True) for g in ghost]
        if compare:
            lines += [Line(np.arange(t.ratios.shape[0]), t.mean_log_ratio, t.label, color=t.color) for t in tracks]
            long, short = "Update size log10 ‖ΔW‖/‖W‖ · mean of layers", "log10 ‖ΔW‖/‖W‖"
        else:
            t = tracks[0]
            x = np.arange(t.ratios.shape[0])
            lines += [Line(x, log10(t.ratios[:, i]), f"W{i + 1}") for i in range(t.ratios.shape[1])]
            long, short = "Update size per layer log10 ‖ΔW‖/‖W‖ (— 1e-3)", "log10 ‖ΔW‖/‖W‖"
        ratio.show(fitted_legend(ratio, lines), key=key, hlines=(-3.0,), title=title(ratio, long, short))


def draw_effective(charts: Mapping[str, Chart], tracks: list[TrackData], key: object,
                   only: Sequence[str] = CHART_IDS) -> None:
    groups = group_tracks(tracks)

    def band(chart_id: str, series: Callable[[TrackData], tuple[np.ndarray, np.ndarray]], **opts: Any) -> None:
        if chart_id not in only:
            return
        chart = charts[chart_id]
        bands, means = [], []  # every band under every mean
        for group, ts in groups.items():
            mean, lo, hi, x = _band([series(t) for t in ts])
            color = ts[0].color
            dark = BAND_COLORS.get(color, color)
            # a band's edges in small dots: without colour the second mean is drawn in "•"
            bands += [Line(x, lo, color=dark, marker=BAND_MARKER), Line(x, hi, color=dark, marker=BAND_MARKER)]
            means.append(Line(x, mean, group, color=color))
        chart.show(fitted_legend(chart, bands + means), key=key, **opts)

    loss = charts["loss"]
    band("loss", lambda t: (np.arange(t.loss.size), t.loss_ewa), title=title(
        loss, f"Loss EWA · mean of {len(next(iter(groups.values())))} seeds, min-max band", "Loss EWA · mean, band"))
    acc = charts["acc"]
    band("acc", lambda t: (t.acc_iteration, t.train_acc), ylim=(0, 1), title=title(
        acc, "Train accuracy per step · mean, min-max band", "Train acc · mean, band"))
    if "lr" in only:
        lr = charts["lr"]
        lines = [Line(np.arange(ts[0].lr.size), log10(ts[0].lr), group, color=ts[0].color)
                 for group, ts in groups.items()]
        lr.show(fitted_legend(lr, lines), key=key, ylim=_lr_ylim(lines),
                title=title(lr, "Learning rate log10 η_t", "log10 lr"))
    ratio = charts["ratio"]
    band("ratio", lambda t: (np.arange(t.ratios.shape[0]), t.mean_log_ratio), hlines=(-3.0,),
         title=title(ratio, "Update size log10 ‖ΔW‖/‖W‖ · mean of layers", "log10 ‖ΔW‖/‖W‖"))


def _lr_ylim(lines: Sequence[Line]) -> tuple[float, float] | None:
    """Half a decade around every rate drawn: a constant rate sits mid-chart, not on an edge."""
    ys = [ln.y[np.isfinite(ln.y)] for ln in lines]
    ys = [y for y in ys if y.size]
    if not ys:
        return None
    lo, hi = min(float(y.min()) for y in ys), max(float(y.max()) for y in ys)
    return lo - 0.5, hi + 0.5


def _band(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, min and max over runs, cut to the shortest (a diverged run stops early)."""
    n = min(y.shape[0] for _, y in series)
    if n == 0:
        e = np.zeros(0)
        return e, e, e, e
    ys = np.array([np.asarray(y[:n], dtype=float) for _, y in series])
    with np.errstate(all="ignore"):
        return ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0), np.asarray(series[0][0][:n], dtype=float)




def last_finite(a: np.ndarray) -> float:
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a)]
    return float(a[-1]) if a.size else float("nan")


def draw_sharpness(chart: Chart, tracks: Sequence[TrackData], key: object, show_cost: bool = True) -> None:
    """log10 of each run's sharpness (the top Hessian eigenvalue of the training loss), and for
    adam/rmsprop the preconditioned one, against the rule's stability threshold (dim: 2/η for sgd,
    2(1 + μ)/η for momentum, (2 + 2β1)/((1 - β1)η) for Adam's preconditioned form). The title says
    what the instrument costs (its time over the training's) and the latest noise scale B_noise.
    In compare, each rule's preconditioned sharpness (adam, rmsprop) is drawn bright and its plain
    one dim; the thresholds dim in the rule's colour."""
    lines: list[Line] = []
    many = len(tracks) > 1
    for t in tracks:
        x = t.sharp_iteration
        pre = bool(np.isfinite(t.preconditioned).any())
        # compare: one label per rule (its preconditioned sharpness where it has one, the plain one dim)
        lines.append(Line(x, log10(t.sharpness), "" if many and pre else (t.label if many else "λmax"),
                          color=t.color, dim=pre and many))
        if pre:
            lines.append(Line(x, log10(t.preconditioned), t.label if many else "precond. λ",
                              color=t.color if many else "green"))
        if np.isfinite(t.threshold).any():
            lines.append(Line(x, log10(t.threshold), "" if many else "threshold", color="red" if not many else t.color,
                              dim=many))
    cost = max((t.measure_cost for t in tracks if np.isfinite(t.measure_cost)), default=float("nan"))
    noise = last_finite(tracks[0].noise_scale)
    extra = []
    if np.isfinite(noise):
        extra.append(f"B_noise {noise:.3g}" if noise > 0 else "B_noise ? (noisy)")
    if show_cost and np.isfinite(cost):
        extra.append(f"cost {cost:.0%}")
    tail = (" · " + " · ".join(extra)) if extra else ""
    if not tracks[0].sharp_iteration.size:
        tail = " · measuring…" if not tracks[0].done else tail
    ys = [ln.y[np.isfinite(ln.y)] for ln in lines]
    ys = [y for y in ys if y.size]
    ylim = (min(float(y.min()) for y in ys) - 0.25, max(float(y.max()) for y in ys) + 0.25) if ys else None
    short = " · ".join(["λmax"] + [e.replace("B_noise", "B").replace(" (noisy)", "") for e in extra])
    chart.show(fitted_legend(chart, lines), key=key, ylim=ylim, title=title(
        chart, f"Sharpness log10 λmax vs stability threshold{tail}", short if extra else f"log10 λmax{tail}"))
