"""The list-scheduling heuristic: HEFT on the paper's example, insertion, every rule."""

from __future__ import annotations

import pytest

from benchmarks.datasets import heft_example
from scheduler.errors import Infeasible
from scheduler.heuristic import Options, Timeline, heuristic_schedule, list_schedule, retime
from scheduler.model import NodePool, Objective, PlanStatus, Policy, Workload
from scheduler.problem import Problem
from scheduler.schedule import to_plan
from scheduler.verify import verify_plan


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
        s = heuristic_schedule(p, Options(objective=objective))
        plan = to_plan(p, s, status=PlanStatus.FEASIBLE, objective=objective, lower_bound_s=None, solve_time_s=0)
        assert verify_plan(plan, wl, pool, pol).ok


def test_min_success_adds_replicas(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    # ingest needs 0.999 on two operators: n0 (0.99) + n1 (0.98) give 0.9998
    p = Problem(Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                Policy.model_validate(tiny_policy_doc))
    s = list_schedule(p)
    assert sorted(s.nodes_of(p.task_index["ingest"])) == [0, 1]


def test_success_target_adds_replicas(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    p = Problem(Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                Policy.model_validate(tiny_policy_doc))
    base = list_schedule(p)
    more = list_schedule(p, Options(success_target=0.9995))
    assert more.success(p) >= 0.9995 > base.success(p)


def test_unreachable_success_target(tiny_workload_doc, tiny_pool_doc, tiny_policy_doc) -> None:
    p = Problem(Workload.model_validate(tiny_workload_doc), NodePool.model_validate(tiny_pool_doc),
                Policy.model_validate(tiny_policy_doc))
    with pytest.raises(Infeasible) as e:
        list_schedule(p, Options(success_target=0.999999999))
    assert e.value.reasons[0].rule == "success_target"


def test_retime_on_a_clock_rounds_up() -> None:
    wl, pool = heft_example()
    p = Problem(wl, pool)
    s = list_schedule(p)
    units = retime(p, s, Options(quantum_s=0.1))
    assert units.makespan() == pytest.approx(800)  # integer durations: 80 s is 800 units of 0.1 s
