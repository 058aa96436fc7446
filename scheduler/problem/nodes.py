"""The node arrays: one numpy array per node attribute, and integer codes for the
categorical ones (country, region, network, operator, GPU model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..domain import Node, NodePool
from ..domain.rules import failure_weights

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
        self.failure_weight = failure_weights(self.reputation)
        self.bandwidth = np.array([n.bandwidth_gbps for n in nodes], dtype=float)
        self.attested = np.array([n.attested for n in nodes], dtype=bool)
        self.tee_bits = np.array([sum(TEE_BITS[k] for k in set(n.tee)) for n in nodes], dtype=np.int64)
        self.category = Categories(nodes)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, n: int) -> Node:
        return self.items[n]
