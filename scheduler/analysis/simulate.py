"""Monte Carlo execution of a plan with failures, availability windows and replanning.

Each run executes the plan replica by replica, in planned start order: a replica
starts at its planned start or when its inputs are there (for each parent the
quorum-th arrival of a *successful* replica's data, and its reads from sites),
its node has the GPUs free and the node is inside an availability window,
whichever is latest. A replica that waits on a parent still running waits for it.

A replica on node n fails with probability 1 - reputation(n) at a uniform point of
its run, and independently at an exponential time of rate failures_per_hour(n)
(contract 1.1: it completes with probability reputation x exp(-rate x runtime_h)).
An outage takes its node down from a time on (what runs then, or would start
later, fails); a window that ends while the replica runs kills it there (a lease
that ends, a machine taken back). A task succeeds when `quorum` of its replicas
do. When the planned replicas are spent short of that, the task is replanned: one
new replica at a time on the eligible, healthy node it has not used where it
finishes first inside a window, from the time of the last failure;
`max_retries` bounds the attempts per task. A run completes when every task
succeeds; its makespan also counts every write's delivery to its site.

`completion_probability` is the share of runs that complete; makespan figures
are over completed runs; cost counts every GPU-second used, including lost work.

Example:
    >>> from scheduler import NodePool, Plan, Problem, Workload
    >>> problem = Problem(Workload(tasks=[{"id": "a", "duration_s": 3600}]),
    ...                   NodePool(nodes=[{"id": "n", "gpus": 1, "reputation": 0.9, "failures_per_hour": 0.1}]))
    >>> plan = Plan(assignments=[{"task": "a", "node": "n", "start_s": 0, "end_s": 3600}])
    >>> r = simulate(problem, plan, runs=4000, seed=1, max_retries=0)
    >>> abs(r.completion_probability - 0.9 * math.exp(-0.1)) < 0.03
    True
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..domain import Plan
from ..domain.rules import quorum_arrival
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
    """Run the plan `runs` times with random replica failures, node outages and availability windows.

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
    replicas = _replicas(problem, plan)
    down = {problem.nodes.index[k]: v for k, v in outages.items()}
    rng = random.Random(seed)
    planned_cost = sum(problem.replica_cost(r.task, r.nodes) for r in replicas)
    result = SimulationResult(runs=runs, completed=0, makespans=[], costs=[], retries=[], retry_costs=[],
                              planned_cost=planned_cost, planned_makespan=max((a.end_s for a in plan.assignments),
                                                                              default=0.0),
                              outages=dict(outages))
    for _ in range(runs):
        run = _Run(problem, down, rng, max_retries)
        ok = run.execute_plan(replicas)
        result.completed += ok
        if ok:
            result.makespans.append(run.makespan())
        result.costs.append(run.cost)
        result.retries.append(run.retries)
        result.retry_costs.append(run.retry_cost)
    return result


@dataclass(frozen=True, order=True)
class _Replica:
    planned_start: float
    task: int
    number: int
    nodes: tuple[int, ...]


def _replicas(problem: Problem, plan: Plan) -> list[_Replica]:
    """The plan's replicas in planned start order: each row one replica, but a gang task's rows with one
    replica number one replica on all their nodes."""
    out = []
    gangs: dict[tuple[int, int], list[tuple[float, int, int]]] = {}
    for k, a in enumerate(plan.assignments):
        i, n = problem.dag.index.get(a.task), problem.nodes.index.get(a.node)
        if i is None:
            raise InputError(f"unknown task {a.task!r}", file=plan.source, field=f"assignments[{k}].task")
        if n is None:
            raise InputError(f"unknown node {a.node!r}", file=plan.source, field=f"assignments[{k}].node")
        if problem.gang_size(i) > 1:
            gangs.setdefault((i, a.replica), []).append((a.start_s, k, n))
        else:
            out.append(_Replica(a.start_s, i, k, (n,)))
    for (i, _), rows in gangs.items():
        out.append(_Replica(min(r[0] for r in rows), i, min(r[1] for r in rows), tuple(sorted(r[2] for r in rows))))
    placed = {r.task for r in out}
    missing = [problem.dag.ids[i] for i in range(problem.n_tasks) if i not in placed]
    if missing:
        raise InputError(f"the plan places no replica of {', '.join(missing[:5])}", file=plan.source,
                         field="assignments")
    return sorted(out)


class _Run:
    """One random execution of a plan: GPU timelines, each task's successful replicas, the money spent."""

    def __init__(self, problem: Problem, down: dict[int, float], rng: random.Random, max_retries: int) -> None:
        self.p, self.down, self.rng, self.max_retries = problem, down, rng, max_retries
        self.timelines: dict[int, Timeline] = {}
        self.success: dict[int, list[tuple[tuple[int, ...], float]]] = {}  # task -> [(nodes, end)] that completed
        self.tried: dict[int, set[int]] = {}
        self.last_failure: dict[int, float] = {}
        self.cost = self.retry_cost = 0.0
        self.retries = 0
        self.latest_stop = 0.0

    def done(self, i: int) -> bool:
        return len(self.success.get(i, ())) >= self.p.quorum[i]

    def execute_plan(self, replicas: list[_Replica]) -> bool:
        """Every planned replica, a child after its parents are done; False when a task cannot succeed."""
        pending: dict[int, int] = {}
        for r in replicas:
            pending[r.task] = pending.get(r.task, 0) + 1
        heap = list(replicas)  # sorted: a heap already
        waiting: dict[int, list[_Replica]] = {}
        while heap:
            r = heapq.heappop(heap)
            blocker = next((q for q, _ in self.p.dag.parents[r.task] if not self.done(q)), None)
            if blocker is not None:  # still has planned replicas to run (else the run has ended)
                waiting.setdefault(blocker, []).append(r)
                continue
            was_done = self.done(r.task)
            self.run_replica(r.task, r.nodes, r.planned_start)
            pending[r.task] -= 1
            if pending[r.task] == 0 and not self.done(r.task) and not self.replan(r.task):
                return False
            if self.done(r.task) and not was_done:
                for w in waiting.pop(r.task, []):
                    heapq.heappush(heap, w)
        return True

    def replan(self, i: int) -> bool:
        """New replicas, one at a time, until task i has its quorum or `max_retries` attempts are spent."""
        attempts = 0
        while not self.done(i) and attempts < self.max_retries:
            attempts += 1
            self.retries += 1
            nodes = self.best_nodes(i, self.last_failure.get(i, 0.0))
            if nodes is None:
                return False
            before = self.cost
            self.run_replica(i, nodes, self.last_failure.get(i, 0.0))
            self.retry_cost += self.cost - before
        return self.done(i)

    def best_nodes(self, i: int, now: float) -> tuple[int, ...] | None:
        """The healthy node (or candidate gang) task i has not used where a new replica finishes first."""
        options = (self.p.candidate_gangs(i) if self.p.gang_size(i) > 1
                   else [(n,) for n in self.p.eligible(i).tolist()])
        best, best_t = None, math.inf
        for nodes in options:
            if any(n in self.tried.get(i, ()) or self.down.get(n, math.inf) <= now for n in nodes):
                continue
            runtime = self.p.replica_runtime(i, nodes)
            ready = max(now, self.ready(i, nodes))
            t = max(self.p.nodes.windows.fit(n, ready, runtime) for n in nodes) + runtime
            if t < best_t:
                best, best_t = nodes, t
        return best

    def ready(self, i: int, nodes: tuple[int, ...]) -> float:
        """When every input of task i is on all of `nodes`: each parent's quorum-th successful copy, the reads."""
        t = 0.0
        for n in nodes:
            for q, data in self.p.dag.parents[i]:
                t = max(t, quorum_arrival((end + min(self.p.links.transfer(m, n, data) for m in src)
                                           for src, end in self.success[q]), self.p.quorum[q]))
        if self.p.dag.reads[i]:
            t = max(t, float(self.p.read_ready(i, np.array(nodes, dtype=np.int64)).max()))
        return t

    def run_replica(self, i: int, nodes: tuple[int, ...], not_before: float) -> None:
        """Run one replica (on every node of a gang at once): it starts when inputs, GPUs and a window allow,
        and completes or fails (a gang fails when any of its nodes does)."""
        runtime, gpus = self.p.replica_runtime(i, nodes), self.p.dag.tasks[i].gpus
        start, window_end = self.start_on_all(nodes, max(not_before, self.ready(i, nodes)), runtime, gpus)
        self.tried.setdefault(i, set()).update(nodes)
        outage = min(self.down.get(n, math.inf) for n in nodes)
        if start >= min(outage, window_end):
            self.last_failure[i] = max(self.last_failure.get(i, 0.0), start if math.isfinite(start) else not_before)
            return
        failed_at = min(min(self.failure_time(n, start, runtime) for n in nodes), outage, window_end)
        stop = min(start + runtime, failed_at)
        for n in nodes:
            self.timeline(n).add(start, stop, gpus)
            self.cost += (stop - start) / 3600.0 * gpus * float(self.p.nodes.price[n])
        self.latest_stop = max(self.latest_stop, stop)
        if failed_at < start + runtime:
            self.last_failure[i] = max(self.last_failure.get(i, 0.0), stop)
        else:
            self.success.setdefault(i, []).append((nodes, stop))

    def start_on_all(self, nodes: tuple[int, ...], ready: float, runtime: float, gpus: int) -> tuple[float, float]:
        """`start_on` for every node of a gang: the earliest common start, and the first window end."""
        t = ready
        for _ in range(64 * len(nodes)):
            found = [self.start_on(n, t, runtime, gpus) for n in nodes]
            latest = max(s for s, _ in found)
            if latest == math.inf or all(s == latest for s, _ in found):
                return latest, min(e for _, e in found)
            t = latest
        return math.inf, math.inf

    def start_on(self, n: int, ready: float, runtime: float, gpus: int) -> tuple[float, float]:
        """The earliest start >= `ready` with the GPUs free at which node n is inside a window, and that
        window's end (inf, inf when no window is left)."""
        windows = self.p.nodes.windows.of[n]
        t = ready
        while True:
            t = self.timeline(n).earliest(t, runtime, gpus)
            if windows is None:
                return t, math.inf
            inside = next(((max(t, lo), hi) for lo, hi in windows if t < hi), None)
            if inside is None:
                return math.inf, math.inf
            if inside[0] == t:
                return inside
            t = inside[0]

    def failure_time(self, n: int, start: float, runtime: float) -> float:
        """When the replica fails by itself (inf when it does not): 1 - reputation at a uniform point of its
        run, and the node's failures per hour as an exponential clock."""
        failed_at = math.inf
        if self.rng.random() > float(self.p.nodes.reputation[n]):
            failed_at = start + self.rng.random() * runtime
        rates = self.p.nodes.failures_per_hour
        if rates is not None and rates[n] > 0:
            failed_at = min(failed_at, start + self.rng.expovariate(float(rates[n]) / 3600.0))
        return failed_at

    def makespan(self) -> float:
        """The last replica's stop, or the last write's delivery (each the quorum-th successful copy)."""
        out = self.latest_stop
        for i, writes in enumerate(self.p.dag.writes):
            for site, data in writes:
                out = max(out, quorum_arrival(
                    (end + min(float(self.p.links.site_transfers(site, data, np.array([m]))[0]) for m in src)
                     for src, end in self.success.get(i, [])), self.p.quorum[i]))
        return out

    def timeline(self, n: int) -> Timeline:
        if n not in self.timelines:
            self.timelines[n] = Timeline(int(self.p.nodes.gpus[n]))
        return self.timelines[n]
