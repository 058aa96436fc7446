"""Monte Carlo simulation: failures, retries, outages; checked against hand computations."""

from __future__ import annotations

import json
import math

from scheduler import plan
from scheduler.analysis.simulate import simulate
from scheduler.domain import Assignment, NodePool, Plan, Workload
from scheduler.formats.loading import load_nodes, load_policy, load_workload
from scheduler.problem import Problem

from .conftest import CASES, POLICIES, POLICY, POOL60, run_cli

RUNS = 20_000


def one_task(*reps: float):
    pool = NodePool.model_validate({"nodes": [{"id": f"n{k}", "gpus": 1, "reputation": r} for k, r in enumerate(reps)]})
    wl = Workload.model_validate({"tasks": [{"id": "t", "duration_s": 100}]})
    return Problem(wl, pool)


def within(p: float, want: float) -> bool:
    return abs(p - want) <= 4 * math.sqrt(want * (1 - want) / RUNS) + 1e-9


def test_hand_computation() -> None:
    prob = one_task(0.9, 0.8)
    single = Plan(assignments=[Assignment(task="t", replica=0, node="n0", start_s=0, end_s=100)])
    assert within(simulate(prob, single, runs=RUNS, seed=1, max_retries=0).completion_probability, 0.9)
    # a retry on the other node: 0.9 + 0.1 * 0.8
    assert within(simulate(prob, single, runs=RUNS, seed=2, max_retries=1).completion_probability, 0.98)
    both = Plan(assignments=[Assignment(task="t", replica=0, node="n0", start_s=0, end_s=100),
                             Assignment(task="t", replica=1, node="n1", start_s=0, end_s=100)])
    # two replicas, no retry: 1 - 0.1 * 0.2
    r = simulate(prob, both, runs=RUNS, seed=3, max_retries=0)
    assert within(r.completion_probability, 0.98)
    # an outage at t=50 kills n0's replica: only n1's can succeed
    r = simulate(prob, both, runs=RUNS, seed=4, max_retries=0, outages={"n0": 50.0})
    assert within(r.completion_probability, 0.8)


def test_replicas_raise_completion_on_shared_case() -> None:
    wl, pool = load_workload(CASES / "fanout-60.yaml"), load_nodes(POOL60)
    with_replicas = plan(wl, pool, load_policy(POLICY), time_limit_s=2)
    # the same workload without a privacy policy: one replica each (levels dropped)
    plain_wl = Workload.model_validate({**wl.model_dump(), "tasks": [
        {**t.model_dump(exclude={"sensitivity"})} for t in wl.tasks]})
    without = plan(plain_wl, pool, load_policy(POLICIES / "permissive.yaml"), time_limit_s=2)
    p1 = simulate(Problem(wl, pool, load_policy(POLICY)), with_replicas, runs=2000, seed=1, max_retries=0)
    p0 = simulate(Problem(plain_wl, pool, load_policy(POLICIES / "permissive.yaml")), without, runs=2000, seed=1, max_retries=0)
    assert p1.completion_probability > p0.completion_probability
    # with no retries, completion is the plan's success probability
    assert abs(p1.completion_probability - with_replicas.success_probability) < 0.03
    assert abs(p0.completion_probability - without.success_probability) < 0.03


def test_simulate_cli(tmp_path) -> None:
    wl = CASES / "llm-finetune.yaml"
    f = tmp_path / "plan.json"
    p = run_cli("plan", "--workload", wl, "--nodes", POOL60, "--policy", POLICY, "--time-limit", "2",
                "--output", f, "--format", "json")
    assert p.returncode == 0
    node = json.loads(p.stdout)["assignments"][0]["node"]
    s = run_cli("simulate", "--plan", f, "--workload", wl, "--nodes", POOL60, "--policy", POLICY, "--runs", "300",
                "--seed", "7", "--outage", f"{node}@100", "--format", "json")
    assert s.returncode == 0, s.stderr
    doc = json.loads(s.stdout)
    assert doc["runs"] == 300 and 0 <= doc["completion_probability"] <= 1
    assert set(doc["makespan_s"]) == {"mean", "p50", "p95"} and set(doc["cost_usd"]) >= {"mean", "p95"}
    again = run_cli("simulate", "--plan", f, "--workload", wl, "--nodes", POOL60, "--policy", POLICY, "--runs",
                    "300", "--seed", "7", "--outage", f"{node}@100", "--format", "json")
    assert json.loads(again.stdout) == doc  # a fixed seed repeats
    bad = run_cli("simulate", "--plan", f, "--workload", wl, "--nodes", POOL60, "--policy", POLICY,
                  "--outage", "nowhere@5")
    assert bad.returncode == 2
    png = tmp_path / "hist.png"
    t = run_cli("simulate", "--plan", f, "--workload", wl, "--nodes", POOL60, "--policy", POLICY, "--runs", "200",
                "--plot", png)
    assert t.returncode == 0 and png.stat().st_size > 1000 and "completion" in t.stdout


def test_retry_overhead_is_what_retries_cost_never_negative() -> None:
    """Failed runs stop early and cost less than the plan; that is no negative 'overhead' (issue 15)."""
    wl = Workload.model_validate({"tasks": [{"id": "a", "duration_s": 100, "gpus": 1},
                                            {"id": "b", "duration_s": 100, "gpus": 1, "depends_on": ["a"]}]})
    pool = NodePool.model_validate({"nodes": [{"id": f"n{k}", "gpus": 1, "price_per_gpu_hour": 3.6,
                                               "reputation": 0.6} for k in range(3)]})
    p = plan(wl, pool, time_limit_s=1)
    prob = Problem(wl, pool)
    for retries in (0, 1, 3):
        r = simulate(prob, p, runs=500, seed=7, max_retries=retries, outages={"n1": 50.0}).to_dict()
        assert r["retry_cost_overhead"] >= 0.0
        if retries == 0:
            assert r["retry_cost_overhead"] == 0.0
        else:
            assert r["retry_cost_overhead"] > 0.0  # retries happened and cost something
