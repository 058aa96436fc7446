"""Data arrival: the earliest start of each task on each node, its parents' data moving.

The critical path lets every transfer be free, as if each parent ran beside its child. On a
graph whose edges carry heavy data over slow links that bound is far below every plan: a
child that joins several parents must either wait for their data to cross a link, or have
them run on its own node, one after another on its GPUs. This module bounds, for every task
`i` and node `m`, when any replica of `i` can start on `m`:

- each parent's data reaches `m` from a replica of the parent elsewhere (its earliest end
  on that node, plus the transfer), or from a replica on `m` itself;
- the parents fed from `m` itself run there before `i` starts: each ends by then, and all of
  them together hold `m`'s GPUs for their runtimes times GPUs, from the earliest of their
  starts on (any set of them: the bound takes the least over the sets the latest arrivals
  make, and the GPU term uses the earliest start of every parent, so that it only grows with
  the set);
- reads and availability windows hold the start back as in `Problem.start_floors`.

This holds whatever the replicas: a parent copied to several nodes (task duplication) feeds
each child from the best copy, and every copy obeys the same heads. Only a replica ending
counts, so `quorum` (the k-th earliest) can only be later. Gangs span nodes and are left out.
"""

from __future__ import annotations

import numpy as np

from ..problem import Problem

ARRIVAL_NODES = 128  # pools above this many nodes are left to the other bounds
ARRIVAL_WORK = 8_000_000  # edges x nodes^2: the work the bound may cost (about 0.1 s per million)


def arrival_heads(problem: Problem, allowed: list[np.ndarray], release_s: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Per task and node, the earliest start of any replica there, and the runtimes there.

    Parameters
    ----------
    problem : Problem
    allowed : list of arrays
        Task i's nodes.
    release_s : float
        Nothing starts before this.

    Returns
    -------
    (heads, runtimes) : two arrays of shape (tasks, nodes), ``inf`` where a task may not run;
    None when the bound does not apply (no data moves, gangs, or a pool or graph too large for
    `ARRIVAL_NODES` and `ARRIVAL_WORK`).

    Examples
    --------
    Two 10 s parents feed a child with 100 GB each over 8 Gbit/s links (100 s a transfer), on
    two one-GPU nodes: either one parent's data crosses (10 + 100 s) or both parents run on
    the child's node, one after the other (20 s).

    >>> from scheduler.domain import NodePool, Workload
    >>> wl = Workload(tasks=[{"id": "a", "duration_s": 10}, {"id": "b", "duration_s": 10},
    ...                      {"id": "c", "duration_s": 10, "depends_on": [{"task": "a", "data_gb": 100},
    ...                                                              {"task": "b", "data_gb": 100}]}])
    >>> pool = NodePool(nodes=[{"id": n, "gpus": 1, "bandwidth_gbps": 8} for n in ("x", "y")])
    >>> p = Problem(wl, pool)
    >>> heads, _ = arrival_heads(p, [p.eligible(i) for i in range(3)])
    >>> heads[p.dag.index["c"]].tolist()
    [20.0, 20.0]
    """
    n_tasks, n_nodes = problem.n_tasks, problem.n_nodes
    if (not problem.dag.moves_data or problem.has_gangs or n_nodes > ARRIVAL_NODES
            or problem.n_edges * n_nodes * n_nodes > ARRIVAL_WORK):
        return None
    runtimes = np.full((n_tasks, n_nodes), np.inf)
    heads = np.full((n_tasks, n_nodes), np.inf)
    for i in range(n_tasks):
        nodes = allowed[i]
        if len(nodes):
            runtimes[i, nodes] = problem.runtimes(i, nodes)
            heads[i, nodes] = problem.start_floors(i, nodes, release_s)
    per_gb = problem.links.seconds_per_gb()  # [from, to]
    elsewhere = np.where(np.eye(n_nodes, dtype=bool), np.inf, 0.0)  # a copy on another node
    capacity = np.maximum(problem.nodes.gpus.astype(float), 1.0)
    gpus = np.array([t.gpus for t in problem.dag.tasks], dtype=float)
    for i in range(n_tasks):
        parents = problem.dag.parents[i]
        if not parents or not len(allowed[i]):
            continue
        ps = np.array([q for q, _ in parents], dtype=np.int64)
        gb = np.array([d for _, d in parents])
        ends = heads[ps] + runtimes[ps]  # (parents, nodes): the earliest end of a copy there
        remote = (ends[:, :, None] + gb[:, None, None] * per_gb[None] + elsewhere[None]).min(axis=1)
        heads[i] = np.maximum(heads[i], _join(remote, heads[ps], runtimes[ps], gpus[ps], capacity))
    return heads, runtimes


def _join(remote: np.ndarray, starts: np.ndarray, runtimes: np.ndarray, gpus: np.ndarray,
          capacity: np.ndarray) -> np.ndarray:
    """Per node (columns), the least over the sets of parents run there (the t latest arrivals from
    elsewhere, t = 0..parents) of the later of: the rest's arrival, and that set's end on the node."""
    n_nodes = remote.shape[1]
    order = np.argsort(-remote, axis=0, kind="stable")  # latest arrival first: the first worth running here
    arrival = np.take_along_axis(remote, order, 0)
    start = np.take_along_axis(starts, order, 0)
    runtime = np.take_along_axis(runtimes, order, 0)
    with np.errstate(invalid="ignore"):  # inf x 0 GPUs where a parent may not run: set to inf below
        held = np.where(np.isfinite(runtime), runtime * gpus[order], np.inf)  # GPU-seconds on the node
    each_ends = np.maximum.accumulate(start + runtime, axis=0)
    together = starts.min(axis=0) + np.cumsum(held, axis=0) / capacity
    local = np.maximum(each_ends, together)  # row t-1: the t latest arrivals run here
    none = np.full((1, n_nodes), -np.inf)
    return np.min(np.maximum(np.vstack([arrival, none]), np.vstack([none, local])), axis=0)
