"""The compiled problem: one workload, one node pool and one policy, checked together
and turned into index-based parts that the engine and the analyses share.

- `dag`: tasks in topological order, parents and children by index (`TaskGraph`).
- `nodes`: one array per node attribute, codes for categories (`NodeTable`).
- `links`: bandwidth and transfer times between nodes (`LinkTable`).
- `eligibility`: the policy compiled per requirement (`EligibilityIndex`).
- `feasibility`: what no plan can satisfy, found without search, and its wording.

`Problem` holds these parts, each task's effective level and replica count, and
the per-(task, node) figures of the contract: runtime, cost and completion
probability.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..domain import Level, NodePool, Policy, Workload, permissive_policy
from ..domain.network import Network
from ..domain.policy import LevelOrigin, declassification_notes, effective_levels, required_replicas
from ..domain.rules import log_task_success, task_success
from ..errors import InfeasibleReason
from .dag import TaskGraph
from .eligibility import Eligibility, EligibilityIndex
from .feasibility import rejection_counts_text, static_reasons
from .links import LinkTable
from .nodes import NodeTable

__all__ = ["Eligibility", "LinkTable", "NodeTable", "Problem", "TaskGraph", "rejection_counts_text"]


class Problem:
    """The checked combination of workload, pool and policy.

    Parameters
    ----------
    workload, pool : Workload, NodePool
    policy : Policy, optional
        Default: one level, ``public``, with no rules.

    Raises
    ------
    InputError
        A task names an unknown level (the workload file is named).

    Examples
    --------
    >>> from scheduler.domain import Workload, NodePool
    >>> p = Problem(Workload(tasks=[{"id": "a", "duration_s": 60}]), NodePool(nodes=[{"id": "n", "gpus": 1}]))
    >>> p.runtime(0, 0), p.describe()
    (60.0, '1 tasks, 0 edges, 1 nodes')
    """

    def __init__(self, workload: Workload, pool: NodePool, policy: Policy | None = None) -> None:
        self.workload = workload
        self.pool = pool
        self.policy = policy if policy is not None else permissive_policy()
        self.network = Network(pool)
        self.origins: dict[str, LevelOrigin] = effective_levels(workload, self.policy)
        self.dag = TaskGraph(workload)
        self.nodes = NodeTable(pool)
        self.links = LinkTable(self.network, self.nodes)
        self.levels: list[Level] = [self.policy.level(self.origins[t].level) for t in self.dag.ids]
        self.required: list[int] = [required_replicas(t, lv) for t, lv in zip(self.dag.tasks, self.levels)]
        self._eligibility = EligibilityIndex(self.nodes)
        self._caches: dict[str, dict] = {"candidates": {}, "best_set": {}}

    def __getstate__(self) -> dict:
        # the caches are keyed by the identity of arrays, which does not survive pickling
        state = dict(self.__dict__)
        state["_caches"] = {"candidates": {}, "best_set": {}}
        return state

    # --- sizes --------------------------------------------------------------------

    @cached_property
    def notes(self) -> list[str]:
        """Notes for people about the inputs together: the files' own notes (e.g. ambiguous YAML) and
        declassifying tasks that lower nothing."""
        files = [*self.workload.notes, *self.pool.notes, *self.policy.notes]
        return list(dict.fromkeys([*files, *declassification_notes(self.workload, self.policy, self.origins)]))

    @property
    def n_tasks(self) -> int:
        return len(self.dag)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @cached_property
    def n_edges(self) -> int:
        return self.dag.n_edges

    def describe(self) -> str:
        return f"{self.n_tasks} tasks, {self.n_edges} edges, {self.n_nodes} nodes"

    # --- eligibility --------------------------------------------------------------

    def eligibility(self, i: int) -> Eligibility:
        """The eligible nodes of task `i` and the counts of rejecting rules."""
        t = self.dag.tasks[i]
        return self._eligibility.of(self.levels[i], t.gpus, t.gpu_memory_gb)

    def eligible(self, i: int) -> np.ndarray:
        """Indices of the nodes task `i` may run on."""
        return self.eligibility(i).nodes

    def candidates(self, i: int, k: int) -> np.ndarray:
        """At most about 2k of task `i`'s eligible nodes: the k fastest and the k cheapest
        per GPU-second, computed once per distinct requirement (large pools)."""
        nodes = self.eligible(i)
        if len(nodes) <= 2 * k:
            return nodes
        t = self.dag.tasks[i]
        key = (id(nodes), k, tuple(sorted(t.duration_by_gpu.items())))
        cache = self._caches["candidates"]
        hit = cache.get(key)
        if hit is None:
            runtimes = self.runtimes(i, nodes) if t.duration_by_gpu else 1.0 / self.nodes.speed[nodes]
            price = runtimes * self.nodes.price[nodes]
            fast = np.argpartition(runtimes, k)[:k]
            cheap = np.argpartition(price, k)[:k]
            hit = cache[key] = np.unique(nodes[np.concatenate([fast, cheap])])
        return hit

    # --- runtimes, costs, completion ----------------------------------------------

    def runtime(self, i: int, n: int) -> float:
        """Seconds task `i` runs on node `n` (duration_by_gpu wins over duration_s / speed)."""
        t = self.dag.tasks[i]
        if t.duration_by_gpu:
            d = t.duration_by_gpu.get(self.nodes[n].gpu)
            if d is not None:
                return d
        return t.duration_s / self.nodes[n].speed

    def runtimes(self, i: int, nodes: np.ndarray | None = None) -> np.ndarray:
        """Runtimes of task `i` on `nodes` (default: its eligible nodes)."""
        nodes = self.eligible(i) if nodes is None else nodes
        t = self.dag.tasks[i]
        out = t.duration_s / self.nodes.speed[nodes]
        if t.duration_by_gpu:
            models = self.nodes.category.gpu_model
            for model, seconds in t.duration_by_gpu.items():
                code = models.table.get(model)
                if code is not None:
                    out[models.codes[nodes] == code] = seconds
        return out

    def cost(self, i: int, n: int) -> float:
        """USD of one replica of task `i` on node `n`."""
        return self.runtime(i, n) / 3600.0 * self.dag.tasks[i].gpus * self.nodes[n].price_per_gpu_hour

    def costs(self, i: int, nodes: np.ndarray | None = None) -> np.ndarray:
        """USD of one replica of task `i` on each of `nodes` (default: its eligible nodes)."""
        nodes = self.eligible(i) if nodes is None else nodes
        return self.runtimes(i, nodes) / 3600.0 * self.dag.tasks[i].gpus * self.nodes.price[nodes]

    def completion(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """Probability that a replica of task `i` completes, on each of `nodes`."""
        return self.nodes.reputation[nodes]

    def weights(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """Failure weights (`scheduler.domain.rules.failure_weights`) of task `i`'s replicas on `nodes`."""
        return self.nodes.failure_weight[nodes]

    def success(self, i: int, nodes: np.ndarray | list[int]) -> float:
        """Probability that task `i` succeeds with replicas on `nodes` (the contract's rule)."""
        return task_success(self.completion(i, np.asarray(nodes, dtype=np.int64)))

    def log_success(self, i: int, nodes: np.ndarray | list[int]) -> float:
        """``log(success(i, nodes))``, -inf when it cannot succeed."""
        return log_task_success(self.completion(i, np.asarray(nodes, dtype=np.int64)))

    # --- replica rules --------------------------------------------------------------

    def spread_of(self, i: int) -> np.ndarray:
        """Spread-key codes of all nodes for task `i`'s level (replicas need distinct codes)."""
        return self.nodes.category.spread(self.levels[i].spread_key)

    def best_replica_set(self, i: int, nodes: np.ndarray | None = None) -> list[int]:
        """The most reliable node of every spread value, best first: the replica set
        with the highest success any plan can reach for task `i`."""
        own = self.eligibility(i).nodes
        nodes = own if nodes is None else nodes
        key = (id(nodes), self.levels[i].spread_key)
        cache = self._caches["best_set"]
        if nodes is own and key in cache:
            return cache[key]
        codes = self.spread_of(i)[nodes]
        order = np.lexsort((nodes, -self.completion(i, nodes)))
        seen: set[int] = set()
        best = []
        for k in order:
            c = int(codes[k])
            if c not in seen:
                seen.add(c)
                best.append(int(nodes[k]))
        if nodes is own:
            cache[key] = best
        return best

    def max_success(self, i: int) -> float:
        """The highest success probability any replica set of task `i` reaches."""
        return self.success(i, self.best_replica_set(i))

    # --- feasibility that needs no search ---------------------------------------------

    def static_reasons(self, allowed: list[np.ndarray] | None = None, skip: set[int] | frozenset[int] = frozenset(),
                       kept: dict[int, list[int]] | None = None) -> list[InfeasibleReason]:
        """See `scheduler.problem.feasibility.static_reasons`."""
        return static_reasons(self, allowed, skip, kept)
