"""The node arrays: one numpy array per node attribute, and integer codes for the
categorical ones (country, region, network, operator, GPU model)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..domain import Node, NodePool
from ..domain.rules import ROUNDING_EPS, within

TEE_BITS = {"sgx": 1, "tdx": 2, "sev-snp": 4, "nvidia-cc": 8}
SPREAD_KEYS = ("node", "operator", "network", "region", "country")


@dataclass(frozen=True)
class Codes:
    """A categorical attribute as integer codes per node, and the table of values."""

    codes: np.ndarray
    table: dict[str, int]

    @classmethod
    def of(cls, values: list[str]) -> Codes:
        table: dict[str, int] = {}
        return cls(np.array([table.setdefault(v, len(table)) for v in values], dtype=np.int64), table)


class Categories:
    """The categorical node attributes as codes, and the spread keys over them."""

    def __init__(self, nodes: list[Node]) -> None:
        self.country = Codes.of([n.country for n in nodes])
        self.region = Codes.of([n.region for n in nodes])
        self.network = Codes.of([n.network for n in nodes])
        self.operator = Codes.of([n.operator_id for n in nodes])
        self.gpu_model = Codes.of([n.gpu for n in nodes])
        self._spread = {"node": np.arange(len(nodes), dtype=np.int64), "operator": self.operator.codes,
                        "network": self.network.codes, "region": self.region.codes, "country": self.country.codes}

    def spread(self, key: str) -> np.ndarray:
        """Per node, the code of its value of a spread key (replicas need distinct codes)."""
        return self._spread[key]


class Windows:
    """The nodes' availability windows: per node a sorted array of (from_s, until_s) rows, None for a
    node that is always available; `longest` the longest window per node (inf when always)."""

    def __init__(self, nodes: list[Node]) -> None:
        pairs = [None if n.available is None else sorted((float(w.from_s), float(w.end_s)) for w in n.available)
                 for n in nodes]
        self.of: list[np.ndarray | None] = [None if w is None else np.array(w, dtype=float) for w in pairs]
        self.any = any(w is not None for w in self.of)
        self.longest = np.array([math.inf if w is None else max(end - start for start, end in w) for w in pairs])

    def fit(self, n: int, start: float, duration: float) -> float:
        """The earliest t >= `start` at which [t, t + duration] lies inside one window of node `n`
        (inf when none does)."""
        w = self.of[n]
        if w is None:
            return start
        for lo, hi in w:
            t = max(start, lo)
            if within(t + duration, hi):
                return float(t)
        return math.inf

    def on_clock(self, n: int, quantum_s: float) -> list[tuple[float, float]]:
        """Node `n`'s windows in whole units of `quantum_s` seconds, rounded inwards (what fits them on the
        clock fits them in seconds), until inf for an open end; [(0, inf)] for a node always available."""
        w = self.of[n]
        if w is None:
            return [(0.0, math.inf)]
        return [(float(math.ceil(lo / quantum_s - ROUNDING_EPS)),
                 float(math.floor(hi / quantum_s + ROUNDING_EPS)) if math.isfinite(hi) else math.inf) for lo, hi in w]

    def holding(self, n: int, start: float, end: float) -> tuple[float, float] | None:
        """The window (from_s, until_s) of node `n` that holds [start, end]; None when none does, and
        (0, inf) for a node that is always available."""
        w = self.of[n]
        if w is None:
            return 0.0, math.inf
        return next(((float(lo), float(hi)) for lo, hi in w if within(lo, start) and within(end, hi)), None)

    def holds(self, n: int, start: float, end: float) -> bool:
        """Whether [start, end] lies inside one window of node `n`."""
        return self.holding(n, start, end) is not None


class NodeTable:
    """A pool's nodes by index (file order), as arrays.

    Examples
    --------
    >>> from scheduler.domain import NodePool
    >>> t = NodeTable(NodePool(nodes=[{"id": "a", "gpus": 2, "tee": ["tdx"]}, {"id": "b", "region": "eu"}]))
    >>> t.gpus.tolist(), t.tee_bits.tolist(), t.category.region.codes.tolist()
    ([2, 0], [2, 0], [0, 1])
    """

    def __init__(self, pool: NodePool) -> None:
        nodes = self.items = list(pool.nodes)
        self.ids: list[str] = [n.id for n in nodes]
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.ids)}
        self.gpus = np.array([n.gpus for n in nodes], dtype=np.int64)
        self.gpu_memory_gb = np.array([n.gpu_memory_gb for n in nodes], dtype=float)
        self.speed = np.array([n.speed for n in nodes], dtype=float)
        self.price = np.array([n.price_per_gpu_hour for n in nodes], dtype=float)
        self.reputation = np.array([n.reputation for n in nodes], dtype=float)
        self.bandwidth = np.array([n.bandwidth_gbps for n in nodes], dtype=float)
        rates = np.array([n.failures_per_hour for n in nodes], dtype=float)
        self.failures_per_hour = rates if rates.any() else None  # None: version 1's flat reputation
        self.windows = Windows(nodes)
        self.attested = np.array([n.attested for n in nodes], dtype=bool)
        self.tee_bits = np.array([sum(TEE_BITS[k] for k in set(n.tee)) for n in nodes], dtype=np.int64)
        self.category = Categories(nodes)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, n: int) -> Node:
        return self.items[n]
