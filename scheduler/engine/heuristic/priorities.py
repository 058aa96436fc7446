"""The heuristic's rules: which task to place next, and what a node's finish is weighed with.

Each published list scheduler wins a share of instances (SAGA shows it on its generators), so the
planner runs several and keeps the best (`scheduler.engine.stages.warm_start`):

- ``heft`` (Topcuoglu et al., 2002): tasks by decreasing upward rank (mean runtime plus the longest
  mean-transfer path to an exit), each replica where it finishes earliest;
- ``cpop`` (same paper): ready tasks by upward plus downward rank; the tasks of the critical path
  (the highest such priority) on the one node that runs all of them fastest, when a single replica
  of them may go there;
- ``peft`` (Arabnejad and Barbosa, 2014): the optimistic cost table OCT(t, n), the least time
  after t ends on n until an exit can end, if every later task had its best node; ready tasks by
  decreasing mean OCT, the first replica where its finish plus OCT is least.

Runtimes are each task's mean over its allowed nodes and transfers use the pool's mean bandwidth,
as in the papers; the rules of the contract are kept by the placement, whatever the order.
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
    PEFT = "peft"


def mean_runtimes(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """Per task, its mean runtime over `allowed` (its reference runtime when none is allowed)."""
    return np.array([float(np.mean(problem.runtimes(i, nodes))) if len(nodes) else problem.dag.tasks[i].duration_s
                     for i, nodes in enumerate(allowed)])


def _mean_transfer_s(problem: Problem, data_gb: float) -> float:
    mean_bw = float(np.mean(problem.nodes.bandwidth)) if problem.n_nodes else 1.0
    return data_gb * 8.0 / mean_bw


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
    common = allowed[path[0]] if path else np.array([], dtype=np.int64)
    for i in path[1:]:
        common = np.intersect1d(common, allowed[i])
    if not len(common):
        return path, None
    total = sum(problem.runtimes(i, common) for i in path)
    return path, int(common[int(np.argmin(total))])
