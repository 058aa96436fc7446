"""The policy compiled to eligibility: per distinct requirement (effective level, GPUs,
GPU memory), the nodes it admits and how many each rule turns away, from a few
vector operations over the node arrays (a pool of 100,000 nodes costs a few
milliseconds per distinct requirement, not per task)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..domain import Level, Rule
from .nodes import TEE_BITS, NodeTable


@dataclass
class Eligibility:
    """The nodes one requirement admits, and why the others are turned away.

    Attributes
    ----------
    nodes : numpy array
        Indices of eligible nodes, ascending.
    first_rule : dict
        How many nodes each rule turned away, counting each node once under the
        first rule (in `Rule` order) that rejects it.
    any_rule : dict
        How many nodes each rule rejects, a node counted under every rule.
    """

    nodes: np.ndarray
    first_rule: dict[str, int] = field(default_factory=dict)
    any_rule: dict[str, int] = field(default_factory=dict)


class EligibilityIndex:
    """Eligibility per requirement, computed once and cached.

    Examples
    --------
    >>> from scheduler.domain import NodePool, Level
    >>> index = EligibilityIndex(NodeTable(NodePool(nodes=[{"id": "a", "gpus": 1}, {"id": "b", "gpus": 1,
    ...                                                     "tee": ["tdx"], "attested": True}])))
    >>> e = index.of(Level(name="secret", tee=["tdx"], attested=True), gpus=1, gpu_memory_gb=0.0)
    >>> e.nodes.tolist(), e.first_rule
    ([1], {'tee': 1})
    """

    def __init__(self, nodes: NodeTable) -> None:
        self.nodes = nodes
        self._cache: dict[tuple[str, int, float], Eligibility] = {}
        self._by_level: dict[str, list[tuple[Rule, np.ndarray]]] = {}
        self._none = np.zeros(len(nodes), dtype=bool)

    def of(self, level: Level, gpus: int, gpu_memory_gb: float) -> Eligibility:
        key = (level.name, gpus, gpu_memory_gb if gpus > 0 else 0.0)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._compute(level, gpus, key[2])
        return hit

    def rule_failures(self, lv: Level, gpus: int, gpu_memory_gb: float) -> list[tuple[Rule, np.ndarray]]:
        """Per rule (in `Rule` order), the mask of nodes it rejects."""
        t = self.nodes
        return [(Rule.GPUS, t.gpus < gpus),
                (Rule.GPU_MEMORY, t.gpu_memory_gb < gpu_memory_gb if gpus > 0 else self._none),
                *self._level_failures(lv)]

    def _level_failures(self, lv: Level) -> list[tuple[Rule, np.ndarray]]:
        """The masks of the level's own rules (TEE to network), computed once per level: they do not depend
        on the task's GPUs."""
        hit = self._by_level.get(lv.name)
        if hit is not None:
            return hit
        t, none = self.nodes, self._none
        cat = t.category
        fails: list[tuple[Rule, np.ndarray]] = []
        if lv.tee:
            wanted = sum(TEE_BITS[k] for k in set(lv.tee))
            fails.append((Rule.TEE, (t.tee_bits & wanted) == 0))
        else:
            fails.append((Rule.TEE, none))
        fails.append((Rule.ATTESTED, ~t.attested if lv.attested else none))
        fails.append((Rule.REPUTATION, t.reputation < lv.min_reputation))
        for rule, allowed, codes in ((Rule.COUNTRY, lv.countries, cat.country), (Rule.REGION, lv.regions, cat.region),
                                     (Rule.NETWORK, lv.networks, cat.network)):
            if allowed is None:
                fails.append((rule, none))
            else:
                ok_codes = np.array([codes.table[v] for v in set(allowed) if v in codes.table], dtype=np.int64)
                fails.append((rule, ~np.isin(codes.codes, ok_codes)))
        self._by_level[lv.name] = fails
        return fails

    def _compute(self, lv: Level, gpus: int, gpu_memory_gb: float) -> Eligibility:
        rejected = np.zeros(len(self.nodes), dtype=bool)
        first: dict[str, int] = {}
        anyr: dict[str, int] = {}
        for rule, f in self.rule_failures(lv, gpus, gpu_memory_gb):
            newly = int(np.count_nonzero(f & ~rejected))
            if newly:
                first[rule.value] = newly
            total = int(np.count_nonzero(f))
            if total:
                anyr[rule.value] = total
            rejected |= f
        return Eligibility(nodes=np.flatnonzero(~rejected), first_rule=first, any_rule=anyr)
