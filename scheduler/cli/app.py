"""The verbs of the `scheduler` command (contract: Command line)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ..analysis.explain import explain_task
from ..analysis.verify import verify_plan
from ..analysis.whatif import Scenario, WhatIfResult, whatif
from ..domain import Objective, Plan
from ..engine.planner import PlanOptions, plan_problem
from ..formats.loading import load_plan, load_policy
from ..problem import Problem
from . import render
from .common import (
    EXIT_INFEASIBLE,
    EXIT_VIOLATIONS,
    Format,
    FormatOpt,
    NodesOpt,
    PolicyOpt,
    SeedOpt,
    SolveProgress,
    TimeLimitOpt,
    WorkloadOpt,
    emit_json,
    handle_errors,
    load_inputs,
    load_problem,
    stderr,
    stdout,
    write_atomic,
)

app = typer.Typer(
    name="scheduler",
    help="Privacy-aware placement of task DAGs onto decentralised GPU pools.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ObjectiveOpt = Annotated[Objective, typer.Option("--objective", help="makespan (then cost) or cost (then makespan).")]
DeadlineOpt = Annotated[float | None, typer.Option("--deadline", min=1e-9, help="Hard bound on the makespan, s.")]
TargetOpt = Annotated[float | None, typer.Option("--success-target", min=0.01, max=0.999999,
                                                 help="Whole-workflow success probability to reach.")]
OutputOpt = Annotated[Path | None, typer.Option("--output", dir_okay=False, help="Write the plan JSON here.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, help="Solver threads (0: one per core, at most 8).")]
EngineOpt = Annotated[str, typer.Option("--engine", help="auto, cpsat or heuristic.")]
GanttOpt = Annotated[Path | None, typer.Option("--gantt", dir_okay=False,
                                               help="Draw the plan per node: FILE.png or FILE.html.")]


def _solve(problem: Problem, options: PlanOptions, what: str = "solving") -> Plan:
    progress = SolveProgress(what, "s" if options.objective == Objective.MAKESPAN else "USD")
    with progress:
        return plan_problem(problem, dataclasses.replace(options, progress=progress))


@app.command()
@handle_errors
def plan(
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    objective: ObjectiveOpt = Objective.MAKESPAN,
    deadline: DeadlineOpt = None,
    success_target: TargetOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 0,
    engine: EngineOpt = "auto",
    gantt: GanttOpt = None,
) -> None:
    """Place every task (with its replicas) on nodes and in time. Exit 0 with a plan, 4 when infeasible."""
    problem = load_problem(workload, nodes, policy)
    result = _solve(problem, PlanOptions(objective=objective, deadline_s=deadline, success_target=success_target,
                                         time_limit_s=time_limit, seed=seed, workers=workers, engine=engine))
    _emit_plan(result, problem, format, output, gantt)


def _emit_plan(result: Plan, problem: Problem, format: Format, output: Path | None, gantt: Path | None = None) -> None:
    """Write the plan (file, Gantt chart), print it, and exit 0 (a plan) or 4 (none)."""
    doc = result.to_json_dict()
    if output is not None:
        write_atomic(output, json.dumps(doc, indent=2) + "\n")
    if gantt is not None and result.has_plan:
        from ..pictures.plots import gantt as draw

        draw(result, problem, gantt)
    if format == Format.json:
        emit_json(doc)
    else:
        render.print_plan(stdout, result, problem)
        if output is not None:
            stdout.print(f"plan written to {output}")
        if gantt is not None and result.has_plan:
            stdout.print(f"Gantt chart written to {gantt}")
    raise typer.Exit(render.status_exit(result))


@app.command()
@handle_errors
def verify(
    plan: Annotated[Path, typer.Option("--plan", exists=True, dir_okay=False, help="Plan JSON to audit.")],
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    deadline: DeadlineOpt = None,
    failed_node: Annotated[list[str] | None, typer.Option("--failed-node", help="A node no replica may use.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Check every rule of the contract on a plan (made by any tool). Exit 0 when all hold, 3 on violations."""
    wl, pool, pol = load_inputs(workload, nodes, policy)
    the_plan = load_plan(plan)
    report = verify_plan(wl, pool, pol, the_plan, deadline_s=deadline, failed_nodes=failed_node or [])
    if format == Format.json:
        emit_json(report.to_dict())
    else:
        render.print_verify(stdout, report)
    raise typer.Exit(0 if report.ok else EXIT_VIOLATIONS)


@app.command()
@handle_errors
def explain(
    task: Annotated[str, typer.Option("--task", help="The task to explain.")],
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    format: FormatOpt = Format.table,
    all_nodes: Annotated[bool, typer.Option("--all", help="List every node, not the first 200.")] = False,
) -> None:
    """A task's effective level and why, and every node's verdict with the rules that turned it away."""
    problem = load_problem(workload, nodes, policy)
    if task not in problem.dag.index:
        import difflib

        close = difflib.get_close_matches(task, problem.dag.ids, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise typer.BadParameter(f"no task {task!r} in {workload}{hint}", param_hint="'--task'")
    e = explain_task(problem, task)
    if format == Format.json:
        emit_json(e.to_dict())
    else:
        render.print_explanation(stdout, e, problem, show_all=all_nodes)


def _pairs(values: list[str] | None, flag: str, cast: type = str) -> dict:
    out = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=f"'{flag}'")
        try:
            out[key] = cast(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not a number", param_hint=f"'{flag}'") from None
    return out


@app.command(name="whatif")
@handle_errors
def whatif_cmd(
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    drop_node: Annotated[list[str] | None, typer.Option("--drop-node", help="A node leaves the pool.")] = None,
    drop_network: Annotated[list[str] | None, typer.Option("--drop-network", help="A network leaves.")] = None,
    drop_operator: Annotated[list[str] | None, typer.Option("--drop-operator", help="An operator leaves.")] = None,
    bandwidth_scale: Annotated[float, typer.Option("--bandwidth-scale", min=1e-6, help="Every bandwidth x F.")] = 1.0,
    price_scale: Annotated[list[str] | None, typer.Option("--price-scale", help="NETWORK=F: its prices x F.")] = None,
    reputation: Annotated[list[str] | None, typer.Option("--reputation", help="NODE=R: a new reputation.")] = None,
    set_level: Annotated[list[str] | None, typer.Option("--set-level", help="TASK=LEVEL: a new level.")] = None,
    policy_b: Annotated[Path | None, typer.Option("--policy-b", exists=True, dir_okay=False,
                                                  help="Compare with this policy.")] = None,
    objective: ObjectiveOpt = Objective.MAKESPAN,
    deadline: DeadlineOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    seed: SeedOpt = 0,
    engine: EngineOpt = "auto",
    scenarios: Annotated[Path | None, typer.Option("--scenarios", exists=True, dir_okay=False,
                                                   help="A YAML file of named scenarios, run in parallel.")] = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="KNOB=V1,V2,...: bandwidth-scale, deadline, "
                                                              "price-scale[:NETWORK].")] = None,
    gantt: GanttOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """The plan before and after a change, side by side, and which tasks moved. Exit 4 when the change is
    infeasible."""
    wl, pool, pol = load_inputs(workload, nodes, policy)
    if scenarios is not None or sweep is not None:
        _many(wl, pool, pol, scenarios, sweep, PlanOptions(objective=objective, deadline_s=deadline,
                                                          time_limit_s=time_limit, seed=seed, engine=engine), format)
        return
    reps = _pairs(reputation, "--reputation", float)
    if any(not 0 <= r <= 1 for r in reps.values()):
        raise typer.BadParameter("reputation must be in [0, 1]", param_hint="'--reputation'")
    scenario = Scenario(drop_nodes=drop_node or [], drop_networks=drop_network or [],
                        drop_operators=drop_operator or [], bandwidth_scale=bandwidth_scale,
                        price_scale=_pairs(price_scale, "--price-scale", float), reputation=reps,
                        set_level=_pairs(set_level, "--set-level"),
                        policy=load_policy(policy_b) if policy_b is not None else None)
    options = PlanOptions(objective=objective, deadline_s=deadline, time_limit_s=time_limit / 2, seed=seed,
                          engine=engine)
    progress = SolveProgress("what-if")
    options = dataclasses.replace(options, progress=progress)
    with progress:
        result = whatif(wl, pool, pol, scenario, options=options)
    if gantt is not None:
        from ..pictures.plots import gantt as draw

        stem = gantt.with_suffix("")
        if result.base.has_plan:
            draw(result.base, result.base_problem, Path(f"{stem}-base{gantt.suffix}"), "base")
        if result.changed.has_plan:
            draw(result.changed, result.changed_problem, Path(f"{stem}-changed{gantt.suffix}"),
                 f"what if: {scenario.describe()}")
    if format == Format.json:
        emit_json(result.to_dict())
    else:
        print_whatif(result)
    raise typer.Exit(0 if result.changed.has_plan else EXIT_INFEASIBLE)


def _many(wl, pool, pol, scenarios: Path | None, sweep: str | None, options: PlanOptions, format: Format) -> None:
    from rich.progress import Progress

    from ..analysis.sweep import load_scenarios, results_table, run_scenarios, sweep_scenarios

    todo = load_scenarios(scenarios) if scenarios is not None else []
    if sweep is not None:
        try:
            todo += sweep_scenarios(sweep, pool)
        except ValueError as e:
            raise typer.BadParameter(str(e), param_hint="'--sweep'") from None
    with Progress(console=stderr, transient=True) as bar:
        job = bar.add_task(f"{len(todo)} scenarios", total=len(todo))
        base, results, pids = run_scenarios(wl, pool, pol, todo, options,
                                            on_done=lambda r: bar.advance(job))
    rows = results_table(results)
    if format == Format.json:
        emit_json({"base": base.to_json_dict(), "processes": len(pids),
                   "scenarios": [{**row, "changed": r.changed.to_json_dict(),
                                  "moved": [m.to_dict() for m in r.moved]} for row, r in zip(rows, results)]})
        return
    t = Table(header_style="bold", title=f"{len(results)} scenarios ({len(pids)} processes)")
    for col in ("scenario", "status", "makespan s", "cost USD", "success", "moved", "GB moved", "GB across borders",
                "TEE nodes"):
        t.add_column(col, justify="left" if col in ("scenario", "status") else "right")
    t.add_row("(base)", base.status.value, *(_fmt(x) for x in (base.makespan_s, base.cost_usd,
                                                               base.success_probability)), "", "", "", "")
    for r in rows:
        t.add_row(r["scenario"], r["status"], _fmt(r["makespan_s"]), _fmt(r["cost_usd"]),
                  _fmt(r["success_probability"]), str(r["moved"]), _fmt(r["gb_moved"]), _fmt(r["gb_cross_border"]),
                  str(r["tee_nodes"]))
    stdout.print(t)


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.4f}" if x < 1 else f"{x:,.2f}"


@app.command()
@handle_errors
def pareto(
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    points: Annotated[int, typer.Option("--points", min=2, max=64, help="Deadlines to try.")] = 8,
    time_limit: TimeLimitOpt = 10.0,
    seed: SeedOpt = 0,
    engine: EngineOpt = "auto",
    plot: Annotated[Path | None, typer.Option("--plot", dir_okay=False, help="Write the front as a PNG.")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """The cost-versus-makespan front: the cheapest plan for each of several deadlines, in parallel."""
    from rich.progress import Progress

    from ..analysis.sweep import pareto_front

    wl, pool, pol = load_inputs(workload, nodes, policy)
    with Progress(console=stderr, transient=True) as bar:
        job = bar.add_task(f"{points} deadlines", total=points)
        front = pareto_front(wl, pool, pol, PlanOptions(time_limit_s=time_limit, seed=seed, engine=engine),
                             points=points, on_done=lambda: bar.advance(job))
    if not front:
        stderr.print("no plan: the workload cannot be placed")
        raise typer.Exit(EXIT_INFEASIBLE)
    if plot is not None:
        from ..pictures.plots import pareto_plot

        pareto_plot(front, plot)
    if format == Format.json:
        emit_json({"points": [p.__dict__ for p in front]})
        return
    t = Table(header_style="bold", title="cost versus makespan (non-dominated plans)")
    for col in ("deadline s", "makespan s", "cost USD", "status"):
        t.add_column(col, justify="right")
    for p in front:
        t.add_row(f"{p.deadline_s:,.1f}", f"{p.makespan_s:,.1f}", f"{p.cost_usd:,.2f}", p.status)
    stdout.print(t)


def print_whatif(result: WhatIfResult) -> None:
    b, c = result.base_metrics, result.changed_metrics
    t = Table(title=f"what if: {result.scenario.describe()}", header_style="bold")
    for col, just in (("", "left"), ("base", "right"), ("changed", "right"), ("change", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]

    def row(name: str, x: float | None, y: float | None, fmt: str, lower_is_better: bool = True) -> None:
        if x is None or y is None:
            t.add_row(name, "-" if x is None else fmt.format(x), "-" if y is None else fmt.format(y), "")
            return
        delta = y - x
        style = "" if abs(delta) < 1e-9 else ("green" if (delta < 0) == lower_is_better else "red")
        pct = f" ({100 * delta / x:+.1f}%)" if x else ""
        t.add_row(name, fmt.format(x), fmt.format(y), Text(f"{delta:+,.2f}{pct}", style=style))

    row("makespan s", b.makespan_s, c.makespan_s, "{:,.1f}")
    row("cost USD", b.cost_usd, c.cost_usd, "{:,.2f}")
    row("success probability", b.success_probability, c.success_probability, "{:.6f}", lower_is_better=False)
    row("GB moved between nodes", b.gb_moved, c.gb_moved, "{:,.1f}")
    row("GB crossing borders", b.gb_cross_border, c.gb_cross_border, "{:,.1f}")
    row("TEE nodes used", b.tee_nodes, c.tee_nodes, "{:,.0f}", lower_is_better=False)
    stdout.print(t)
    stdout.print(f"status: base {result.base.status.value}, changed {result.changed.status.value}")
    for m in result.moved:
        stdout.print(Text(f"~ {m.task}: {m.from_node or '(none)'} -> {m.to_node or '(none)'}", style="yellow"))
    for tid in result.appeared:
        stdout.print(Text(f"+ {tid}: placed", style="green"))
    for u in result.unplaceable:
        stdout.print(Text(f"! {u['task']}: unplaceable ({u['message']})", style="red"))
    if not result.moved and not result.unplaceable:
        stdout.print("no task moved")


@app.command()
@handle_errors
def schema(
    kind: Annotated[str, typer.Argument(help="policy, nodes, workload or plan")] = "policy",
) -> None:
    """Print the JSON Schema of an input file (generated from the model)."""
    from ..formats.schema import json_schema

    emit_json(json_schema(kind))



@app.command()
@handle_errors
def replan(
    plan: Annotated[Path, typer.Option("--plan", exists=True, dir_okay=False, help="The plan being executed.")],
    workload: WorkloadOpt,
    nodes: NodesOpt,
    now: Annotated[float, typer.Option("--now", min=0, help="Seconds since the plan started.")],
    policy: PolicyOpt = None,
    done: Annotated[list[str] | None, typer.Option("--done", help="A task that has finished.")] = None,
    failed_node: Annotated[list[str] | None, typer.Option("--failed-node", help="A node that failed.")] = None,
    objective: ObjectiveOpt = Objective.MAKESPAN,
    deadline: DeadlineOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    seed: SeedOpt = 0,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
) -> None:
    """A new plan for the unfinished work: done tasks keep their times, nothing new starts before --now or
    on a failed node. Exit 0 with a plan, 4 when infeasible."""
    from ..analysis.replan import replan as do_replan

    wl, pool, pol = load_inputs(workload, nodes, policy)
    old = load_plan(plan)
    for flag, values, known in (("--done", done, wl.by_id), ("--failed-node", failed_node, pool.by_id)):
        for x in values or []:
            if x not in known:
                raise typer.BadParameter(f"{x!r} is not in {workload if flag == '--done' else nodes}",
                                         param_hint=f"'{flag}'")
    options = PlanOptions(objective=objective, deadline_s=deadline, time_limit_s=time_limit, seed=seed)
    progress = SolveProgress("replanning")
    options = dataclasses.replace(options, progress=progress)
    with progress:
        result = do_replan(wl, pool, pol, old, now_s=now, done=set(done or []), failed_nodes=set(failed_node or []),
                           options=options)
    _emit_plan(result, Problem(wl, pool, pol), format, output)


@app.command()
@handle_errors
def simulate(
    plan: Annotated[Path, typer.Option("--plan", exists=True, dir_okay=False, help="The plan to execute.")],
    workload: WorkloadOpt,
    nodes: NodesOpt,
    policy: PolicyOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, max=1_000_000, help="Monte Carlo runs.")] = 1000,
    seed: SeedOpt = 0,
    outage: Annotated[list[str] | None, typer.Option("--outage", help="NODE@SECONDS: the node goes down then.")] = None,
    max_retries: Annotated[int, typer.Option("--max-retries", min=0, max=100,
                                             help="Replanning attempts per failed task.")] = 1,
    compare: Annotated[list[Path] | None, typer.Option("--compare", exists=True, dir_okay=False,
                                                       help="Another plan to simulate side by side.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", dir_okay=False, help="Histogram of makespans (PNG).")] = None,
    format: FormatOpt = Format.table,
) -> None:
    """Monte Carlo execution of a plan: replicas fail with probability 1 - reputation, nodes go down at given
    times, failed tasks are replanned."""
    from ..analysis.simulate import simulate as run_sim

    problem = load_problem(workload, nodes, policy)
    downs: dict[str, float] = {}
    for item in outage or []:
        nid, sep, when = item.rpartition("@")
        try:
            t = float(when)
        except ValueError:
            t = -1.0
        if not sep or nid not in problem.nodes.index or not (t >= 0 and t < float("inf")):
            raise typer.BadParameter(f"expected NODE@SECONDS with a node of the pool, got {item!r}",
                                     param_hint="'--outage'")
        downs[nid] = t
    plans = [(str(plan), load_plan(plan))] + [(str(p), load_plan(p)) for p in compare or []]
    results = []
    for name, the_plan in plans:
        results.append((name, run_sim(problem, the_plan, runs=runs, seed=seed, outages=downs,
                                      max_retries=max_retries)))
    if plot is not None:
        from ..pictures.plots import simulation_histogram

        simulation_histogram([(n, r.makespans) for n, r in results], plot)
    if format == Format.json:
        doc = results[0][1].to_dict()
        if len(results) > 1:
            doc["compared"] = {n: r.to_dict() for n, r in results[1:]}
        emit_json(doc)
        return
    t = Table(header_style="bold", title=f"{runs} runs, seed {seed}, max {max_retries} retries per task"
              + (f", outages: {', '.join(outage or [])}" if outage else ""))
    for col in ("plan", "completion", "makespan mean", "p50", "p95", "cost mean", "cost p95", "retry overhead"):
        t.add_column(col, justify="left" if col == "plan" else "right")
    for name, r in results:
        d = r.to_dict()
        m = d["makespan_s"]
        t.add_row(name, f"{d['completion_probability']:.4f}",
                  *(render.hms(m[k]) for k in ("mean", "p50", "p95")),
                  f"${d['cost_usd']['mean']:,.2f}", f"${d['cost_usd']['p95']:,.2f}",
                  f"{100 * d['retry_cost_overhead']:+.1f}%")
    stdout.print(t)
