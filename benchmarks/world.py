"""The world suite (contract 1.1): generated instances with data at rest, availability windows,
failure rates and quorum, 50 to 2,000 tasks.

Each instance is `generate_world` (a layered DAG whose first layer reads from buckets, one a
restricted bucket in Germany, a share of whose sinks write results back, a share at level
``verified`` whose results two operators must agree on) on ``generate_pool(..., churn=True)``
(Akash leases that end, home GPUs lent at night, failure rates) under `policies/verified.yaml`.

Columns: the plan's makespan, bound and gap; whether `verify` (an independent reading of the
contract) passes; seconds of the whole `plan` call; time to the first valid plan (inputs checked,
the heuristic) with the new fields and with them removed (the same DAG, nodes and policy as
version 1 would read them), and their ratio: the price of the new rules. The times to the first
plan are the best of three runs (machines here are noisy).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from typing import Any

INSTANCES = [(50, 60), (200, 60), (500, 200), (1000, 200), (2000, 200)]  # (tasks, nodes)
QUICK = [(50, 60), (200, 60), (500, 200)]


def strip_new_fields(workload: dict[str, Any], pool: dict[str, Any], policy: dict[str, Any]) -> tuple[dict, dict, dict]:
    """Copies of the three documents without version 1.1's fields (sites, reads, writes, windows,
    failure rates, quorum)."""
    wl = copy.deepcopy(workload)
    wl.pop("sites", None)
    for t in wl["tasks"]:
        t.pop("reads", None)
        t.pop("writes", None)
    nodes = copy.deepcopy(pool)
    for n in nodes["nodes"]:
        n.pop("available", None)
        n.pop("failures_per_hour", None)
    pol = copy.deepcopy(policy)
    for level in pol["levels"]:
        level.pop("quorum", None)
    return wl, nodes, pol


def first_plan_s(workload: dict, pool: dict, policy: dict, repeats: int = 3) -> float:
    """Seconds from the documents to the heuristic's valid plan (validation, rules, heuristic), best of
    `repeats`."""
    from scheduler.domain import NodePool, Policy, Workload
    from scheduler.engine.heuristic import HeuristicSettings, heuristic_schedule
    from scheduler.problem import Problem

    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        problem = Problem(Workload.model_validate(workload), NodePool.model_validate(pool),
                          Policy.model_validate(policy))
        problem.static_reasons()
        heuristic_schedule(problem, HeuristicSettings())
        best = min(best, time.perf_counter() - t0)
    return best


def measure(tasks: int, nodes: int, limit_s: float, seed: int) -> dict[str, Any]:
    import yaml

    from scheduler import plan
    from scheduler.analysis.verify import verify_plan
    from scheduler.domain import NodePool, Policy, Workload
    from scheduler.generate import generate_pool, generate_world

    from . import ROOT

    wl_doc = generate_world(tasks, seed=seed + 1)
    pool_doc = generate_pool(nodes, seed=2, churn=True)
    pol_doc = yaml.safe_load((ROOT / "policies" / "verified.yaml").read_text())
    wl, pool, pol = Workload.model_validate(wl_doc), NodePool.model_validate(pool_doc), Policy.model_validate(pol_doc)
    t0 = time.perf_counter()
    p = plan(wl, pool, pol, time_limit_s=limit_s, seed=seed)
    secs = time.perf_counter() - t0
    report = verify_plan(wl, pool, pol, p)
    with_new = first_plan_s(wl_doc, pool_doc, pol_doc)
    without = first_plan_s(*strip_new_fields(wl_doc, pool_doc, pol_doc))
    reads = sum(bool(t.get("reads")) for t in wl_doc["tasks"])
    writes = sum(bool(t.get("writes")) for t in wl_doc["tasks"])
    quorum = sum(t.get("sensitivity") == "verified" for t in wl_doc["tasks"])
    windows = sum("available" in n for n in pool_doc["nodes"])
    return {"instance": f"world-{tasks} / pool-{nodes}", "tasks": tasks, "nodes": nodes,
            "reads/writes/quorum/windows": f"{reads}/{writes}/{quorum}/{windows}",
            "status": p.status.value, "makespan": p.makespan_s, "bound": p.lower_bound_s, "gap": p.gap,
            "verify": "ok" if report.ok else f"{len(report.violations)} violations",
            "violations": [v.message for v in report.violations[:5]], "seconds": secs,
            "first plan s": with_new, "first plan s (v1 fields)": without, "first plan ratio": with_new / without,
            "success": p.success_probability, "notes": p.messages or []}


def suite_world(args: argparse.Namespace) -> dict:
    from .__main__ import table

    limit = 5.0 if args.quick else 10.0
    rows = [measure(tasks, nodes, limit, args.seed) for tasks, nodes in (QUICK if args.quick else INSTANCES)]
    ok = sum(r["verify"] == "ok" for r in rows)
    worst = max(r["first plan ratio"] for r in rows)
    summary = {"verified": ok, "instances": len(rows), "first_plan_ratio_worst": worst,
               "first_plan_ratio_mean": statistics.mean(r["first plan ratio"] for r in rows),
               "gap_mean": statistics.mean(r["gap"] for r in rows if r["gap"] is not None)}
    print(f"## World (contract 1.1): {ok}/{len(rows)} plans pass verify; time to the first plan with the new "
          f"fields / without, worst {worst:.2f}x (target <= 1.5x)\n")
    print(table(rows, ["instance", "reads/writes/quorum/windows", "status", "makespan", "bound", "gap", "verify",
                       "seconds", "first plan s", "first plan s (v1 fields)", "first plan ratio"]))
    return {"rows": rows, "summary": summary, "time_limit_s": limit}
