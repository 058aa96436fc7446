"""Rich renderings of plans, audits and explanations for a terminal."""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from ..analysis.explain import Explanation
from ..analysis.verify import VerifyReport
from ..domain import Plan, PlanStatus
from ..problem import Problem

LEVEL_STYLE = {0: "green", 1: "cyan", 2: "yellow", 3: "red"}


def hms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f}s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{int(h)}h{int(m):02d}m{sec:04.1f}s" if h else f"{int(m)}m{sec:04.1f}s"


def level_style(problem: Problem | None, level: str) -> str:
    if problem is None:
        return ""
    rank = problem.policy.rank.get(level, 0)
    top = max(1, len(problem.policy.levels) - 1)
    return LEVEL_STYLE[min(3, round(3 * rank / top))]


def plan_summary(plan: Plan) -> Table:
    t = Table.grid(padding=(0, 2))
    t.add_column(style="bold")
    t.add_column()
    status_style = {"optimal": "green", "feasible": "cyan", "infeasible": "red", "unknown": "yellow"}
    t.add_row("status", Text(plan.status.value, style=status_style.get(plan.status.value, "")))
    t.add_row("objective", plan.objective.value + (f" (deadline {hms(plan.deadline_s)})" if plan.deadline_s else ""))
    if plan.has_plan:
        t.add_row("makespan", f"{hms(plan.makespan_s)}  ({plan.makespan_s:,.1f} s)")
        t.add_row("cost", f"${plan.cost_usd:,.2f}")
        t.add_row("success probability", f"{plan.success_probability:.6f}")
        gap = f"  gap {100 * plan.gap:.1f}%" if plan.gap is not None else ""
        if plan.objective.value == "cost" and plan.cost_lower_bound_usd is not None:
            t.add_row("bound", f"cost >= ${plan.cost_lower_bound_usd:,.2f}{gap}; makespan >= {hms(plan.lower_bound_s)}")
        else:
            t.add_row("bound", f"makespan >= {hms(plan.lower_bound_s)}{gap}")
        if plan.heuristic_makespan_s is not None:
            t.add_row("heuristic", f"makespan {hms(plan.heuristic_makespan_s)}, cost ${plan.heuristic_cost_usd:,.2f}")
    t.add_row("engine", f"{plan.engine or '-'} in {plan.solve_time_s:.2f} s")
    for m in plan.messages or []:
        t.add_row("note", m)
    return t


def plan_table(plan: Plan, problem: Problem | None) -> Table:
    t = Table(title=None, show_lines=False, header_style="bold")
    for col, just in (("task", "left"), ("level", "left"), ("replica", "right"), ("node", "left"),
                      ("start", "right"), ("end", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    order = {tid: k for k, tid in enumerate(problem.dag.ids)} if problem else {}
    rows = sorted(plan.assignments, key=lambda a: (a.start_s, order.get(a.task, 0), a.replica))
    for a in rows:
        level = problem.origins[a.task].level if problem and a.task in problem.origins else ""
        t.add_row(a.task, Text(level, style=level_style(problem, level)), str(a.replica), a.node, hms(a.start_s),
                  hms(a.end_s))
    return t


def unplaceable_table(plan: Plan) -> Table:
    t = Table(header_style="bold red")
    t.add_column("task")
    t.add_column("rule")
    t.add_column("nodes turned away")
    for u in plan.unplaceable or []:
        t.add_row(u.task, u.rule or "", ", ".join(f"{k}: {v}" for k, v in u.reasons.items()))
    return t


def print_plan(console: Console, plan: Plan, problem: Problem | None) -> None:
    console.print(plan_summary(plan))
    if plan.has_plan:
        console.print(plan_table(plan, problem))
    elif plan.unplaceable:
        console.print(unplaceable_table(plan))


def print_verify(console: Console, report: VerifyReport) -> None:
    if report.ok:
        console.print(Text(f"valid: every rule holds ({report.assignments} assignments, makespan "
                           f"{report.makespan_s:,.1f} s, cost ${report.cost_usd:,.2f}, success "
                           f"{report.success_probability:.6f})", style="green"))
        return
    t = Table(header_style="bold red", title=f"{len(report.violations)} violation(s)")
    for col in ("rule", "task", "replica", "node", "what"):
        t.add_column(col)
    for v in report.violations:
        t.add_row(v.rule, v.task or "", "" if v.replica is None else str(v.replica), v.node or "", v.message)
    console.print(t)


def print_explanation(console: Console, e: Explanation, problem: Problem, show_all: bool = False) -> None:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("task", e.task)
    head.add_row("effective level", Text(e.level, style=level_style(problem, e.level)))
    for line in e.why:
        head.add_row("why", line)
    if e.output_level != e.level:
        head.add_row("outputs", f"{e.output_level} (declassified)")
    rules = f"{e.required_replicas} replica(s), spread by {e.spread}"
    if e.min_success is not None:
        rules += f", success >= {e.min_success:g}"
    head.add_row("replicas", rules)
    t = Table(header_style="bold")
    for col, just in (("node", "left"), ("verdict", "left"), ("rules that turn it away", "left"),
                      ("runtime", "right"), ("cost", "right"), ("reputation", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    shown = e.verdicts if show_all or len(e.verdicts) <= 200 else e.verdicts[:200]
    for v in shown:
        t.add_row(v.node, Text("ok", style="green") if v.eligible else Text("no", style="red"),
                  "; ".join(f"{r.rule.value}: {r.detail}" for r in v.rejections), hms(v.runtime_s),
                  f"${v.cost_usd:,.2f}", f"{v.reputation:.4f}")
    parts: list = [head, t]
    if len(shown) < len(e.verdicts):
        parts.append(Text(f"... {len(e.verdicts) - len(shown)} more nodes (use --all or --format json)"))
    parts.append(Text(e.summary, style="bold" if e.eligible else "bold red"))
    console.print(Group(*parts))


def status_exit(plan: Plan) -> int:
    return 0 if plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE) else 4
