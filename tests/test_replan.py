"""Replanning: done tasks keep their times, nothing new before now or on a failed node."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scheduler import plan
from scheduler.analysis.replan import replan, split_plan
from scheduler.analysis.verify import verify_plan
from scheduler.engine.bounds import compute_bounds
from scheduler.engine.cost_bound import deadline_cost_bound
from scheduler.engine.planner import PlanOptions
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.problem import Problem

from .conftest import CASES, POLICY, POOL60, busiest_node, instances, run_cli


@pytest.fixture(scope="module")
def base():
    wl, pool, pol = load_workload(CASES / "llm-finetune.yaml"), load_nodes(POOL60), load_policy(POLICY)
    return wl, pool, pol, plan(wl, pool, pol, time_limit_s=3)


def test_replan_after_dropping_busiest_node(base) -> None:
    wl, pool, pol, old = base
    node = busiest_node(old)
    now = sorted(a.end_s for a in old.assignments)[len(old.assignments) // 3]
    by_task = old.by_task()
    done = {t for t, rows in by_task.items() if all(a.end_s <= now for a in rows) and
            all(a.node != node for a in rows)}
    new = replan(wl, pool, pol, old, now_s=now, done=done, failed_nodes={node},
                 options=PlanOptions(time_limit_s=3))
    assert new.has_plan, new.messages
    report = verify_plan(wl, pool, pol, new, failed_nodes=[node], now_s=now)
    assert report.ok, report.violations
    after = new.by_task()
    for t in done:  # finished work is kept exactly
        assert sorted((a.node, a.start_s, a.end_s) for a in after[t]) == \
               sorted((a.node, a.start_s, a.end_s) for a in by_task[t])
    kept = {(a.task, a.node, a.start_s) for a in old.assignments if a.start_s < now}
    for a in new.assignments:
        if (a.task, a.node, a.start_s) not in kept:
            assert a.start_s >= now - 1e-6 and a.node != node


def test_ancestors_of_done_tasks_are_done(base) -> None:
    wl, pool, pol, old = base
    now = max(a.end_s for a in old.by_task()["train"])
    new = replan(wl, pool, pol, old, now_s=now, done={"train"}, options=PlanOptions(time_limit_s=2))
    assert new.has_plan
    assert any("taken as done" in m for m in new.messages or [])
    old_rows = {(a.task, a.node, a.start_s) for a in old.assignments if a.task.startswith("tokenize")}
    new_rows = {(a.task, a.node, a.start_s) for a in new.assignments if a.task.startswith("tokenize")}
    assert old_rows == new_rows


def test_replan_errors(base) -> None:
    wl, pool, pol, old = base
    with pytest.raises(ValueError):
        replan(wl, pool, pol, old, now_s=10, done={"nope"})
    with pytest.raises(ValueError):
        replan(wl, pool, pol, old, now_s=10, failed_nodes={"nope"})


def test_replan_cli(tmp_path, base) -> None:
    wl, pool, pol, old = base
    f = tmp_path / "plan.json"
    f.write_text(json.dumps(old.to_json_dict()))
    node = busiest_node(old)
    args = ["--plan", f, "--workload", CASES / "llm-finetune.yaml", "--nodes", POOL60, "--policy", POLICY]
    p = run_cli("replan", *args, "--now", "100", "--done", "ingest", "--failed-node", node, "--time-limit", "2",
                "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert all(a["node"] != node or a["start_s"] < 100 for a in doc["assignments"])
    bad = run_cli("replan", *args, "--now", "100", "--done", "no-such-task")
    assert bad.returncode == 2


def test_finished_replica_on_failed_node_stays() -> None:
    """A child that already read a replica's data keeps a valid precedence after that node fails."""
    from scheduler.domain import Assignment, NodePool, Plan, Workload

    pool = NodePool.model_validate({"nodes": [{"id": n, "gpus": 1} for n in "abc"]})
    wl = Workload.model_validate({"tasks": [{"id": "p", "duration_s": 10, "replicas": 2},
                                            {"id": "k", "duration_s": 100, "depends_on": [{"task": "p", "data_gb": 8}]}]})
    old = Plan(assignments=[Assignment(task="p", replica=0, node="a", start_s=0, end_s=10),
                            Assignment(task="p", replica=1, node="b", start_s=0, end_s=40),
                            Assignment(task="k", replica=0, node="a", start_s=10, end_s=110)])
    new = replan(wl, pool, None, old, now_s=50, failed_nodes={"b"}, options=PlanOptions(time_limit_s=1))
    assert verify_plan(wl, pool, None, new, failed_nodes=["b"], now_s=50).ok
    assert ("k", "a", 10.0) in {(a.task, a.node, a.start_s) for a in new.assignments}  # kept running
    lost = replan(wl, pool, None, old, now_s=20, failed_nodes={"a"}, options=PlanOptions(time_limit_s=1))
    assert verify_plan(wl, pool, None, lost, failed_nodes=["a"], now_s=20).ok
    assert all(a.node != "a" for a in lost.assignments if a.task == "k")  # k was running on a: placed again


def test_replica_that_ended_but_is_not_done_does_not_push_the_bound() -> None:
    """A replica that started before `now` (not marked done) may already have ended: the bounds
    must take its planned end, not `now` + its runtime (this once made a met deadline 'infeasible')."""
    from scheduler.domain import NodePool, Workload

    pool = NodePool.model_validate({"nodes": [{"id": "n1", "gpus": 1}]})
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 100},
                                            {"id": "b", "duration_s": 50, "depends_on": [{"task": "a"}]}]})
    old = plan(wl, pool, None, time_limit_s=1)
    assert old.makespan_s == pytest.approx(150)
    for objective in ("makespan", "cost"):
        new = replan(wl, pool, None, old, now_s=100,
                     options=PlanOptions(objective=objective, deadline_s=160, time_limit_s=1))
        assert new.has_plan, new.unplaceable
        assert new.makespan_s == pytest.approx(150) and new.lower_bound_s <= 150 + 1e-6


def test_a_done_tasks_replica_still_to_start_on_a_failed_node_is_placed_again() -> None:
    """t3 is done, so t1 (its parent) is too, but t1's second replica was to start on n0 after
    `now`, and n0 has failed: it must not stay there (found by the policy-safety property)."""
    from scheduler.domain import NodePool, Plan, Workload

    pool = NodePool.model_validate({"nodes": [{"id": f"n{k}", "gpus": 1, "speed": s}
                                              for k, s in enumerate([0.5, 0.5, 0.5, 2.0])]})
    wl = Workload.model_validate({"tasks": [
        {"id": "t0", "duration_s": 5, "gpus": 0},
        {"id": "t1", "duration_s": 5, "gpus": 0, "replicas": 2, "depends_on": [{"task": "t0", "data_gb": 1.0}]},
        {"id": "t2", "duration_s": 5, "gpus": 0},
        {"id": "t3", "duration_s": 5, "gpus": 0, "depends_on": ["t0", "t1"]}]})
    rows = [("t0", 0, "n3", 0, 2.5), ("t1", 0, "n3", 2.5, 5), ("t2", 0, "n1", 0, 10), ("t3", 0, "n3", 5, 7.5),
            ("t1", 1, "n0", 20.5, 30.5)]
    old = Plan.model_validate({"status": "feasible", "objective": "makespan", "assignments": [
        {"task": t, "replica": k, "node": n, "start_s": a, "end_s": b} for t, k, n, a, b in rows]})
    new = replan(wl, pool, None, old, now_s=10, done={"t3"}, failed_nodes={"n0"},
                 options=PlanOptions(time_limit_s=1))
    assert new.has_plan
    report = verify_plan(wl, pool, None, new, failed_nodes=["n0"], now_s=10)
    assert report.ok, report.violations
    assert sorted(a.node for a in new.assignments if a.task == "t1")[0] != "n0"
    assert any("t1#1@n0" in m for m in new.messages or [])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.floats(0.0, 1.0), st.sampled_from(["auto", "heuristic"]))
def test_replan_keeps_a_deadline_the_old_plan_met(inst, when: float, engine: str) -> None:
    """Without failures the rest of the old plan is a valid answer, so a replan with the old
    plan's makespan as deadline always has a plan (with either engine), no worse than the old one,
    and neither of its bounds exceeds that plan."""
    wl, pool, pol, objective = inst
    old = plan(wl, pool, pol, objective=objective, time_limit_s=0.5)
    assume(old.has_plan)
    now = when * old.makespan_s
    done = {t for t, rows in old.by_task().items() if all(a.end_s <= now for a in rows)}
    new = replan(wl, pool, pol, old, now_s=now, done=done,
                 options=PlanOptions(objective=objective, deadline_s=old.makespan_s, time_limit_s=0.5, engine=engine))
    assert new.has_plan, new.unplaceable
    primary = (lambda p: p.cost_usd) if objective == "cost" else (lambda p: p.makespan_s)
    assert primary(new) <= primary(old) * (1 + 1e-9) + 1e-6
    assert verify_plan(wl, pool, pol, new, now_s=now).ok
    problem = Problem(wl, pool, pol)
    args = _replan_bound_args(wl, pool, pol, old, now, done)
    assert compute_bounds(problem, **args).makespan_s <= old.makespan_s * (1 + 1e-9) + 1e-6
    allowed = [problem.eligible(i) for i in range(problem.n_tasks)]
    cost = deadline_cost_bound(problem, allowed, old.makespan_s, **args)
    kept = {(a.task, a.replica) for rows in split_plan(wl, old, now_s=now, done=done, failed_nodes=set()).keep.values()
            for a in rows}
    rest_usd = sum(problem.cost(problem.dag.index[a.task], problem.nodes.index[a.node])
                   for a in old.assignments if (a.task, a.replica) not in kept)
    assert cost is None or cost.cost_usd <= rest_usd * (1 + 1e-6) + 1e-9


def _replan_bound_args(wl, pool, pol, old, now: float, done: set[str]) -> dict:
    """compute_bounds' arguments for replanning `old` at `now` (as the planner derives them)."""
    problem = Problem(wl, pool, pol)
    split = split_plan(wl, old, now_s=now, done=done, failed_nodes=set())
    fixed = {problem.dag.index[t]: rows for t, rows in split.keep.items()}
    finished = {problem.dag.index[t] for t in split.done}
    return {"release_s": now, "fixed_replicas": {i: len(r) for i, r in fixed.items()},
            "finished_end_s": {i: min(a.end_s for a in fixed[i]) for i in finished},
            "running_end_s": {i: min(a.end_s for a in rows) for i, rows in fixed.items() if i not in finished}}


# --- a tampered history is refused, never blessed (issue 16) ------------------------------

from hypothesis import HealthCheck as _HC  # noqa: E402

from scheduler.errors import InputError  # noqa: E402

from .conftest import examples  # noqa: E402
from .contract_check import violations as independent_violations  # noqa: E402
from .test_verify import mutate_plan  # noqa: E402


def _tampered(old, change) -> object:
    doc = old.to_json_dict()
    change(doc["assignments"])
    from scheduler.domain import Plan

    return Plan.model_validate(doc)


@pytest.mark.parametrize("what", ["plain node", "before zero", "end before start", "one node twice", "precedence",
                                  "unknown node", "unknown task"])
def test_replan_refuses_a_tampered_history(base, what: str) -> None:
    wl, pool, pol, old = base
    plain = next(n.id for n in pool.nodes if not n.tee)
    ingest = [a for a in old.assignments if a.task == "ingest"]
    scrub = [a for a in old.assignments if a.task == "pii-scrub"]

    def change(rows):
        k = old.assignments.index(ingest[0])
        if what == "plain node":
            rows[k]["node"] = plain
        elif what == "before zero":
            rows[k]["start_s"] = -100.0
        elif what == "end before start":
            rows[k]["end_s"] = rows[k]["start_s"] - 1
        elif what == "one node twice":
            rows[old.assignments.index(ingest[1])]["node"] = ingest[0].node
        elif what == "precedence":
            for a in scrub:
                j = old.assignments.index(a)
                rows[j]["start_s"], rows[j]["end_s"] = 0.0, a.end_s - a.start_s
        elif what == "unknown node":
            rows[k]["node"] = "nowhere"
        else:
            rows[k]["task"] = "nothing"

    now = max(a.end_s for a in scrub) + 1
    with pytest.raises(InputError) as e:
        replan(wl, pool, pol, _tampered(old, change), now_s=now, done={"pii-scrub"}, options=PlanOptions(time_limit_s=1))
    assert e.value.field.startswith("assignments")


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[_HC.too_slow, _HC.data_too_large])
@given(inst=instances(), data=st.data())
def test_replan_of_any_mutated_plan_refuses_or_is_valid(inst, data) -> None:
    from scheduler.domain import Plan

    wl, pool, pol, objective = inst
    p = plan(wl, pool, pol, objective=objective, engine="heuristic")
    assume(p.has_plan)
    mutated = Plan.model_validate(mutate_plan(p.to_json_dict(), [n.id for n in pool.nodes], data.draw))
    now = data.draw(st.floats(0, max(p.makespan_s, 1.0)))
    done = {t for t, rows in mutated.by_task().items() if rows and all(a.end_s <= now for a in rows)
            and data.draw(st.booleans())}
    try:
        new = replan(wl, pool, pol, mutated, now_s=now, done=done, options=PlanOptions(time_limit_s=0.3,
                                                                                       engine="heuristic"))
    except InputError:
        return
    except Exception as e:  # noqa: BLE001
        from scheduler.errors import ArgumentError

        assert isinstance(e, ArgumentError), e  # e.g. a done task with no row left
        return
    if new.has_plan:
        assert verify_plan(wl, pool, pol, new, now_s=now).ok
        assert not independent_violations(wl.model_dump(), pool.model_dump(), pol.model_dump(), new.to_json_dict())
