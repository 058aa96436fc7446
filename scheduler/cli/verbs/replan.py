"""`scheduler replan`: a new plan for the unfinished work after failures."""

from __future__ import annotations

from typing import Annotated

import typer

from ...analysis.replan import replan as do_replan
from ...analysis.replan import split_plan
from ...domain import Objective
from ...domain.fields import MAX_SECONDS
from ...engine import EngineChoice, PlanOptions
from ...formats.loading import load_plan
from ..common import check_output, handle_errors, load_inputs, time_left
from ..options import (
    DeadlineOpt,
    DeterministicOpt,
    EngineOpt,
    Format,
    FormatOpt,
    GanttOpt,
    KeepOnInterruptOpt,
    NodesOpt,
    ObjectiveOpt,
    OutputOpt,
    PlanFileOpt,
    PolicyOpt,
    SeedOpt,
    TargetOpt,
    TimeLimitOpt,
    WideOpt,
    WorkersOpt,
    WorkloadOpt,
    finite,
)
from .plan import emit_plan, solve


@handle_errors
def replan(
    plan: PlanFileOpt,
    workload: WorkloadOpt,
    nodes: NodesOpt,
    now: Annotated[float, typer.Option("--now", min=0, max=MAX_SECONDS, callback=finite,
                                       help="Seconds since the plan started.")],
    policy: PolicyOpt = None,
    done: Annotated[list[str] | None, typer.Option("--done", help="A task that has finished (repeatable).")] = None,
    failed_node: Annotated[list[str] | None, typer.Option("--failed-node",
                                                          help="A node that failed (repeatable).")] = None,
    objective: ObjectiveOpt = Objective.MAKESPAN,
    deadline: DeadlineOpt = None,
    success_target: TargetOpt = None,
    time_limit: TimeLimitOpt = 10.0,
    seed: SeedOpt = 0,
    workers: WorkersOpt = 0,
    engine: EngineOpt = EngineChoice.AUTO,
    deterministic: DeterministicOpt = False,
    format: FormatOpt = Format.table,
    output: OutputOpt = None,
    gantt: GanttOpt = None,
    wide: WideOpt = False,
    keep_on_interrupt: KeepOnInterruptOpt = False,
) -> None:
    """A new plan for the unfinished work: done tasks keep their times, nothing new starts before --now or
    on a failed node. Each replica is marked kept or new (kept ones keep their numbers); lost ones are
    listed. Exit 0 with a plan, 4 when infeasible."""
    inputs = load_inputs(workload, nodes, policy)
    for path, flag in ((output, "--output"), (gantt, "--gantt")):
        check_output(path, flag, [*inputs.paths, plan])
    old = load_plan(plan)
    problem = inputs.problem()
    options = PlanOptions(objective=objective, deadline_s=deadline, success_target=success_target,
                          time_limit_s=time_limit if deterministic else time_left(time_limit, problem), seed=seed,
                          workers=workers, engine=engine, deterministic=deterministic)
    done_set, failed = set(done or []), set(failed_node or [])
    result, interrupted = solve(problem, options, "replanning", run=lambda o: do_replan(
        inputs.workload, inputs.pool, inputs.policy, old, now_s=now, done=done_set, failed_nodes=failed, options=o))
    marks = {(a.task, a.replica): getattr(a, "replan", "") for a in result.assignments}
    lost = [f"{a.task} #{a.replica} on {a.node}: lost (its node failed)"
            for a in split_plan(inputs.workload, old, now_s=now, done=done_set, failed_nodes=failed).lost]
    emit_plan(result, problem, format=format, output=output, gantt=gantt, wide=wide, interrupted=interrupted,
              keep_on_interrupt=keep_on_interrupt, marks=marks, lost=lost)
