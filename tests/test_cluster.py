"""Sweeps and fronts on dask.distributed (issue 20): a 2-worker LocalCluster runs the independent solves,
and gives the same plans as the default process pool (deterministic runs); the command line's --dask."""

from __future__ import annotations

import json

import pytest

from scheduler.analysis.sweep import pareto_front, run_scenarios, sweep_scenarios
from scheduler.engine.planner import PlanOptions
from scheduler.formats.loading import load_nodes, load_policy, load_workload

from .conftest import EXAMPLES, POLICIES, run_cli

WL, POOL, POL = (load_workload(EXAMPLES / "llm-finetune.yaml"), load_nodes(EXAMPLES / "pool-60.yaml"),
                 load_policy(POLICIES / "default.yaml"))
OPTIONS = PlanOptions(time_limit_s=3, deterministic=True, engine="heuristic")


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc, \
            Client(lc) as client:
        yield client


def test_scenarios_on_a_local_cluster_match_the_process_pool(cluster) -> None:
    scenarios = sweep_scenarios("bandwidth-scale=0.25,0.5,2,4", POOL)
    worker_pids = set(cluster.run(lambda: __import__("os").getpid()).values())
    base, on_dask, pids = run_scenarios(WL, POOL, POL, scenarios, OPTIONS, workers=2,
                                        executor=cluster.get_executor())
    _, on_pool, _ = run_scenarios(WL, POOL, POL, scenarios, OPTIONS, workers=2)
    assert pids <= worker_pids and len(pids) == 2  # both dask workers solved, nothing ran here
    for a, b in zip(on_dask, on_pool):
        assert a.scenario.name == b.scenario.name
        assert [x.model_dump() for x in a.changed.assignments] == [x.model_dump() for x in b.changed.assignments]
    assert base.has_plan


def test_pareto_front_on_a_local_cluster_matches_the_process_pool(cluster) -> None:
    opts = PlanOptions(time_limit_s=2, deterministic=True, engine="heuristic")
    wl = load_workload(EXAMPLES / "layered-80.yaml")
    on_dask = pareto_front(wl, POOL, POL, opts, points=4, workers=2, executor=cluster.get_executor())
    on_pool = pareto_front(wl, POOL, POL, opts, points=4, workers=2)
    assert [p.__dict__ for p in on_dask] == [p.__dict__ for p in on_pool] and len(on_dask) >= 2


def test_the_command_line_runs_a_sweep_on_dask(tmp_path) -> None:
    args = ["whatif", "--workload", EXAMPLES / "llm-finetune.yaml", "--nodes", EXAMPLES / "pool-60.yaml", "--policy",
            POLICIES / "default.yaml", "--engine", "heuristic", "--time-limit", "2", "--sweep",
            "bandwidth-scale=0.5,2", "--format", "json"]
    r = run_cli(*args, "--dask", "local", "--jobs", "2")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["processes"] == 2 and [s["scenario"] for s in doc["scenarios"]] == ["bandwidth-scale=0.5",
                                                                                 "bandwidth-scale=2"]
    bad = run_cli(*args, "--dask", "tcp://127.0.0.1:9")
    assert bad.returncode == 2 and "cannot reach a dask scheduler" in bad.stderr and "Traceback" not in bad.stderr
