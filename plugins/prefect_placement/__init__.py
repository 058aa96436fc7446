"""Placement of workload DAGs onto decentralised GPU pools, inside Prefect flows.

    from prefect import flow, task
    from prefect_placement import PlacementTaskRunner, current_placement

    @task
    def train(data): ...            # current_placement(): node, level, window end, ...

    @flow(task_runner=PlacementTaskRunner(workload="workload.yaml", nodes="nodes.yaml",
                                          policy="policy.yaml"))
    def pipeline():
        ...                          # plain task.submit(): each workload task on its planned nodes

Or, with replanning when a node is lost: ``run_plan(plan_placement(...), steps, workload=...,
nodes=..., policy=...)``. Backends (`LocalBackend`, `DeploymentBackend`) are Prefect Blocks;
`placement_options` sets per-run options through a context variable. A thin face over the
`scheduler` library; its tasks publish the plan as a table, a markdown summary and a Gantt chart.
"""

from .artifacts import plan_markdown, plan_rows, publish_plan
from .context import PlacementOptions, current_placement, placement_options, use_placement
from .remote import step_flow
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
    submit_replica,
)
from .task_runner import PlacementTaskRunner, ReplicaFuture
from .tasks import plan_placement, verify_placement, whatif_placement

__all__ = [
    "Backend", "DeploymentBackend", "LocalBackend", "NodeLost", "PlacementFailed", "PlacementOptions",
    "PlacementRefused", "PlacementTaskRunner", "ReplicaFuture", "ResultsDisagree", "RunResult", "StepContext",
    "current_placement", "is_node_loss", "placement_options", "plan_markdown", "plan_placement", "plan_rows",
    "publish_plan", "run_plan", "step_flow", "submit_replica", "use_placement", "verify_placement", "whatif_placement",
]
