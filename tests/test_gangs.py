"""Gangs (contract 1.1): one replica on several nodes at once, in every part: random instances and every
engine under tiny time limits (verify, bounds), brute force over every node set on tiny pools,
simulate, replan and what-if."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler import plan
from scheduler.analysis.replan import replan
from scheduler.analysis.simulate import simulate
from scheduler.analysis.verify import verify_plan
from scheduler.domain import NodePool, Workload
from scheduler.engine.bounds import compute_bounds
from scheduler.problem import Problem
from scheduler.problem.gangs import candidate_gangs, gang_runtime

from .conftest import EXAMPLES, POLICIES, examples, gang_instances, plan_keeping_the_rules, run_cli


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=gang_instances(), engine=st.sampled_from(["heuristic", "cpsat", "auto"]),
       limit=st.sampled_from([0.05, 0.3, 1.0]))
def test_every_engine_places_gangs_by_the_rules(inst, engine: str, limit: float) -> None:
    wl, pool, pol, _ = inst
    p = plan_keeping_the_rules(inst, engine, limit)
    if p is None:
        return
    raw = compute_bounds(Problem(wl, pool, pol))
    assert p.makespan_s >= raw.makespan_s - 1e-6 * max(1.0, p.makespan_s)
    for t in wl.tasks:  # m rows per replica, one interval
        rows = [a for a in p.assignments if a.task == t.id]
        for k in {a.replica for a in rows}:
            same = [a for a in rows if a.replica == k]
            assert len(same) == t.nodes and len({(a.start_s, a.end_s) for a in same}) == 1


def _tiny(n_nodes: int, seed: int) -> tuple[Workload, NodePool]:
    import random

    rng = random.Random(seed)
    nodes = [{"id": f"n{k}", "gpus": 4, "speed": rng.choice([0.5, 1.0, 1.5, 2.0]),
              "region": rng.choice(["a", "b", "c"]), "bandwidth_gbps": rng.choice([1, 10, 40]),
              "price_per_gpu_hour": rng.choice([0.5, 1, 2]), "reputation": 0.99} for k in range(n_nodes)]
    links = [{"regions": ["a", "a"], "bandwidth_gbps": 100}, {"regions": ["a", "b"], "bandwidth_gbps": 0.5}]
    wl = {"sites": [{"id": "data", "region": "a", "bandwidth_gbps": 20}], "tasks": [
        {"id": "train", "duration_s": rng.choice([3600, 7200]), "gpus": 4, "nodes": rng.choice([2, 3, 4]),
         "sync_gb": rng.choice([0, 20, 200]), "reads": [{"site": "data", "data_gb": rng.choice([0, 50])}]}]}
    return Workload.model_validate(wl), NodePool.model_validate({"nodes": nodes, "links": links})


@pytest.mark.parametrize("seed", range(12))
def test_tiny_gangs_match_brute_force(seed: int) -> None:
    """Up to 8 nodes: the best over every node set (reads, then the gang's runtime) is the engine's."""
    wl, pool = _tiny(6 + seed % 3, seed)
    problem = Problem(wl, pool)
    m = wl.tasks[0].nodes
    best = min(float(problem.read_ready(0, __import__("numpy").array(g)).max()) + gang_runtime(problem, 0, g)
               for g in itertools.combinations(range(len(pool.nodes)), m))
    p = plan(wl, pool, time_limit_s=2)
    assert math.isclose(p.makespan_s, best, rel_tol=1e-9), (p.makespan_s, best)
    assert verify_plan(wl, pool, None, p).ok and p.lower_bound_s <= best + 1e-6


def _two_gangs(seed: int) -> tuple[Workload, NodePool]:
    """Two gang tasks competing for 6-7 nodes of one task's GPUs each: which sets, and in what order."""
    import random

    rng = random.Random(seed)
    wl, pool = _tiny(6 + seed % 2, seed)
    tasks = [{"id": name, "duration_s": rng.choice([3600, 7200, 10800]), "gpus": 4, "nodes": rng.choice([2, 3]),
              "sync_gb": rng.choice([0, 20, 200]), "reads": [{"site": "data", "data_gb": rng.choice([0, 50])}]}
             for name in ("a", "b")]
    return Workload.model_validate({**wl.model_dump(exclude_none=True), "tasks": tasks}), pool


def _two_gangs_brute_force(wl: Workload, pool: NodePool) -> float:
    """The least makespan over every pair of node sets: apart, both start when their reads are in; sharing
    a node, one after the other (the better order)."""
    import numpy as np

    problem = Problem(wl, pool)

    def ready(i: int, g: tuple[int, ...]) -> float:
        return float(problem.read_ready(i, np.array(g)).max())

    best = math.inf
    n = len(pool.nodes)
    for a in itertools.combinations(range(n), wl.tasks[0].nodes):
        for b in itertools.combinations(range(n), wl.tasks[1].nodes):
            run_a, run_b = gang_runtime(problem, 0, a), gang_runtime(problem, 1, b)
            end_a, end_b = ready(0, a) + run_a, ready(1, b) + run_b
            if set(a) & set(b):
                best = min(best, max(ready(1, b), end_a) + run_b, max(ready(0, a), end_b) + run_a)
            else:
                best = min(best, max(end_a, end_b))
    return best


@pytest.mark.parametrize("seed", range(10))
def test_two_gangs_match_brute_force(seed: int) -> None:
    """CP-SAT chooses among every node set of each gang (few nodes): the optimum over all pairs of sets,
    where the heuristic alone misses it on 2 of these 10 (it places one gang at a time)."""
    wl, pool = _two_gangs(seed)
    best = _two_gangs_brute_force(wl, pool)
    p = plan(wl, pool, time_limit_s=3)
    assert math.isclose(p.makespan_s, best, rel_tol=1e-9), (p.makespan_s, best)
    assert verify_plan(wl, pool, None, p).ok and p.lower_bound_s <= best + 1e-6


@pytest.mark.parametrize("objective", ["makespan", "cost"])
def test_cpsat_gives_gang_replicas_disjoint_sets(objective: str) -> None:
    """Two replicas of a gang: CP-SAT chooses both sets (warm-started from the heuristic's in any order) and
    keeps them on disjoint nodes."""
    from scheduler.domain import Policy

    wl, pool = _tiny(8, 3)
    pol = Policy.model_validate({"levels": [{"name": "public", "min_replicas": 2, "spread": "node"}]})
    wl = Workload.model_validate({**wl.model_dump(exclude_none=True), "tasks": [
        {**wl.tasks[0].model_dump(exclude_none=True), "nodes": 2}]})
    p = plan(wl, pool, pol, engine="cpsat", time_limit_s=3, objective=objective)
    assert p.status.value in ("optimal", "feasible") and verify_plan(wl, pool, pol, p).ok
    sets = [{a.node for a in p.assignments if a.replica == r} for r in (0, 1)]
    assert len(sets[0]) == len(sets[1]) == 2 and not sets[0] & sets[1]


def test_candidate_gangs_hold_what_a_user_would_try() -> None:
    from scheduler.generate import generate_gang_pool

    pool = NodePool.model_validate(generate_gang_pool(60, seed=3))
    wl = Workload.model_validate({"tasks": [{"id": "t", "duration_s": 36000, "gpus": 8, "nodes": 4, "sync_gb": 100}]})
    problem = Problem(wl, pool)
    gangs = candidate_gangs(problem, 0, problem.eligible(0))
    assert 1 < len(gangs) <= 64 and all(len(set(g)) == 4 for g in gangs)
    campus = tuple(sorted(problem.nodes.index[f"fra-dc-{k:02d}"] for k in range(4)))
    assert campus in gangs  # the fast-linked data centre is one of them
    p = plan(wl, pool, time_limit_s=2)
    assert p.makespan_s <= gang_runtime(problem, 0, campus) + 1e-6  # at least as good as the campus
    assert p.makespan_s <= min(gang_runtime(problem, 0, g) for g in gangs) + 1e-6


def test_simulate_and_replan_a_gang() -> None:
    """A gang completes when all its nodes do (simulate agrees with the plan within 3 SE), and a replan that
    loses one of its nodes loses the whole replica."""
    wl, pool = _tiny(8, 5)
    wl = Workload.model_validate({**wl.model_dump(exclude_none=True), "tasks": [
        {**wl.tasks[0].model_dump(exclude_none=True), "nodes": 3},
        {"id": "eval", "duration_s": 600, "gpus": 4, "depends_on": [{"task": "train", "data_gb": 10}]}]})
    pool = NodePool.model_validate({**pool.model_dump(exclude_none=True), "nodes": [
        {**n.model_dump(exclude_none=True), "failures_per_hour": 0.05} for n in pool.nodes]})
    p = plan(wl, pool, time_limit_s=2)
    problem = Problem(wl, pool)
    r = simulate(problem, p, runs=20_000, seed=2, max_retries=0)
    se = math.sqrt(p.success_probability * (1 - p.success_probability) / 20_000)
    assert abs(r.completion_probability - p.success_probability) <= 3 * se
    gang = sorted(a.node for a in p.assignments if a.task == "train")
    start = next(a.start_s for a in p.assignments if a.task == "train")
    again = replan(wl, pool, None, p, now_s=start + 1, failed_nodes={gang[0]})
    assert verify_plan(wl, pool, None, again, failed_nodes=[gang[0]], now_s=start + 1).ok
    new_gang = [a for a in again.assignments if a.task == "train"]
    assert len(new_gang) == 3 and gang[0] not in {a.node for a in new_gang}
    assert all(a.start_s >= start + 1 for a in new_gang)  # none of the old gang is kept
    assert any(m.startswith("3 replicas lost") for m in again.messages or [])


def test_pretraining_example_end_to_end(tmp_path) -> None:
    out = tmp_path / "plan.json"
    args = ["--workload", EXAMPLES / "pretraining.yaml", "--nodes", EXAMPLES / "pool-gang.yaml", "--policy",
            POLICIES / "pretraining.yaml"]
    p = run_cli("plan", *args, "--time-limit", "3", "--output", out, "--gantt", tmp_path / "g.png")
    assert p.returncode == 0, p.stderr
    v = run_cli("verify", "--plan", out, *args)
    assert v.returncode == 0, v.stdout + v.stderr
    e = run_cli("explain", "--task", "pretrain", *args, "--format", "json")
    assert e.returncode == 0 and '"eligible"' in e.stdout
    w = run_cli("whatif", *args, "--sweep", "bandwidth-scale=0.25,1", "--time-limit", "4", "--format", "json")
    assert w.returncode == 0, w.stderr
