"""Gantt charts as one self-contained HTML page: inline SVG, no script, no style sheet or font
fetched from anywhere (it works offline and leaks nothing). Lanes are labelled with node and
network, bands shaded, bars coloured by level and labelled where the name fits, a tooltip on every
bar and transfer, time ticks on round durations."""

from __future__ import annotations

from html import escape
from pathlib import Path

from ..domain import Plan
from ..domain.units import format_duration
from ..formats.writing import write_atomic
from .layout import Layout
from .style import DEADLINE_COLOUR, TRANSFER_COLOUR, duration_label, level_colour, nice_step

LEFT, WIDTH, ROW, TOP = 260, 1100, 18, 30
CHAR_PX = 6.2  # average width of a character at the labels' size
MAX_TRANSFERS = 2000
MARK_STROKE = {"moved": ("#000", 2.2, ""), "moved away": ("#000", 1.6, "4 2"), "new": ("#1b5e20", 2.0, "")}


def gantt_page(panels: list[tuple[str, Plan, Layout]], path: str | Path) -> Path:
    """Write one page with a chart per (title, plan, layout), on one time scale."""
    span = max((lay.span_s for _, _, lay in panels), default=1.0)
    charts = "".join(f"<h3>{escape(title)}</h3>{_svg(plan, lay, span)}" for title, plan, lay in panels)
    levels = panels[0][2].levels if panels else []
    legend = " ".join(f'<span class="key" style="background:{level_colour(levels, lv)}">{escape(lv)}</span>'
                      for lv in levels)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(panels[0][0] if panels else "plan")}</title>
<style>body{{font-family:sans-serif;margin:16px}} .key{{padding:2px 8px;color:#fff;border-radius:3px}}
svg text{{font-family:sans-serif}}</style></head><body>
<p>levels: {legend} &middot; {" &middot; ".join(_keys(panels))}</p>
{charts}
</body></html>
"""
    return write_atomic(path, page)


def _keys(panels: list[tuple[str, Plan, Layout]]) -> list[str]:
    """The legend's other entries: only for what the charts show."""
    keys = []
    if any(lay.extra_replicas for _, _, lay in panels):
        keys.append("lighter bars: extra replicas")
    if any(lay.transfers for _, _, lay in panels):
        keys.append("arrows: data transfers")
    if any(plan.deadline_s is not None for _, plan, _ in panels):
        keys.append("dashed red: deadline")
    if any(lay.moved for _, _, lay in panels):
        keys.append("outlined: what moved")
    return [*keys, "hover a bar for its details"]


def _svg(plan: Plan, lay: Layout, span: float) -> str:
    def x(t: float) -> float:
        return LEFT + WIDTH * t / max(span, 1e-9)

    height = TOP + ROW * lay.rows + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 30}" height="{height}" font-size="10">',
           '<defs><marker id="arrow" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto">'
           f'<path d="M0,0 L6,3 L0,6 z" fill="{TRANSFER_COLOUR}"/></marker></defs>']
    for k, band in enumerate(lay.bands):
        y = TOP + band.top * ROW
        if k % 2:
            out.append(f'<rect class="band" x="0" y="{y}" width="{LEFT + WIDTH}" height="{band.lanes * ROW}" '
                       f'fill="#f2f2f2"/>')
        out.append(f'<line class="separator" x1="0" y1="{y}" x2="{LEFT + WIDTH}" y2="{y}" stroke="#ccc"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + band.lanes * ROW / 2 + 4}" text-anchor="end">'
                   f'{escape(band.label)}</text>')
    out += _ticks(span, x, TOP + ROW * lay.rows)
    out += [_bar(b, x) for b in lay.bars]
    for t in lay.transfers[:MAX_TRANSFERS]:
        out.append(f'<line class="transfer" x1="{x(t.t0):.1f}" y1="{TOP + (t.row0 + 0.5) * ROW:.1f}" '
                   f'x2="{x(t.t1):.1f}" y2="{TOP + (t.row1 + 0.5) * ROW:.1f}" stroke="{TRANSFER_COLOUR}" '
                   f'stroke-width="1" stroke-opacity="0.6" marker-end="url(#arrow)"><title>{t.gb:g} GB '
                   f'{escape(t.source)} -&gt; {escape(t.target)}, {format_duration(t.t1 - t.t0)}</title></line>')
    if plan.deadline_s:
        out.append(f'<line class="deadline" x1="{x(plan.deadline_s):.1f}" y1="{TOP - 10}" x2="{x(plan.deadline_s):.1f}" '
                   f'y2="{TOP + ROW * lay.rows}" stroke="{DEADLINE_COLOUR}" stroke-dasharray="6 3" stroke-width="1.5">'
                   f'<title>deadline {format_duration(plan.deadline_s)}</title></line>')
    out.append("</svg>")
    return "".join(out)


def _ticks(span: float, x, bottom: float) -> list[str]:
    step = nice_step(span, ticks=10)
    out, t = [], 0.0
    while t <= span * 1.0001:
        out.append(f'<line x1="{x(t):.1f}" y1="{TOP - 4}" x2="{x(t):.1f}" y2="{bottom}" stroke="#e0e0e0"/>'
                   f'<text x="{x(t):.1f}" y="{bottom + 14}" text-anchor="middle">{duration_label(t, step)}</text>')
        t += step
    return out


def _bar(b, x) -> str:
    y = TOP + b.row * ROW
    w = max(0.8, x(b.end) - x(b.start))
    stroke, width, dash = MARK_STROKE.get(b.mark, ("#263238", 0.4, ""))
    name = b.task if b.replica == 0 else f"{b.task} #{b.replica}"
    tip = (f"{b.task} #{b.replica} on {b.node} (level {b.level}): {format_duration(b.start)} - "
           f"{format_duration(b.end)}{' (' + b.mark + ')' if b.mark else ''}")
    label = ""
    if len(name) * CHAR_PX + 6 <= w:
        label = (f'<text x="{x(b.start) + w / 2:.1f}" y="{y + ROW / 2 + 3.5}" text-anchor="middle" '
                 f'pointer-events="none">{escape(name)}</text>')
    return (f'<rect class="bar" data-task="{escape(b.task)}" data-node="{escape(b.node)}" x="{x(b.start):.2f}" '
            f'y="{y + 2}" width="{w:.2f}" height="{ROW - 4}" fill="{b.colour}" '
            f'fill-opacity="{1.0 if b.replica == 0 else 0.6}" stroke="{stroke}" stroke-width="{width}"'
            f'{f" stroke-dasharray={chr(34)}{dash}{chr(34)}" if dash else ""}><title>{escape(tip)}</title></rect>'
            + label)
