"""Contract 1.1 end to end, over random instances that use every new field (sites read and
written, availability windows, failure rates, quorum): each engine's plan, under tiny time limits
too, passes the independent `verify` and the contract reading in `contract_check`, never beats its
reported bounds, and `simulate` agrees with the plan's success probability."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import plan
from scheduler.analysis.simulate import simulate
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Plan, Policy, Workload
from scheduler.domain.rules import completion_probability, task_success
from scheduler.engine import PlanOptions
from scheduler.problem import Problem

from .conftest import examples, plan_keeping_the_rules, world_instances


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=world_instances(), engine=st.sampled_from(["heuristic", "cpsat", "auto"]),
       limit=st.sampled_from([0.05, 0.3, 1.0]))
def test_every_engine_obeys_the_new_rules(inst, engine: str, limit: float) -> None:
    wl, pool, pol, _ = inst
    p = plan_keeping_the_rules(inst, engine, limit)
    if p is None:
        return
    # the plan's success probability is the contract's: at least `quorum` replicas complete, each with
    # reputation x exp(-failures_per_hour x runtime_h)
    problem = Problem(wl, pool, pol)
    want = 1.0
    for tid, rows in p.by_task().items():
        i = problem.dag.index[tid]
        probs = [completion_probability(pool.by_id[a.node].reputation, pool.by_id[a.node].failures_per_hour,
                                        problem.runtime(i, problem.nodes.index[a.node])) for a in rows]
        want *= task_success(probs, problem.quorum[i])
    assert math.isclose(p.success_probability, want, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=world_instances())
def test_bounds_hold_for_the_best_plan_found(inst) -> None:
    """A longer search, then the bound of the plan as reported; the makespan never beats it."""
    wl, pool, pol, _ = inst
    p = plan(wl, pool, pol, time_limit_s=2.0, engine="cpsat")
    if p.has_plan:
        assert p.makespan_s >= p.lower_bound_s - 1e-6 * max(1.0, p.makespan_s)
        assert verify_plan(wl, pool, pol, p).ok


def _quorum_world() -> tuple[Workload, NodePool, Policy]:
    wl = Workload.model_validate({"sites": [{"id": "bucket", "country": "DE", "bandwidth_gbps": 5}], "tasks": [
        {"id": "fetch", "duration_s": 1800, "reads": [{"site": "bucket", "data_gb": 10}]},
        {"id": "train", "duration_s": 7200, "sensitivity": "agreed", "depends_on": [{"task": "fetch", "data_gb": 4}]},
        {"id": "report", "duration_s": 600, "depends_on": [{"task": "train", "data_gb": 1}],
         "writes": [{"site": "bucket", "data_gb": 1}]}]})
    pool = NodePool.model_validate({"nodes": [
        {"id": f"n{k}", "gpus": 1, "reputation": r, "failures_per_hour": f, "bandwidth_gbps": 1,
         **({"available": [{"from_s": 0, "until_s": 40000}]} if k % 2 else {})}
        for k, (r, f) in enumerate([(0.99, 0.01), (0.97, 0.05), (0.95, 0.02), (0.9, 0.1), (0.98, 0.03)])]})
    pol = Policy.model_validate({"default_level": "public", "levels": [
        {"name": "public"}, {"name": "agreed", "quorum": 2, "min_replicas": 3, "spread": "node"}]})
    return wl, pool, pol


def test_simulate_agrees_with_the_plans_success_probability() -> None:
    """20k runs, no outages, no retries: the share of completed runs is the plan's success probability
    (failures over time and a quorum) within 3 standard errors."""
    wl, pool, pol = _quorum_world()
    p = plan(wl, pool, pol, time_limit_s=2, seed=0)
    assert p.has_plan and verify_plan(wl, pool, pol, p).ok
    runs = 20_000
    r = simulate(Problem(wl, pool, pol), p, runs=runs, seed=3, max_retries=0)
    want = p.success_probability
    se = math.sqrt(want * (1 - want) / runs)
    assert abs(r.completion_probability - want) <= 3 * se, (r.completion_probability, want, se)
    assert want < 0.99  # the failure rates matter here: the test could fail
    # every completed run's makespan counts the write back to the bucket (planned: the plan's makespan)
    assert min(r.makespans) >= p.makespan_s - 1e-6


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(inst=world_instances(), seed=st.integers(0, 3))
def test_simulate_agrees_on_random_worlds(inst, seed: int) -> None:
    """Every new field but windows: a window that closes kills what a failed parent's delay pushed past it,
    as an outage does, which the plan's success probability (by the contract) does not count."""
    wl, pool, pol, _ = inst
    pool = NodePool.model_validate({**pool.model_dump(exclude_none=True), "nodes": [
        {k: v for k, v in n.model_dump(exclude_none=True).items() if k != "available"} for n in pool.nodes]})
    p = plan(wl, pool, pol, time_limit_s=0.5, engine="heuristic")
    if not p.has_plan:
        return
    runs = 20_000
    r = simulate(Problem(wl, pool, pol), p, runs=runs, seed=seed, max_retries=0)
    want = p.success_probability
    se = math.sqrt(max(want * (1 - want), 1e-12) / runs)
    # 3 standard errors; near 0 or 1 the count of failures is Poisson-like and skewed, so 3 runs of slack
    assert abs(r.completion_probability - want) <= 3 * se + 3 / runs, (r.completion_probability, want)


def test_a_lease_that_ends_kills_a_delayed_replica() -> None:
    """A replica pushed past its node's lease end by a slow parent is killed at the lease end: with
    the parent always late the run never completes, and the money of the lost work is counted."""
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 100}, {"id": "b", "duration_s": 100,
                                                                             "depends_on": ["a"]}]})
    pool = NodePool.model_validate({"nodes": [
        {"id": "slow", "gpus": 1, "reputation": 1.0, "price_per_gpu_hour": 1},
        {"id": "leased", "gpus": 1, "reputation": 1.0, "price_per_gpu_hour": 1, "available": [{"until_s": 230}]}]})
    problem = Problem(wl, pool)
    ok = Plan(assignments=[{"task": "a", "node": "slow", "start_s": 0, "end_s": 100},
                           {"task": "b", "node": "leased", "start_s": 100, "end_s": 200}])
    assert simulate(problem, ok, runs=50, seed=1, max_retries=0).completion_probability == 1.0
    late = Plan(assignments=[{"task": "a", "node": "slow", "start_s": 50, "end_s": 150},
                             {"task": "b", "node": "leased", "start_s": 100, "end_s": 200}])
    r = simulate(problem, late, runs=50, seed=1, max_retries=0)
    assert r.completion_probability == 0.0
    # b starts at 150 and dies at 230: 80 s of lost work, beside a's 100 s
    assert np.isclose(np.mean(r.costs), (100 + 80) / 3600)


def test_version_1_plans_do_not_see_the_new_rules() -> None:
    """A version 1 file: no reads, writes, windows, rates or quorum; its plan is as before (the fields'
    defaults give version 1's meaning, so the plan's figures do not change when they are written out)."""
    wl, pool, pol = _quorum_world()
    v1_wl = Workload.model_validate({"tasks": [{k: v for k, v in t.model_dump(exclude_none=True).items()
                                                if k not in ("reads", "writes")} for t in wl.tasks]})
    v1_pool = NodePool.model_validate({"nodes": [{k: v for k, v in n.model_dump(exclude_none=True).items()
                                                  if k not in ("available", "failures_per_hour")}
                                                 for n in pool.nodes]})
    explicit_pool = NodePool.model_validate({"nodes": [{**n.model_dump(exclude_none=True), "failures_per_hour": 0}
                                                       for n in v1_pool.nodes]})
    options = PlanOptions(time_limit_s=1, deterministic=True)
    a = plan(v1_wl, v1_pool, pol, options=options)
    b = plan(v1_wl, explicit_pool, pol, options=options)
    assert a.assignments == b.assignments and a.makespan_s == b.makespan_s


@pytest.mark.parametrize("engine", ["heuristic", "auto"])
def test_quorum_children_wait_for_the_second_copy(engine: str) -> None:
    """With quorum 2, a child starts after the 2nd arrival of its parent's data, not the first."""
    wl, pool, pol = _quorum_world()
    p = plan(wl, pool, pol, time_limit_s=1, engine=engine)
    rows = p.by_task()
    ends = sorted(a.end_s for a in rows["train"])
    assert len(rows["train"]) >= 3
    assert min(a.start_s for a in rows["report"]) >= ends[1] - 1e-6
