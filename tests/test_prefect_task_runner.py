"""PlacementTaskRunner in ordinary flows: plain task.submit() calls run every replica of the plan on its
node (tags, placement through the context variable), results agree by quorum, unplaced tasks run as
usual, bad placements are refused before anything runs; backends saved and loaded as Prefect Blocks."""

from __future__ import annotations

import threading

import pytest

from scheduler.domain import Assignment, NodePool, Plan, Policy, Workload
from scheduler.engine.planner import PlanOptions, plan_problem
from scheduler.problem import Problem

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]

WL = Workload.model_validate({"tasks": [
    {"id": "ingest", "duration_s": 60, "gpus": 0, "sensitivity": "private"},
    {"id": "clean", "duration_s": 120, "depends_on": [{"task": "ingest", "data_gb": 1}], "sensitivity": "private"},
    {"id": "train", "duration_s": 600, "depends_on": ["clean"]},
    {"id": "report", "duration_s": 30, "gpus": 0, "depends_on": ["train"]}]})
POOL = NodePool.model_validate({"nodes": [
    {"id": "tee-a", "gpus": 2, "tee": ["tdx"], "attested": True, "operator": "a", "reputation": 0.99},
    {"id": "tee-b", "gpus": 2, "tee": ["sev-snp"], "attested": True, "operator": "b", "reputation": 0.99},
    {"id": "plain", "gpus": 4, "operator": "c", "reputation": 0.95, "speed": 2.0}]})
POL = Policy.model_validate({"default_level": "public", "levels": [
    {"name": "public"},
    {"name": "private", "tee": ["tdx", "sev-snp"], "attested": True, "min_replicas": 2, "spread": "operator",
     "quorum": 2}]})


def _plan() -> Plan:
    return plan_problem(Problem(WL, POOL, POL), PlanOptions(time_limit_s=2, engine="heuristic"))


def test_an_ordinary_flow_runs_each_task_on_its_planned_nodes() -> None:
    from prefect import flow, task
    from prefect.context import TaskRunContext
    from prefect_placement import PlacementTaskRunner, current_placement

    plan = _plan()
    seen: list[tuple[str, int, str, frozenset[str]]] = []
    lock = threading.Lock()

    def where() -> None:
        p = current_placement()
        tags = frozenset(TaskRunContext.get().task_run.tags)
        with lock:
            seen.append((p.task, p.replica, p.node, tags) if p else ("-", -1, "-", tags))

    @task
    def ingest() -> str:
        where()
        return "raw"

    @task(name="clean")
    def cleaning(raw: str) -> str:
        where()
        return raw + "+clean"

    @task
    def train(data: str) -> str:
        where()
        return data + "+model"

    @task
    def report(model: str) -> str:
        where()
        return f"report({model})"

    @task
    def notify(text: str) -> str:  # not a workload task: runs as usual
        where()
        return text.upper()

    @flow(task_runner=PlacementTaskRunner(WL, POOL, POL, plan=plan))
    def pipeline() -> str:
        r = report.submit(train.submit(cleaning.submit(ingest.submit())))
        return notify.submit(r).result()

    assert pipeline() == "REPORT(RAW+CLEAN+MODEL)"
    placed = {(t, r, n) for t, r, n, _ in seen if t != "-"}
    assert placed == {(a.task, a.replica, a.node) for a in plan.assignments}  # every replica, on its node
    assert all(f"node:{n}" in tags and "level:private" in tags for t, _, n, tags in seen if t in ("ingest", "clean"))
    assert [tags for t, *_, tags in seen if t == "-"] == [frozenset()]  # notify: no placement, no tags


def test_replicas_must_agree_and_the_options_block_maps_tasks() -> None:
    from prefect import flow, task
    from prefect_placement import PlacementTaskRunner, ResultsDisagree, current_placement, placement_options

    plan = _plan()

    @task
    def step(k: int) -> str:
        return f"{current_placement().task}:{k}"

    @task
    def differs(k: int) -> str:
        return current_placement().node  # each replica its own answer

    @flow(task_runner=PlacementTaskRunner(WL, POOL, POL, plan=plan))
    def pipeline(fn) -> list[str]:
        out = []
        for tid in ("ingest", "clean"):
            with placement_options(task=tid):  # one Prefect task standing for several workload tasks
                out.append(fn.submit(len(out)))
        return [f.result() for f in out]

    assert pipeline(step) == ["ingest:0", "clean:1"]
    with pytest.raises(ResultsDisagree, match="2 replicas must agree"):
        pipeline(differs)


def test_a_node_below_the_level_is_refused_before_anything_runs() -> None:
    from prefect import flow, task
    from prefect_placement import PlacementRefused, PlacementTaskRunner

    bad = Plan(assignments=[Assignment(task="ingest", replica=0, node="plain", start_s=0, end_s=60),
                            Assignment(task="ingest", replica=1, node="tee-b", start_s=0, end_s=60)])
    ran: list[str] = []

    @task
    def ingest() -> str:
        ran.append("ingest")
        return "raw"

    @flow(task_runner=PlacementTaskRunner(WL, POOL, POL, plan=bad))
    def pipeline() -> str:
        return ingest.submit().result()

    with pytest.raises(PlacementRefused):
        pipeline()
    assert ran == []


def test_the_runner_plans_when_given_no_plan_and_publishes_it(tmp_path) -> None:
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect_placement import PlacementTaskRunner

    from .conftest import write_yaml

    paths = {k: write_yaml(tmp_path / f"{k}.yaml", m.model_dump(mode="json", exclude_none=True))
             for k, m in (("workload", WL), ("nodes", POOL), ("policy", POL))}

    @task
    def ingest() -> int:
        return 1

    @flow(task_runner=PlacementTaskRunner(paths["workload"], paths["nodes"], paths["policy"], time_limit_s=2,
                                          engine="heuristic", artifact_key="runner-plan"))
    def pipeline() -> int:
        return ingest.submit().result()

    assert pipeline() == 1
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(
            any_=["runner-plan", "runner-plan-summary"])))
    assert {a.key for a in arts} == {"runner-plan", "runner-plan-summary"}


def test_backends_are_blocks_saved_and_loaded_by_name() -> None:
    from prefect_placement import DeploymentBackend, LocalBackend, StepContext, placement_options

    LocalBackend(outages=["n3"]).save("test-local", overwrite=True)
    DeploymentBackend("steps/run-step", job_variables={"image": "trainer:1"}, timeout_s=600).save(
        "test-remote", overwrite=True)
    local, remote = LocalBackend.load("test-local"), DeploymentBackend.load("test-remote")
    assert local.outages == ["n3"]
    assert (remote.deployment, remote.timeout_s, remote.job_variables) == ("steps/run-step", 600, {"image": "trainer:1"})
    ctx = StepContext(task="train", replica=0, node="n1", network="akash", level="confidential", start_s=0, end_s=1)
    with placement_options(job_variables={"gpu": "h100"}, tags={"urgent"}):
        call = remote.call_for({"data": 1}, ctx)
    assert call["job_variables"] == {"image": "trainer:1", "gpu": "h100", "node": "n1", "network": "akash",
                                     "level": "confidential"}
    assert "urgent" in call["tags"] and call["work_queue_name"] == "node-n1"
