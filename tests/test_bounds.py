"""Lower bounds: hand-computed values, and never above a published optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import datasets
from scheduler import plan
from scheduler.domain import NodePool, PlanStatus, Workload
from scheduler.engine.bounds import _counting_span, compute_bounds
from scheduler.problem import Problem


def _pool(speeds_gpus: list[tuple[float, int]]) -> NodePool:
    return NodePool.model_validate({"nodes": [
        {"id": f"n{k}", "gpu": "g", "gpus": g, "speed": s, "bandwidth_gbps": 10} for k, (s, g) in enumerate(speeds_gpus)
    ]})


def test_fastest_gpus_bound_is_the_uniform_machine_optimum():
    # three tasks of 300 reference-seconds; one GPU of speed 3 and six of speed 0.5.
    # critical path 100 s, energy 900 / 6 = 150 s; with preemption the 3 fastest GPUs deliver 4/s:
    # 900 / 4 = 225 s. Without it a slow GPU needs 600 s for one task, so all three run on the fast
    # one: 300 s, which the counting bound proves.
    wl = Workload.model_validate({"tasks": [{"id": t, "duration_s": 300} for t in "abc"]})
    pool = _pool([(3.0, 1), (0.5, 6)])
    b = compute_bounds(Problem(wl, pool, None))
    assert b.critical_path_s == pytest.approx(100)
    assert b.energy_s == pytest.approx(150)
    assert _counting_span(np.full(3, 300.0), np.array([0.5, 3.0]), np.array([6, 1])) == pytest.approx(300)
    assert b.fastest_gpus_s == pytest.approx(300)
    p = plan(wl, pool, time_limit_s=5, engine="heuristic")
    assert p.makespan_s == pytest.approx(300) and p.status == PlanStatus.OPTIMAL


def test_fastest_gpus_bound_counts_what_must_follow():
    # a and b (300 each) both feed c (30 s on the fast GPU): a and b must end by makespan - 10.
    # With preemption that is 600 / 3.5 + 10; without, both run on the fast GPU (a slow one
    # needs 600 s): 200 + 10 s, the optimum
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 300}, {"id": "b", "duration_s": 300},
        {"id": "c", "duration_s": 30, "depends_on": ["a", "b"]},
    ]})
    b = compute_bounds(Problem(wl, _pool([(3.0, 1), (0.5, 6)]), None))
    assert b.fastest_gpus_s == pytest.approx(210)
    assert set(b.fastest_gpus_tasks or []) == {"a", "b"}


@pytest.mark.parametrize(("works", "speeds", "expected"), [
    ([10, 10, 10], [1, 1], 20),  # two jobs share a GPU
    ([10, 10, 10, 1, 1, 1, 1, 1, 1], [1, 1], 20),  # small jobs must not hide the large ones
    ([5, 5, 5, 5], [2, 1, 1, 1], 5),  # one job per GPU: the slow ones take 5 s
    ([30, 30], [3, 1], 20),  # both on the fast GPU (20 s) beats one on the slow one (30 s)
])
def test_counting_bound_on_small_cases(works: list[float], speeds: list[float], expected: float) -> None:
    values, gpus = np.unique(np.array(speeds, dtype=float), return_counts=True)
    assert _counting_span(np.array(works, dtype=float), values, gpus) == pytest.approx(expected)


def test_no_bound_exceeds_a_published_stg_optimum():
    checked = 0
    for size in (50, 100):
        files = {f.stem: f for f in datasets.stg_files(size)}
        for (stem, processors), optimum in sorted(datasets.stg_optima(size).items())[::7]:
            if stem not in files:
                continue
            b = compute_bounds(Problem(datasets.stg_workload(files[stem]), datasets.stg_pool(processors), None))
            assert b.makespan_s <= optimum + 1e-6, (size, stem, processors)
            checked += 1
    assert checked >= 100


def test_spread_bound_counts_the_replicas_outside_the_largest_operator() -> None:
    # 10 tasks x 2 replicas x 100 s, spread over operators; operator A has 4 GPUs, B one. Energy: 2,000
    # GPU-seconds over 5 GPUs = 400 s; but each task has one replica outside A: 1,000 s on B, the optimum.
    from scheduler.domain import Policy

    wl = Workload.model_validate({"tasks": [{"id": f"t{k}", "duration_s": 100, "replicas": 2} for k in range(10)]})
    pool = NodePool.model_validate({"nodes": [{"id": f"a{k}", "operator": "A", "gpus": 1} for k in range(4)] +
                                    [{"id": "b", "operator": "B", "gpus": 1}]})
    spread = Policy.model_validate({"default_level": "x", "levels": [{"name": "x", "spread": "operator"}]})
    assert compute_bounds(Problem(wl, pool, spread)).makespan_s == pytest.approx(1000)
    assert compute_bounds(Problem(wl, pool, None)).makespan_s == pytest.approx(400)  # spread over nodes only
    p = plan(wl, pool, spread, time_limit_s=10)
    assert p.status == PlanStatus.OPTIMAL and p.makespan_s == pytest.approx(1000)


def test_required_group_bound_puts_every_task_on_the_node_min_success_needs() -> None:
    # min_success 0.9999 on two operators: r (0.999) with either s (0.98) reaches 0.99998, but s1 + s2 only
    # 0.9996. Every task needs a replica on r, its only GPU: 4 x 100 s = 400 s, the optimum (energy alone:
    # 800 GPU-seconds over 3 GPUs; 8 jobs of 100 s on 3 GPUs, 3 on one of them: 300 s).
    from scheduler.domain import Policy

    wl = Workload.model_validate({"tasks": [{"id": f"t{k}", "duration_s": 100} for k in range(4)]})
    pool = NodePool.model_validate({"nodes": [{"id": "r", "operator": "A", "gpus": 1, "reputation": 0.999}] + [
        {"id": f"s{k}", "operator": f"B{k}", "gpus": 1, "reputation": 0.98} for k in range(2)]})
    strict = Policy.model_validate({"default_level": "x", "levels": [
        {"name": "x", "min_replicas": 2, "spread": "operator", "min_success": 0.9999}]})
    assert compute_bounds(Problem(wl, pool, strict)).makespan_s == pytest.approx(400)
    loose = Policy.model_validate({"default_level": "x", "levels": [
        {"name": "x", "min_replicas": 2, "spread": "operator", "min_success": 0.999}]})  # s1 + s2 reach it
    assert compute_bounds(Problem(wl, pool, loose)).makespan_s == pytest.approx(300)
    p = plan(wl, pool, strict, time_limit_s=10)
    assert p.status == PlanStatus.OPTIMAL and p.makespan_s == pytest.approx(400)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_required_group_bound_never_above_the_optimum(data) -> None:
    """Tiny pools of few operators with reliabilities that make some operator required: the bound never
    exceeds the optimum CP-SAT proves (skipped examples: no plan, or no proof in time)."""
    n_nodes = data.draw(st.integers(2, 4))
    nodes = [{"id": f"n{k}", "operator": f"o{data.draw(st.integers(0, 2))}", "gpus": data.draw(st.integers(1, 2)),
              "speed": data.draw(st.sampled_from([0.5, 1.0, 2.0])),
              "reputation": data.draw(st.sampled_from([0.9, 0.98, 0.99, 0.999]))} for k in range(n_nodes)]
    tasks = [{"id": f"t{k}", "duration_s": data.draw(st.integers(10, 100)), "gpus": data.draw(st.integers(1, 2)),
              "depends_on": [f"t{k - 1}"] if k and data.draw(st.booleans()) else []}
             for k in range(data.draw(st.integers(1, 4)))]
    level = {"name": "x", "min_replicas": data.draw(st.integers(1, 2)), "spread": "operator",
             "min_success": data.draw(st.sampled_from([0.99, 0.999, 0.9999]))}
    found = _proven_optimum({"tasks": tasks}, {"nodes": nodes}, {"default_level": "x", "levels": [level]})
    if found is not None:
        problem, optimum = found
        assert compute_bounds(problem).makespan_s <= optimum * (1 + 1e-9) + 1e-6


def _proven_optimum(workload: dict, pool: dict, policy: dict) -> tuple[Problem, float] | None:
    """The problem of three documents and the makespan CP-SAT proves optimal (None: no plan, or no
    proof within 5 s)."""
    from scheduler.domain import Policy

    wl, nodes, pol = Workload.model_validate(workload), NodePool.model_validate(pool), Policy.model_validate(policy)
    problem = Problem(wl, nodes, pol)
    if problem.static_reasons():
        return None
    p = plan(wl, nodes, pol, time_limit_s=5, engine="cpsat", workers=1)
    return (problem, p.makespan_s) if p.status == PlanStatus.OPTIMAL and p.makespan_s is not None else None


def _join_instance(data_gb: float) -> tuple[Workload, NodePool]:
    """Two 10 s parents feed a 10 s child with `data_gb` each, on two one-GPU nodes over 8 Gbit/s."""
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 10}, {"id": "b", "duration_s": 10},
        {"id": "c", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": data_gb},
                                                     {"task": "b", "data_gb": data_gb}]}]})
    pool = NodePool.model_validate({"nodes": [{"id": n, "gpus": 1, "bandwidth_gbps": 8} for n in ("x", "y")]})
    return wl, pool


@pytest.mark.parametrize(("data_gb", "optimum"), [(100.0, 30.0), (0.5, 20.5)])
def test_data_arrival_bound_is_the_optimum_of_a_join(data_gb: float, optimum: float) -> None:
    # 100 GB: a transfer takes 100 s, so both parents run on the child's node, one after the other
    # (20 s), then the child: 30 s. 0.5 GB: the parents run side by side and one's data crosses in
    # 0.5 s: 20.5 s. The critical path, transfers free, says 20 s in both cases
    wl, pool = _join_instance(data_gb)
    b = compute_bounds(Problem(wl, pool, None))
    assert b.critical_path_s == pytest.approx(20)
    assert b.data_arrival_s == pytest.approx(optimum)
    assert b.data_arrival_tasks == ["c", "a", "b"]
    p = plan(wl, pool, time_limit_s=10, engine="cpsat", workers=1)
    assert p.status == PlanStatus.OPTIMAL and p.makespan_s == pytest.approx(optimum)


def test_data_arrival_bound_gives_the_deadline_reason() -> None:
    wl, pool = _join_instance(100.0)
    p = plan(wl, pool, deadline_s=25, objective="cost", time_limit_s=5)
    assert p.status == PlanStatus.INFEASIBLE
    blame = p.unplaceable or []
    assert blame and blame[0].rule == "deadline" and "cannot end sooner" in (blame[0].message or "")
    assert [u.task for u in blame] == ["c", "a", "b"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_data_arrival_bound_never_above_the_optimum(data) -> None:
    """Tiny graphs with data on every edge, nodes of several speeds, GPUs and bandwidths, node-pair links,
    and sometimes two replicas: the bound never exceeds the optimum CP-SAT proves (about one example in six
    has it above the critical path; skipped examples: no plan, or no proof in time)."""
    n_nodes = data.draw(st.integers(2, 3))
    nodes = [{"id": f"n{k}", "gpus": data.draw(st.integers(1, 2)), "speed": data.draw(st.sampled_from([0.5, 1.0, 2.0])),
              "bandwidth_gbps": data.draw(st.sampled_from([1.0, 4.0, 40.0]))} for k in range(n_nodes)]
    links = [{"nodes": ["n0", "n1"], "bandwidth_gbps": data.draw(st.sampled_from([0.5, 100.0]))}]
    tasks = []
    for k in range(data.draw(st.integers(2, 5))):
        parents = [j for j in range(k) if data.draw(st.booleans())]
        tasks.append({"id": f"t{k}", "duration_s": data.draw(st.integers(5, 60)), "gpus": data.draw(st.integers(0, 2)),
                      "depends_on": [{"task": f"t{j}", "data_gb": data.draw(st.sampled_from([0.5, 5.0, 20.0]))}
                                     for j in parents]})
    level = {"name": "x", "min_replicas": data.draw(st.integers(1, 2))}
    found = _proven_optimum({"tasks": tasks}, {"nodes": nodes, "links": links},
                            {"default_level": "x", "levels": [level]})
    if found is not None:
        problem, optimum = found
        assert compute_bounds(problem).data_arrival_s <= optimum * (1 + 1e-9) + 1e-6
