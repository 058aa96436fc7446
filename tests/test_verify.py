"""verify: each rule of the contract, each with a plan that breaks it."""

from __future__ import annotations

import copy

import pytest

from scheduler.analysis.verify import verify_plan
from scheduler.domain import Assignment, NodePool, Objective, Plan, PlanStatus, Policy, Workload
from scheduler.engine.heuristic import HeuristicSettings, heuristic_schedule
from scheduler.engine.schedule import to_plan
from scheduler.problem import Problem


@pytest.fixture
def inst(tiny_workload_doc: dict, tiny_pool_doc: dict, tiny_policy_doc: dict):
    wl = Workload.model_validate(tiny_workload_doc)
    pool = NodePool.model_validate(tiny_pool_doc)
    pol = Policy.model_validate(tiny_policy_doc)
    problem = Problem(wl, pool, pol)
    sched = heuristic_schedule(problem, HeuristicSettings())
    plan = to_plan(problem, sched, status=PlanStatus.FEASIBLE, objective=Objective.MAKESPAN, lower_bound_s=None,
                   solve_time_s=0)
    return wl, pool, pol, plan


def rules_of(plan: Plan, inst, **kw) -> set[str]:
    wl, pool, pol, _ = inst
    return {v.rule for v in verify_plan(wl, pool, pol, plan, **kw).violations}


def rows(plan: Plan, task: str) -> list[Assignment]:
    return [a for a in plan.assignments if a.task == task]


def test_valid_plan_passes(inst) -> None:
    wl, pool, pol, plan = inst
    report = verify_plan(wl, pool, pol, plan)
    assert report.ok, report.violations
    assert report.makespan_s == pytest.approx(plan.makespan_s)
    assert report.cost_usd == pytest.approx(plan.cost_usd)


def broken(inst) -> Plan:
    return copy.deepcopy(inst[3])


def test_unknown_task_and_node(inst) -> None:
    p = broken(inst)
    p.assignments.append(Assignment(task="ghost", replica=0, node="n0", start_s=0, end_s=1))
    p.assignments[0].node = "nowhere"
    assert {"unknown_task", "unknown_node"} <= rules_of(p, inst)


def test_duplicate_replica(inst) -> None:
    p = broken(inst)
    p.assignments.append(p.assignments[0].model_copy())
    assert "duplicate_replica" in rules_of(p, inst)


def test_missing_replica(inst) -> None:
    p = broken(inst)
    p.assignments = [a for a in p.assignments if not (a.task == "train" and a.replica == 1)]
    assert "replicas" in rules_of(p, inst)


def test_distinct_nodes_and_spread(inst) -> None:
    p = broken(inst)
    a, b = rows(p, "train")
    b.node = a.node
    got = rules_of(p, inst)
    assert "distinct_nodes" in got and "spread" in got


def test_spread_by_operator(inst) -> None:
    p = broken(inst)
    a, b = rows(p, "train")
    # n5 belongs to operator op0 like n0
    a.node, b.node = "n0", "n5"
    a.end_s = a.start_s + 10_000
    b.end_s = b.start_s + 10_000
    assert "spread" in rules_of(p, inst)


def test_min_success(inst, tiny_pool_doc: dict) -> None:
    wl, pool, pol, plan = inst
    weak = NodePool.model_validate({**tiny_pool_doc, "nodes": [
        {**n, "reputation": 0.95} if n["id"] in ("n0", "n1") else n for n in tiny_pool_doc["nodes"]]})
    got = {v.rule for v in verify_plan(wl, weak, pol, plan).violations}
    assert "min_success" in got  # 1 - 0.05 * 0.05 = 0.9975 < 0.999


@pytest.mark.parametrize("node, rule", [("n3", "eligibility:tee"), ("n4", "eligibility:country"),
                                        ("n2", "eligibility:tee")])
def test_eligibility(inst, node: str, rule: str) -> None:
    p = broken(inst)
    rows(p, "ingest")[0].node = node
    assert rule in rules_of(p, inst)


def test_reputation_and_attestation(inst, tiny_pool_doc: dict) -> None:
    wl, pool, pol, plan = inst
    shaky = NodePool.model_validate({**tiny_pool_doc, "nodes": [
        {**n, "attested": False, "reputation": 0.5} for n in tiny_pool_doc["nodes"]]})
    got = {v.rule for v in verify_plan(wl, shaky, pol, plan).violations}
    assert {"eligibility:attested", "eligibility:reputation"} <= got


def test_gpu_rules(inst, tiny_pool_doc: dict) -> None:
    wl, pool, pol, plan = inst
    small = NodePool.model_validate({**tiny_pool_doc, "nodes": [
        {**n, "gpus": 1, "gpu_memory_gb": 0} for n in tiny_pool_doc["nodes"]]})
    got = {v.rule for v in verify_plan(wl, small, pol, plan).violations}
    assert {"eligibility:gpus", "eligibility:gpu_memory"} <= got


def test_start_before_zero(inst) -> None:
    p = broken(inst)
    a = rows(p, "ingest")[0]
    a.start_s, a.end_s = -100.0, a.end_s - 100.0
    assert "start" in rules_of(p, inst)


def test_runtime_too_short(inst) -> None:
    p = broken(inst)
    a = rows(p, "train")[0]
    a.end_s = a.start_s + 1
    assert "runtime" in rules_of(p, inst)


def test_precedence_counts_transfers(inst) -> None:
    p = broken(inst)
    scrub_nodes = {a.node for a in rows(p, "scrub")}
    assert "n2" not in scrub_nodes  # scrub is restricted: tdx in DE/FR only
    scrub_end = min(a.end_s for a in rows(p, "scrub"))
    a = rows(p, "train")[0]
    other = rows(p, "train")[1]
    other.node = "n0" if a.node != "n0" else "n1"
    a.node, a.start_s, a.end_s = "n2", scrub_end, scrub_end + 1000  # no time for 5 GB to travel
    assert "precedence" in rules_of(p, inst)
    a.start_s, a.end_s = scrub_end + 4.0 + 1e-6, scrub_end + 1004.0 + 1e-6  # 5 GB * 8 / 10 Gb/s = 4 s
    assert "precedence" not in rules_of(p, inst)


def test_capacity(inst) -> None:
    p = broken(inst)
    # three 1-GPU eval-like replicas on a 2-GPU node at once: move report's and eval's replicas together
    tr = rows(p, "train")[0]
    extra = [Assignment(task="eval", replica=5 + k, node=tr.node, start_s=tr.start_s, end_s=tr.start_s + 500)
             for k in range(1)]
    p.assignments.extend(extra)
    got = rules_of(p, inst)
    assert "capacity" in got


def test_reported_totals_and_bound(inst) -> None:
    p = broken(inst)
    p.makespan_s = p.makespan_s / 2
    p.cost_usd = p.cost_usd + 5
    p.success_probability = 0.123
    p.lower_bound_s = p.makespan_s * 10
    got = rules_of(p, inst)
    assert {"reported_totals", "bound"} <= got


def test_deadline_and_failed_nodes(inst) -> None:
    p = broken(inst)
    assert "deadline" in rules_of(p, inst, deadline_s=p.makespan_s / 2)
    assert "deadline" not in rules_of(p, inst, deadline_s=p.makespan_s)
    used = p.assignments[0].node
    assert "failed_node" in rules_of(p, inst, failed_nodes=[used])


def test_empty_plan_lists_every_task(inst) -> None:
    wl = inst[0]
    p = Plan(status=PlanStatus.INFEASIBLE, assignments=[])
    report = verify_plan(*inst[:3], p)
    assert {v.task for v in report.violations if v.rule == "replicas"} == {t.id for t in wl.tasks}


# --- tolerances never admit a capacity excess (issue 16) -------------------------------


def test_many_short_replicas_on_one_node_are_a_capacity_excess() -> None:
    wl = Workload.model_validate({"tasks": [{"id": f"t{k}", "duration_s": 0.0019, "gpus": 8} for k in range(10)]})
    pool = NodePool.model_validate({"nodes": [{"id": "n", "gpus": 8}]})
    plan = Plan(assignments=[{"task": f"t{k}", "node": "n", "start_s": 0.0, "end_s": 0.0019} for k in range(10)])
    assert "capacity" in {v.rule for v in verify_plan(wl, pool, None, plan).violations}


def test_a_two_millisecond_overlap_of_long_replicas_is_caught_and_touching_is_not() -> None:
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 1000, "gpus": 8},
                                            {"id": "b", "duration_s": 1000, "gpus": 8}]})
    pool = NodePool.model_validate({"nodes": [{"id": "n", "gpus": 8}]})
    overlap = Plan(assignments=[{"task": "a", "node": "n", "start_s": 0.0, "end_s": 1000.0},
                                {"task": "b", "node": "n", "start_s": 999.998, "end_s": 1999.998}])
    assert "capacity" in {v.rule for v in verify_plan(wl, pool, None, overlap).violations}
    touching = Plan(assignments=[{"task": "a", "node": "n", "start_s": 0.0, "end_s": 1000.0},
                                 {"task": "b", "node": "n", "start_s": 1000.0, "end_s": 2000.0}])
    assert verify_plan(wl, pool, None, touching).ok


@pytest.mark.parametrize("row", [{"start_s": "0.0"}, {"replica": True}, {"replica": "1"}, {"end_s": None}])
def test_wrong_types_in_a_plan_file_are_input_errors(tmp_path, row: dict) -> None:
    import json

    from scheduler.errors import InputError
    from scheduler.formats import load_plan

    doc = {"status": "feasible", "assignments": [{"task": "a", "replica": 0, "node": "n", "start_s": 0.0,
                                                  "end_s": 1.0, **row}]}
    f = tmp_path / "p.json"
    f.write_text(json.dumps(doc))
    with pytest.raises(InputError) as e:
        load_plan(f)
    assert e.value.file == str(f) and e.value.field.startswith("assignments[0].")


# --- any mutated plan: verify agrees with an independent reading (issue 16) -------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from .conftest import examples, instances  # noqa: E402
from .contract_check import violations as independent_violations  # noqa: E402


def mutate_plan(doc: dict, nodes: list[str], draw) -> dict:
    """One to three random edits of a plan document: times, nodes, replica numbers, rows."""
    doc = copy.deepcopy(doc)
    rows = doc["assignments"]
    for _ in range(draw(st.integers(1, 3))):
        if not rows:
            break
        k = draw(st.integers(0, len(rows) - 1))
        op = draw(st.sampled_from(["shift", "shrink", "node", "replica", "drop", "duplicate", "swap_start"]))
        a = rows[k]
        if op == "shift":
            d = draw(st.sampled_from([-100.0, -1.0, -0.001, 0.001, 1.0, 50.0]))
            a["start_s"] += d
            a["end_s"] += d
        elif op == "shrink":
            a["end_s"] -= draw(st.sampled_from([0.001, 1.0, 10.0]))
        elif op == "node":
            a["node"] = draw(st.sampled_from(nodes))
        elif op == "replica":
            a["replica"] = draw(st.integers(0, 3))
        elif op == "drop":
            rows.pop(k)
        elif op == "duplicate":
            rows.append(dict(a, replica=a["replica"] + draw(st.integers(0, 1))))
        else:
            other = rows[draw(st.integers(0, len(rows) - 1))]
            a["start_s"], other["start_s"] = other["start_s"], a["start_s"]
    return doc


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(inst=instances(), data=st.data())
def test_verify_never_passes_a_plan_the_independent_reading_rejects(inst, data) -> None:
    from scheduler import plan as make_plan

    wl, pool, pol, objective = inst
    p = make_plan(wl, pool, pol, objective=objective, engine="heuristic")
    if not p.has_plan:
        return
    docs = (wl.model_dump(), pool.model_dump(), pol.model_dump())
    assert not independent_violations(*docs, p.to_json_dict())  # the engine's own plans are valid
    mutated = mutate_plan(p.to_json_dict(), [n.id for n in pool.nodes], data.draw)
    report = verify_plan(wl, pool, pol, Plan.model_validate(mutated))
    if report.ok:
        assert not independent_violations(*docs, mutated), mutated
