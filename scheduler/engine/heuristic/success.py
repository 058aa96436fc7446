"""Reaching a workflow success target: add replicas where they buy the most success per dollar, at the
earliest slot of a node where they do not lengthen the plan (a replica nobody waits for must not set the
makespan)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...domain import Objective
from ...domain.rules import PROBABILITY_EPS
from ...errors import Infeasible, InfeasibleReason
from .builder import Builder
from .timeline import EPS

SHORTLIST_TASKS = 32  # tasks, best success per dollar first, whose slots are looked up in one round
NODES_PER_TASK = 6  # of each, its most reliable free nodes (one per spread value) looked up


@dataclass(frozen=True)
class _Option:
    """One more replica of task `i` on node `n`: what it adds to the log of the task's success, what it
    costs, and when it would start, how long it would run and when it would finish (writes included) at the
    node's earliest slot (on the builder's clock)."""

    i: int
    n: int
    gain: float
    cost_usd: float
    start: float
    runtime: float
    finish: float

    def key(self, makespan: float, objective: Objective, deadline: float) -> tuple[bool, float, float]:
        """Lower is better: within the deadline first; then, for makespan, the least lengthening of the
        plan per unit of success bought (none first), then success per dollar; for cost, success per
        dollar, then the lengthening."""
        late = max(0.0, self.finish - makespan)
        per_dollar = -self.gain / (1.0 + self.cost_usd)
        if objective == Objective.COST:
            return self.finish > deadline, per_dollar, late
        return self.finish > deadline, late / self.gain, per_dollar


def reach_success(b: Builder, target: float) -> None:
    """Add replicas until the workflow's success probability reaches `target`.

    Each round ranks every task's best extra replica (on its most reliable free node of an unused spread
    value) by success per dollar, looks up the earliest slot of the top `SHORTLIST_TASKS` tasks on each
    one's `NODES_PER_TASK` most reliable free nodes, and places the option `_Option.key` prefers.

    Raises
    ------
    Infeasible
        Every task already has a replica on its most reliable node of each spread value.
    """
    p = b.p
    need = math.log(target) if target > 0 else -math.inf
    logs = [b.sched.log_success(p, i) for i in range(p.n_tasks)]
    total = sum(logs)
    deadline = float(b.up(b.opt.deadline_s)) + EPS if b.opt.deadline_s is not None else math.inf
    while total < need - PROBABILITY_EPS:
        ranked = _ranked_tasks(b, logs)
        if not ranked:
            weakest = sorted((logs[i], p.dag.ids[i]) for i in range(p.n_tasks) if i not in b.opt.finished)[:5]
            raise Infeasible([InfeasibleReason(
                rule="success_target", tasks=[t for _, t in weakest],
                message=f"no plan reaches success probability {target:g}: every task already has replicas on "
                        f"its most reputable node of each spread value (reaches {math.exp(total):.6g})")])
        makespan = b.sched.makespan(p, b.q)
        options = [o for _, i, free in ranked[:SHORTLIST_TASKS] for o in _options(b, i, free, logs[i])]
        if not options:  # no window holds any of them: the next round cannot differ
            raise Infeasible([InfeasibleReason(
                rule="window", tasks=[p.dag.ids[i] for _, i, _ in ranked[:5]],
                message=f"no plan reaches success probability {target:g}: no availability window holds "
                        f"another replica of the tasks that could raise it")])
        best = min(options, key=lambda o: (*o.key(makespan, b.opt.objective, deadline), o.i, o.n))
        b.place_at(best.i, best.n, best.start, best.runtime)
        logs[best.i] += best.gain
        total += best.gain


def _ranked_tasks(b: Builder, logs: list[float]) -> list[tuple[float, int, np.ndarray]]:
    """(success per dollar of the best extra replica, task, its free nodes) of every task that can take
    one, best first."""
    p = b.p
    out = []
    for i in range(p.n_tasks):
        if i in b.opt.finished or p.gang_size(i) > 1:  # a gang's replicas are placed as a whole
            continue
        free = _free_nodes(b, i)
        if len(free) == 0:
            continue
        completion = p.completion(i, free)
        k = int(np.argmax(completion))
        gain = _gain(b, i, int(free[k]), float(completion[k]), logs[i])
        if gain > 1e-15:
            out.append((gain / (1.0 + p.cost(i, int(free[k]))), i, free))
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


def _free_nodes(b: Builder, i: int) -> np.ndarray:
    """Task `i`'s allowed nodes of a spread value none of its replicas uses."""
    p = b.p
    used_nodes = b.sched.nodes_of(i)
    nodes = b.allowed[i]
    if not used_nodes:
        return nodes
    codes = p.spread_of(i)
    return nodes[~np.isin(codes[nodes], codes[np.array(used_nodes, dtype=np.int64)])]


def _gain(b: Builder, i: int, n: int, completion: float, log_now: float) -> float:
    """What one more replica of task `i` on node `n` adds to the log of the task's success."""
    p = b.p
    if p.quorum[i] == 1:
        success = math.exp(log_now) if log_now > -math.inf else 0.0
        new_fail = (1.0 - success) * (1.0 - completion)
        return (math.log1p(-new_fail) if new_fail < 1.0 else -math.inf) - log_now
    return p.log_success(i, [*b.sched.nodes_of(i), n]) - log_now  # at least `quorum` of them, exactly


def _options(b: Builder, i: int, free: np.ndarray, log_now: float) -> list[_Option]:
    """One more replica of task `i` on each of its most reliable free nodes (one per spread value), at
    each node's earliest slot; nodes where no window holds it are left out."""
    p = b.p
    nodes = np.array(p.best_replica_set(i, free)[:NODES_PER_TASK], dtype=np.int64)
    completion = p.completion(i, nodes)
    ready, runtime = b.ready(i, nodes), b.runtimes(i, nodes)
    writes = b.up(p.write_delays(i, nodes).max(axis=0)) if p.dag.writes[i] else np.zeros(len(nodes))
    out = []
    for k, n in enumerate(nodes.tolist()):
        gain = _gain(b, i, n, float(completion[k]), log_now)
        if gain <= 1e-15:
            continue
        rt = float(runtime[k])
        start = b.earliest_on(n, float(ready[k]), rt, p.dag.tasks[i].gpus)
        if start == math.inf:
            continue
        out.append(_Option(i, n, gain, p.cost(i, n), start, rt, start + rt + float(writes[k])))
    return out
