"""The network lab's text: the status line (view, state, progress, data, net, rules, schedule) and
the summary line under it (the latest numbers, the compare view's finals, the study's verdict).

Small terminals (under :data:`COMPACT_HEIGHT` rows): the status and summary keep to
:data:`COMPACT_LINES` lines, dropping their least useful items whole (:func:`fit_items`); the
multi-series views name each series with its chart mark (:func:`series_glyph`).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from rich.cells import cell_len

from descent_engine import adjust
from descent_engine.network.config import TrainConfig
from descent_engine.network.data import Dataset
from descent_engine.network.experiments import REL_ERROR_TARGET, rel_error
from descent_engine.network.lab_plans import Plan
from descent_engine.rules import get_rule
from descent_engine.schedules import get_schedule

from ..widgets.plot import MONO_MARKERS
from ..formatting import params_text
from .job import TrackData, chart_color

#: below this height the status and summary lines keep to COMPACT_LINES lines (status, summary)
#: and drop their least useful items, so the charts keep rows for data
COMPACT_HEIGHT = 32
COMPACT_LINES = (2, 1)
#: plotext draws a marker as this glyph (its legend and ours)
MARKER_GLYPHS = {"braille": "⢕", "dot": "•", "hd": "▞"}
#: the same colours as Rich styles for the text lines (plotext's "orange" is not a Rich colour)
TEXT_COLORS = {"cyan": "cyan", "orange": "dark_orange", "green": "green", "magenta": "magenta"}
VIEW_TITLES = {"single": "network lab", "compare": "compare rules", "effective": "effective batch"}


def text_style(color: str) -> str:
    return f"bold {TEXT_COLORS.get(chart_color(color), '')}".strip()


def series_glyph(index: int, mono: bool) -> str:
    """The mark of the ``index``-th coloured series of a chart: a colour swatch, or without colour
    the marker :class:`~tui.widgets.plot.Chart` gives it (its ``MONO_MARKERS`` in order)."""
    if not mono:
        return "━"
    marker = MONO_MARKERS[index % len(MONO_MARKERS)]
    return MARKER_GLYPHS.get(marker, marker)



def wrapped_lines(items: Sequence[tuple[str, ...]], width: int, separator: str = "  ") -> int:
    """How many lines :class:`~tui.widgets.wrapline.WrapLine` wraps ``items`` into at ``width`` cells."""
    lines, used, sep = 1, 0, cell_len(separator)
    for item in items:
        w = cell_len(item[0])
        if used and used + sep + w > width:
            lines, used = lines + 1, 0
        used += (sep if used else 0) + w
    return lines if items else 0


def fit_items(items: Sequence[tuple[str, str, int]], width: int, max_lines: int) -> list[tuple[str, str]]:
    """``(text, style, priority)`` items cut to fit ``max_lines`` lines: the lowest priority goes
    first, the later of equal priority first; whole items only, never a part of one."""
    kept = list(items)
    while len(kept) > 1 and wrapped_lines(kept, width) > max_lines:
        del kept[min(range(len(kept)), key=lambda i: (kept[i][2], -i))]
    return [(text, style) for text, style, _ in kept]

VIEWS = ("single", "compare", "effective")
VIEW_TITLES = {"single": "network lab", "compare": "compare rules", "effective": "effective batch"}



def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if math.isfinite(x) else "-"


def hidden_text(hidden: Sequence[int]) -> str:
    h = list(hidden)
    return f"{h[0]}×{len(h)}" if len(set(h)) == 1 and len(h) > 1 else ",".join(map(str, h))


def rule_items(config: TrainConfig, style: str = "bold cyan", prefix: str = "", extra: str = "") -> list[tuple[str, str]]:
    """The rule (by the name it was given: the note's ``sgd`` is the registry's ``gd``) and every hyper-parameter."""
    rule = get_rule(config.rule)
    params = params_text(rule.params, rule.hparams(config.rule_params))
    return _head(prefix + config.rule, extra, params, style)


def schedule_items(config: TrainConfig) -> list[tuple[str, str]]:
    sched = get_schedule(config.schedule)
    params = params_text(sched.params, sched.hparams(config.schedule_params))
    return [(" ".join([f"{sched.name} schedule"] + params[:1]), "")] + [(p, "") for p in params[1:]]


def state_item(tracks: Sequence[TrackData], running: bool, pace: int | None = None) -> tuple[str, str]:
    diverged = [t for t in tracks if t.diverged_at is not None]
    if len(tracks) == 1 and diverged:
        return f"✖ diverged at iteration {diverged[0].diverged_at}", "bold red"
    if tracks and all(t.done for t in tracks):
        return ("✔ done" + (f" ({len(diverged)} diverged)" if diverged else ""), "bold green")
    slow = f" ≤{pace} it/s" if pace else ""
    return (f"▶ training{slow}", "bold green") if running else (f"⏸ paused{slow}", "bold yellow")


def progress_items(view: str, tracks: Sequence[TrackData]) -> list[tuple[str, str]]:
    if not tracks:
        return []
    t0 = tracks[0]
    if view == "effective":
        return [(f"step {min(t.t for t in tracks)}/{t0.num_iterations} each", "bold")]
    if view == "compare":  # a fixed step count: the last epoch is partial, so count in iterations
        return [(f"it {t0.t}/{t0.num_iterations} ({t0.t / t0.iterations_per_epoch:.1f} epochs)", "bold")]
    return [(f"epoch {t0.epoch}/{t0.num_epochs}", "bold"), (f"it {t0.t}/{t0.num_iterations}", "bold")]


def short_rule_items(config: TrainConfig, style: str, prefix: str = "", extra: str = "") -> list[tuple[str, str]]:
    """The rule with its lr and main beta only (compare and study views: the rest are registry defaults)."""
    rule = get_rule(config.rule)
    hp = rule.hparams(config.rule_params)
    shown = [p for p in rule.params if p.name in ("lr", rule.main_beta)]
    return _head(prefix + config.rule, extra, params_text(shown, hp), style)


def _head(name: str, extra: str, params: list[str], style: str) -> list[tuple[str, str]]:
    """``name extra first-param`` as one item (wraps as a unit), then one item per further param."""
    head = " ".join(t for t in (name, extra, *params[:1]) if t)
    return [(head, style)] + [(p, "") for p in params[1:]]


def status_items(view: str, data: Dataset, plans: Sequence[Plan], tracks: Sequence[TrackData],
                 running: bool, pace: int | None = None) -> list[tuple[str, str]]:
    """The status line: view, state, progress, dataset, net, batch, rules with their hyper-parameters,
    schedule. The single view lists every hyper-parameter; the compare and study views the lr and the
    main beta of each rule (their other hyper-parameters are the registry's defaults)."""
    first = plans[0].config
    n_train = first.num_train or data.X_train.shape[0]
    items = [(VIEW_TITLES[view], "bold reverse"), state_item(tracks, running, pace), *progress_items(view, tracks),
             (f"{data.name} {n_train} train / {data.X_val.shape[0]} val", "bold"),
             (f"net {data.num_features}→[{hidden_text(first.hidden)}]→{data.num_classes}", ""),
             (f"weight scale {first.weight_scale:g}", ""),
             (first.dtype, "")]
    if view == "single":
        items.append((f"batch {first.batch_size}", ""))
        items += rule_items(first)
    elif view == "compare":
        items.append((f"batch {first.batch_size}", ""))
        for i, p in enumerate(plans):
            items += short_rule_items(p.config, text_style(p.color), prefix="│ " if i else "")
        items.append(("│", ""))
    else:
        seen: dict[str, Plan] = {}
        for p in plans:
            seen.setdefault(p.group, p)
        for p in seen.values():
            c = p.config
            items += short_rule_items(c, text_style(p.color), extra=f"batch {c.batch_size}")
        items.append(("seeds " + ",".join(str(p.config.seed) for p in plans if p.group == plans[0].group), ""))
    items += schedule_items(first)
    return items


def compact_status_items(view: str, data: Dataset, plans: Sequence[Plan], tracks: Sequence[TrackData],
                         running: bool, mono: bool = False, pace: int | None = None) -> list[tuple[str, str, int]]:
    """The status line for a small terminal, as ``(text, style, priority)`` for :func:`fit_items`:
    priority 2 always stays, 1 goes before it, 0 first. The multi-series views name each series
    with its chart mark (:func:`series_glyph`) and lr; their betas, the net and the constant
    schedule are the first to go."""
    first = plans[0].config
    n_train = first.num_train or data.X_train.shape[0]
    items = [(VIEW_TITLES[view], "bold reverse", 2), (*state_item(tracks, running, pace), 2)]
    progress = progress_items(view, tracks)
    items += [(text, style, 2 if i == 0 else 1) for i, (text, style) in enumerate(progress)]
    items.append((f"{data.name} {n_train}/{data.X_val.shape[0]}", "bold", 1))
    if view == "single":
        items.append((f"batch {first.batch_size}", "", 1))
        items += [(text, style, 2 if i == 0 else 1) for i, (text, style) in enumerate(rule_items(first))]
    else:
        if view == "compare":
            items.append((f"batch {first.batch_size}", "", 1))
            series = list(plans)
        else:
            seen: dict[str, Plan] = {}
            for p in plans:
                seen.setdefault(p.group, p)
            series = list(seen.values())
        for i, p in enumerate(series):
            c = p.config
            extra = f"batch {c.batch_size}" if view == "effective" else ""
            rule = short_rule_items(c, text_style(p.color), prefix=series_glyph(i, mono) + " ", extra=extra)
            items += [(text, style, 2 if j == 0 else 0) for j, (text, style) in enumerate(rule)]
        if view == "effective":
            items.append(("seeds " + ",".join(str(p.config.seed) for p in plans if p.group == plans[0].group), "", 1))
    # the schedule as one item without the word "schedule" (a staircase keeps its factors at 80x24)
    sched = get_schedule(first.schedule)
    text = " ".join([sched.name] + params_text(sched.params, sched.hparams(first.schedule_params)))
    items.append((text if first.schedule != "constant" else "constant lr", "", 2 if first.schedule != "constant" else 0))
    items.append((f"net {data.num_features}→[{hidden_text(first.hidden)}]→{data.num_classes}", "", 0))
    return items


def compact_info_items(view: str, tracks: Sequence[TrackData], ghost: TrackData | None) -> list[tuple[str, str, int]]:
    """The summary line for a small terminal, as ``(text, style, priority)`` for :func:`fit_items`."""
    if not tracks:
        return []
    done = all(t.done for t in tracks)
    if view == "single":
        t = tracks[0]
        items = [(f"loss {_num(_last(t.loss))}", "", 2), (f"EWA {_num(_last(t.loss_ewa))}", "", 0),
                 (f"train {_num(_last(t.train_acc))}", "", 2), (f"val {_num(_last(t.val_acc))}", "", 2),
                 (f"best {_num(t.best_val_acc)}", "", 0)]
        if ghost is not None:
            items.append((f"previous ({ghost_label(ghost)}) val {_num(_last(ghost.val_acc))}", "dim", 1))
        return items
    if view == "compare":
        items = [("final val acc" if done else "val acc now", "bold", 1)]
        for t in tracks:
            text = f"{t.label} " + ("✖" if t.diverged_at is not None else _num(_last(t.val_acc)))
            items.append((text, text_style(t.color), 2))
        return items
    items = [("mean train acc", "bold", 1)]
    avgs = []
    for group, ts in group_tracks(tracks).items():
        avg = _mean_final(ts)
        avgs.append(avg)
        items.append((f"{ts[0].config.rule} {_num(avg)}", text_style(ts[0].color), 2))
    if done and len(avgs) == 2 and all(math.isfinite(a) for a in avgs):
        text, style = _verdict(rel_error(*avgs))
        items.append((text.replace("relative error", "rel err"), style, 2))
    elif not done:
        items.append((f"rel err when all {len(tracks)} runs are done", "dim", 0))
    return items


def _mean_final(ts: Sequence[TrackData]) -> float:
    finals = [_last(t.train_acc) for t in ts]
    return float(np.mean(finals)) if finals and all(math.isfinite(f) for f in finals) else float("nan")


def _verdict(err: float) -> tuple[str, str]:
    similar = err < REL_ERROR_TARGET
    verdict = f"< {REL_ERROR_TARGET:g}: similar" if similar else f">= {REL_ERROR_TARGET:g}: not similar"
    return f"relative error {err:.4f} ({verdict})", "bold reverse" if similar else "bold red"


def _last(a: np.ndarray) -> float:
    return float(a[-1]) if a.size else float("nan")


def info_items(view: str, tracks: Sequence[TrackData], ghost: TrackData | None,
               mono: bool = False) -> list[tuple[str, str]]:
    """The line under the status: the latest numbers, or the study's summary; in the multi-series
    views each series is named with its chart mark (:func:`series_glyph`), a legend that fits."""
    if not tracks:
        return []
    if view == "single":
        t = tracks[0]
        items = [(f"loss {_num(_last(t.loss))}", ""), (f"EWA {_num(_last(t.loss_ewa))}", ""),
                 (f"train acc {_num(_last(t.train_acc))}", ""), (f"val acc {_num(_last(t.val_acc))}", ""),
                 (f"best val {_num(t.best_val_acc)}", "")]
        if ghost is not None:
            items.append((f"previous ({ghost_label(ghost)}): train {_num(_last(ghost.train_acc))} "
                          f"val {_num(_last(ghost.val_acc))}", "dim"))
        return items
    if view == "compare":
        items = [("final" if all(t.done for t in tracks) else "now", "bold")]
        for i, t in enumerate(tracks):
            text = f"{series_glyph(i, mono)} {t.label}: train {_num(_last(t.train_acc))} val {_num(_last(t.val_acc))}"
            if t.diverged_at is not None:
                text += f" ✖ diverged at {t.diverged_at}"
            items.append((text, text_style(t.color)))
        return items
    return effective_summary(tracks, mono)


def group_tracks(tracks: Sequence[TrackData]) -> dict[str, list[TrackData]]:
    out: dict[str, list[TrackData]] = {}
    for t in tracks:
        out.setdefault(t.group, []).append(t)
    return out


def effective_summary(tracks: Sequence[TrackData], mono: bool = False) -> list[tuple[str, str]]:
    """Average final training accuracy per setting and their relative error (the note's < 0.04)."""
    groups = group_tracks(tracks)
    done = all(t.done for t in tracks)
    items = [("final" if done else "so far", "bold")]
    avgs = []
    for i, (group, ts) in enumerate(groups.items()):
        finals = [_last(t.train_acc) for t in ts]
        avg = _mean_final(ts)
        avgs.append(avg)
        items.append((f"{series_glyph(i, mono)} {group}: mean train acc {_num(avg)} (min {_num(min(finals))}, max {_num(max(finals))})",
                      text_style(ts[0].color)))
    if done and len(avgs) == 2 and all(math.isfinite(a) for a in avgs):
        items.append(_verdict(rel_error(*avgs)))
    elif not done:
        items.append((f"relative error when all {len(tracks)} runs are done", "dim"))
    return items


def ghost_label(g: TrackData) -> str:
    return f"{g.rule} lr {adjust.current_lr(g.config):g}"

