"""The heuristic portfolio's rules (HEFT, CPoP, PEFT): published results, the rules of the contract
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
from scheduler.engine.schedule import to_plan
from scheduler.errors import Infeasible
from scheduler.problem import Problem

from .conftest import instances


def test_cpop_on_the_heft_paper_example_gives_the_published_86() -> None:
    wl, pool = heft_example()
    p = Problem(wl, pool)
    assert list_schedule(p, HeuristicSettings(rule=HeuristicRule.CPOP)).makespan() == pytest.approx(86.0)
    assert list_schedule(p, HeuristicSettings(rule=HeuristicRule.HEFT)).makespan() == pytest.approx(80.0)


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
