"""Charts of many runs or plans: the simulated makespans (with the planned makespan and each
plan's p50 and p95 marked) and the cost-versus-makespan front (with the proven cost bounds)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..domain.units import format_duration
from .style import pyplot, save, time_axis


def simulation_histogram(results: Sequence[tuple[str, Any]], path: str | Path) -> Path:
    """Histogram of completed runs' makespans per plan (`SimulationResult`s), with markers."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.8), dpi=120)
    span = max([max(r.makespans, default=0.0) for _, r in results] + [r.planned_makespan for _, r in results] + [1.0])
    colours = ["#1e88e5", "#e53935", "#43a047", "#8e24aa"]
    for k, (name, r) in enumerate(results):
        c = colours[k % len(colours)]
        label = f"{Path(name).name}: {r.completed}/{r.runs} completed"
        if r.makespans:
            ax.hist(r.makespans, bins=40, alpha=0.5, color=c, label=label)
            p50, p95 = np.percentile(r.makespans, [50, 95])
            ax.axvline(p50, color=c, ls="-", lw=1.2)
            ax.axvline(p95, color=c, ls="--", lw=1.2)
            ax.text(p95, ax.get_ylim()[1] * (0.95 - 0.07 * k), f" p95 {format_duration(p95)}", color=c, fontsize=8)
        ax.axvline(r.planned_makespan, color=c, ls=":", lw=2, label=f"planned {format_duration(r.planned_makespan)}")
    time_axis(ax, span, "makespan of completed runs (solid: p50, dashed: p95, dotted: as planned)")
    ax.set_ylabel("runs")
    ax.set_title("Simulated makespans")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)


def pareto_plot(points: Sequence[Any], path: str | Path, title: str = "") -> Path:
    """Cost versus makespan of the front's plans, each with its proven cost lower bound."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    xs = [p.makespan_s for p in points]
    ys = [p.cost_usd for p in points]
    ax.step(xs, ys, where="post", color="#2196f3", label="cheapest plan found")
    ax.plot(xs, ys, "o", color="#1565c0")
    bounds = [(p.deadline_s, p.cost_bound_usd) for p in points if getattr(p, "cost_bound_usd", None) is not None]
    if bounds:
        ax.plot(*zip(*bounds), "v", color="#9e9e9e", label="proven cost lower bound at that deadline")
    for p in points:
        ax.annotate(f"${p.cost_usd:,.2f}", (p.makespan_s, p.cost_usd), fontsize=7, xytext=(4, 4),
                    textcoords="offset points")
    time_axis(ax, max(xs + [1.0]), "makespan")
    ax.set_ylabel("cost (USD)")
    ax.set_title(title or "Cost versus makespan: the cheapest plan within each makespan")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save(fig, path)
