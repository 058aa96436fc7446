"""Reaching a workflow success target: add replicas where they buy the most success per dollar."""

from __future__ import annotations

import math

import numpy as np

from ...domain.rules import PROBABILITY_EPS
from ...errors import Infeasible, InfeasibleReason
from .builder import Builder


def reach_success(b: Builder, target: float) -> None:
    """Add replicas where they buy the most success per dollar until `target` holds."""
    p = b.p
    need = math.log(target) if target > 0 else -math.inf

    logs = [b.sched.log_success(p, i) for i in range(p.n_tasks)]
    total = sum(logs)
    unusable: set[tuple[int, int]] = set()
    while total < need - PROBABILITY_EPS:
        best: tuple[float, int, int, float, float] | None = None
        for i in range(p.n_tasks):
            if i in b.opt.finished or p.gang_size(i) > 1:  # a gang's replicas are placed as a whole
                continue
            used_nodes = b.sched.nodes_of(i)
            codes = p.spread_of(i)
            used_codes = set(codes[used_nodes].tolist()) if used_nodes else set()
            nodes = b.allowed[i]
            free = nodes[~np.isin(codes[nodes], np.array(sorted(used_codes), dtype=np.int64))]
            if len(free) == 0:
                continue
            completion = p.completion(i, free)
            k = int(np.argmax(completion))
            n = int(free[k])
            if (i, n) in unusable:
                continue
            if p.quorum[i] == 1:
                fail = math.exp(logs[i]) if logs[i] > -math.inf else 0.0
                new_fail = (1.0 - fail) * (1.0 - float(completion[k]))
                gain = (math.log1p(-new_fail) if new_fail < 1.0 else -math.inf) - logs[i]
            else:  # at least `quorum` of the replicas: the gain of one more, exactly
                gain = p.log_success(i, [*used_nodes, n]) - logs[i]
            if gain <= 1e-15:
                continue
            score = gain / (1.0 + p.cost(i, n))
            if best is None or score > best[0]:
                best = (score, i, n, gain, p.cost(i, n))
        if best is None:
            weakest = sorted((logs[i], p.dag.ids[i]) for i in range(p.n_tasks) if i not in b.opt.finished)[:5]
            raise Infeasible([InfeasibleReason(
                rule="success_target", tasks=[t for _, t in weakest],
                message=f"no plan reaches success probability {target:g}: every task already has replicas on "
                        f"its most reputable node of each spread value (reaches {math.exp(total):.6g})")])
        _, i, n, gain, _ = best
        try:
            b.place_on(i, n)
        except ValueError:  # no availability window holds it: try the next best
            unusable.add((i, n))
            continue
        logs[i] += gain
        total += gain
