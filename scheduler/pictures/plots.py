"""Pictures: Gantt charts of plans and simulation histograms (matplotlib, imported lazily)."""

from __future__ import annotations

from pathlib import Path


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - plotting is an extra
        raise ValueError("plots need matplotlib: pip install 'gpu-placement-scheduler[plot]'") from e
    return plt


def simulation_histogram(series: list[tuple[str, list[float]]], path: Path) -> None:
    """Histogram of completed runs' makespans, one colour per plan."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    for name, xs in series:
        if xs:
            ax.hist(xs, bins=40, alpha=0.55, label=f"{Path(name).name} ({len(xs)} completed)")
    ax.set_xlabel("makespan (s)")
    ax.set_ylabel("runs")
    ax.set_title("Simulated makespans")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


LEVEL_COLOURS = ["#4caf50", "#2196f3", "#ff9800", "#e53935", "#8e24aa", "#6d4c41"]


def _gantt_data(plan, problem):
    """Rows (nodes used, by first use), bars and transfer arrows of a plan."""
    from ..analysis.metrics import data_sources

    nodes = []
    for a in sorted(plan.assignments, key=lambda a: (a.start_s, a.node)):
        if a.node not in nodes:
            nodes.append(a.node)
    levels = [lv.name for lv in problem.policy.levels]
    bars = []
    for a in plan.assignments:
        level = problem.origins[a.task].level
        bars.append({"task": a.task, "replica": a.replica, "node": a.node, "start": a.start_s, "end": a.end_s,
                     "level": level, "colour": LEVEL_COLOURS[levels.index(level) % len(LEVEL_COLOURS)]})
    arrows = []
    for a, src, data in data_sources(problem, plan):
        if src.node != a.node:
            t = problem.links.transfer(problem.nodes.index[src.node], problem.nodes.index[a.node], data)
            arrows.append({"from": src.node, "to": a.node, "t0": src.end_s, "t1": src.end_s + t, "gb": data})
    # concurrent replicas on one node go to stacked lanes (first lane free at their start)
    lanes: dict[str, list[float]] = {}
    for b in sorted(bars, key=lambda b: (b["start"], b["end"])):
        ends = lanes.setdefault(b["node"], [])
        k = next((j for j, e in enumerate(ends) if e <= b["start"] + 1e-9), len(ends))
        if k == len(ends):
            ends.append(b["end"])
        else:
            ends[k] = b["end"]
        b["lane"] = k
    offset, y = {}, 0
    for n in nodes:
        offset[n] = y
        y += max(1, len(lanes.get(n, [])))
    for b in bars:
        b["y"] = offset[b["node"]] + b["lane"]
    for a in arrows:
        a["y0"], a["y1"] = offset[a["from"]], offset[a["to"]]
    centre = {n: offset[n] + (max(1, len(lanes.get(n, []))) - 1) / 2 for n in nodes}
    return nodes, levels, bars, arrows, centre, y


def gantt(plan, problem, path: Path, title: str = "") -> None:
    """A Gantt chart per node: PNG (matplotlib) or self-contained HTML (inline SVG), by the suffix.

    Bars are replicas coloured by effective level (hatched: replica >= 1); thin
    arrows are data transfers between nodes, from the source replica's end to the
    data's arrival.
    """
    path = Path(path)
    if path.suffix.lower() in (".html", ".htm"):
        path.write_text(gantt_html(plan, problem, title))
        return
    plt = _pyplot()
    from matplotlib.patches import Patch

    nodes, levels, bars, arrows, centre, rows = _gantt_data(plan, problem)
    height = max(3.0, 0.16 * rows + 0.1 * len(nodes) + 1.5)
    fig, ax = plt.subplots(figsize=(15, height), dpi=110)
    for b in bars:
        ax.barh(b["y"], b["end"] - b["start"], left=b["start"], height=0.8, color=b["colour"], edgecolor="black",
                linewidth=0.3, hatch="//" if b["replica"] else None)
        if (b["end"] - b["start"]) > 0.03 * (plan.makespan_s or 1):
            ax.text((b["start"] + b["end"]) / 2, b["y"], b["task"], ha="center", va="center", fontsize=5,
                    clip_on=True)
    for a in arrows[:2000]:
        ax.annotate("", xy=(a["t1"], a["y1"]), xytext=(a["t0"], a["y0"]),
                    arrowprops={"arrowstyle": "->", "lw": 0.4, "color": "#555555", "alpha": 0.4})
    for n in nodes[1:]:
        ax.axhline(min(b["y"] for b in bars if b["node"] == n) - 0.5, color="#bbbbbb", lw=0.5)
    ax.set_yticks([centre[n] for n in nodes], nodes, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title(title or f"{plan.status.value} plan: makespan {plan.makespan_s:,.0f} s, cost ${plan.cost_usd:,.2f}")
    used = sorted({b["level"] for b in bars}, key=levels.index)
    handles = [Patch(color=LEVEL_COLOURS[levels.index(lv) % len(LEVEL_COLOURS)], label=lv) for lv in used]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="extra replica"))
    ax.legend(handles=handles, loc="upper right", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def gantt_html(plan, problem, title: str = "") -> str:
    """A self-contained HTML page with the Gantt chart as inline SVG (hover for details)."""
    from html import escape

    nodes, levels, bars, arrows, centre, rows = _gantt_data(plan, problem)
    left, width, rh = 230, 1100, 14
    span = max(plan.makespan_s or 1.0, 1e-9)

    def x(t: float) -> float:
        return left + width * t / span

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{rh * rows + 40}" '
           f'font-family="sans-serif" font-size="10">']
    for n in nodes:
        svg.append(f'<text x="{left - 6}" y="{centre[n] * rh + rh * 0.7}" text-anchor="end">{escape(n)}</text>')
    for b in bars:
        y = b["y"] * rh
        tip = f'{b["task"]} #{b["replica"]} on {b["node"]} ({b["level"]}): {b["start"]:,.1f} - {b["end"]:,.1f} s'
        fade = ' fill-opacity="0.6"' if b["replica"] else ""
        svg.append(f'<rect x="{x(b["start"]):.2f}" y="{y + 2}" width="{max(0.5, x(b["end"]) - x(b["start"])):.2f}" '
                   f'height="{rh - 4}" fill="{b["colour"]}" stroke="black" stroke-width="0.3"{fade}>'
                   f'<title>{escape(tip)}</title></rect>')
    for a in arrows[:2000]:
        svg.append(f'<line x1="{x(a["t0"]):.2f}" y1="{a["y0"] * rh + rh / 2}" x2="{x(a["t1"]):.2f}" '
                   f'y2="{a["y1"] * rh + rh / 2}" stroke="#555" stroke-width="0.5" stroke-opacity="0.5">'
                   f'<title>{a["gb"]:g} GB {escape(a["from"])} -> {escape(a["to"])}</title></line>')
    y_axis = rh * rows + 15
    for k in range(11):
        t = span * k / 10
        svg.append(f'<text x="{x(t):.1f}" y="{y_axis}" text-anchor="middle">{t:,.0f}s</text>')
    svg.append("</svg>")
    legend = " ".join(f'<span style="background:{LEVEL_COLOURS[k % len(LEVEL_COLOURS)]};padding:2px 6px">'
                      f'{escape(lv)}</span>' for k, lv in enumerate(levels))
    head = escape(title or f"{plan.status.value} plan: makespan {plan.makespan_s:,.0f} s, cost ${plan.cost_usd:,.2f}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{head}</title></head><body>"
            f"<h3>{head}</h3><p>{legend} (faded: extra replicas; lines: data transfers)</p>{''.join(svg)}"
            f"</body></html>\n")


def pareto_plot(points, path: Path, title: str = "") -> None:
    """Cost versus makespan of the Pareto front."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    xs = [p.makespan_s for p in points]
    ys = [p.cost_usd for p in points]
    ax.step(xs, ys, where="post", color="#2196f3")
    ax.plot(xs, ys, "o", color="#e53935")
    for p in points:
        ax.annotate(f"${p.cost_usd:,.2f}", (p.makespan_s, p.cost_usd), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    ax.set_xlabel("makespan (s)")
    ax.set_ylabel("cost (USD)")
    ax.set_title(title or "Cost versus makespan (each point: the cheapest plan within that makespan)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
