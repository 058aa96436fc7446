"""The plan as Prefect artifacts: a keyed table of replicas, a markdown summary (bound and gap
included), and the Gantt chart as a markdown artifact with the PNG embedded (Prefect's image
artifact takes only a URL, which an offline plan has none of)."""

from __future__ import annotations

import base64
import logging
import tempfile
from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from scheduler.analysis.metrics import plan_metrics
from scheduler.domain import Plan
from scheduler.problem import Problem


def _key(text: str) -> str:
    """Artifact keys: lowercase letters, digits and dashes."""
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in out.split("-") if p)[:100] or "placement"


def plan_rows(plan: Plan, problem: Problem) -> list[dict[str, object]]:
    rows = []
    for a in sorted(plan.assignments, key=lambda a: (a.start_s, a.task, a.replica)):
        node = problem.nodes[problem.nodes.index[a.node]]
        i = problem.dag.index[a.task]
        rows.append({"task": a.task, "replica": a.replica, "node": a.node, "network": node.network,
                     "country": node.country, "level": problem.levels[i].name, "start_s": round(a.start_s, 3),
                     "end_s": round(a.end_s, 3), "cost_usd": round(problem.cost(i, problem.nodes.index[a.node]), 4)})
    return rows


def plan_markdown(plan: Plan, problem: Problem, title: str = "Placement plan") -> str:
    lines = [f"# {title}", "", f"**Status**: {plan.status.value} ({plan.objective.value})", ""]
    if plan.has_plan:
        m = plan_metrics(problem, plan)
        gap = f"{100 * plan.gap:.1f}%" if plan.gap is not None else "-"
        lines += ["| figure | value |", "|---|---|",
                  f"| makespan | {plan.makespan_s:,.1f} s |", f"| cost | ${plan.cost_usd:,.2f} |",
                  f"| success probability | {plan.success_probability:.6f} |",
                  f"| lower bound | {plan.lower_bound_s:,.1f} s |", f"| gap | {gap} |",
                  f"| data moved between nodes | {m.gb_moved:,.1f} GB |",
                  f"| data crossing borders | {m.gb_cross_border:,.1f} GB |",
                  f"| TEE nodes used | {m.tee_nodes} |", f"| solve time | {plan.solve_time_s:.2f} s ({plan.engine}) |",
                  ""]
    lines += ["## Rules that shaped the plan", ""]
    for level in problem.policy.levels:
        tasks = [t for t, i in problem.dag.index.items() if problem.levels[i].name == level.name]
        if not tasks:
            continue
        rules = []
        if level.tee:
            rules.append(f"TEE {', '.join(level.tee)}")
        if level.attested:
            rules.append("attested")
        if level.min_reputation:
            rules.append(f"reputation >= {level.min_reputation:g}")
        if level.countries is not None:
            rules.append(f"countries {', '.join(level.countries)}")
        if level.min_replicas > 1:
            rules.append(f"{level.min_replicas} replicas by {level.spread_key}")
        if level.min_success is not None:
            rules.append(f"success >= {level.min_success:g}")
        lines.append(f"- **{level.name}** ({len(tasks)} tasks): {'; '.join(rules) or 'no rules'}")
    if plan.unplaceable:
        lines += ["", "## Unplaceable", ""]
        lines += [f"- `{u.task}`: {u.message or u.reasons}" for u in plan.unplaceable]
    for note in plan.messages or []:
        lines += ["", f"> {note}"]
    return "\n".join(lines)


def gantt_markdown(plan: Plan, problem: Problem, title: str = "Placement plan") -> str | None:
    """The plan's Gantt chart (one lane per node, labelled with node and network, levels coloured) as
    markdown with the PNG inline; None without matplotlib (the `plot` extra) or without a plan."""
    if not plan.has_plan or not plan.assignments:
        return None
    try:
        from scheduler.pictures.gantt import gantt
    except ImportError:  # matplotlib is the `plot` extra
        logging.getLogger("prefect_placement").info("no Gantt artifact: matplotlib is not installed")
        return None
    with tempfile.TemporaryDirectory() as d:
        png = gantt(plan, problem, Path(d) / "plan.png")  # its own title: status, makespan, cost, success
        data = base64.b64encode(png.read_bytes()).decode()
    return f"# {title}: Gantt chart\n\n![Gantt chart of the plan, one lane per node](data:image/png;base64,{data})\n"


def publish_plan(plan: Plan, problem: Problem, key: str = "placement", title: str = "Placement plan",
                 gantt: bool = True) -> str:
    """Create the table, summary and (with `gantt`) chart artifacts; returns the table artifact's key."""
    k = _key(key)
    create_table_artifact(plan_rows(plan, problem), key=k, description=f"{title}: every replica's node and times")
    create_markdown_artifact(plan_markdown(plan, problem, title), key=f"{k}-summary", description=title)
    chart = gantt_markdown(plan, problem, title) if gantt else None
    if chart is not None:
        create_markdown_artifact(chart, key=f"{k}-gantt", description=f"{title}: Gantt chart")
    return k
