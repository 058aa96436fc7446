"""Placement of workload DAGs onto decentralised GPU pools, as Prefect tasks.

    from prefect import flow
    from prefect_placement import plan_placement, run_plan

    @flow
    def pipeline():
        plan = plan_placement("workload.yaml", "nodes.yaml", "policy.yaml")
        return run_plan(plan, steps, workload=..., nodes=..., policy=...)

A thin face over the `scheduler` library; its tasks publish the plan as a keyed
table artifact and a markdown summary.
"""

from .artifacts import plan_markdown, plan_rows, publish_plan
from .runner import (
    Backend,
    DeploymentBackend,
    LocalBackend,
    NodeLost,
    PlacementFailed,
    PlacementRefused,
    ResultsDisagree,
    RunResult,
    StepContext,
    is_node_loss,
    run_plan,
)
from .tasks import plan_placement, verify_placement, whatif_placement

__all__ = [
    "Backend", "DeploymentBackend", "LocalBackend", "NodeLost", "PlacementFailed", "PlacementRefused", "ResultsDisagree", "RunResult",
    "StepContext", "is_node_loss", "plan_markdown", "plan_placement", "plan_rows", "publish_plan", "run_plan",
    "verify_placement", "whatif_placement",
]
