"""The scale suite: generated pools and workloads from 1,000 tasks x 200 nodes to
10,000 x 100,000 and 100,000 x 1,000, each in a fresh process so its peak memory
(RSS) is its own; and replanning a running 10,000-task plan after one node fails.

Columns: time to the first valid plan (validating the inputs, checking the rules,
the heuristic), time to the final plan (the whole `plan` call, CP-SAT included,
within its time limit), the heuristic's and the engine's makespan, the bound and
gap, and peak RSS. A series of 1k-10k tasks on 1,000 nodes shows how the time to
the first plan grows with tasks x candidate nodes.

Replanning (issue 19: at most 5 s): the 10,000-task instance on 1,000 nodes is planned (5 s), and
half-way through its makespan the node running the most replicas then fails; `replan` (time limit 5 s)
keeps what finished and what runs elsewhere and places the rest. The row gives the whole `replan`
call's seconds, how many replicas the failed node held from then on (running or still to start: all
placed again), whether `verify` accepts the new plan (given the failure), and peak RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import time
from typing import Any

INSTANCES = [  # (name, tasks, nodes, solver time limit s or None for the heuristic alone)
    ("1k x 200", 1_000, 200, 25.0),
    ("10k x 1k", 10_000, 1_000, 50.0),
    ("1k x 100k", 1_000, 100_000, 25.0),
    ("10k x 100k", 10_000, 100_000, 60.0),
    ("100k x 60", 100_000, 60, 60.0),
    ("100k x 1k", 100_000, 1_000, 60.0),
]
REPLAN_LIMIT_S = 5.0  # issue 19: a replan within 5 s
SERIES = [1_000, 2_000, 5_000, 10_000]
SMALL_POOL_SERIES = [5_000, 10_000, 20_000, 50_000, 100_000]  # on 60 nodes, where the growth used to be quadratic


def _work(tasks: int, nodes: int, limit: float | None, queue: Any) -> None:
    from scheduler.analysis.verify import verify_plan
    from scheduler.domain import NodePool, Workload
    from scheduler.engine import PlanOptions, plan_problem
    from scheduler.engine.heuristic import LARGE_POOL, SHORTLIST, HeuristicSettings, heuristic_schedule
    from scheduler.formats.loading import load_policy
    from scheduler.generate import generate_layered, generate_pool
    from scheduler.problem import Problem

    from . import ROOT

    pool_doc = generate_pool(nodes, seed=1, links=False, identical_per_operator=True)
    wl_doc = generate_layered(tasks, seed=1, levels=("public", "internal", "confidential"), sensitive_share=0.05)
    policy = load_policy(ROOT / "policies" / "default.yaml")
    t0 = time.perf_counter()
    pool, wl = NodePool.model_validate(pool_doc), Workload.model_validate(wl_doc)
    problem = Problem(wl, pool, policy)
    reasons = problem.static_reasons()
    heur = heuristic_schedule(problem, HeuristicSettings())
    first = time.perf_counter() - t0
    candidates = sum(min(len(problem.eligible(i)), 2 * SHORTLIST) if len(problem.eligible(i)) > LARGE_POOL
                     else len(problem.eligible(i)) for i in range(problem.n_tasks))
    out: dict[str, Any] = {"tasks": tasks, "nodes": nodes, "edges": problem.n_edges, "first_plan_s": first,
                           "heuristic_makespan_s": heur.makespan(), "heuristic_cost_usd": heur.cost(problem),
                           "task_x_candidates": candidates, "static_reasons": len(reasons)}
    if limit is not None:
        t1 = time.perf_counter()
        problem = Problem(wl, pool, policy)
        plan = plan_problem(problem, PlanOptions(time_limit_s=limit))
        final = time.perf_counter() - t1
        out.update({"final_plan_s": final, "time_limit_s": limit, "within_limit": final <= 1.1 * limit,
                    "verified": verify_plan(wl, pool, policy, plan).ok,
                    "makespan_s": plan.makespan_s, "cost_usd": plan.cost_usd, "bound_s": plan.lower_bound_s,
                    "gap": plan.gap, "engine": plan.engine, "status": plan.status.value,
                    "notes": plan.messages or []})
    out["peak_rss_mb"] = peak_rss_mb()
    queue.put(out)


def _replan_work(tasks: int, nodes: int, limit: float, queue: Any) -> None:
    from collections import Counter

    from scheduler import plan as make_plan
    from scheduler.analysis.replan import replan
    from scheduler.analysis.verify import verify_plan
    from scheduler.domain import NodePool, Workload
    from scheduler.engine import PlanOptions
    from scheduler.formats.loading import load_policy
    from scheduler.generate import generate_layered, generate_pool

    from . import ROOT

    pool = NodePool.model_validate(generate_pool(nodes, seed=1, links=False, identical_per_operator=True))
    wl = Workload.model_validate(generate_layered(tasks, seed=1, levels=("public", "internal", "confidential"),
                                                  sensitive_share=0.05))
    policy = load_policy(ROOT / "policies" / "default.yaml")
    old = make_plan(wl, pool, policy, time_limit_s=limit)
    now = old.makespan_s / 2
    done = {a.task for a in old.assignments if a.end_s <= now}
    running = Counter(a.node for a in old.assignments if a.end_s > now)
    failed = running.most_common(1)[0][0]
    t0 = time.perf_counter()
    new = replan(wl, pool, policy, old, now_s=now, done=done, failed_nodes={failed},
                 options=PlanOptions(time_limit_s=limit))
    secs = time.perf_counter() - t0
    report = verify_plan(wl, pool, policy, new, failed_nodes=[failed], now_s=now)
    queue.put({"instance": f"replan {tasks // 1000}k x {nodes // 1000}k", "tasks": tasks, "nodes": nodes,
               "replan_s": secs, "time_limit_s": limit, "within_limit": secs <= limit,
               "replicas_off_failed_node": running[failed], "done_tasks": len(done),
               "old_makespan_s": old.makespan_s,
               "makespan_s": new.makespan_s, "status": new.status.value, "verified": report.ok,
               "violations": [v.message for v in report.violations[:3]], "peak_rss_mb": peak_rss_mb()})


def peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM starts afresh at exec; ru_maxrss would carry the parent's peak
    into a spawned child."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(tasks: int, nodes: int, limit: float | None, work: Any = _work) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=work, args=(tasks, nodes, limit, q))
    p.start()
    result = q.get()
    p.join()
    return result


def suite_scale(args: argparse.Namespace) -> dict:
    from .__main__ import table

    rows = []
    instances = INSTANCES[:1] + INSTANCES[2:3] if args.quick else INSTANCES
    for name, tasks, nodes, limit in instances:
        r = measure(tasks, nodes, limit)
        r["instance"] = name
        rows.append(r)
    print("## Scale\n")
    print(table(rows, ["instance", "tasks", "nodes", "edges", "first_plan_s", "final_plan_s", "time_limit_s",
                       "within_limit", "heuristic_makespan_s", "makespan_s", "bound_s", "gap", "verified",
                       "peak_rss_mb"]))
    again = measure(10_000, 1_000, REPLAN_LIMIT_S, _replan_work)
    print("\n## Replanning a running 10,000-task plan after its busiest node fails\n")
    print(table([again], ["instance", "replan_s", "time_limit_s", "within_limit", "done_tasks",
                          "replicas_off_failed_node",
                          "old_makespan_s", "makespan_s", "status", "verified", "peak_rss_mb"]))
    series = []
    for tasks in (SERIES[:2] if args.quick else SERIES):
        r = measure(tasks, 1_000, None)
        r["per_million_task_candidates_s"] = r["first_plan_s"] / (r["task_x_candidates"] / 1e6)
        series.append(r)
    print("\n## Time to the first plan, 1,000 nodes\n")
    print(table(series, ["tasks", "edges", "task_x_candidates", "first_plan_s", "per_million_task_candidates_s",
                         "peak_rss_mb"]))
    small = []
    for tasks in (SMALL_POOL_SERIES[:2] if args.quick else SMALL_POOL_SERIES):
        r = measure(tasks, 60, None)
        r["per_million_task_candidates_s"] = r["first_plan_s"] / (r["task_x_candidates"] / 1e6)
        small.append(r)
    print("\n## Time to the first plan, 60 nodes\n")
    print(table(small, ["tasks", "edges", "task_x_candidates", "first_plan_s", "per_million_task_candidates_s",
                        "peak_rss_mb"]))
    return {"rows": rows, "replan": again, "series": series, "small_pool_series": small}
