"""Policy-shaped instances: the product's reason to exist, where the gap is the bound's test.

`policies/default.yaml` on generated pools of 25 and 60 nodes (TEE nodes scarce, operators owning
several nodes): a fan-out from a confidential split (`generate_fanout`: every shard inherits the
level, so 2 replicas on distinct operators, TEE only) and layered DAGs whose roots carry every level
(`generate_layered`: sensitivity flows down to the anonymisers). Every plan is checked by `verify`.

Columns: makespan, the bound and its parts (critical path, energy with the spread groups, fastest
GPUs), the gap, and what the bound was without the spread groups (`bound w/o spread`), seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

INSTANCES = [("fanout", 50), ("fanout", 200), ("layered", 50), ("layered", 200)]
POOLS = (25, 60)
SEEDS = (0, 1, 2, 3)


def measure(kind: str, tasks: int, nodes: int, seed: int, limit_s: float) -> dict[str, Any]:
    from scheduler import Problem, plan
    from scheduler.analysis.verify import verify_plan
    from scheduler.domain import NodePool, Workload
    from scheduler.engine import bounds
    from scheduler.formats.loading import load_policy
    from scheduler.generate import generate_fanout, generate_layered, generate_pool

    from . import ROOT

    policy = load_policy(ROOT / "policies" / "default.yaml")
    doc = generate_fanout(tasks, seed) if kind == "fanout" else generate_layered(tasks, seed)
    wl, pool = Workload.model_validate(doc), NodePool.model_validate(generate_pool(nodes, seed=seed))
    problem = Problem(wl, pool, policy)
    b = bounds.compute_bounds(problem)
    work = bounds._work_left(problem, [problem.eligible(i) for i in range(problem.n_tasks)], {}, {})
    without_spread = max(b.critical_path_s, b.fastest_gpus_s, bounds._energy_bound(problem, work, 0.0)[0])
    t0 = time.perf_counter()
    p = plan(wl, pool, policy, time_limit_s=limit_s, seed=seed)
    secs = time.perf_counter() - t0
    row = {"instance": f"{kind}-{tasks}/pool-{nodes}/s{seed}", "status": p.status.value, "seconds": secs}
    if p.makespan_s is None:  # the generated pool lacks nodes some level needs: say which rule, for whom
        why = f"{p.unplaceable[0].rule}: {p.unplaceable[0].message}"[:90] if p.unplaceable else ""
        return {**row, "why no plan": why}
    return {**row, "makespan": p.makespan_s, "bound": p.lower_bound_s, "gap": p.gap,
            "critical path": b.critical_path_s, "energy": b.energy_s, "fastest GPUs": b.fastest_gpus_s,
            "bound w/o spread": without_spread, "verified": verify_plan(wl, pool, policy, p).ok}


def suite_policy(args: argparse.Namespace) -> dict:
    from .__main__ import table

    limit = 5.0 if args.quick else 20.0
    seeds = SEEDS[:1] if args.quick else SEEDS
    rows = [measure(kind, tasks, nodes, seed, limit) for kind, tasks in INSTANCES for nodes in POOLS
            for seed in seeds]
    planned = [r for r in rows if "gap" in r]
    gaps = [r["gap"] for r in planned]
    summary = {"instances": len(rows), "planned": len(planned), "verified": sum(r["verified"] for r in planned),
               "gap_mean": statistics.mean(gaps), "gap_max": max(gaps),
               "gap_mean_without_spread": statistics.mean(
                   max(0.0, (r["makespan"] - r["bound w/o spread"]) / r["makespan"]) for r in planned)}
    print(f"## Policy-shaped instances (policies/default.yaml, limit {limit:g} s): {summary['verified']}/"
          f"{summary['planned']} plans verified ({summary['instances'] - summary['planned']} without a plan); gap "
          f"mean {summary['gap_mean']:.1%}, max {summary['gap_max']:.1%} (mean {summary['gap_mean_without_spread']:.1%}"
          f" with the bound before the spread groups)\n")
    print(table(rows, ["instance", "status", "makespan", "bound", "gap", "critical path", "energy", "fastest GPUs",
                       "bound w/o spread", "seconds", "verified", "why no plan"]))
    return {"rows": rows, "summary": summary}
