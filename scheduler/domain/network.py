"""The network model: bandwidth between two nodes and the time to move data.

bandwidth(a, b) is the `links` entry for the node pair, else the entry for the
region pair, else the smaller of the two nodes' `bandwidth_gbps`. Moving
`data_gb` from a to b takes 0 s when a = b, else ``data_gb * 8 / bandwidth``.

Example:
    >>> from scheduler.domain import NodePool, Node
    >>> net = Network(NodePool(nodes=[Node(id="a", bandwidth_gbps=10), Node(id="b", bandwidth_gbps=2.5)]))
    >>> net.transfer_s("a", "b", 10.0)
    32.0
"""

from __future__ import annotations

from .pool import NodePool
from .workload import Site


class Network:
    """Bandwidth and transfer times over a node pool's nodes and link overrides."""

    def __init__(self, pool: NodePool) -> None:
        self._nodes = pool.by_id
        self.node_links: dict[frozenset[str], float] = {}
        self.region_links: dict[frozenset[str], float] = {}
        for link in pool.links:
            if link.nodes is not None:
                self.node_links[frozenset(link.nodes)] = link.bandwidth_gbps
            elif link.regions is not None:
                self.region_links[frozenset(link.regions)] = link.bandwidth_gbps

    def bandwidth_gbps(self, a: str, b: str) -> float:
        """Bandwidth between nodes `a` and `b` in Gbit/s (a != b)."""
        if self.node_links:
            hit = self.node_links.get(frozenset((a, b)))
            if hit is not None:
                return hit
        na, nb = self._nodes[a], self._nodes[b]
        if self.region_links:
            hit = self.region_links.get(frozenset((na.region, nb.region)))
            if hit is not None:
                return hit
        return min(na.bandwidth_gbps, nb.bandwidth_gbps)

    def site_bandwidth_gbps(self, site: Site, node: str) -> float:
        """Bandwidth between a site and node `node` in Gbit/s (contract 1.1): the pool's link for their
        region pair, else the smaller of the two `bandwidth_gbps` (node-pair links never name sites)."""
        n = self._nodes[node]
        hit = self.region_links.get(frozenset((site.region, n.region)))
        return hit if hit is not None else min(site.bandwidth_gbps, n.bandwidth_gbps)

    def site_transfer_s(self, site: Site, node: str, data_gb: float) -> float:
        """Seconds to move `data_gb` between a site and node `node` (either way)."""
        return 0.0 if data_gb <= 0 else data_gb * 8.0 / self.site_bandwidth_gbps(site, node)

    def transfer_s(self, a: str, b: str, data_gb: float) -> float:
        """Seconds to move `data_gb` gigabytes from node `a` to node `b`."""
        if a == b or data_gb <= 0:
            return 0.0
        return data_gb * 8.0 / self.bandwidth_gbps(a, b)
