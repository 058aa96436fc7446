"""The heuristic portfolio's rules (HEFT, CPoP, PEFT, one node, Sufferage): published results, the rules of the contract
under every rule, and a portfolio never worse than plain HEFT."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from benchmarks.datasets import heft_example
from scheduler import plan
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Objective, PlanStatus, Workload
from scheduler.engine.heuristic import HeuristicRule, HeuristicSettings, list_schedule
from scheduler.engine.heuristic.priorities import critical_path_node, downward_ranks, task_order, upward_ranks
from scheduler.engine.schedule import Replica, to_plan
from scheduler.errors import Infeasible
from scheduler.problem import Problem

from .conftest import instances


def test_cpop_on_the_heft_paper_example_gives_the_published_86() -> None:
    wl, pool = heft_example()
    p = Problem(wl, pool)
    assert list_schedule(p, HeuristicSettings(rule=HeuristicRule.CPOP)).makespan() == pytest.approx(86.0)
    assert list_schedule(p, HeuristicSettings(rule=HeuristicRule.HEFT)).makespan() == pytest.approx(80.0)


def test_rank_sum_places_the_critical_paths_exit_where_the_data_is() -> None:
    """CPoP pins the critical path (chain a, 1,000 s) with its exit s to a's node n0; but b, c and d send
    s 12.5 GB each, 1,000 s over n0's slow links and 0.1 s between n1-n3. Rank-sum keeps CPoP's order
    and lets s go where it finishes first: beside b, waiting only for a's few bytes."""
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 1000}, {"id": "b", "duration_s": 100}, {"id": "c", "duration_s": 100},
        {"id": "d", "duration_s": 100},
        {"id": "s", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": 0.0001}] + [
            {"task": t, "data_gb": 12.5} for t in "bcd"]}]})
    nodes = [{"id": f"n{k}", "gpus": 1, "region": "far" if k == 0 else "near", "bandwidth_gbps": 1000}
             for k in range(4)]
    pool = NodePool.model_validate({"nodes": nodes, "links": [
        {"regions": ["far", "near"], "bandwidth_gbps": 0.1}, {"regions": ["near", "near"], "bandwidth_gbps": 1000}]})
    p = Problem(wl, pool)
    pinned = list_schedule(p, HeuristicSettings(rule=HeuristicRule.CPOP))
    free = list_schedule(p, HeuristicSettings(rule=HeuristicRule.RANK_SUM))
    assert pinned.nodes_of(p.dag.index["s"]) == [0] and pinned.makespan(p) == pytest.approx(1110, abs=1)
    assert free.nodes_of(p.dag.index["s"]) != [0] and free.makespan(p) == pytest.approx(1010, abs=1)
    assert plan(wl, pool, time_limit_s=5, engine="heuristic").makespan_s <= free.makespan(p) + 1e-6


def test_cpop_critical_path_is_the_papers() -> None:
    """Topcuoglu et al. (2002), fig. 5: the critical path n1 -> n2 -> n9 -> n10, on P2."""
    wl, pool = heft_example()
    p = Problem(wl, pool)
    allowed = [p.eligible(i) for i in range(p.n_tasks)]
    priority = upward_ranks(p, allowed) + downward_ranks(p, allowed)
    path, node = critical_path_node(p, allowed, priority)
    assert [p.dag.ids[i] for i in path] == ["1", "2", "9", "10"]
    assert p.nodes.ids[node] == "P2"


def test_task_order_takes_ready_tasks_only() -> None:
    # b's priority is the highest but it waits for a
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 1}, {"id": "c", "duration_s": 1},
                                            {"id": "b", "duration_s": 1, "depends_on": ["a"]}]})
    p = Problem(wl, NodePool.model_validate({"nodes": [{"id": "n", "gpus": 1}]}))
    order = task_order(p, priority=[1.0, 2.0, 9.0], skip=set())
    assert [p.dag.ids[i] for i in order] == ["c", "a", "b"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_rule_keeps_the_rules_and_the_portfolio_beats_heft(inst) -> None:
    wl, pool, pol, _ = inst
    p = Problem(wl, pool, pol)
    try:
        heft = list_schedule(p, HeuristicSettings())
    except Infeasible:
        return
    for rule in HeuristicRule:
        try:
            s = list_schedule(p, HeuristicSettings(rule=rule))
        except Infeasible:
            continue  # e.g. CPoP's critical-path node cannot take a replica set: the portfolio skips it
        shown = to_plan(p, s, status=PlanStatus.FEASIBLE, objective=Objective.MAKESPAN, lower_bound_s=None,
                        solve_time_s=0)
        report = verify_plan(wl, pool, pol, shown)
        assert report.ok, (rule, report.violations)
    best = plan(wl, pool, pol, engine="heuristic", time_limit_s=30)
    assert best.heuristic_makespan_s <= heft.makespan(p) + 1e-9
    assert best.makespan_s <= heft.makespan(p) + 1e-9


def _fork(data_gb: float) -> tuple[Workload, NodePool]:
    """a feeds b and c with `data_gb` each, on two equal one-GPU nodes over a 1 Gb/s link."""
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 10},
        {"id": "b", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": data_gb}]},
        {"id": "c", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": data_gb}]}]})
    pool = NodePool.model_validate({"nodes": [{"id": "n1", "gpus": 1, "bandwidth_gbps": 1},
                                              {"id": "n2", "gpus": 1, "bandwidth_gbps": 1}]})
    return wl, pool


def test_one_node_keeps_heavy_data_at_home_and_the_portfolio_takes_it() -> None:
    # the transfer (8 s per GB) costs more than running b and c one after the other
    wl, pool = _fork(data_gb=5.0)
    p = Problem(wl, pool)
    one = list_schedule(p, HeuristicSettings(rule=HeuristicRule.ONE_NODE))
    assert {r.node for reps in one.replicas for r in reps} == {0}
    assert one.makespan(p) == pytest.approx(30.0)
    assert plan(wl, pool, engine="heuristic").makespan_s == pytest.approx(30.0)


def test_sufferage_places_first_the_task_that_loses_most_without_its_node() -> None:
    # y (10 s on the fast node, 12 s on the slow one) has the higher mean, so HEFT gives it the fast node
    # first; x (1 s or 20 s) loses 19 s without it against y's 2 s, so Sufferage places x there first
    wl = Workload.model_validate({"tasks": [
        {"id": "x", "duration_s": 1, "duration_by_gpu": {"fast": 1, "slow": 20}},
        {"id": "y", "duration_s": 10, "duration_by_gpu": {"fast": 10, "slow": 12}}]})
    pool = NodePool.model_validate({"nodes": [{"id": "f", "gpu": "fast", "gpus": 1},
                                              {"id": "s", "gpu": "slow", "gpus": 1}]})
    p = Problem(wl, pool)
    x, y, fast = p.dag.index["x"], p.dag.index["y"], p.nodes.index["f"]
    heft = list_schedule(p, HeuristicSettings(rule=HeuristicRule.HEFT))
    assert (heft.replicas[y][0].node, heft.replicas[y][0].start) == (fast, 0.0)
    s = list_schedule(p, HeuristicSettings(rule=HeuristicRule.SUFFERAGE))
    assert (s.replicas[x][0].node, s.replicas[x][0].start) == (fast, 0.0)
    assert s.makespan(p) == pytest.approx(11.0)


def test_sufferage_steps_over_finished_tasks() -> None:
    # replanning: a and its child b finished, c (b's child) and d (a's) still to place
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 5}, {"id": "b", "duration_s": 5, "depends_on": ["a"]},
        {"id": "c", "duration_s": 5, "depends_on": ["b"]}, {"id": "d", "duration_s": 5, "depends_on": ["a"]}]})
    pool = NodePool.model_validate({"nodes": [{"id": "n1", "gpus": 1}, {"id": "n2", "gpus": 1}]})
    p = Problem(wl, pool)
    a, b = p.dag.index["a"], p.dag.index["b"]
    fixed = {a: [Replica(0, 0.0, 5.0)], b: [Replica(0, 5.0, 10.0)]}
    s = list_schedule(p, HeuristicSettings(rule=HeuristicRule.SUFFERAGE, fixed=fixed, finished={a, b}))
    assert s.complete
    assert s.replicas[p.dag.index["c"]][0].start >= 10.0
