"""The flow a `DeploymentBackend`'s deployment serves: it receives one replica (the task id, the step's
keyword arguments, the placement) and runs that step there, its placement the current one.

    # steps.py, deployed to a work pool whose workers run on the rented nodes
    from prefect import task
    from prefect_placement import step_flow

    @task
    def train(data): ...

    run_step = step_flow({"train": train})     # entrypoint: steps.py:run_step

    run_step.from_source(".", "steps.py:run_step").deploy("steps", work_pool_name="gpus")
    # then: DeploymentBackend("run-placed-step/steps"), and a worker per node polling node-<id>
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from prefect import Flow, Task, flow

from .context import use_placement


def step_flow(steps: Mapping[str, Task[..., Any] | Callable[..., Any]], *, name: str = "run-placed-step",
              **flow_options: Any) -> Flow[..., Any]:
    """A flow that runs ``steps[task](**inputs)`` inside ``use_placement(placement)``. Its result is
    persisted (the caller, `DeploymentBackend`, reads it back from another process)."""
    known = dict(steps)

    @flow(name=name, persist_result=True, **flow_options)
    def run_placed_step(task: str, inputs: dict[str, Any], placement: dict[str, Any]) -> Any:
        if task not in known:
            raise KeyError(f"this deployment has no step for task {task!r} (it has {', '.join(sorted(known))})")
        with use_placement(placement):
            return known[task](**inputs)

    return run_placed_step
