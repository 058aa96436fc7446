"""Placing the replicas of a gang task (contract 1.1): each replica on a set of nodes at once.

The problem enumerates candidate gangs (`Problem.candidate_gangs`); each replica takes the one
whose common start (every node free and inside a window, the data on every node) gives the
earliest finish, or in cost mode the cheapest that meets the task's sub-deadline. Replicas use
disjoint node sets and share no spread value; more are added until `min_success` holds (a
gang completes when all its nodes do).
"""

from __future__ import annotations

import math

import numpy as np

from ...domain import Objective
from ...domain.rules import log_task_success, meets
from ...errors import Infeasible, InfeasibleReason
from .builder import Builder
from .timeline import EPS


def place_gang(b: Builder, i: int, sub_deadline: float | None) -> None:
    """Place every replica gang task `i` still needs.

    Raises
    ------
    Infeasible
        No free candidate gang is left for a replica the rules need.
    """
    p = b.p
    own = np.array_equal(b.allowed[i], p.eligible(i))
    gangs = p.candidate_gangs(i) if own else p.candidate_gangs(i, b.allowed[i])  # the first is cached
    while _wants_more(b, i):
        choice = _best_gang(b, i, gangs, sub_deadline)
        if choice is None:
            task = p.dag.tasks[i]
            raise Infeasible([InfeasibleReason(
                rule="gang", tasks=[task.id],
                message=f"{task.id}: no set of {task.nodes} eligible nodes left that fit together in time (disjoint "
                        f"from its other replicas, no spread value shared) for the replicas its rules need")])
        b.place_gang_on(i, choice)


def _wants_more(b: Builder, i: int) -> bool:
    p, reps = b.p, b.sched.replicas[i]
    if len(reps) < p.required[i]:
        return True
    target = p.levels[i].min_success
    if target is None:
        return False
    log = log_task_success([p.replica_completion(i, r.nodes) for r in reps], p.quorum[i])
    return not meets(math.exp(log) if log > -math.inf else 0.0, target)


def _best_gang(b: Builder, i: int, gangs: list[tuple[int, ...]], sub_deadline: float | None) \
        -> tuple[int, ...] | None:
    """The free candidate gang with the earliest finish (cost mode: the cheapest within the sub-deadline)."""
    p = b.p
    codes = p.spread_of(i)
    used = {n for r in b.sched.replicas[i] for n in r.nodes}
    used_codes = {int(codes[n]) for n in used}
    gpus = p.dag.tasks[i].gpus
    cost_mode = b.opt.objective == Objective.COST
    best: tuple[tuple, tuple[int, ...]] | None = None
    for g in gangs:
        if any(n in used or int(codes[n]) in used_codes for n in g):
            continue
        nodes = np.array(g, dtype=np.int64)
        runtime = float(b.up(np.array([p.replica_runtime(i, g)]))[0])
        tail = runtime
        if p.dag.writes[i] and not cost_mode:
            tail += float(b.up(p.write_delays(i, nodes).max(axis=0).min()))
        latest = best[0][1] - tail + EPS if best is not None and not cost_mode else math.inf
        start = b.gang_start(g, float(b.ready(i, nodes).max()), runtime, gpus, latest)
        if start == math.inf:
            continue
        finish, cost = start + tail, p.replica_cost(i, g)
        late = sub_deadline is not None and start + runtime > sub_deadline + EPS
        key = (int(late), cost if not late else finish, finish) if cost_mode else (0, finish, cost)
        if best is None or key < best[0]:
            best = (key, g)
    return best[1] if best is not None else None
