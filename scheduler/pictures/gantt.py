"""Gantt charts of plans: one band per node, a bar per replica coloured by effective level, labelled
where the label fits (inside, or just after a short bar), data transfers as arrows, the deadline and
the makespan as lines, time in hours and minutes. PNG (matplotlib) or self-contained HTML (`html`)
by the file's suffix; `whatif_gantt` draws a what-if's two plans in one picture, what moved outlined."""

from __future__ import annotations

import dataclasses

from pathlib import Path
from typing import Any

from ..analysis.whatif import WhatIfResult
from ..domain import Plan
from ..domain.units import format_duration, format_usd
from ..problem import Problem
from .layout import Layout, gang_groups, layout
from .style import DEADLINE_COLOUR, TRANSFER_COLOUR, level_colour, pyplot, save, time_axis

MAX_ARROWS = 600
LABEL_PT = 7.0
ROW_INCHES = 0.3
WIDTH_INCHES = 15.0
MARK_STYLE = {"moved": ("#000000", 2.2, "-"), "moved away": ("#000000", 1.6, "--"), "new": ("#1b5e20", 2.0, "-")}


def gantt(plan: Plan, problem: Problem, path: str | Path, title: str = "") -> Path:
    """Draw `plan` to `path` (``.png``, or ``.html``/``.htm`` for an interactive page); returns the path."""
    if Path(path).suffix.lower() in (".html", ".htm"):
        from .html import gantt_page

        return gantt_page([(title or _title(plan), plan, layout(plan, problem))], path)
    lay = layout(plan, problem)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(WIDTH_INCHES, _height(lay.rows)), dpi=110)
    draw(ax, lay, plan, title or _title(plan))
    _legend(ax, lay, marks=False, deadline=plan.deadline_s is not None)
    fig.tight_layout()
    return save(fig, path)


def whatif_gantt(result: WhatIfResult, path: str | Path) -> Path:
    """The base and the changed plan in one picture, on one time scale and the same node order, with the
    replicas that moved outlined (dashed where they left, solid where they went)."""
    base_marks, changed_marks = moved_marks(result)
    plans = [("base", result.base, result.base_problem, base_marks),
             (f"what if: {result.scenario.describe()}", result.changed, result.changed_problem, changed_marks)]
    order = list(dict.fromkeys(a.node for p in (result.base, result.changed)
                               for a in sorted(p.assignments, key=lambda a: (a.start_s, a.node))))
    panels = [(f"{name}: {_title(p)}", p, layout(p, prob, marks, order)) for name, p, prob, marks in plans
              if p.has_plan and prob is not None]
    if Path(path).suffix.lower() in (".html", ".htm"):
        from .html import gantt_page

        return gantt_page(panels, path)
    plt = pyplot()
    span = max((lay.span_s for _, _, lay in panels), default=1.0)
    heights = [max(2.0, ROW_INCHES * lay.rows + 1.0) for _, _, lay in panels] or [2.0]
    fig, axes = plt.subplots(len(heights), 1, figsize=(WIDTH_INCHES, sum(heights) + 1.0), dpi=110, sharex=True,
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, (title, p, lay) in zip(axes[:, 0], panels):
        lay.span_s = span
        draw(ax, lay, p, title)
    if panels:
        _legend(axes[0, 0], panels[0][2], marks=True, deadline=any(p.deadline_s is not None for _, p, _ in panels))
    fig.tight_layout()
    return save(fig, path)


def moved_marks(result: WhatIfResult) -> tuple[dict[tuple[str, int], str], dict[tuple[str, int], str]]:
    """Per plan, (task, replica) -> "moved away" (base) or "moved" (changed) for the what-if's moves."""
    def number(plan: Plan) -> dict[tuple[str, str], int]:
        return {(a.task, a.node): a.replica for a in plan.assignments}

    base_no, changed_no = number(result.base), number(result.changed)
    base, changed = {}, {}
    for m in result.moved:
        if m.from_node is not None and (m.task, m.from_node) in base_no:
            base[(m.task, base_no[(m.task, m.from_node)])] = "moved away"
        if m.to_node is not None and (m.task, m.to_node) in changed_no:
            changed[(m.task, changed_no[(m.task, m.to_node)])] = "moved"
    return base, changed


def _title(plan: Plan) -> str:
    return (f"{plan.status.value} plan: makespan {format_duration(plan.makespan_s)}, cost "
            f"{format_usd(plan.cost_usd)}, success {plan.success_probability:.4f}" if plan.has_plan
            else f"{plan.status.value}: no plan")


def _height(rows: int) -> float:
    return min(60.0, max(3.0, ROW_INCHES * rows + 1.8))


def draw(ax: Any, lay: Layout, plan: Plan, title: str) -> None:
    """One plan's chart on `ax` (see the module docstring)."""
    span = lay.span_s
    for k, band in enumerate(lay.bands):  # alternate shading: which lanes belong to which node
        if k % 2:
            ax.axhspan(band.top - 0.5, band.top + band.lanes - 0.5, color="#f2f2f2", zorder=0)
        if k:
            ax.axhline(band.top - 0.5, color="#bdbdbd", lw=0.6, zorder=1)
    ax.set_xlim(0, span * 1.01)
    ax.set_ylim(lay.rows - 0.5, -0.5)
    data_per_inch = span * 1.01 / (WIDTH_INCHES * 0.78)
    next_start = _next_starts(lay)
    spanning = {}  # a gang replica on adjacent lanes: one bar across them
    for group in gang_groups(lay.bars):
        rows = sorted(b.row for b in group)
        if rows == list(range(rows[0], rows[0] + len(rows))):
            spanning.update({id(b): (b is group[0], rows) for b in group})
    for b in lay.bars:
        edge, width, style = MARK_STYLE.get(b.mark, ("#263238", 0.4, "-"))
        first, rows = spanning.get(id(b), (True, [b.row]))
        if not first:
            continue
        ax.barh((rows[0] + rows[-1]) / 2, max(b.end - b.start, span * 1e-4), left=b.start,
                height=rows[-1] - rows[0] + 0.78, color=b.colour, alpha=1.0 if b.replica == 0 else 0.6,
                edgecolor=edge, linewidth=width, linestyle=style, zorder=2)
        _label(ax, dataclasses.replace(b, row=(rows[0] + rows[-1]) / 2), data_per_inch,
               next_start.get(id(b), span * 1.01))
    for t in lay.transfers[:MAX_ARROWS]:
        ax.annotate("", xy=(t.t1, t.row1), xytext=(t.t0, t.row0), zorder=4,
                    arrowprops={"arrowstyle": "-|>", "lw": 0.9, "color": TRANSFER_COLOUR, "alpha": 0.65,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 7})
    if plan.deadline_s:
        ax.axvline(plan.deadline_s, color=DEADLINE_COLOUR, lw=1.4, ls="--", zorder=5)
        ax.text(plan.deadline_s, -0.45, f" deadline {format_duration(plan.deadline_s)}", color=DEADLINE_COLOUR,
                fontsize=8, va="top", ha="left" if plan.deadline_s < 0.85 * span else "right")
    if plan.makespan_s:
        ax.axvline(plan.makespan_s, color="#616161", lw=1.0, ls=":", zorder=5)
    ax.set_yticks([b.centre for b in lay.bands], [b.label for b in lay.bands], fontsize=8)
    time_axis(ax, span)
    ax.grid(axis="x", alpha=0.3, zorder=0)
    ax.set_title(title, fontsize=10, loc="left")


def _next_starts(lay: Layout) -> dict[int, float]:
    """Per bar, when the next bar in its lane starts (how much room a label after it has)."""
    by_row: dict[int, list[Any]] = {}
    for b in lay.bars:
        by_row.setdefault(b.row, []).append(b)
    out = {}
    for bars in by_row.values():
        bars.sort(key=lambda b: b.start)
        for a, b in zip(bars, bars[1:]):
            out[id(a)] = b.start
    return out


def _label(ax: Any, b: Any, data_per_inch: float, room_until: float) -> None:
    """The task's name inside its bar when it fits, else just after it when the lane is free there."""
    text = b.task if b.replica == 0 else f"{b.task} #{b.replica}"
    width = len(text) * LABEL_PT * 0.55 / 72 * data_per_inch
    if b.end - b.start >= width * 1.1:
        dark = _luminance(b.colour) > 0.55
        ax.text((b.start + b.end) / 2, b.row, text, ha="center", va="center", fontsize=LABEL_PT, zorder=3,
                color="#111111" if dark else "white", clip_on=True)
    elif room_until - b.end >= width * 1.2:
        ax.text(b.end + 0.1 * width, b.row, text, ha="left", va="center", fontsize=LABEL_PT - 0.5, zorder=3,
                color="#424242", clip_on=True)


def _luminance(colour: str) -> float:
    r, g, b = (int(colour[k:k + 2], 16) / 255 for k in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _legend(ax: Any, lay: Layout, marks: bool, deadline: bool = False) -> None:
    """Levels used, and the other keys only for what the chart draws."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    used = [lv for lv in lay.levels if any(b.level == lv for b in lay.bars)]
    handles = [Patch(color=level_colour(lay.levels, lv), label=f"level {lv}") for lv in used]
    if lay.extra_replicas:
        handles.append(Patch(facecolor="#9e9e9e", alpha=0.6, edgecolor="#263238", label="extra replica (lighter)"))
    if lay.transfers:
        handles.append(Line2D([], [], color=TRANSFER_COLOUR, lw=0.9, marker=">", markersize=4, label="data transfer"))
    if deadline:
        handles.append(Line2D([], [], color=DEADLINE_COLOUR, ls="--", label="deadline"))
    handles.append(Line2D([], [], color="#616161", ls=":", label="makespan"))
    if marks:
        handles.append(Patch(facecolor="white", edgecolor="black", lw=1.6, ls="--", label="moved away (base)"))
        handles.append(Patch(facecolor="white", edgecolor="black", lw=2.2, label="moved here (changed)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
