"""`scheduler plan`: place every task; `scheduler plan show`: a saved plan as the table."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import typer

from ...domain import Objective, Plan
from ...engine import EngineChoice, PlanOptions, plan_problem
from ...formats.loading import load_plan
from ...problem import Problem
from .. import render
from ..common import (
    EXIT_INTERRUPTED,
    SolveProgress,
    check_output,
    handle_errors,
    interruptible,
    load_inputs,
    make_console,
    note,
    time_left,
    write_atomic,
)
from ..options import (
    DeadlineOpt,
    DeterministicOpt,
    EngineOpt,
    Format,
    FormatOpt,
    GanttOpt,
    KeepOnInterruptOpt,
    MaybeNodesOpt,
    MaybeWorkloadOpt,
    ObjectiveOpt,
    OutputOpt,
    PlanFileOpt,
    PolicyOpt,
    SeedOpt,
    TargetOpt,
    TimeLimitOpt,
    WideOpt,
    WorkersOpt,
)

plan_app = typer.Typer(invoke_without_command=True, no_args_is_help=False, add_completion=False,
                       rich_markup_mode=None, pretty_exceptions_enable=False,
                       help="Place every task (with its replicas) on nodes and in time. Exit 0 with a plan, "
                            "4 when infeasible. `plan show --plan FILE` prints a saved plan.")


def _required(value: Path | None, flag: str) -> Path:
    if value is None:
        raise typer.BadParameter("is required", param_hint=f"'{flag}'")
    return value


@plan_app.callback()
@handle_errors
def plan(
    ctx: typer.Context,
    workload: MaybeWorkloadOpt = None,
    nodes: MaybeNodesOpt = None,
    policy: PolicyOpt = None,
    objective: ObjectiveOpt = Objective.MAKESPAN,
    deadline: DeadlineOpt = None,
    success_target: TargetOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 0,
    engine: EngineOpt = EngineChoice.AUTO,
    deterministic: DeterministicOpt = False,
    gantt: GanttOpt = None,
    wide: WideOpt = False,
    keep_on_interrupt: KeepOnInterruptOpt = False,
) -> None:
    """Place every task (with its replicas) on nodes and in time. Exit 0 with a plan, 4 when infeasible."""
    if ctx.invoked_subcommand is not None:
        return
    inputs = load_inputs(_required(workload, "--workload"), _required(nodes, "--nodes"), policy)
    for path, flag in ((output, "--output"), (gantt, "--gantt")):
        check_output(path, flag, inputs.paths)
    problem = inputs.problem()
    options = PlanOptions(objective=objective, deadline_s=deadline, success_target=success_target,
                          time_limit_s=time_limit if deterministic else time_left(time_limit, problem), seed=seed,
                          workers=workers, engine=engine, deterministic=deterministic)
    result, interrupted = solve(problem, options, "planning")
    emit_plan(result, problem, format=format, output=output, gantt=gantt, wide=wide, interrupted=interrupted,
              keep_on_interrupt=keep_on_interrupt)


def solve(problem: Problem, options: PlanOptions, what: str, run=None) -> tuple[Plan, bool]:
    """Plan with a progress line on standard error and Ctrl-C stopping the search; (plan, interrupted)."""
    progress = SolveProgress(what, options.time_limit_s, "s" if options.objective == Objective.MAKESPAN else "USD")
    with interruptible() as cancel, progress:
        options = dataclasses.replace(options, progress=progress, cancel=cancel)
        result = run(options) if run is not None else plan_problem(problem, options)
    return result, cancel.is_set()


def emit_plan(result: Plan, problem: Problem, *, format: Format, output: Path | None, gantt: Path | None,
              wide: bool, interrupted: bool = False, keep_on_interrupt: bool = False,
              marks: dict[tuple[str, int], str] | None = None, lost: list[str] | None = None) -> None:
    """Write the plan (file, Gantt chart), print it, and exit 0 (a plan), 4 (none) or 130 (interrupted)."""
    if interrupted and not keep_on_interrupt:
        note("interrupted: nothing written (--keep-on-interrupt keeps the best valid plan found)")
        raise typer.Exit(EXIT_INTERRUPTED)
    for line in render.plan_hints(result):
        note(line)
    doc = result.to_json_dict()
    text = _json_text(doc)
    written = []
    if output is not None:
        write_atomic(output, text)
        written.append(f"plan written to {output}")
    if gantt is not None and result.has_plan:
        from ...pictures import gantt as draw

        written.append(f"Gantt chart written to {draw(result, problem, gantt)}")
    if format == Format.json:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        console = make_console(wide)
        render.print_plan(console, result, problem, marks)
        for line in lost or []:
            console.print(f"- {line}", style="red")
        for line in written:
            console.print(line)
    raise typer.Exit(EXIT_INTERRUPTED if interrupted else render.status_exit(result))


def _json_text(doc: dict) -> str:
    import json

    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


@plan_app.command("show")
@handle_errors
def show(
    plan_file: PlanFileOpt,
    workload: MaybeWorkloadOpt = None,
    nodes: MaybeNodesOpt = None,
    policy: PolicyOpt = None,
    wide: WideOpt = False,
) -> None:
    """Print a saved plan (any tool's) as the table `plan` prints."""
    saved = load_plan(plan_file)
    problem = None
    if workload is not None and nodes is not None:
        problem = load_inputs(workload, nodes, policy).problem()
    render.print_plan(make_console(wide), saved, problem)
