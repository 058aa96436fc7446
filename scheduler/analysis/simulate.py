"""Monte Carlo execution of a plan with failures and replanning.

Each run executes the plan replica by replica, in planned start order: a replica
starts at its planned start or when its parents' data arrives (from their
earliest *successful* replica) and its node has the GPUs free, whichever is
later. It fails with probability 1 - reputation of its node, at a uniform point of
its run (holding the GPUs until then), and it fails when an outage takes its node
down while it runs or before it starts. A task succeeds when one replica does.
When every replica of a task fails, the task is replanned: one new replica on the
eligible, healthy node (not one it failed on) where it finishes first, from the
time of the last failure; `max_retries` bounds the attempts per task. A run
completes when every task succeeds.

`completion_probability` is the share of runs that complete; makespan figures
are over completed runs; cost counts every GPU-second used, including lost work.

Example:
    >>> from scheduler import NodePool, Plan, Problem, Workload
    >>> problem = Problem(Workload(tasks=[{"id": "a", "duration_s": 60}]),
    ...                   NodePool(nodes=[{"id": "n", "gpus": 1, "reputation": 0.9}]))
    >>> plan = Plan(assignments=[{"task": "a", "node": "n", "start_s": 0, "end_s": 60}])
    >>> r = simulate(problem, plan, runs=2000, seed=1, max_retries=0)
    >>> abs(r.completion_probability - 0.9) < 0.03
    True
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..domain import Plan
from ..engine.heuristic import Timeline
from ..errors import ArgumentError, InputError
from ..problem import Problem


@dataclass
class SimulationResult:
    runs: int
    completed: int
    makespans: list[float]
    costs: list[float]
    retries: list[int]
    retry_costs: list[float]  # per run, USD spent on replicas added by replanning (never on planned ones)
    planned_cost: float
    planned_makespan: float
    outages: dict[str, float] = field(default_factory=dict)

    @property
    def completion_probability(self) -> float:
        return self.completed / self.runs if self.runs else 0.0

    def _stats(self, xs: list[float]) -> dict[str, float | None]:
        if not xs:
            return {"mean": None, "p50": None, "p95": None}
        a = np.array(xs)
        return {"mean": float(a.mean()), "p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95))}

    def to_dict(self) -> dict[str, Any]:
        cost = self._stats(self.costs)
        mean_cost = cost["mean"] or 0.0
        return {
            "runs": self.runs,
            "completion_probability": self.completion_probability,
            "makespan_s": self._stats(self.makespans),
            "cost_usd": {"mean": cost["mean"], "p95": cost["p95"]},
            # what retries cost on top of the plan, as a share of the plan's cost (>= 0; lost work on planned
            # replicas is part of the plan's own price and is not counted here)
            "retry_cost_overhead": (float(np.mean(self.retry_costs)) / self.planned_cost
                                    if self.planned_cost > 0 and self.retry_costs else 0.0),
            "cost_vs_plan": (mean_cost / self.planned_cost - 1.0) if self.planned_cost > 0 else 0.0,
            "mean_retries": float(np.mean(self.retries)) if self.retries else 0.0,
            "planned_makespan_s": self.planned_makespan,
            "planned_cost_usd": self.planned_cost,
            "outages": self.outages,
        }


def simulate(problem: Problem, plan: Plan, *, runs: int = 1000, seed: int = 0,
             outages: dict[str, float] | None = None, max_retries: int = 1) -> SimulationResult:
    """Run the plan `runs` times with random replica failures and node outages.

    Raises
    ------
    ArgumentError
        An outage names a node the pool lacks.
    InputError
        The plan names a task or node the inputs lack, or misses a task (naming the plan's file).
    """
    outages = outages or {}
    for nid in outages:
        if nid not in problem.nodes.index:
            raise ArgumentError(f"unknown node {nid!r} in an outage", argument="outages")
    rows = []
    for k, a in enumerate(plan.assignments):
        i, n = problem.dag.index.get(a.task), problem.nodes.index.get(a.node)
        if i is None:
            raise InputError(f"unknown task {a.task!r}", file=plan.source, field=f"assignments[{k}].task")
        if n is None:
            raise InputError(f"unknown node {a.node!r}", file=plan.source, field=f"assignments[{k}].node")
        rows.append((a.start_s, i, n))
    missing = [problem.dag.ids[i] for i in range(problem.n_tasks) if i not in {i for _, i, _ in rows}]
    if missing:
        raise InputError(f"the plan places no replica of {', '.join(missing[:5])}", file=plan.source,
                         field="assignments")
    rows.sort()
    down = {problem.nodes.index[k]: v for k, v in outages.items()}
    rng = random.Random(seed)
    planned_cost = sum(problem.cost(i, n) for _, i, n in rows)
    result = SimulationResult(runs=runs, completed=0, makespans=[], costs=[], retries=[], retry_costs=[],
                              planned_cost=planned_cost, planned_makespan=max((a.end_s for a in plan.assignments),
                                                                              default=0.0),
                              outages=dict(outages))
    for _ in range(runs):
        ok, makespan, cost, retries, retry_cost = _one_run(problem, rows, down, rng, max_retries)
        result.completed += ok
        if ok:
            result.makespans.append(makespan)
        result.costs.append(cost)
        result.retries.append(retries)
        result.retry_costs.append(retry_cost)
    return result


def _one_run(problem: Problem, rows: list[tuple[float, int, int]], down: dict[int, float], rng: random.Random,
             max_retries: int) -> tuple[bool, float, float, int, float]:
    timelines: dict[int, Timeline] = {}
    success: dict[int, list[tuple[int, float]]] = {}  # task -> [(node, end)] of successful replicas
    failures: dict[int, list[tuple[int, float]]] = {}
    pending = {i: 0 for _, i, _ in rows}
    for _, i, _ in rows:
        pending[i] += 1
    cost = 0.0
    retries = 0
    retry_cost = 0.0
    makespan = 0.0

    def tl(n: int) -> Timeline:
        if n not in timelines:
            timelines[n] = Timeline(int(problem.nodes.gpus[n]))
        return timelines[n]

    def ready_on(i: int, n: int) -> float | None:
        t = 0.0
        for p, data in problem.dag.parents[i]:
            if p not in success:
                return None
            t = max(t, min(end + problem.links.transfer(src, n, data) for src, end in success[p]))
        return t

    def execute(i: int, n: int, not_before: float) -> tuple[bool, float]:
        """Run one replica; returns (succeeded, end or failure time). None-ready means the parent failed."""
        nonlocal cost, makespan
        ready = ready_on(i, n)
        runtime = problem.runtime(i, n)
        g = problem.dag.tasks[i].gpus
        start = tl(n).earliest(max(not_before, ready), runtime, g)
        outage = down.get(n, math.inf)
        if start >= outage:
            return False, max(start, outage) if math.isfinite(outage) else start
        end = start + runtime
        failed_at = math.inf
        if rng.random() > float(problem.nodes.reputation[n]):
            failed_at = start + rng.random() * runtime
        if outage < end:
            failed_at = min(failed_at, outage)
        stop = min(end, failed_at)
        tl(n).add(start, stop, g)
        cost += (stop - start) / 3600.0 * g * float(problem.nodes.price[n])
        makespan = max(makespan, stop)
        return failed_at == math.inf, stop

    for start, i, n in rows:  # already in planned start order
        if any(p not in success for p, _ in problem.dag.parents[i]):
            return False, makespan, cost, retries, retry_cost  # a parent never succeeded
        ok, t = execute(i, n, start)
        (success if ok else failures).setdefault(i, []).append((n, t))
        pending[i] -= 1
        if pending[i] == 0 and i not in success:
            attempts = 0
            tried = {m for m, _ in failures.get(i, [])}
            last = max(tt for _, tt in failures[i])
            while i not in success and attempts < max_retries:
                attempts += 1
                retries += 1
                n2 = _best_node(problem, i, tried, down, last, ready_on)
                if n2 is None:
                    break
                before = cost
                ok, t = execute(i, n2, last)
                retry_cost += cost - before
                tried.add(n2)
                if ok:
                    success.setdefault(i, []).append((n2, t))
                else:
                    last = t
            if i not in success:
                return False, makespan, cost, retries, retry_cost
    return True, makespan, cost, retries, retry_cost


def _best_node(problem: Problem, i: int, tried: set[int], down: dict[int, float], now: float, ready_on) -> int | None:
    best, best_t = None, math.inf
    for n in problem.eligible(i).tolist():
        if n in tried or down.get(n, math.inf) <= now:
            continue
        r = ready_on(i, n)
        if r is None:
            return None
        t = max(now, r) + problem.runtime(i, n)
        if t < best_t:
            best, best_t = n, t
    return best
