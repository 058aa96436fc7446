"""The heuristic's rules: which task to place next, and what a node's finish is weighed with.

Each published list scheduler wins a share of instances (SAGA shows it on its generators), so the
planner runs several and keeps the best (`scheduler.engine.stages.warm_start`):

- ``heft`` (Topcuoglu et al., 2002): tasks by decreasing upward rank (mean runtime plus the longest
  mean-transfer path to an exit), each replica where it finishes earliest;
- ``cpop`` (same paper): ready tasks by upward plus downward rank; the tasks of the critical path
  (the highest such priority) on the one node that runs all of them fastest, when a single replica
  of them may go there;
- ``rank-sum``: CPoP's order with every task placed where it finishes earliest, the critical path
  not pinned. Pinning the path's exit to the path's node pays when the exit's data is already
  there; when the other chains' data is heavy (SAGA's `ccr-5-chains`: 20.2 pinned, 14.2 free) it
  does not;
- ``peft`` (Arabnejad and Barbosa, 2014): the optimistic cost table OCT(t, n), the least time
  after t ends on n until an exit can end, if every later task had its best node; ready tasks by
  decreasing mean OCT, the first replica where its finish plus OCT is least;
- ``one-node`` (SAGA's FastestNode, generalised): HEFT's order, with every task of a single replica
  on the one node that runs all of them fastest. When data is heavy against work, no transfer at
  all beats every spreading rule (SAGA's PREDICT graphs: 5.8x);
- ``sufferage`` (Maheswaran et al., 1999): dynamic, of the ready tasks the one whose second-best
  finish is furthest behind its best (`list_scheduling`); it costs a scan of every ready task per
  step, so the planner runs it on small instances only.

Runtimes are each task's mean over its allowed nodes and transfers the mean over node pairs (links
included, as SAGA does; the same node is free), as in the papers; the rules of the contract are kept by the placement, whatever the order.
"""

from __future__ import annotations

import enum
import heapq

import numpy as np

from ...problem import Problem

PRIORITY_EPS = 1e-9  # relative: a task on the critical path has the entry's priority within this


class HeuristicRule(str, enum.Enum):
    """A list-scheduling rule of the portfolio."""

    HEFT = "heft"
    CPOP = "cpop"
    RANK_SUM = "rank-sum"
    PEFT = "peft"
    ONE_NODE = "one-node"
    SUFFERAGE = "sufferage"


def mean_runtimes(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """Per task, its mean runtime over `allowed` (its reference runtime when none is allowed)."""
    return np.array([float(np.mean(problem.runtimes(i, nodes))) if len(nodes) else problem.dag.tasks[i].duration_s
                     for i, nodes in enumerate(allowed)])


def _mean_transfer_s(problem: Problem, data_gb: float) -> float:
    return data_gb * problem.mean_transfer_s_per_gb


def upward_ranks(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """HEFT's upward rank: mean runtime plus the longest mean-transfer path to an exit."""
    mean_rt = mean_runtimes(problem, allowed)
    rank = np.zeros(problem.n_tasks)
    for i in range(problem.n_tasks - 1, -1, -1):
        below = max((_mean_transfer_s(problem, data) + rank[c] for c, data in problem.dag.children[i]), default=0.0)
        rank[i] = mean_rt[i] + below
    return rank


def downward_ranks(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """CPoP's downward rank: the longest mean path (runtimes and transfers) from an entry to the task's start."""
    mean_rt = mean_runtimes(problem, allowed)
    rank = np.zeros(problem.n_tasks)
    for i in range(problem.n_tasks):
        rank[i] = max((rank[p] + mean_rt[p] + _mean_transfer_s(problem, data) for p, data in problem.dag.parents[i]),
                      default=0.0)
    return rank


def optimistic_costs(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """PEFT's optimistic cost table, tasks x nodes: OCT(t, n) = the longest, over t's children c, of the
    least over c's allowed nodes m of OCT(c, m) + runtime(c, m) + (the mean transfer when m != n).
    Nodes a task may not use hold inf.

    Examples:
        >>> from scheduler.domain import NodePool, Workload
        >>> wl = Workload(tasks=[{"id": "a", "duration_s": 10}, {"id": "b", "duration_s": 20, "depends_on": ["a"]}])
        >>> p = Problem(wl, NodePool(nodes=[{"id": "n1", "gpus": 1}, {"id": "n2", "gpus": 1, "speed": 2}]))
        >>> optimistic_costs(p, [p.eligible(0), p.eligible(1)]).tolist()  # b is best on n2 (10 s)
        [[10.0, 10.0], [0.0, 0.0]]
    """
    n, m = problem.n_tasks, problem.n_nodes
    oct_table = np.full((n, m), np.inf)
    for i in range(n - 1, -1, -1):
        row = np.zeros(m)
        for c, data in problem.dag.children[i]:
            nodes = allowed[c]
            if not len(nodes):
                continue
            via = oct_table[c, nodes] + problem.runtimes(c, nodes)
            term = np.full(m, float(np.min(via)) + _mean_transfer_s(problem, data))
            term[nodes] = np.minimum(term[nodes], via)
            row = np.maximum(row, term)
        oct_table[i, allowed[i]] = row[allowed[i]]
    return oct_table


def task_order(problem: Problem, priority: np.ndarray, skip: set[int]) -> list[int]:
    """Tasks (without `skip`) in list-scheduling order: always the ready task (every parent taken) of the
    highest priority, the larger GPU demand first on ties (small tasks fit the gaps it leaves), then the index."""
    waiting = np.array([len(problem.dag.parents[i]) for i in range(problem.n_tasks)])

    def key(i: int) -> tuple[float, int, int]:
        return -float(priority[i]), -problem.dag.tasks[i].gpus * int(problem.required[i]), i

    ready = [key(i) for i in range(problem.n_tasks) if waiting[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)[2]
        if i not in skip:
            order.append(i)
        for c, _ in problem.dag.children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, key(c))
    return order


def critical_path_node(problem: Problem, allowed: list[np.ndarray], priority: np.ndarray) -> tuple[list[int], int | None]:
    """CPoP's critical path (the tasks whose upward plus downward rank is the entry's, within
    `PRIORITY_EPS`) and the node allowed to all of them on which their runtimes sum least (None: no
    node is allowed to all)."""
    top = float(np.max(priority)) if len(priority) else 0.0
    path = [i for i in range(problem.n_tasks) if priority[i] >= top * (1 - PRIORITY_EPS)]
    return path, fastest_common_node(problem, allowed, path)


def fastest_common_node(problem: Problem, allowed: list[np.ndarray], tasks: list[int]) -> int | None:
    """The node allowed to every one of `tasks` on which their runtimes sum least (None: there is none)."""
    common = allowed[tasks[0]] if tasks else np.array([], dtype=np.int64)
    for i in tasks[1:]:
        common = np.intersect1d(common, allowed[i], assume_unique=True)
        if not len(common):
            return None
    if not len(common):
        return None
    total = sum(problem.runtimes(i, common) for i in tasks)
    return int(common[int(np.argmin(total))])
