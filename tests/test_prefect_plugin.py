"""The Prefect plugin in real flows: artifacts, execution by plan with tags, a node loss
replanned and completed, trust refusal, retries that are not node loss."""

from __future__ import annotations

import base64
import threading

import pytest

from scheduler.analysis.verify import verify_plan
from scheduler.domain import Assignment, Plan, Workload
from scheduler.formats.loading import load_nodes, load_policy
from scheduler.generate import generate_finetune

from .conftest import EXAMPLES, POLICIES

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]

# the fine-tuning pipeline's shape, smaller: every tagged task run costs Prefect a concurrency lease
WL = Workload.model_validate(generate_finetune(1, tokenizers=2, benches=2))
NODES = load_nodes(EXAMPLES / "pool-60.yaml")
POLICY = load_policy(POLICIES / "default.yaml")


def test_plan_run_fail_and_replan() -> None:
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterId,
    )
    from prefect_placement import LocalBackend, current_placement, plan_placement, run_plan

    order: list[tuple[str, str]] = []
    lock = threading.Lock()

    @task
    def step(inputs: dict) -> str:
        placement = current_placement().as_dict()  # where this replica runs
        with lock:
            order.append((placement["task"], placement["node"]))
        return placement["task"] + "(" + ",".join(sorted(inputs)) + ")"

    @flow
    def pipeline():
        plan = plan_placement(WL, NODES, POLICY, time_limit_s=2, artifact_key="test-placement")
        restricted = {a.node for a in plan.assignments if a.task in ("ingest", "pii-scrub")}
        lost = next(a.node for a in sorted(plan.assignments, key=lambda a: a.start_s)
                    if a.task in ("train", "eval") and a.node not in restricted)
        run = run_plan(plan, {t.id: step for t in WL.tasks}, workload=WL, nodes=NODES, policy=POLICY,
                       backend=LocalBackend(outages={lost}), artifact_key="test-placement", replan_time_limit_s=2)
        return plan, run, lost

    state = pipeline(return_state=True)
    plan, run, lost = state.result()
    assert run.lost_nodes == {lost} and run.replans == 1
    assert set(run.results) == {t.id for t in WL.tasks}
    assert run.results["train"] == "train(tokenize-0,tokenize-1)"
    # dependency order: every task's first run comes after one run of each parent
    first = {}
    for k, (tid, _) in enumerate(order):
        first.setdefault(tid, k)
    for t in WL.tasks:
        for d in t.depends_on:
            assert first[d.task] < first[t.id]
    assert lost not in {n for tid, n in order}  # the lost node never ran a step
    assert run.replanned_at_s[0] >= min(a.start_s for a in plan.assignments if a.node == lost)
    report = verify_plan(WL, NODES, POLICY, run.plan, failed_nodes=[lost], now_s=run.replanned_at_s[0])
    assert report.ok, report.violations
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["test-placement", "test-placement-summary", "test-placement-replan-1",
                                        "test-placement-gantt"])))
        kinds = {a.key: a.type for a in arts}
        assert kinds.get("test-placement") == "table" and kinds.get("test-placement-summary") == "markdown"
        summary = next(a for a in arts if a.key == "test-placement-summary")
        assert "| lower bound |" in summary.data and "| gap |" in summary.data
        chart = next(a for a in arts if a.key == "test-placement-gantt")
        png = base64.b64decode(chart.data.split("data:image/png;base64,")[1].rstrip(")\n"))
        assert kinds["test-placement-gantt"] == "markdown" and png.startswith(b"\x89PNG")
        assert "test-placement-replan-1" in kinds
        table = next(a for a in arts if a.key == "test-placement")
        assert "ingest" in str(table.data) and "node" in str(table.data)
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
    tagged = [r for r in runs if any(t.startswith("node:") for t in r.tags)]
    assert len(tagged) >= len(plan.assignments)
    for r in tagged:
        tags = set(r.tags)
        tid = r.name.split("#")[0]
        node = next(t[5:] for t in tags if t.startswith("node:"))
        level = next(t[6:] for t in tags if t.startswith("level:"))
        assert level in POLICY.rank  # every run carries its level
        assert any(a.task == tid and a.node == node for a in [*plan.assignments, *run.plan.assignments])


def test_refuses_a_node_below_the_level() -> None:
    from prefect import flow, task
    from prefect_placement import PlacementRefused, run_plan

    ran = []

    @task
    def step(inputs: dict) -> int:
        ran.append(1)
        return 1

    weak = next(n for n in NODES.nodes if not n.tee)
    bad = Plan(assignments=[Assignment(task=t.id, replica=0, node=weak.id, start_s=0, end_s=1) for t in WL.tasks])

    @flow
    def pipeline():
        return run_plan(bad, {t.id: step for t in WL.tasks}, workload=WL, nodes=NODES, policy=POLICY)

    with pytest.raises(PlacementRefused, match="ingest"):
        pipeline()
    assert ran == []  # refused before any data moved


@pytest.fixture(scope="module")
def good_plan():
    from scheduler import plan

    return plan(WL, NODES, POLICY, engine="heuristic")


@pytest.mark.parametrize("tamper", ["one replica of restricted", "two replicas on one node", "a task missing",
                                    "another workload"])
def test_the_whole_plan_is_checked_before_the_first_step(good_plan, tamper: str) -> None:
    from prefect import flow, task
    from prefect_placement import PlacementRefused, run_plan

    ran = []

    @task
    def step(inputs: dict) -> int:
        ran.append(1)
        return 1

    rows = [a.model_copy() for a in good_plan.assignments]
    ingest = [a for a in rows if a.task == "ingest"]
    if tamper == "one replica of restricted":
        rows.remove(ingest[1])
    elif tamper == "two replicas on one node":
        ingest[1].node = ingest[0].node
    elif tamper == "a task missing":
        rows = [a for a in rows if a.task != "eval"]
    else:
        for a in rows:
            a.task = {"ingest": "load"}.get(a.task, a.task)
    bad = good_plan.model_copy(update={"assignments": rows})

    @flow
    def pipeline():
        return run_plan(bad, {t.id: step for t in WL.tasks}, workload=WL, nodes=NODES, policy=POLICY)

    with pytest.raises(PlacementRefused, match="nothing was run"):
        pipeline()
    assert ran == []  # refused before any step ran or any data moved


def test_plain_retries_are_not_replans() -> None:
    from prefect import flow, task
    from prefect_placement import plan_placement, run_plan

    tries = {"n": 0}

    @task(retries=2, retry_delay_seconds=0)
    def flaky(inputs: dict) -> str:
        tries["n"] += 1
        if tries["n"] == 1:
            raise ValueError("transient")
        return "ok"

    wl = Workload.model_validate({"tasks": [{"id": "ingest", "duration_s": 60, "gpus": 0},
                                            {"id": "train", "duration_s": 600, "depends_on": ["ingest"]}]})

    @flow
    def pipeline():
        plan = plan_placement(wl, NODES, None, time_limit_s=2, engine="heuristic")
        steps = {t.id: (flaky if t.id == "ingest" else (lambda inputs: "x")) for t in wl.tasks}
        return run_plan(plan, steps, workload=wl, nodes=NODES)

    run = pipeline()
    assert run.replans == 0 and run.results["ingest"] == "ok" and tries["n"] >= 2


def test_deployment_backend_call() -> None:
    from prefect_placement import DeploymentBackend, StepContext

    ctx = StepContext(task="train", replica=1, node="ionet-eu-00017", network="io.net", level="confidential",
                      start_s=0.0, end_s=10.0)
    call = DeploymentBackend("steps/run-step", job_variables={"image": "trainer:1"}).call_for({"tok": 1}, ctx)
    assert call["work_queue_name"] == "node-ionet-eu-00017"
    assert call["job_variables"] == {"image": "trainer:1", "node": "ionet-eu-00017", "network": "io.net",
                                     "level": "confidential"}
    assert call["parameters"]["inputs"] == {"tok": 1} and "node:ionet-eu-00017" in call["tags"]


def _agreed_case():
    from scheduler.domain import NodePool, Policy

    wl = Workload.model_validate({"sites": [{"id": "bucket", "country": "DE"}], "tasks": [
        {"id": "fetch", "duration_s": 60, "gpus": 0, "reads": [{"site": "bucket", "data_gb": 1}]},
        {"id": "check", "duration_s": 60, "sensitivity": "agreed", "depends_on": ["fetch"],
         "writes": [{"site": "bucket", "data_gb": 0.1}]}]})
    pool = NodePool.model_validate({"nodes": [
        {"id": f"n{k}", "gpus": 1, "reputation": 0.99, "failures_per_hour": 0.1,
         **({"available": [{"from_s": 0, "until_s": 100000}]} if k == 0 else {})} for k in range(3)]})
    pol = Policy.model_validate({"default_level": "public", "levels": [
        {"name": "public"}, {"name": "agreed", "quorum": 2, "spread": "node"}]})
    return wl, pool, pol


def test_quorum_results_must_agree_and_windows_pass_through() -> None:
    """A quorum-2 task: two replicas that agree pass their result on; a step sees its window's end, its
    completion probability, the quorum and its reads and writes; replicas that disagree raise."""
    from prefect import flow, task
    from prefect_placement import ResultsDisagree, current_placement, plan_placement, run_plan

    wl, pool, pol = _agreed_case()
    seen: list[dict] = []

    @task
    def agree(inputs: dict) -> str:
        placement = current_placement().as_dict()  # where this replica runs
        seen.append(placement)
        return "same"

    @task
    def differ(inputs: dict) -> str:
        placement = current_placement().as_dict()  # where this replica runs
        return placement["node"]  # every replica its own answer

    @flow
    def pipeline(check_step):
        plan = plan_placement(wl, pool, pol, time_limit_s=2, engine="heuristic")
        return run_plan(plan, {"fetch": agree, "check": check_step}, workload=wl, nodes=pool, policy=pol)

    run = pipeline(agree)
    assert run.results["check"] == "same"
    check = [c for c in seen if c["task"] == "check"]
    assert len(check) >= 2 and all(c["quorum"] == 2 for c in check)
    fetch = next(c for c in seen if c["task"] == "fetch")
    assert fetch["reads"] == (("bucket", 1.0),) and check[0]["writes"] == (("bucket", 0.1),)
    assert all(0 < c["completion_probability"] < 0.99 for c in seen)
    assert all((c["available_until_s"] == 100000) == (c["node"] == "n0") for c in seen)
    with pytest.raises(ResultsDisagree, match="2 replicas must agree"):
        pipeline(differ)


def test_refuses_a_replica_outside_its_nodes_window() -> None:
    from prefect import flow, task
    from prefect_placement import PlacementRefused, run_plan

    wl, pool, pol = _agreed_case()
    ran = []

    @task
    def step(inputs: dict) -> int:
        ran.append(1)
        return 1

    late = Plan(assignments=[Assignment(task="fetch", replica=0, node="n0", start_s=99990, end_s=100050),
                             Assignment(task="check", replica=0, node="n1", start_s=100100, end_s=100160),
                             Assignment(task="check", replica=1, node="n2", start_s=100100, end_s=100160)])

    @flow
    def pipeline():
        return run_plan(late, {"fetch": step, "check": step}, workload=wl, nodes=pool, policy=pol)

    with pytest.raises(PlacementRefused, match="window"):
        pipeline()
    assert ran == []


def test_a_gang_replica_is_one_task_run_told_all_its_nodes() -> None:
    from prefect import flow, task
    from prefect_placement import current_placement, plan_placement, run_plan

    from scheduler.domain import NodePool

    wl = Workload.model_validate({"tasks": [
        {"id": "prep", "duration_s": 60, "gpus": 0},
        {"id": "train", "duration_s": 7200, "gpus": 4, "nodes": 3, "sync_gb": 10, "depends_on": ["prep"]}]})
    pool = NodePool.model_validate({"nodes": [{"id": f"g{k}", "gpus": 4, "reputation": 0.99} for k in range(4)]})
    calls: list[dict] = []

    @task
    def step(inputs: dict) -> str:
        placement = current_placement().as_dict()  # where this replica runs
        calls.append(placement)
        return placement["task"]

    @flow
    def pipeline():
        plan = plan_placement(wl, pool, None, time_limit_s=2, engine="heuristic")
        return plan, run_plan(plan, {"prep": step, "train": step}, workload=wl, nodes=pool)

    plan, run = pipeline()
    train = [c for c in calls if c["task"] == "train"]
    assert len(train) == 1  # one run for the gang replica, not one per node
    assert sorted(train[0]["nodes"]) == sorted(a.node for a in plan.assignments if a.task == "train")
    assert len(train[0]["nodes"]) == 3 and run.results["train"] == "train"
