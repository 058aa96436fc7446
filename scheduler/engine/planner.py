"""`plan`: the one entry that places a workload. Everything else (the command line,
what-if, replanning, sweeps, the Prefect plugin) calls it.

`plan_problem` runs the stages of `scheduler.engine.stages` on one `PlanningRun`
record: static checks, warm starts, the engine's improvement, the choice. The
plan returned is the best *valid* one found; a time limit never yields a plan that
breaks a rule, and when there is none the plan says so and why.

Examples:
    >>> from scheduler import plan, load_workload, load_nodes, load_policy
    >>> p = plan(load_workload("examples/llm-finetune.yaml"), load_nodes("examples/pool-60.yaml"),
    ...          load_policy("policies/default.yaml"), objective="cost", deadline_s=20000, time_limit_s=3)
    >>> p.status.value in ("optimal", "feasible"), p.makespan_s <= 20000
    (True, True)
"""

from __future__ import annotations

from typing import Any

from ..domain import NodePool, Objective, Plan, PlanStatus, Policy, Workload
from ..problem import Problem
from . import stages
from .engines import Engine, engine_for
from .options import EngineChoice, PlanOptions
from .run import PlanningRun

__all__ = ["Engine", "EngineChoice", "PlanOptions", "plan", "plan_problem"]


def plan(
    workload: Workload,
    nodes: NodePool,
    policy: Policy | None = None,
    *,
    objective: Objective | str = Objective.MAKESPAN,
    deadline_s: float | None = None,
    success_target: float | None = None,
    time_limit_s: float = 10.0,
    engine: EngineChoice | str | Engine = EngineChoice.AUTO,
    seed: int = 0,
    workers: int = 0,
    options: PlanOptions | None = None,
) -> Plan:
    """Place `workload` on `nodes` under `policy` and return the plan.

    Parameters
    ----------
    workload, nodes, policy : Workload, NodePool, Policy or None
        The three inputs (no policy: one level with no rules).
    objective, deadline_s, success_target, time_limit_s, engine, seed, workers
        See `PlanOptions`.
    options : PlanOptions, optional
        All options at once (replanning inputs too); the keywords above are then ignored.

    Returns
    -------
    Plan
        ``optimal`` or ``feasible`` (a valid plan), or ``infeasible`` with `unplaceable`
        naming the tasks and rules, or ``unknown`` when the time ran out first.

    Raises
    ------
    InputError
        The three inputs do not fit together (e.g. an unknown level).
    ValueError
        An option is out of range.
    """
    if options is None:
        options = PlanOptions(objective=objective, deadline_s=deadline_s, success_target=success_target,
                              time_limit_s=time_limit_s, engine=engine, seed=seed, workers=workers)
    return plan_problem(Problem(workload, nodes, policy), options)


def plan_problem(problem: Problem, options: PlanOptions | None = None, **changes: Any) -> Plan:
    """`plan` on an already-checked `Problem`; `changes` override fields of `options`."""
    import dataclasses

    opts = dataclasses.replace(options or PlanOptions(), **changes) if changes else (options or PlanOptions())
    run = PlanningRun.start(problem, opts)
    for stage in (stages.check_statically, stages.warm_start, engine_for(opts.engine).improve):
        if run.cancelled and stage is not stages.check_statically and run.warm is not None:
            break  # stopped: the best plan so far
        reasons = stage(run)
        if reasons:
            return stages.no_plan(run, reasons, PlanStatus.INFEASIBLE)
    return stages.choose(run)
