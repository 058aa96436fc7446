"""The gang suite (contract 1.1): replicas on several nodes at once.

Generated layered DAGs (`generate_gang_workload`: 5 to 500 tasks, a share of them gangs of 2 to 16
nodes) on gang pools (`generate_gang_pool`: one fast-linked campus, the rest scattered; 50 to 5,000
nodes), without a policy and under `policies/pretraining.yaml`'s confidential rules. Every plan is
checked by `verify`. Its makespan is set beside two baselines a user would try by hand, each the
heuristic with every gang pinned to one node set: (a) the m fastest eligible nodes, (b) the m
cheapest eligible nodes of one region. Columns: the engine's makespan, both baselines, the bound
and gap, seconds to the plan, and peak memory (RSS, MB) of the process so far.

`sweep` (the pretraining example): the same plan with every bandwidth scaled, to show where spreading
the gang across regions stops paying.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

INSTANCES = [  # (tasks, nodes, max gang, policy)
    (5, 50, 4, False), (20, 50, 8, True), (50, 200, 8, False), (100, 500, 16, True), (200, 1000, 16, False),
    (500, 5000, 16, False), (500, 5000, 16, True)]
QUICK = [(5, 50, 4, False), (20, 50, 8, True), (50, 200, 8, False)]
SWEEP = [0.1, 0.25, 0.5, 1.0, 2.0, 4.0]


def _baseline(problem, picked: dict) -> float | None:
    from scheduler.engine.heuristic import HeuristicSettings, list_schedule
    from scheduler.errors import Infeasible

    if not picked:
        return None
    try:
        return list_schedule(problem, HeuristicSettings(candidates=picked)).makespan(problem)
    except Infeasible:
        return None


def measure(tasks: int, nodes: int, max_gang: int, with_policy: bool, limit_s: float, seed: int) -> dict[str, Any]:
    import yaml

    from scheduler import Problem, plan
    from scheduler.analysis.verify import verify_plan
    from scheduler.domain import NodePool, Policy, Workload
    from scheduler.generate import generate_gang_pool, generate_gang_workload
    from scheduler.problem.gangs import hand_picked_gangs

    from . import ROOT
    from .scale import peak_rss_mb

    wl = Workload.model_validate(generate_gang_workload(tasks, seed=seed + 1, max_gang=max_gang,
                                                        sensitive_share=0.3 if with_policy else 0.0))
    pool = NodePool.model_validate(generate_gang_pool(nodes, seed=seed + 2, campus_nodes=min(16, nodes // 4)))
    pol = Policy.model_validate(yaml.safe_load((ROOT / "policies" / "pretraining.yaml").read_text())) \
        if with_policy else None
    if pol is not None:  # the policy's default level would make every task confidential: half stay public
        pol = pol.model_copy(update={"default_level": "public"})
    t0 = time.perf_counter()
    p = plan(wl, pool, pol, time_limit_s=limit_s, seed=seed)
    secs = time.perf_counter() - t0
    problem = Problem(wl, pool, pol)
    picks = hand_picked_gangs(problem, [problem.eligible(i) for i in range(problem.n_tasks)])
    fastest, regional = _baseline(problem, picks["fastest"]), _baseline(problem, picks["one region"])
    report = verify_plan(wl, pool, pol, p) if p.has_plan else None
    best_baseline = min((b for b in (fastest, regional) if b is not None), default=None)
    gangs = [t.nodes for t in wl.tasks if t.nodes > 1]
    return {"instance": f"gangs-{tasks} / pool-{nodes}{' / policy' if with_policy else ''}",
            "gangs": f"{len(gangs)} of 2-{max(gangs)}", "status": p.status.value, "makespan": p.makespan_s,
            "fastest m": fastest, "cheapest m in a region": regional,
            "vs better baseline": (p.makespan_s / best_baseline) if p.has_plan and best_baseline else None,
            "bound": p.lower_bound_s, "gap": p.gap,
            "verify": "ok" if report is not None and report.ok else ("-" if report is None else "violations"),
            "seconds": secs, "peak RSS MB": peak_rss_mb()}


def sweep_rows(limit_s: float) -> list[dict[str, Any]]:
    """The pretraining example with every bandwidth x F: where the gang goes and what it costs."""
    from scheduler import plan
    from scheduler.analysis.whatif import Scenario, apply_scenario
    from scheduler.formats.loading import load_nodes, load_policy, load_workload

    from . import ROOT

    wl = load_workload(ROOT / "examples" / "pretraining.yaml")
    pool = load_nodes(ROOT / "examples" / "pool-gang.yaml")
    pol = load_policy(ROOT / "policies" / "pretraining.yaml")
    rows = []
    for f in SWEEP:
        w2, p2, pol2 = apply_scenario(wl, pool, pol, Scenario(bandwidth_scale=f))
        p = plan(w2, p2, pol2, time_limit_s=limit_s)
        gang = sorted(a.node for a in p.assignments if a.task == "pretrain") if p.has_plan else []
        regions = sorted({p2.by_id[n].region for n in gang})
        rows.append({"bandwidth x": f, "makespan h": (p.makespan_s or 0) / 3600, "cost": p.cost_usd,
                     "pretrain on": f"{sum(n.startswith('fra-dc') for n in gang)} campus + "
                                    f"{sum(not n.startswith('fra-dc') for n in gang)} scattered",
                     "regions": ", ".join(regions)})
    return rows


def suite_gangs(args: argparse.Namespace) -> dict:
    from .__main__ import table

    limit = 5.0 if args.quick else 10.0
    rows = [measure(*inst, limit, args.seed) for inst in (QUICK if args.quick else INSTANCES)]
    ok = sum(r["verify"] == "ok" for r in rows)
    never_worse = all(r["vs better baseline"] is None or r["vs better baseline"] <= 1 + 1e-9 for r in rows)
    print(f"## Gangs: {ok}/{len(rows)} plans pass verify; engine never worse than the better hand-picked baseline: "
          f"{never_worse}\n")
    print(table(rows, ["instance", "gangs", "status", "makespan", "fastest m", "cheapest m in a region",
                       "vs better baseline", "bound", "gap", "verify", "seconds", "peak RSS MB"]))
    sweep = sweep_rows(limit)
    print("\n## Pretraining example: every bandwidth x F (where spreading the gang stops paying)\n")
    print(table(sweep, ["bandwidth x", "makespan h", "cost", "pretrain on", "regions"]))
    return {"rows": rows, "sweep": sweep, "time_limit_s": limit,
            "summary": {"verified": ok, "instances": len(rows), "never_worse_than_baselines": never_worse}}
