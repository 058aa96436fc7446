"""Steps served by a deployment for tests/test_prefect_worker.py: a real `prefect worker` runs each replica
as a flow run of `run_step` (entrypoint placed_steps.py:run_step) and the step reports where it ran."""

from __future__ import annotations

import os

from prefect import task
from prefect_placement import current_placement, step_flow


@task
def fetch(size: int) -> dict:
    p = current_placement()
    return {"value": list(range(size)), "node": p.node, "pid": os.getpid()}


@task
def check(data: dict) -> dict:
    p = current_placement()
    return {"total": sum(data["value"]), "quorum": p.quorum}  # the same on every replica: they agree


run_step = step_flow({"fetch": fetch, "check": check})
