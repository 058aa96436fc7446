"""The list-scheduling heuristic: HEFT on the paper's example, insertion, every rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.datasets import heft_example
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Objective, PlanStatus, Policy, Workload
from scheduler.engine.heuristic import HeuristicSettings, Timeline, heuristic_schedule, list_schedule, retime
from scheduler.engine.schedule import to_plan
from scheduler.errors import Infeasible
from scheduler.problem import Problem


def test_heft_paper_example_gives_80() -> None:
    wl, pool = heft_example()
    s = list_schedule(Problem(wl, pool))
    assert s.makespan() == pytest.approx(80.0)  # the paper's HEFT schedule


def test_timeline_insertion() -> None:
    tl = Timeline(2)
    tl.add(0, 10, 2)
    tl.add(20, 30, 1)
    assert tl.earliest(0, 5, 1) == 10
    assert tl.earliest(0, 15, 2) == 30  # the gap 10..20 is too short for 15 s at 2 GPUs
    assert tl.earliest(0, 15, 1) == 10  # 1 GPU fits beside the 1-GPU job at 20..30
    assert tl.earliest(5, 0.5, 0) == 5  # holds no GPU
    assert tl.earliest(0, 1, 3) == float("inf")


def test_heuristic_plans_are_valid(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    wl, pool, pol = (Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                     Policy.model_validate(tiny_policy_doc))
    p = Problem(wl, pool, pol)
    for objective in Objective:
        s = heuristic_schedule(p, HeuristicSettings(objective=objective))
        plan = to_plan(p, s, status=PlanStatus.FEASIBLE, objective=objective, lower_bound_s=None, solve_time_s=0)
        assert verify_plan(wl, pool, pol, plan).ok


def test_min_success_adds_replicas(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    # ingest needs 0.999 on two operators: n0 (0.99) + n1 (0.98) give 0.9998
    p = Problem(Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                Policy.model_validate(tiny_policy_doc))
    s = list_schedule(p)
    assert sorted(s.nodes_of(p.dag.index["ingest"])) == [0, 1]


def test_success_target_adds_replicas(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    p = Problem(Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                Policy.model_validate(tiny_policy_doc))
    base = list_schedule(p)
    more = list_schedule(p, HeuristicSettings(success_target=0.9995))
    assert more.success(p) >= 0.9995 > base.success(p)


def test_unreachable_success_target(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    p = Problem(Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                Policy.model_validate(tiny_policy_doc))
    with pytest.raises(Infeasible) as e:
        list_schedule(p, HeuristicSettings(success_target=0.999999999))
    assert e.value.reasons[0].rule == "success_target"
    assert e.value.reasons[0].tasks  # the weakest tasks are named


def test_success_target_reached_past_a_less_reputable_first_replica() -> None:
    """The first replica goes to n0 (as fast and cheap as n1, but less reputable). Spread by
    operator then rules out n1, so added replicas reach 1 - 0.2 * 0.2 = 0.96 at most, while
    n1 + n2 reach 0.99. The heuristic must find the latter, not call 0.985 unreachable."""
    nodes = [{"id": f"n{k}", "operator": op, "gpus": 1, "reputation": rep}
             for k, (op, rep) in enumerate([("op0", 0.8), ("op0", 0.95), ("op1", 0.8)])]
    pool = NodePool.model_validate({"nodes": nodes})
    wl = Workload.model_validate({"tasks": [{"id": "t0", "duration_s": 5, "gpus": 0}]})
    pol = Policy.model_validate({"default_level": "public", "levels": [{"name": "public", "spread": "operator"}]})
    s = list_schedule(Problem(wl, pool, pol), HeuristicSettings(success_target=0.985))
    assert sorted(r.node for r in s.replicas[0]) == [1, 2]


def test_a_replica_added_for_the_success_target_does_not_set_the_makespan() -> None:
    """Issue 19: a replica nobody waits for must not set the makespan. The three tasks run on the fast
    node n0 (reputation 0.9); the target needs a second replica of each. The most reliable node, n1, is
    ten times slower: a replica there would end long after the chain. n2 and n3 (0.9 each) are as fast
    as n0 and free while it works, so the extra replicas fit beside the chain and the plan is as long
    as without the target (3,000 s when each went to the most reliable free node)."""
    nodes = [{"id": "n0", "operator": "a", "gpus": 1, "reputation": 0.9, "speed": 1.0, "price_per_gpu_hour": 1},
             {"id": "n1", "operator": "b", "gpus": 1, "reputation": 0.999, "speed": 0.1, "price_per_gpu_hour": 1},
             {"id": "n2", "operator": "c", "gpus": 1, "reputation": 0.9, "speed": 1.0, "price_per_gpu_hour": 1},
             {"id": "n3", "operator": "d", "gpus": 1, "reputation": 0.9, "speed": 1.0, "price_per_gpu_hour": 1}]
    pool = NodePool.model_validate({"nodes": nodes})
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 100},
        {"id": "b", "duration_s": 100, "depends_on": ["a"]},
        {"id": "c", "duration_s": 100, "depends_on": ["b"]}]})
    pol = Policy.model_validate({"default_level": "public", "levels": [{"name": "public", "spread": "operator"}]})
    p = Problem(wl, pool, pol)
    base = list_schedule(p)
    more = list_schedule(p, HeuristicSettings(success_target=0.95))
    assert more.success(p) >= 0.95 > base.success(p)
    assert all(len(reps) == 2 for reps in more.replicas)
    assert more.makespan(p) == pytest.approx(base.makespan(p)) == pytest.approx(300.0)
    plan = to_plan(p, more, status=PlanStatus.FEASIBLE, objective=Objective.MAKESPAN, lower_bound_s=None,
                   solve_time_s=0)
    assert verify_plan(wl, pool, pol, plan).ok


def test_retime_on_a_clock_rounds_up() -> None:
    wl, pool = heft_example()
    p = Problem(wl, pool)
    s = list_schedule(p)
    units = retime(p, s, HeuristicSettings(quantum_s=0.1))
    assert units.makespan() == pytest.approx(800)  # integer durations: 80 s is 800 units of 0.1 s


def test_lookahead_keeps_a_task_beside_the_only_nodes_its_child_may_use() -> None:
    """Plain HEFT puts `a` on a fast node and then ships 10 GB at 0.1 Gbps (800 s) to the one TEE
    node `b` may use: 950 s. Looking one step ahead, `a` runs on that node too: 200 s."""
    fast = [{"id": f"f{k}", "gpus": 1, "speed": 2.0, "bandwidth_gbps": 0.1} for k in range(3)]
    tee = {"id": "z", "gpus": 1, "speed": 1.0, "bandwidth_gbps": 0.1, "tee": ["tdx"], "attested": True}
    problem = Problem(
        Workload.model_validate({"tasks": [
            {"id": "a", "duration_s": 100},
            {"id": "b", "duration_s": 100, "sensitivity": "secure", "depends_on": [{"task": "a", "data_gb": 10}]}]}),
        NodePool.model_validate({"nodes": [*fast, tee]}),
        Policy.model_validate({"default_level": "public", "levels": [{"name": "public"},
                                                                       {"name": "secure", "tee": ["tdx"]}]}))
    assert list_schedule(problem, HeuristicSettings()).makespan() == pytest.approx(950)
    assert list_schedule(problem, HeuristicSettings(lookahead=True)).makespan() == pytest.approx(200)
    from scheduler.engine.planner import PlanOptions, plan_problem

    plan = plan_problem(problem, PlanOptions(engine="heuristic"))  # the planner tries both
    assert plan.makespan_s == pytest.approx(200) and plan.heuristic_makespan_s == pytest.approx(200)


def test_equal_ranks_place_the_larger_gpu_demand_first() -> None:
    """t0 (1 GPU) and t1 (2 GPUs, 2 replicas on distinct nodes) rank equal. Taking t0 first put
    it on the 2-GPU node, so one replica of t1 waited for it: 120 s instead of 60 s."""
    pool = NodePool.model_validate({"nodes": [{"id": "n0", "gpus": 2, "speed": 0.5},
                                              {"id": "n1", "gpus": 3, "speed": 0.5}]})
    wl = Workload.model_validate({"tasks": [{"id": "t0", "duration_s": 30, "gpus": 1},
                                            {"id": "t1", "duration_s": 30, "gpus": 2, "replicas": 2}]})
    assert list_schedule(Problem(wl, pool, None)).makespan() == pytest.approx(60)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.floats(0.05, 1.0), min_size=1, max_size=12), st.lists(st.integers(0, 5), min_size=12, max_size=12),
       st.integers(2, 3), st.sampled_from([0.5, 0.9, 0.99]), st.integers(0, 2))
def test_quorum_pickers_shortcut_agrees_with_the_exact_check(reputations, operators, quorum, target, chosen) -> None:
    """When the cheap bound says every candidate keeps an at-least-k target reachable, the exact check
    (success with each candidate and the best of every other spread value) says so too."""
    from scheduler.engine.heuristic.placement import _QuorumPicker

    nodes = [{"id": f"n{k}", "gpu": "A100", "gpus": 1, "reputation": r, "operator": f"op{operators[k]}"}
             for k, r in enumerate(reputations)]
    problem = Problem(Workload.model_validate({"tasks": [{"id": "t", "duration_s": 10.0, "sensitivity": "agreed"}]}),
                      NodePool.model_validate({"nodes": nodes}),
                      Policy.model_validate({"levels": [{"name": "agreed", "quorum": quorum, "spread": "operator",
                                                         "min_success": target}], "default_level": "agreed"}))
    every = np.arange(len(nodes))
    picker = _QuorumPicker(problem, 0, every, [])
    for k in range(min(chosen, len(nodes))):  # a replica or two already taken, where some are left
        free = np.flatnonzero(picker.mask)
        if len(free) <= 1:
            break
        picker.take(int(free[0]))
    free = np.flatnonzero(picker.mask)
    if not len(free):
        return
    firsts = picker.best_of_each_value(free)
    if picker._all_reach(free, free[firsts]):
        assert picker._reaching(free, picker.code_of[free][firsts], free[firsts]).tolist() == free.tolist()


def _first_fit(tl: Timeline, ready: float, duration: float, gpus: int, latest: float) -> float:
    """The earliest start by brute force: `ready` or a breakpoint after it, the first whose run stays
    within the free slots (segments beginning within EPS of its end do not count)."""
    eps = 1e-9
    for start in [ready, *[t for t in tl.times if t > ready]]:
        if start > ready and start > latest:
            return float("inf")
        j = max(k for k, t in enumerate(tl.times) if t <= start)
        if all(tl.used[k] + gpus <= tl.cap for k in range(j, len(tl.times)) if k == j or tl.times[k] < start + duration - eps):
            return start
    return float("inf")


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(1, 3), st.lists(st.tuples(st.floats(0, 200), st.floats(0.5, 40), st.integers(1, 3), st.booleans(),
                                             st.floats(0, 200), st.floats(0.5, 60), st.integers(1, 3)), max_size=40))
def test_timeline_search_is_exhaustive(cap, steps) -> None:
    """On a timeline of fewer than `LONG_TIMELINE` segments every search gives the brute-force earliest
    start, through appends and insertions alike."""
    tl = Timeline(cap)
    for start, length, gpus, at_end, ready, duration, want in steps:
        gpus = min(gpus, cap)
        begin = tl.times[-1] + start / 10 if at_end else start
        found = tl.earliest(begin, length, gpus)
        if found != float("inf"):
            tl.add(found, found + length, gpus)
        for latest in (float("inf"), ready + duration):
            assert tl.earliest(ready, duration, min(want, cap), latest) == _first_fit(tl, ready, duration, min(want, cap), latest)
