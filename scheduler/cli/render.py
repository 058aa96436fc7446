"""Rich renderings for a terminal: plans, audits, explanations, what-if diffs, sweeps, fronts,
simulations. Ids (tasks, nodes) are never shortened: they are what a user copies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..analysis.explain import Explanation
from ..analysis.verify import VerifyReport
from ..analysis.whatif import WhatIfResult
from ..domain import Plan, PlanStatus
from ..domain.units import count, format_duration, format_usd
from ..problem import Problem

LEVEL_STYLE = {0: "green", 1: "cyan", 2: "yellow", 3: "red"}
STATUS_STYLE = {"optimal": "green", "feasible": "cyan", "infeasible": "red", "unknown": "yellow"}
SUCCESS_HINT_BELOW = 0.9  # a plan less likely than this to succeed gets a hint about --success-target

hms = format_duration


def level_style(problem: Problem | None, level: str) -> str:
    if problem is None:
        return ""
    rank = problem.policy.rank.get(level, 0)
    top = max(1, len(problem.policy.levels) - 1)
    return LEVEL_STYLE[min(3, round(3 * rank / top))]


def _id_column(t: Table, name: str, values: Sequence[str] = ()) -> None:
    """A column of ids: as wide as its longest id, so that, when the table must shrink to the terminal,
    the other columns give way (they fold) and an id is never cut."""
    t.add_column(name, no_wrap=True, min_width=max([len(name), *(len(v) for v in values)]))


def plan_summary(plan: Plan) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_row("status", Text(plan.status.value, style=STATUS_STYLE.get(plan.status.value, "")))
    t.add_row("objective", plan.objective.value + (f" (deadline {hms(plan.deadline_s)})" if plan.deadline_s else ""))
    if plan.has_plan:
        t.add_row("makespan", f"{hms(plan.makespan_s)}  ({plan.makespan_s:,.1f} s)")
        t.add_row("cost", format_usd(plan.cost_usd))
        t.add_row("success probability", f"{plan.success_probability:.6f}")
        gap = f"  gap {100 * plan.gap:.1f}%" if plan.gap is not None else ""
        if plan.objective.value == "cost" and plan.cost_lower_bound_usd is not None:
            t.add_row("bound", f"cost >= {format_usd(plan.cost_lower_bound_usd)}{gap}; makespan >= "
                               f"{hms(plan.lower_bound_s)}")
        else:
            t.add_row("bound", f"makespan >= {hms(plan.lower_bound_s)}{gap}")
        if plan.heuristic_makespan_s is not None:
            t.add_row("heuristic", f"makespan {hms(plan.heuristic_makespan_s)}, cost {format_usd(plan.heuristic_cost_usd)}")
    t.add_row("engine", f"{plan.engine or '-'} in {hms(plan.solve_time_s)}")
    for m in plan.messages or []:
        t.add_row("note", m)
    return t


def plan_table(plan: Plan, problem: Problem | None, marks: dict[tuple[str, int], str] | None = None) -> Table:
    """Every row of the plan by start; `marks` adds a column (e.g. kept / new after a replan)."""
    t = Table(header_style="bold", box=box.SIMPLE_HEAD)
    _id_column(t, "task", [a.task for a in plan.assignments])
    t.add_column("level", overflow="fold")
    t.add_column("replica", justify="right", overflow="fold")
    _id_column(t, "node", [a.node for a in plan.assignments])
    t.add_column("start", justify="right", overflow="fold")
    t.add_column("end", justify="right", overflow="fold")
    if marks is not None:
        t.add_column("", overflow="fold")
    order = {tid: k for k, tid in enumerate(problem.dag.ids)} if problem else {}
    for a in sorted(plan.assignments, key=lambda a: (a.start_s, order.get(a.task, 0), a.replica)):
        level = problem.origins[a.task].level if problem and a.task in problem.origins else ""
        row = [a.task, Text(level, style=level_style(problem, level)), str(a.replica), a.node, hms(a.start_s),
               hms(a.end_s)]
        if marks is not None:
            mark = marks.get((a.task, a.replica), "")
            row.append(Text(mark, style={"kept": "dim", "new": "green"}.get(mark, "")))
        t.add_row(*row)
    return t


def unplaceable_table(plan: Plan) -> Table:
    t = Table(header_style="bold red")
    _id_column(t, "task", [u.task for u in plan.unplaceable or []])
    t.add_column("rule", overflow="fold")
    t.add_column("nodes turned away")
    for u in plan.unplaceable or []:
        t.add_row(u.task, u.rule or "", ", ".join(f"{k}: {v}" for k, v in u.reasons.items()))
    return t


def print_plan(console: Console, plan: Plan, problem: Problem | None,
               marks: dict[tuple[str, int], str] | None = None) -> None:
    console.print(plan_summary(plan))
    if plan.has_plan:
        console.print(plan_table(plan, problem, marks))
    elif plan.unplaceable:
        console.print(unplaceable_table(plan))


def plan_hints(plan: Plan) -> list[str]:
    """Notes where a user is about to be surprised by a plan."""
    hints = []
    p = plan.success_probability
    if plan.has_plan and plan.success_target is None and p is not None and p < SUCCESS_HINT_BELOW:
        hints.append(f"the plan succeeds with probability {p:.4f}: each replica completes only with its node's "
                     f"completion probability; --success-target 0.95 adds replicas where they buy the most")
    return hints


def print_verify(console: Console, report: VerifyReport) -> None:
    if report.ok:
        console.print(Text(f"valid: every rule holds ({report.assignments} assignments, makespan "
                           f"{hms(report.makespan_s)}, cost {format_usd(report.cost_usd)}, success "
                           f"{report.success_probability:.6f})", style="green"))
        return
    t = Table(header_style="bold red", title=count(len(report.violations), "violation"))
    t.add_column("rule", overflow="fold")
    _id_column(t, "task", [v.task or "" for v in report.violations])
    t.add_column("replica", overflow="fold")
    _id_column(t, "node", [v.node or "" for v in report.violations])
    t.add_column("what")
    for v in report.violations:
        t.add_row(v.rule, v.task or "", "" if v.replica is None else str(v.replica), v.node or "", v.message)
    console.print(t)


def print_explanation(console: Console, e: Explanation, problem: Problem, show_all: bool = False) -> None:
    """The one-line verdict first, then the level and its provenance, then every node's verdict."""
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    head.add_row("effective level", Text(e.level, style=level_style(problem, e.level)))
    for line in e.why:
        head.add_row("why", line)
    if e.output_level != e.level:
        head.add_row("outputs", f"{e.output_level} (declassified)")
    rules = f"{count(e.required_replicas, 'replica')}, spread by {e.spread}"
    if e.quorum > 1:
        rules += f", {e.quorum} must agree (quorum)"
    if e.min_success is not None:
        rules += f", success >= {e.min_success:g}"
    head.add_row("replicas", rules)
    for k, g in enumerate(e.gangs):  # a gang task: the node sets that fit together, fastest first
        head.add_row("fastest sets" if k == 0 else "", f"{' + '.join(g['nodes'])}: {hms(g['runtime_s'])}, "
                     f"{format_usd(g['cost_usd'])}, completes {g['completion_probability']:.4f}")
    t = Table(header_style="bold", box=box.SIMPLE_HEAD)
    shown = e.verdicts if show_all or len(e.verdicts) <= 200 else e.verdicts[:200]
    _id_column(t, "node", [v.node for v in shown])
    t.add_column("verdict", overflow="fold")
    t.add_column("rules that turn it away")
    t.add_column("runtime", justify="right", overflow="fold")
    t.add_column("cost", justify="right", overflow="fold")
    t.add_column("reputation", justify="right", overflow="fold")
    rates = any(v.failures_per_hour > 0 for v in e.verdicts)
    windows = any(v.windows != "always" for v in e.verdicts)
    if rates:
        t.add_column("failures/h", justify="right", overflow="fold")
        t.add_column("completes", justify="right", overflow="fold")
    if windows:
        t.add_column("available", overflow="fold")
    for v in shown:
        extra = [f"{v.failures_per_hour:g}", f"{v.completion_probability:.4f}"] if rates else []
        t.add_row(v.node, Text("ok", style="green") if v.eligible else Text("no", style="red"),
                  "; ".join(f"{r.rule.value}: {r.detail}" for r in v.rejections), hms(v.runtime_s),
                  format_usd(v.cost_usd), f"{v.reputation:.4f}", *extra, *([v.windows] if windows else []))
    parts: list = [Text(e.summary, style="bold" if e.eligible else "bold red"), head, t]
    if len(shown) < len(e.verdicts):
        parts.append(Text(f"... {len(e.verdicts) - len(shown)} more nodes (use --all or --format json)"))
    console.print(Group(*parts))


def print_whatif(console: Console, result: WhatIfResult) -> None:
    """The figures side by side, then the diff: ~ moved, + added, - removed, ! unplaceable."""
    b, c = result.base_metrics, result.changed_metrics
    t = Table(title=f"what if: {result.scenario.describe()}", header_style="bold")
    for col, just in (("", "left"), ("base", "right"), ("changed", "right"), ("change", "right")):
        t.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]

    def row(name: str, x: float | None, y: float | None, show, lower_is_better: bool = True) -> None:
        if x is None or y is None:
            t.add_row(name, "-" if x is None else show(x), "-" if y is None else show(y), "")
            return
        delta = y - x
        style = "" if abs(delta) < 1e-9 else ("green" if (delta < 0) == lower_is_better else "red")
        pct = f" ({100 * delta / x:+.1f}%)" if x else ""
        sign = "+" if delta >= 0 else "-"
        t.add_row(name, show(x), show(y), Text(f"{sign}{show(abs(delta))}{pct}", style=style))

    row("makespan", b.makespan_s, c.makespan_s, hms)
    row("cost", b.cost_usd, c.cost_usd, format_usd)
    row("success probability", b.success_probability, c.success_probability, "{:.6f}".format, lower_is_better=False)
    row("GB moved between nodes", b.gb_moved, c.gb_moved, "{:,.1f}".format)
    row("GB crossing borders", b.gb_cross_border, c.gb_cross_border, "{:,.1f}".format)
    row("TEE nodes used", b.tee_nodes, c.tee_nodes, "{:,.0f}".format, lower_is_better=False)
    console.print(t)
    console.print(f"status: base {result.base.status.value}, changed {result.changed.status.value}")
    for line, style in diff_lines(result):
        console.print(Text(line, style=style))


def diff_lines(result: WhatIfResult) -> list[tuple[str, str]]:
    """The diff as `terraform plan` writes one: ``~`` a replica moved, ``+`` added, ``-`` removed."""
    out = []
    for m in result.moved:
        if m.from_node is None:
            out.append((f"+ {m.task}: a replica on {m.to_node}", "green"))
        elif m.to_node is None:
            out.append((f"- {m.task}: no replica on {m.from_node}", "red"))
        else:
            out.append((f"~ {m.task}: {m.from_node} -> {m.to_node}", "yellow"))
    out += [(f"+ {tid}: placed", "green") for tid in result.appeared]
    out += [(f"! {u['task']}: unplaceable ({u['message']})", "red") for u in result.unplaceable]
    if not result.moved and not result.unplaceable and not result.appeared:
        out.append(("no task moved", ""))
    return out


def scenarios_table(base: Plan, rows: Sequence[dict[str, Any]], title: str) -> Table:
    t = Table(header_style="bold", title=title, box=box.SIMPLE_HEAD)
    _id_column(t, "scenario", [r["scenario"] for r in rows])
    t.add_column("status", overflow="fold")
    for col in ("makespan", "cost", "success", "moved", "GB moved", "GB across borders", "TEE nodes"):
        t.add_column(col, justify="right", overflow="fold")
    t.add_column("why not")
    t.add_row("(base)", base.status.value, hms(base.makespan_s), format_usd(base.cost_usd),
              _probability(base.success_probability), "", "", "", "", "")
    for r in rows:
        why = _shorten("; ".join(dict.fromkeys(u.get("message") or u["task"] for u in r["unplaceable_rows"])), 240)
        t.add_row(r["scenario"], Text(r["status"], style=STATUS_STYLE.get(r["status"], "")), hms(r["makespan_s"]),
                  format_usd(r["cost_usd"]), _probability(r["success_probability"]), str(r["moved"]),
                  _number(r["gb_moved"]), _number(r["gb_cross_border"]), str(r["tee_nodes"]), why)
    return t


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def _probability(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _number(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f}"


def pareto_table(points: Sequence[Any], cost_bounds: dict[float, float] | None = None) -> Table:
    t = Table(header_style="bold", title="cost versus makespan (non-dominated plans)")
    for col in ("deadline", "makespan", "cost", "cost bound", "status"):
        t.add_column(col, justify="right", no_wrap=True)
    for p in points:
        bound = getattr(p, "cost_bound_usd", None)
        t.add_row(hms(p.deadline_s), hms(p.makespan_s), format_usd(p.cost_usd), format_usd(bound), p.status)
    return t


def simulation_table(results: Sequence[tuple[str, dict[str, Any]]], title: str) -> Table:
    """A column per plan, a row per figure (fits a narrow terminal whatever the number of figures)."""
    t = Table(header_style="bold", title=title)
    t.add_column("", no_wrap=True)
    for name, _ in results:
        t.add_column(Path(name).name, justify="right", no_wrap=True)
    rows = [("completion probability", lambda d: f"{d['completion_probability']:.4f}"),
            ("makespan mean", lambda d: hms(d["makespan_s"]["mean"])),
            ("makespan p50", lambda d: hms(d["makespan_s"]["p50"])),
            ("makespan p95", lambda d: hms(d["makespan_s"]["p95"])),
            ("as planned", lambda d: hms(d["planned_makespan_s"])),
            ("cost mean", lambda d: format_usd(d["cost_usd"]["mean"])),
            ("cost p95", lambda d: format_usd(d["cost_usd"]["p95"])),
            ("cost as planned", lambda d: format_usd(d["planned_cost_usd"])),
            ("retry overhead", lambda d: f"{100 * d['retry_cost_overhead']:.1f}% of the plan's cost"),
            ("retries per run", lambda d: f"{d['mean_retries']:.2f}")]
    for label, fmt in rows:
        t.add_row(label, *(fmt(d) for _, d in results))
    return t


def status_exit(plan: Plan) -> int:
    return 0 if plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE) else 4
