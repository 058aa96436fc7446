"""Prefect tasks over the library: plan, verify and what-if, publishing artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import task

from scheduler.analysis.verify import VerifyReport, verify_plan
from scheduler.analysis.whatif import Scenario, WhatIfResult, whatif
from scheduler.domain import NodePool, Objective, Plan, Policy, Workload
from scheduler.engine.planner import PlanOptions, plan_problem
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.problem import Problem

from .artifacts import publish_plan

Source = str | Path


def as_workload(x: Workload | Source) -> Workload:
    return x if isinstance(x, Workload) else load_workload(x)


def as_nodes(x: NodePool | Source) -> NodePool:
    return x if isinstance(x, NodePool) else load_nodes(x)


def as_policy(x: Policy | Source | None) -> Policy | None:
    return x if isinstance(x, Policy) or x is None else load_policy(x)


@task(name="plan-placement", log_prints=False)
def plan_placement(
    workload: Workload | Source,
    nodes: NodePool | Source,
    policy: Policy | Source | None = None,
    *,
    objective: Objective | str = Objective.MAKESPAN,
    deadline_s: float | None = None,
    success_target: float | None = None,
    time_limit_s: float = 10.0,
    artifact_key: str = "placement",
    **options: Any,
) -> Plan:
    """Plan the workload's placement and publish it as a table and a markdown artifact.

    Accepts models or file paths. Returns the plan (check `plan.has_plan`).
    """
    wl, pool, pol = as_workload(workload), as_nodes(nodes), as_policy(policy)
    problem = Problem(wl, pool, pol)
    result = plan_problem(problem, PlanOptions(objective=Objective(objective), deadline_s=deadline_s,
                                               success_target=success_target, time_limit_s=time_limit_s, **options))
    publish_plan(result, problem, key=artifact_key)
    return result


@task(name="verify-placement")
def verify_placement(plan: Plan, workload: Workload | Source, nodes: NodePool | Source,
                     policy: Policy | Source | None = None, **kwargs: Any) -> VerifyReport:
    """Audit a plan against every rule of the contract (see `scheduler.verify_plan`)."""
    return verify_plan(as_workload(workload), as_nodes(nodes), as_policy(policy), plan, **kwargs)


@task(name="whatif-placement")
def whatif_placement(workload: Workload | Source, nodes: NodePool | Source, policy: Policy | Source | None,
                     scenario: Scenario, *, time_limit_s: float = 10.0, base: Plan | None = None,
                     artifact_key: str = "whatif") -> WhatIfResult:
    """Plan before and after `scenario`; publishes the changed plan as artifacts."""
    wl, pool, pol = as_workload(workload), as_nodes(nodes), as_policy(policy)
    result = whatif(wl, pool, pol, scenario, options=PlanOptions(time_limit_s=time_limit_s), base=base)
    publish_plan(result.changed, result.changed_problem, key=artifact_key,
                 title=f"What if: {scenario.describe()}")
    return result
