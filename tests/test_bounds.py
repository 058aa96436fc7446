"""Lower bounds: hand-computed values, and never above a published optimum."""

from __future__ import annotations

import pytest

from benchmarks import datasets
from scheduler import plan
from scheduler.bounds import compute_bounds
from scheduler.model import NodePool, Workload
from scheduler.problem import Problem


def _pool(speeds_gpus: list[tuple[float, int]]) -> NodePool:
    return NodePool.model_validate({"nodes": [
        {"id": f"n{k}", "gpu": "g", "gpus": g, "speed": s, "bandwidth_gbps": 10} for k, (s, g) in enumerate(speeds_gpus)
    ]})


def test_fastest_gpus_bound_is_the_uniform_machine_optimum():
    # three tasks of 300 reference-seconds; one GPU of speed 3 and six of speed 0.5.
    # critical path 100 s, energy 900 / 6 = 150 s; the 3 fastest GPUs deliver 4/s: 900 / 4 = 225 s
    wl = Workload.model_validate({"tasks": [{"id": t, "duration_s": 300} for t in "abc"]})
    pool = _pool([(3.0, 1), (0.5, 6)])
    b = compute_bounds(Problem(wl, pool, None))
    assert b.critical_path_s == pytest.approx(100)
    assert b.energy_s == pytest.approx(150)
    assert b.fastest_gpus_s == pytest.approx(225)
    assert b.makespan_s == pytest.approx(225)
    p = plan(wl, pool, time_limit_s=5)
    assert p.makespan_s == pytest.approx(300)  # all three on the fast GPU: the true optimum
    assert p.lower_bound_s >= 225 - 1e-6


def test_fastest_gpus_bound_counts_what_must_follow():
    # a and b (300 each) both feed c (30 s on the fast GPU): a and b must end by makespan - 10
    wl = Workload.model_validate({"tasks": [
        {"id": "a", "duration_s": 300}, {"id": "b", "duration_s": 300},
        {"id": "c", "duration_s": 30, "depends_on": ["a", "b"]},
    ]})
    b = compute_bounds(Problem(wl, _pool([(3.0, 1), (0.5, 6)]), None))
    assert b.fastest_gpus_s == pytest.approx(600 / 3.5 + 10)
    assert set(b.fastest_gpus_tasks or []) == {"a", "b"}


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
