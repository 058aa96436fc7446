"""The deadline-aware cost bound: hand-computed relaxations, and never above a plan's cost."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import plan
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Objective, Workload
from scheduler.engine.bounds import compute_bounds
from scheduler.engine.cost_bound import deadline_cost_bound
from scheduler.problem import Problem

from .conftest import instances


def _pool() -> NodePool:
    # cheap: 1 USD/h at speed 1; fast: 4 USD/h at speed 2 (a reference-second costs twice as much)
    return NodePool.model_validate({"nodes": [
        {"id": "cheap", "gpu": "g", "gpus": 1, "speed": 1.0, "price_per_gpu_hour": 1.0, "bandwidth_gbps": 10},
        {"id": "fast", "gpu": "g", "gpus": 1, "speed": 2.0, "price_per_gpu_hour": 4.0, "bandwidth_gbps": 10},
    ]})


def _bound(wl: Workload, deadline_s: float) -> float | None:
    problem = Problem(wl, _pool(), None)
    out = deadline_cost_bound(problem, [problem.eligible(i) for i in range(problem.n_tasks)], deadline_s)
    return None if out is None else out.cost_usd


def test_capacity_of_the_cheap_node_within_the_deadline():
    # four independent tasks of 100 s (cheap) or 50 s (fast); by 250 s the cheap node holds 2.5 of them
    wl = Workload.model_validate({"tasks": [{"id": t, "duration_s": 100} for t in "abcd"]})
    assert _bound(wl, 250) == pytest.approx((2.5 * 100 + 1.5 * 200) / 3600, rel=1e-5)
    problem = Problem(wl, _pool(), None)
    assert compute_bounds(problem).cost_usd == pytest.approx(4 * 100 / 3600)  # the deadline-blind bound
    p = plan(wl, _pool(), objective="cost", deadline_s=250, time_limit_s=5)
    assert p.cost_usd == pytest.approx(600 / 3600)  # two on each node: the true optimum
    assert p.status.value == "optimal" and p.cost_lower_bound_usd >= 550 / 3600 * (1 - 1e-5)
    h = plan(wl, _pool(), objective="cost", deadline_s=250, engine="heuristic")
    assert h.cost_lower_bound_usd == pytest.approx(550 / 3600, rel=1e-5)  # the plan reports it


def test_chains_must_fit_before_the_deadline():
    # a -> b: 200 s on the cheap node alone, 160 s allowed; each node alone fits both, the chain does not:
    # 100 x_cheap + 50 x_fast summed over the chain <= 160, so at most 1.2 tasks' worth on the cheap node
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 100}, {"id": "b", "duration_s": 100, "depends_on": ["a"]},
    ]})
    assert _bound(wl, 160) == pytest.approx((1.2 * 100 + 0.8 * 200) / 3600, rel=1e-5)
    assert _bound(wl, 200) == pytest.approx(200 / 3600, rel=1e-5)  # both on the cheap node fit


def test_replanning_counts_only_new_replicas():
    # a finished at 100 s; b (100 s on cheap) must end by 190 s: only the fast node (50 s) fits
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 100}, {"id": "b", "duration_s": 100, "depends_on": ["a"]},
    ]})
    problem = Problem(wl, _pool(), None)
    allowed = [problem.eligible(i) for i in range(problem.n_tasks)]
    bound = deadline_cost_bound(problem, allowed, 190, release_s=100, finished_end_s={0: 100.0})
    assert bound is not None and bound.cost_usd == pytest.approx(200 / 3600, rel=1e-5)


def test_no_bound_without_a_plan_in_time():
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 100}]})
    assert _bound(wl, 40) is None  # 50 s even on the fast node


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(), st.sampled_from([1.0, 1.15, 1.5, 2.5]))
def test_never_above_the_cost_of_a_plan_that_meets_the_deadline(inst, stretch: float) -> None:
    wl, pool, pol, _ = inst
    fast = plan(wl, pool, pol, engine="heuristic")
    if not fast.has_plan:
        return
    deadline = fast.makespan_s * stretch
    problem = Problem(wl, pool, pol)
    out = deadline_cost_bound(problem, [problem.eligible(i) for i in range(problem.n_tasks)], deadline)
    assert out is not None  # a plan meets the deadline, so the relaxation has a solution
    bound = out.cost_usd
    assert bound <= fast.cost_usd + 1e-9
    cheap = plan(wl, pool, pol, objective=Objective.COST, deadline_s=deadline, time_limit_s=1.0)
    if cheap.has_plan:
        assert verify_plan(wl, pool, pol, cheap, deadline_s=deadline).ok
        assert bound <= cheap.cost_usd + 1e-9
        assert cheap.cost_lower_bound_usd <= cheap.cost_usd + 1e-9
