"""Gangs (contract 1.1): one replica on m nodes at once, and the candidate node sets worth trying.

A gang replica of task t on nodes G runs for ``max(runtime(t, n) for n in G) / m`` plus
``sync_gb * 8 /`` the slowest link between two of its nodes; it costs that runtime times
each node's GPUs x price, and completes when every node does (the product of their completion
probabilities for that runtime).

The runtime depends on the whole set, so no engine searches all C(n, m) sets when there are many
(up to `EXHAUSTIVE` it tries them all). `candidate_gangs` enumerates the sets a user would try and a
few more: per group of nodes that share a region,
a network, an operator, or none, the best m by speed, by price, by reliability and by link,
and the next m of each (so that replicas on disjoint sets exist); and each group too small for a
gang (a data centre of four nodes) completed by the best nodes outside it, by each order. Every engine chooses among
these; the bounds (`scheduler.engine.bounds`) hold for every set, enumerated or not.

Example:
    >>> from scheduler.domain import NodePool, Workload
    >>> from scheduler.problem import Problem
    >>> pool = NodePool(nodes=[{"id": f"n{k}", "gpus": 8, "speed": 1 + k % 2, "region": "eu" if k < 4 else "us",
    ...                          "bandwidth_gbps": 100 if k < 4 else 1} for k in range(8)])
    >>> p = Problem(Workload(tasks=[{"id": "t", "duration_s": 4000, "gpus": 8, "nodes": 2, "sync_gb": 100}]), pool)
    >>> gang = min(p.candidate_gangs(0), key=lambda g: p.replica_runtime(0, g))
    >>> gang, p.replica_runtime(0, gang)
    ((1, 3), 1008.0)
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

import numpy as np

from ..domain.rules import completion_probability

if TYPE_CHECKING:
    from . import Problem

CHUNKS_PER_ORDER = 2
"""Per group and order, this many disjoint sets of m (the best m, the next m, ...)."""

MAX_CANDIDATES = 64
"""Candidate gangs kept per task (the fastest and the cheapest first)."""

MAX_CORES = 16
"""Small groups (fewer than m nodes) completed into gangs, the largest first."""

EXHAUSTIVE = 252
"""With at most this many node sets of the gang's size (C(10, 5)), every set is a candidate: the
choice among them is then exact."""


def gang_runtime(problem: Problem, i: int, nodes: tuple[int, ...]) -> float:
    """Seconds a replica of task i runs on `nodes` (one node: version 1's runtime)."""
    if len(nodes) == 1:
        return problem.runtime(i, nodes[0])
    work = max(problem.runtime(i, n) for n in nodes) / len(nodes)
    sync_gb = problem.dag.tasks[i].sync_gb
    if sync_gb > 0:
        slowest = min(problem.links.bandwidth_between(a, b) for a, b in itertools.combinations(nodes, 2))
        work += sync_gb * 8.0 / slowest
    return work


def gang_cost(problem: Problem, i: int, nodes: tuple[int, ...]) -> float:
    """USD of a replica of task i on `nodes`: its runtime on each node's GPUs at that node's price."""
    if len(nodes) == 1:
        return problem.cost(i, nodes[0])
    hours = gang_runtime(problem, i, nodes) / 3600.0
    return hours * problem.dag.tasks[i].gpus * float(problem.nodes.price[np.array(nodes)].sum())


def gang_completion(problem: Problem, i: int, nodes: tuple[int, ...]) -> float:
    """Probability that a replica of task i on `nodes` completes: every node completes its share."""
    runtime = gang_runtime(problem, i, nodes)
    rates = problem.nodes.failures_per_hour
    out = 1.0
    for n in nodes:
        out *= completion_probability(float(problem.nodes.reputation[n]), 0.0 if rates is None else float(rates[n]),
                                      runtime)
    return out


def candidate_gangs(problem: Problem, i: int, nodes: np.ndarray) -> list[tuple[int, ...]]:
    """Node sets of task i's gang size among `nodes`, the fastest and the cheapest first (see the module
    docstring); empty when fewer than m nodes are given."""
    m = problem.dag.tasks[i].nodes
    nodes = np.asarray(nodes, dtype=np.int64)
    if len(nodes) < m:
        return []
    if math.comb(len(nodes), m) <= EXHAUSTIVE:
        every = [tuple(int(n) for n in g) for g in itertools.combinations(sorted(nodes.tolist()), m)]
        return sorted(every, key=lambda g: (gang_runtime(problem, i, g), gang_cost(problem, i, g), g))
    cat = problem.nodes.category
    runtime = problem.runtimes(i, nodes)
    orders = [np.argsort(runtime, kind="stable"),
              np.argsort(problem.costs(i, nodes), kind="stable"),
              np.argsort(-problem.completion(i, nodes), kind="stable"),
              np.lexsort((runtime, -problem.nodes.bandwidth[nodes]))]
    groups = [np.ones(len(nodes), dtype=bool)]
    cores = []  # groups too small for a gang: completed with the best nodes outside them
    for codes in (cat.region.codes, cat.network.codes, cat.operator.codes):
        for c in np.unique(codes[nodes]):
            member = codes[nodes] == c
            (groups if member.sum() >= m else cores).append(member)
    found: set[tuple[int, ...]] = set()
    # the largest small groups (a data centre, an operator's rack), the fastest first on ties
    cores = [c for c in cores if c.sum() >= max(2, m // 4)]
    cores.sort(key=lambda c: (-int(c.sum()), float(runtime[c].min())))
    for member in cores[:MAX_CORES]:
        for order in orders:
            outside = nodes[order[~member[order]]]
            found.add(tuple(sorted([*(int(n) for n in nodes[member]), *(int(n) for n in outside[:m - member.sum()])])))
    for member in groups:
        for order in orders:
            ranked = nodes[order[member[order]]]
            for k in range(CHUNKS_PER_ORDER):
                chunk = ranked[k * m:(k + 1) * m]
                if len(chunk) == m:
                    found.add(tuple(sorted(int(n) for n in chunk)))
    by_time = sorted(found, key=lambda g: (gang_runtime(problem, i, g), g))
    by_cost = sorted(found, key=lambda g: (gang_cost(problem, i, g), g))
    keep: list[tuple[int, ...]] = []
    for g in itertools.chain.from_iterable(itertools.zip_longest(by_time, by_cost)):
        if g is not None and g not in keep:
            keep.append(g)
        if len(keep) >= MAX_CANDIDATES:
            break
    return keep


def hand_picked_gangs(problem: Problem, allowed: list[np.ndarray]) -> dict[str, dict[int, np.ndarray]]:
    """The node sets a user would pick by hand for every gang task (m nodes per replica needed):
    ``fastest``, the fastest eligible nodes; ``one region``, the cheapest eligible nodes of the region
    where they cost least. The planner tries both as warm starts, so its plan is never worse than
    either; the gang benchmark reports them as baselines."""
    fastest: dict[int, np.ndarray] = {}
    regional: dict[int, np.ndarray] = {}
    regions = problem.nodes.category.region.codes
    for i, nodes in enumerate(allowed):
        m = problem.gang_size(i)
        if m == 1:
            continue
        k = m * problem.required[i]
        if len(nodes) < k:
            continue
        fastest[i] = np.sort(nodes[np.argsort(problem.runtimes(i, nodes), kind="stable")[:k]])
        costs = problem.costs(i, nodes)
        best = None
        for code in np.unique(regions[nodes]):
            member = regions[nodes] == code
            if member.sum() >= k:
                pick = np.argsort(np.where(member, costs, np.inf), kind="stable")[:k]
                total = float(costs[pick].sum())
                if best is None or total < best[0]:
                    best = (total, np.sort(nodes[pick]))
        if best is not None:
            regional[i] = best[1]
    return {"fastest": fastest, "one region": regional}
