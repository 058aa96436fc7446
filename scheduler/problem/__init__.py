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
from ..domain.policy import LevelOrigin, Rule, declassification_notes, effective_levels, required_replicas
from ..domain.rules import (
    completion_probabilities,
    failure_weights,
    log_task_success,
    meets,
    task_success,
    tolerant_limits,
)
from ..errors import InfeasibleReason
from .dag import TaskGraph
from .eligibility import Eligibility, EligibilityIndex
from .feasibility import rejection_counts_text, static_reasons, task_reason
from .gangs import candidate_gangs, gang_completion, gang_cost, gang_runtime
from .links import LinkTable
from .nodes import NodeTable


def _new_caches() -> dict[str, dict]:
    return {"candidates": {}, "best_set": {}, "windows": {}, "weights": {}, "gangs": {}, "eligibility": {},
            "reasons": {}, "completion": {}, "window_room": {}}


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
        self.links = LinkTable(self.network, self.nodes, self.dag.sites)
        self.levels: list[Level] = [self.policy.level(self.origins[t].level) for t in self.dag.ids]
        self.required: list[int] = [required_replicas(t, lv) for t, lv in zip(self.dag.tasks, self.levels)]
        self.quorum: list[int] = [lv.quorum for lv in self.levels]
        self._eligibility = EligibilityIndex(self.nodes)
        self._caches: dict[str, dict] = _new_caches()

    def __getstate__(self) -> dict:
        # the caches are keyed by the identity of arrays, which does not survive pickling
        state = dict(self.__dict__)
        state["_caches"] = _new_caches()
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
    def mean_transfer_s_per_gb(self) -> float:
        """Seconds to move one GB between two nodes drawn at random (`LinkTable.mean_transfer_s_per_gb`)."""
        return self.links.mean_transfer_s_per_gb()

    @cached_property
    def n_edges(self) -> int:
        return self.dag.n_edges

    def describe(self) -> str:
        return f"{self.n_tasks} tasks, {self.n_edges} edges, {self.n_nodes} nodes"

    # --- eligibility --------------------------------------------------------------

    def eligibility(self, i: int) -> Eligibility:
        """The eligible nodes of task `i` and the counts of rejecting rules: the policy's rules (per
        requirement), and, in a pool with availability windows, the nodes none of whose windows is as long
        as the task's runtime there (`window`)."""
        own = self._caches["eligibility"]
        if i in own:
            return own[i]
        t = self.dag.tasks[i]
        base = self.policy_eligibility(i)
        if not self.nodes.windows.any or not len(base.nodes):
            own[i] = base
            return base
        key = (id(base), t.duration_s, tuple(sorted(t.duration_by_gpu.items())))
        cache = self._caches["windows"]
        hit = cache.get(key)
        if hit is None:
            fits = self.runtimes(i, base.nodes) <= self._window_room(base)  # `within` the longest window
            out = int(np.count_nonzero(~fits))
            hit = cache[key] = base if not out else Eligibility(
                nodes=base.nodes[fits], first_rule={**base.first_rule, Rule.WINDOW.value: out},
                any_rule={**base.any_rule, Rule.WINDOW.value: out})
        own[i] = hit
        return hit

    def policy_eligibility(self, i: int) -> Eligibility:
        """`eligibility` before the availability windows: the policy's rules and the GPUs alone (shared by
        every task of the same level, GPUs and GPU memory)."""
        t = self.dag.tasks[i]
        return self._eligibility.of(self.levels[i], t.gpus, t.gpu_memory_gb)

    def _window_room(self, base: Eligibility) -> np.ndarray:
        """Per node of `base`, the longest runtime one of its windows holds (`tolerant_limits` of the longest
        window: `within`'s tolerance), computed once per eligibility class."""
        cache = self._caches["window_room"]
        hit = cache.get(id(base))
        if hit is None:
            hit = cache[id(base)] = tolerant_limits(self.nodes.windows.longest[base.nodes])
        return hit

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
        nodes = self.eligible(i) if nodes is None else np.asarray(nodes, dtype=np.int64)
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
        """Probability that a replica of task `i` completes, on each of `nodes`: the node's reputation, times
        exp(-failures_per_hour x runtime_h) (`scheduler.domain.rules.completion_probabilities`)."""
        rates = self.nodes.failures_per_hour
        if rates is None:
            return self.nodes.reputation[nodes]
        own = self.eligible(i)
        if nodes is own:  # asked for most often (eligibility checks, replica rules): computed once per task
            cache = self._caches["completion"]
            if i not in cache:
                cache[i] = completion_probabilities(self.nodes.reputation[own], rates[own], self.runtimes(i, own))
            return cache[i]
        return completion_probabilities(self.nodes.reputation[nodes], rates[nodes], self.runtimes(i, nodes))

    def weights(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """Failure weights (`scheduler.domain.rules.failure_weights`) of task `i`'s replicas on `nodes`."""
        if self.nodes.failures_per_hour is None:  # the same for every task: computed once
            cache = self._caches["weights"]
            if "v1" not in cache:
                cache["v1"] = failure_weights(self.nodes.reputation)
            return cache["v1"][nodes]
        return failure_weights(self.completion(i, nodes))

    def read_ready(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """When the data task `i` reads from sites is on each of `nodes` (reads start at 0, in parallel)."""
        out = np.zeros(len(nodes))
        for site, gb in self.dag.reads[i]:
            out = np.maximum(out, self.links.site_transfers(site, gb, nodes))
        return out

    def write_delays(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """Per write of task `i` (rows) and node (columns), the seconds its data takes to reach the site."""
        return np.array([self.links.site_transfers(site, gb, nodes) for site, gb in self.dag.writes[i]]).reshape(
            len(self.dag.writes[i]), len(nodes))

    @property
    def has_starts_limits(self) -> bool:
        """Whether reads or availability windows hold some start back beyond its parents' data."""
        return self.nodes.windows.any or any(self.dag.reads)

    def start_floors(self, i: int, nodes: np.ndarray, at: float) -> np.ndarray:
        """Per node, the earliest start >= `at` that task `i`'s reads and the node's windows allow
        (GPUs and parents aside; inf where no window holds the replica)."""
        out = np.full(len(nodes), float(at))
        if self.dag.reads[i]:
            out = np.maximum(out, self.read_ready(i, nodes))
        if self.nodes.windows.any:
            windows, rt = self.nodes.windows, self.runtimes(i, nodes)
            out = np.array([windows.fit(int(n), float(t), float(r)) for n, t, r in zip(nodes, out, rt)])
        return out

    def write_tail(self, i: int, nodes: np.ndarray) -> float:
        """The least time after a replica of task `i` ends until its last write is delivered, over `nodes`."""
        if not self.dag.writes[i] or not len(nodes):
            return 0.0
        return float(self.write_delays(i, nodes).max(axis=0).min())

    def success(self, i: int, nodes: np.ndarray | list[int]) -> float:
        """Probability that task `i` succeeds with replicas on `nodes`: at least its quorum of them complete."""
        return task_success(self.completion(i, np.asarray(nodes, dtype=np.int64)), self.quorum[i])

    def log_success(self, i: int, nodes: np.ndarray | list[int]) -> float:
        """``log(success(i, nodes))``, -inf when it cannot succeed."""
        return log_task_success(self.completion(i, np.asarray(nodes, dtype=np.int64)), self.quorum[i])

    # --- gangs (contract 1.1) ------------------------------------------------------

    @property
    def has_gangs(self) -> bool:
        """Whether some task's replica spans several nodes."""
        return any(t.nodes > 1 for t in self.dag.tasks)

    def gang_size(self, i: int) -> int:
        """Nodes one replica of task `i` spans at once (1: not a gang)."""
        return self.dag.tasks[i].nodes

    def replica_runtime(self, i: int, nodes: tuple[int, ...]) -> float:
        """Seconds a replica of task `i` runs on `nodes` (`scheduler.problem.gangs.gang_runtime`)."""
        return gang_runtime(self, i, nodes)

    def replica_cost(self, i: int, nodes: tuple[int, ...]) -> float:
        return gang_cost(self, i, nodes)

    def replica_completion(self, i: int, nodes: tuple[int, ...]) -> float:
        return gang_completion(self, i, nodes)

    def candidate_gangs(self, i: int, nodes: np.ndarray | None = None) -> list[tuple[int, ...]]:
        """Node sets worth trying for a replica of gang task `i` (`scheduler.problem.gangs.candidate_gangs`),
        among `nodes` (default: its eligible nodes; cached then)."""
        if nodes is not None:
            return candidate_gangs(self, i, nodes)
        cache = self._caches["gangs"]
        if i not in cache:
            cache[i] = candidate_gangs(self, i, self.eligible(i))
        return cache[i]

    # --- replica rules --------------------------------------------------------------

    def spread_of(self, i: int) -> np.ndarray:
        """Spread-key codes of all nodes for task `i`'s level (replicas need distinct codes)."""
        return self.nodes.category.spread(self.levels[i].spread_key)

    def best_replica_set(self, i: int, nodes: np.ndarray | None = None) -> list[int]:
        """The most reliable node of every spread value, best first: the replica set
        with the highest success any plan can reach for task `i`."""
        own = self.eligibility(i).nodes
        nodes = own if nodes is None else nodes
        key: tuple = (id(nodes), self.levels[i].spread_key)
        if self.nodes.failures_per_hour is not None:  # completion then depends on the task's runtime
            t = self.dag.tasks[i]
            key += (t.duration_s, tuple(sorted(t.duration_by_gpu.items())))
        cache = self._caches["best_set"]
        if nodes is own and key in cache:
            return cache[key]
        codes = self.spread_of(i)[nodes]
        order = np.lexsort((nodes, -self.completion(i, nodes)))
        _, first = np.unique(codes[order], return_index=True)  # each value's first place in that order
        best = nodes[order[np.sort(first)]].tolist()
        if nodes is own:
            cache[key] = best
        return best

    def least_replicas(self, i: int, nodes: np.ndarray | None = None) -> int:
        """The fewest replicas any valid plan gives task `i`: its required count, or more when even its
        most reliable nodes (`best_replica_set` over `nodes`) need more to reach the level's `min_success`."""
        need, target = self.required[i], self.levels[i].min_success
        if target is None or self.dag.tasks[i].nodes > 1:  # a gang's reach depends on whole node sets
            return need
        best = self.best_replica_set(i, nodes)
        for c in range(need, len(best) + 1):
            if meets(self.success(i, best[:c]), target):
                return c
        return need  # no set reaches it: `static_reasons` says so

    def max_success(self, i: int) -> float:
        """The highest success probability any replica set of task `i` reaches."""
        return self.success(i, self.best_replica_set(i))

    # --- feasibility that needs no search ---------------------------------------------

    def task_reason(self, i: int) -> InfeasibleReason | None:
        """Why no plan can place task `i` on its eligible nodes (None when one can), computed once (see
        `scheduler.problem.feasibility.task_reason`)."""
        cache = self._caches["reasons"]
        if i not in cache:
            cache[i] = task_reason(self, i, self.eligible(i), [])
        return cache[i]

    def static_reasons(self, allowed: list[np.ndarray] | None = None, skip: set[int] | frozenset[int] = frozenset(),
                       kept: dict[int, list[int]] | None = None) -> list[InfeasibleReason]:
        """See `scheduler.problem.feasibility.static_reasons`."""
        return static_reasons(self, allowed, skip, kept)
