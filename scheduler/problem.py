"""A placement problem: one workload, one node pool and one policy, checked together
and compiled into index-based arrays for the heuristic, the solver and the bounds.

Tasks are indexed in topological order (parents first), nodes in file order.
Eligibility is computed once per distinct requirement (effective level, GPUs,
GPU memory) with numpy, so a pool of 100,000 nodes costs a few vector
operations per distinct requirement, not per task. `scheduler.policy` stays the
reference reading of the rules (`explain` and `verify` call it node by node);
the tests check that both agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import InfeasibleReason
from .model import Level, Node, NodePool, Policy, Task, Workload, permissive_policy
from .network import Network
from .policy import LevelOrigin, Rule, RULE_PHRASES, effective_levels, failure_weight

SPREAD_KEYS = ("node", "operator", "network", "region", "country")


@dataclass
class Eligibility:
    """The nodes one requirement admits, and why the others are turned away.

    Attributes:
        nodes: indices of eligible nodes, ascending.
        first_rule: how many nodes each rule turned away, counting each node once
            under the first rule (in `Rule` order) that rejects it.
        any_rule: how many nodes each rule rejects, a node counted under every rule.
    """

    nodes: np.ndarray
    first_rule: dict[str, int] = field(default_factory=dict)
    any_rule: dict[str, int] = field(default_factory=dict)


class Problem:
    """The checked combination of workload, pool and policy.

    Raises:
        InputError: a task names an unknown level (the workload file is named).

    Example:
        >>> from scheduler.model import Workload, NodePool
        >>> p = Problem(Workload(tasks=[{"id": "a", "duration_s": 60}]), NodePool(nodes=[{"id": "n", "gpus": 1}]))
        >>> p.runtime(0, 0)
        60.0
    """

    def __init__(self, workload: Workload, pool: NodePool, policy: Policy | None = None) -> None:
        self.workload = workload
        self.pool = pool
        self.policy = policy if policy is not None else permissive_policy()
        self.network = Network(pool)
        self.origins: dict[str, LevelOrigin] = effective_levels(workload, self.policy)

        by_id = workload.by_id
        self.task_ids: list[str] = list(workload.topological_order)
        self.tasks: list[Task] = [by_id[t] for t in self.task_ids]
        self.task_index: dict[str, int] = {t: i for i, t in enumerate(self.task_ids)}
        self.nodes: list[Node] = list(pool.nodes)
        self.node_ids: list[str] = [n.id for n in self.nodes]
        self.node_index: dict[str, int] = {n: i for i, n in enumerate(self.node_ids)}

        self.parents: list[list[tuple[int, float]]] = [
            [(self.task_index[d.task], d.data_gb) for d in t.depends_on] for t in self.tasks
        ]
        self.children: list[list[tuple[int, float]]] = [[] for _ in self.tasks]
        for c, ps in enumerate(self.parents):
            for p, data in ps:
                self.children[p].append((c, data))
        self.levels: list[Level] = [self.policy.level(self.origins[t].level) for t in self.task_ids]
        self.required: list[int] = [max(t.replicas, lv.min_replicas) for t, lv in zip(self.tasks, self.levels)]
        self._compile_nodes()
        self._eligibility_cache: dict[tuple[str, int, float], Eligibility] = {}
        self._candidate_cache: dict[tuple, np.ndarray] = {}
        self._best_set_cache: dict[tuple[int, str], list[int]] = {}

    # --- sizes ------------------------------------------------------------------

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @cached_property
    def n_edges(self) -> int:
        return sum(len(p) for p in self.parents)

    # --- node arrays ------------------------------------------------------------

    def _compile_nodes(self) -> None:
        nodes = self.nodes
        self.gpus = np.array([n.gpus for n in nodes], dtype=np.int64)
        self.gpu_memory = np.array([n.gpu_memory_gb for n in nodes], dtype=float)
        self.speed = np.array([n.speed for n in nodes], dtype=float)
        self.price = np.array([n.price_per_gpu_hour for n in nodes], dtype=float)
        self.reputation = np.array([n.reputation for n in nodes], dtype=float)
        self.bandwidth = np.array([n.bandwidth_gbps for n in nodes], dtype=float)
        self.attested = np.array([n.attested for n in nodes], dtype=bool)
        tee_bit = {"sgx": 1, "tdx": 2, "sev-snp": 4, "nvidia-cc": 8}
        self.tee_bits = np.array([sum(tee_bit[k] for k in set(n.tee)) for n in nodes], dtype=np.int64)
        self._tee_bit = tee_bit
        self.failure_weight = np.array([failure_weight(r) for r in self.reputation], dtype=float)

        def codes(values: list[str]) -> tuple[np.ndarray, dict[str, int]]:
            table: dict[str, int] = {}
            return np.array([table.setdefault(v, len(table)) for v in values], dtype=np.int64), table

        self.country_code, self._countries = codes([n.country for n in nodes])
        self.region_code, self._regions = codes([n.region for n in nodes])
        self.network_code, self._networks = codes([n.network for n in nodes])
        self.operator_code, self._operators = codes([n.operator_id for n in nodes])
        self.gpu_code, self._gpu_models = codes([n.gpu for n in nodes])
        self.spread_codes: dict[str, np.ndarray] = {
            "node": np.arange(len(nodes), dtype=np.int64),
            "operator": self.operator_code,
            "network": self.network_code,
            "region": self.region_code,
            "country": self.country_code,
        }
        # bandwidth overrides: region pairs as a dense table (few regions), node pairs as a dict
        n_regions = len(self._regions)
        self.region_bw = np.full((n_regions, n_regions), np.nan)
        for pair, bw in self.network.region_links.items():
            names = list(pair) if len(pair) == 2 else [next(iter(pair))] * 2
            if all(r in self._regions for r in names):
                a, b = (self._regions[r] for r in names)
                self.region_bw[a, b] = self.region_bw[b, a] = bw
        self.node_link_bw: dict[int, dict[int, float]] = {}
        for pair, bw in self.network.node_links.items():
            a, b = (self.node_index[x] for x in pair)
            self.node_link_bw.setdefault(a, {})[b] = bw
            self.node_link_bw.setdefault(b, {})[a] = bw
        self.has_region_links = bool(np.isfinite(self.region_bw).any())

    # --- eligibility ------------------------------------------------------------

    def eligibility(self, i: int) -> Eligibility:
        """The eligible nodes of task `i` and the counts of rejecting rules."""
        t, lv = self.tasks[i], self.levels[i]
        key = (lv.name, t.gpus, t.gpu_memory_gb if t.gpus > 0 else 0.0)
        hit = self._eligibility_cache.get(key)
        if hit is None:
            hit = self._eligibility_cache[key] = self._compute_eligibility(lv, t.gpus, key[2])
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
        t = self.tasks[i]
        key = (id(nodes), k, tuple(sorted(t.duration_by_gpu.items())))
        hit = self._candidate_cache.get(key)
        if hit is None:
            runtimes = self.runtimes(i, nodes) if t.duration_by_gpu else 1.0 / self.speed[nodes]
            price = runtimes * self.price[nodes]
            fast = np.argpartition(runtimes, k)[:k]
            cheap = np.argpartition(price, k)[:k]
            hit = self._candidate_cache[key] = np.unique(nodes[np.concatenate([fast, cheap])])
        return hit

    def _rule_failures(self, lv: Level, gpus: int, gpu_memory_gb: float) -> list[tuple[Rule, np.ndarray]]:
        n = self.n_nodes
        none = np.zeros(n, dtype=bool)
        fails: list[tuple[Rule, np.ndarray]] = [
            (Rule.GPUS, self.gpus < gpus),
            (Rule.GPU_MEMORY, self.gpu_memory < gpu_memory_gb if gpus > 0 else none),
        ]
        if lv.tee:
            wanted = sum(self._tee_bit[k] for k in set(lv.tee))
            fails.append((Rule.TEE, (self.tee_bits & wanted) == 0))
        else:
            fails.append((Rule.TEE, none))
        fails.append((Rule.ATTESTED, ~self.attested if lv.attested else none))
        fails.append((Rule.REPUTATION, self.reputation < lv.min_reputation))
        for rule, allowed, code, table in (
            (Rule.COUNTRY, lv.countries, self.country_code, self._countries),
            (Rule.REGION, lv.regions, self.region_code, self._regions),
            (Rule.NETWORK, lv.networks, self.network_code, self._networks),
        ):
            if allowed is None:
                fails.append((rule, none))
            else:
                ok_codes = np.array([table[v] for v in set(allowed) if v in table], dtype=np.int64)
                fails.append((rule, ~np.isin(code, ok_codes)))
        return fails

    def _compute_eligibility(self, lv: Level, gpus: int, gpu_memory_gb: float) -> Eligibility:
        fails = self._rule_failures(lv, gpus, gpu_memory_gb)
        rejected = np.zeros(self.n_nodes, dtype=bool)
        first: dict[str, int] = {}
        anyr: dict[str, int] = {}
        for rule, f in fails:
            newly = int(np.count_nonzero(f & ~rejected))
            if newly:
                first[rule.value] = newly
            total = int(np.count_nonzero(f))
            if total:
                anyr[rule.value] = total
            rejected |= f
        return Eligibility(nodes=np.flatnonzero(~rejected), first_rule=first, any_rule=anyr)

    # --- runtimes, costs, transfers ------------------------------------------------

    def runtime(self, i: int, n: int) -> float:
        """Seconds task `i` runs on node `n` (duration_by_gpu wins over duration_s / speed)."""
        t = self.tasks[i]
        if t.duration_by_gpu:
            d = t.duration_by_gpu.get(self.nodes[n].gpu)
            if d is not None:
                return d
        return t.duration_s / self.nodes[n].speed

    def runtimes(self, i: int, nodes: np.ndarray | None = None) -> np.ndarray:
        """Runtimes of task `i` on `nodes` (default: its eligible nodes)."""
        nodes = self.eligible(i) if nodes is None else nodes
        t = self.tasks[i]
        out = t.duration_s / self.speed[nodes]
        if t.duration_by_gpu:
            for model, seconds in t.duration_by_gpu.items():
                code = self._gpu_models.get(model)
                if code is not None:
                    out[self.gpu_code[nodes] == code] = seconds
        return out

    def cost(self, i: int, n: int) -> float:
        """USD of one replica of task `i` on node `n`."""
        return self.runtime(i, n) / 3600.0 * self.tasks[i].gpus * self.nodes[n].price_per_gpu_hour

    def costs(self, i: int, nodes: np.ndarray | None = None) -> np.ndarray:
        nodes = self.eligible(i) if nodes is None else nodes
        return self.runtimes(i, nodes) / 3600.0 * self.tasks[i].gpus * self.price[nodes]

    def bandwidth_between(self, a: int, b: int) -> float:
        links = self.node_link_bw.get(a)
        if links is not None and b in links:
            return links[b]
        if self.has_region_links:
            rb = self.region_bw[self.region_code[a], self.region_code[b]]
            if not math.isnan(rb):
                return float(rb)
        return float(min(self.bandwidth[a], self.bandwidth[b]))

    def peer_bandwidth(self) -> np.ndarray:
        """Per node, the most Gbps it can have to any other node (an upper bound: links included)."""
        bw = self.bandwidth
        if len(bw) < 2:
            return bw.copy()
        top = int(np.argmax(bw))
        others_best = np.full(len(bw), bw[top])
        others_best[top] = np.max(np.delete(bw, top))
        out = np.minimum(bw, others_best)
        if self.has_region_links:
            row = np.nanmax(np.where(np.isnan(self.region_bw), -np.inf, self.region_bw), axis=1)
            out = np.maximum(out, row[self.region_code])
        for a, links in self.node_link_bw.items():
            out[a] = max(out[a], max(links.values()))
        return out

    def transfer(self, a: int, b: int, data_gb: float) -> float:
        """Seconds to move `data_gb` from node index `a` to node index `b`."""
        if a == b or data_gb <= 0:
            return 0.0
        return data_gb * 8.0 / self.bandwidth_between(a, b)

    def transfers_from(self, a: int, data_gb: float, targets: np.ndarray) -> np.ndarray:
        """Seconds to move `data_gb` from node `a` to each node in `targets`."""
        if data_gb <= 0:
            return np.zeros(len(targets))
        bw = np.minimum(self.bandwidth[a], self.bandwidth[targets])
        if self.has_region_links:
            rb = self.region_bw[self.region_code[a], self.region_code[targets]]
            bw = np.where(np.isnan(rb), bw, rb)
        links = self.node_link_bw.get(a)
        if links:
            pos = {int(n): k for k, n in enumerate(targets)}
            for b, v in links.items():
                k = pos.get(b)
                if k is not None:
                    bw[k] = v
        out = data_gb * 8.0 / bw
        out[targets == a] = 0.0
        return out

    # --- replica rules ------------------------------------------------------------

    def spread_of(self, i: int) -> np.ndarray:
        """Spread-key codes of all nodes for task `i`'s level (replicas need distinct codes)."""
        return self.spread_codes[self.levels[i].spread_key]

    def min_success(self, i: int) -> float | None:
        return self.levels[i].min_success

    def best_replica_set(self, i: int, nodes: np.ndarray | None = None) -> list[int]:
        """The most reputable node of every spread value, best first: the replica set
        with the highest success any plan can reach for task `i`."""
        nodes = self.eligible(i) if nodes is None else nodes
        key = (id(nodes), self.levels[i].spread_key)
        if nodes is self.eligibility(i).nodes and key in self._best_set_cache:
            return self._best_set_cache[key]
        codes = self.spread_of(i)[nodes]
        order = np.lexsort((nodes, -self.reputation[nodes]))
        seen: set[int] = set()
        best = []
        for k in order:
            c = int(codes[k])
            if c not in seen:
                seen.add(c)
                best.append(int(nodes[k]))
        if nodes is self.eligibility(i).nodes:
            self._best_set_cache[key] = best
        return best

    def max_success(self, i: int) -> float:
        fail = 1.0
        for n in self.best_replica_set(i):
            fail *= 1.0 - self.reputation[n]
        return 1.0 - fail

    # --- feasibility that needs no search -------------------------------------------

    def static_reasons(self, allowed: list[np.ndarray] | None = None, skip: set[int] | frozenset[int] = frozenset(),
                       kept: dict[int, list[int]] | None = None) -> list[InfeasibleReason]:
        """Per-task reasons no plan can exist: no eligible node, too few distinct
        spread values, or `min_success` out of reach.

        `allowed` narrows each task's nodes (e.g. without failed nodes), `skip` are
        tasks already finished, `kept` the nodes of replicas that stay (replanning).
        """
        reasons: list[InfeasibleReason] = []
        kept = kept or {}
        for i, t in enumerate(self.tasks):
            if i in skip:
                continue
            el = self.eligibility(i)
            lv = self.levels[i]
            nodes = el.nodes if allowed is None else allowed[i]
            stay = kept.get(i, [])
            if stay:
                codes = self.spread_of(i)
                nodes = nodes[~np.isin(codes[nodes], codes[np.array(stay)])]
            if len(nodes) == 0 and len(stay) < self.required[i]:
                if len(el.nodes):
                    reasons.append(InfeasibleReason(
                        rule="eligibility", tasks=[t.id], counts={"failed_node": len(el.nodes)},
                        message=f"{t.id}: all {len(el.nodes)} eligible nodes are excluded (failed or dropped)"))
                    continue
                reasons.append(InfeasibleReason(
                    rule="eligibility", tasks=[t.id], counts=dict(el.first_rule),
                    message=f"0/{self.n_nodes} nodes can run {t.id} (level {lv.name}): "
                            f"{rejection_counts_text(el.first_rule, lv)}"))
                continue
            best = self.best_replica_set(i, nodes) if len(nodes) else []
            need = self.required[i] - len(stay)
            if len(best) < need:
                reasons.append(InfeasibleReason(
                    rule="spread", tasks=[t.id], counts={"spread": len(best)},
                    message=f"{t.id} needs {need} replicas on distinct {lv.spread_key}s but its "
                            f"{len(el.nodes)} eligible nodes have only {len(best)} distinct {lv.spread_key} value(s)"))
                continue
            if lv.min_success is not None:
                fail = 1.0
                for n in [*stay, *best]:
                    fail *= 1.0 - self.reputation[n]
                reach = 1.0 - fail
                if reach < lv.min_success - 1e-12:
                    reasons.append(InfeasibleReason(
                        rule="min_success", tasks=[t.id], counts={"min_success": len(best)},
                        message=f"{t.id} needs success >= {lv.min_success:g} (level {lv.name}) but replicas on "
                                f"every distinct {lv.spread_key} of its eligible nodes reach only {reach:.6g}"))
        return reasons

    # --- helpers ------------------------------------------------------------------

    def level_name(self, i: int) -> str:
        return self.levels[i].name

    def describe(self) -> str:
        return f"{self.n_tasks} tasks, {self.n_edges} edges, {self.n_nodes} nodes"



def rejection_counts_text(first_rule: dict[str, int], level: Level) -> str:
    """'41 lack a TEE, 12 outside allowed countries' from rule counts."""
    return ", ".join(f"{c} {RULE_PHRASES[Rule(r)].format(min_reputation=level.min_reputation)}"
                     for r, c in first_rule.items())

