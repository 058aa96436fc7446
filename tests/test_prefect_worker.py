"""DeploymentBackend for real (issue 20): a local Prefect server, a process work pool with a queue per
node, a `prefect worker` subprocess serving a deployment of tests/remote/placed_steps.py, and an ordinary
flow whose replicas become flow runs on that worker, each on its node's queue; the worker is stopped by
its pid at the end."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.domain import NodePool, Policy, Workload
from scheduler.engine.planner import PlanOptions, plan_problem
from scheduler.problem import Problem

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]

REMOTE = Path(__file__).parent / "remote"
POOL_NAME = "placement-test-pool"
WL = Workload.model_validate({"tasks": [
    {"id": "fetch", "duration_s": 60, "gpus": 1},
    {"id": "check", "duration_s": 60, "gpus": 1, "depends_on": [{"task": "fetch", "data_gb": 1}],
     "sensitivity": "verified"}]})
POOL = NodePool.model_validate({"nodes": [{"id": f"n{k}", "gpus": 1, "operator": f"op{k}", "reputation": 0.99}
                                          for k in range(3)]})
POL = Policy.model_validate({"default_level": "public", "levels": [
    {"name": "public"}, {"name": "verified", "min_replicas": 2, "quorum": 2, "spread": "operator"}]})


def _worker(api_url: str) -> subprocess.Popen:
    prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    queues = [arg for n in POOL.nodes for arg in ("--work-queue", f"node-{n.id}")]
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_WORKER_QUERY_SECONDS": "1",
           "PREFECT_WORKER_PREFETCH_SECONDS": "1", "PYTHONPATH": str(REMOTE)}
    return subprocess.Popen([prefect, "worker", "start", "--pool", POOL_NAME, "--type", "process", *queues,
                             "--limit", "4"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGTERM)  # the worker and the flow-run processes it started
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)


def test_replicas_run_as_flow_runs_on_a_real_worker() -> None:
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId
    from prefect.settings import PREFECT_API_URL
    from prefect_placement import DeploymentBackend, PlacementTaskRunner

    sys.path.insert(0, str(REMOTE))
    try:
        from placed_steps import run_step
    finally:
        sys.path.remove(str(REMOTE))
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=POOL_NAME, type="process"), overwrite=True)
        have = {q.name for q in client.read_work_queues(work_pool_name=POOL_NAME)}
        for n in POOL.nodes:
            if f"node-{n.id}" not in have:
                client.create_work_queue(name=f"node-{n.id}", work_pool_name=POOL_NAME)
    deployment_id = run_step.from_source(str(REMOTE), "placed_steps.py:run_step").deploy(
        "placement-test", work_pool_name=POOL_NAME, print_next_steps=False, ignore_warnings=True)
    plan = plan_problem(Problem(WL, POOL, POL), PlanOptions(time_limit_s=2, engine="heuristic"))
    worker = _worker(PREFECT_API_URL.value())
    try:
        @task(name="fetch")
        def fetch(size: int) -> dict: ...

        @task(name="check")
        def check(data: dict) -> dict: ...

        backend = DeploymentBackend("run-placed-step/placement-test", timeout_s=600)

        @flow(task_runner=PlacementTaskRunner(WL, POOL, POL, plan=plan, backend=backend))
        def pipeline() -> tuple[dict, dict]:
            data = fetch.submit(4)
            return data.result(), check.submit(data).result()

        started = time.monotonic()
        data, checked = pipeline()
        elapsed = time.monotonic() - started
    finally:
        _stop(worker)
        output = worker.stdout.read().decode(errors="replace") if worker.stdout else ""
    assert worker.returncode is not None, "the worker is still running"
    planned = {a.task: a.node for a in plan.assignments if a.task == "fetch"}
    assert data["value"] == [0, 1, 2, 3] and data["node"] == planned["fetch"] and data["pid"] != os.getpid()
    assert checked == {"total": 6, "quorum": 2}
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id])))
    by_name = {r.name: r for r in runs}
    assert set(by_name) == {f"{a.task}#{a.replica}@{a.node}" for a in plan.assignments}, output[-2000:]
    for a in plan.assignments:
        run = by_name[f"{a.task}#{a.replica}@{a.node}"]
        assert run.state.is_completed() and run.work_queue_name == f"node-{a.node}"
        assert run.job_variables["node"] == a.node and f"node:{a.node}" in run.tags
    print(f"{len(runs)} flow runs on a real worker in {elapsed:.1f} s")
