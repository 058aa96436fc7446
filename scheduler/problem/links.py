"""The network, vectorised: bandwidth and transfer times between nodes by index.

The same rule as `scheduler.domain.network.Network` (the reference reading): the
node-pair `links` entry, else the region-pair entry, else the smaller of the two
nodes' `bandwidth_gbps`; moving data to the same node is free. Region pairs are a
dense table (few regions), node pairs a dict.
"""

from __future__ import annotations

import math

import numpy as np

from ..domain import Network
from ..domain.workload import Site
from .nodes import NodeTable

MEAN_EXACT_NODES = 256  # up to this many nodes the mean transfer time is over every pair
MEAN_SAMPLE_SOURCES, MEAN_SAMPLE_TARGETS = 64, 4096


class LinkTable:
    """Bandwidth (Gbit/s) and transfer times (s) between nodes by index.

    Examples
    --------
    >>> from scheduler.domain import NodePool, Network
    >>> pool = NodePool(nodes=[{"id": "a", "region": "eu", "bandwidth_gbps": 10}, {"id": "b", "region": "us"}],
    ...                 links=[{"regions": ["eu", "us"], "bandwidth_gbps": 0.5}])
    >>> links = LinkTable(Network(pool), NodeTable(pool))
    >>> links.transfer(0, 1, 1.0), links.transfer(0, 0, 1.0)
    (16.0, 0.0)
    """

    def __init__(self, network: Network, nodes: NodeTable, sites: list[Site] | None = None) -> None:
        self.network = network
        self.bandwidth = nodes.bandwidth
        self.region_code = nodes.category.region.codes
        regions = nodes.category.region.table
        self.region_bw = np.full((len(regions), len(regions)), np.nan)
        for pair, bw in network.region_links.items():
            names = list(pair) if len(pair) == 2 else [next(iter(pair))] * 2
            if all(r in regions for r in names):
                a, b = (regions[r] for r in names)
                self.region_bw[a, b] = self.region_bw[b, a] = bw
        self.node_link_bw: dict[int, dict[int, float]] = {}
        for pair, bw in network.node_links.items():
            a, b = (nodes.index[x] for x in pair)
            self.node_link_bw.setdefault(a, {})[b] = bw
            self.node_link_bw.setdefault(b, {})[a] = bw
        self.has_region_links = bool(np.isfinite(self.region_bw).any())
        self.site_bw = [self._site_bandwidths(s, nodes) for s in sites or []]  # per site: Gbit/s to every node

    def _site_bandwidths(self, site: Site, nodes: NodeTable) -> np.ndarray:
        out = np.minimum(site.bandwidth_gbps, self.bandwidth)
        for region, code in nodes.category.region.table.items():
            hit = self.network.region_links.get(frozenset((site.region, region)))
            if hit is not None:
                out[self.region_code == code] = hit
        return out

    def site_transfers(self, site: int, data_gb: float, nodes: np.ndarray) -> np.ndarray:
        """Seconds to move `data_gb` between site `site` and each of `nodes` (either way)."""
        if data_gb <= 0:
            return np.zeros(len(nodes))
        return data_gb * 8.0 / self.site_bw[site][nodes]

    def bandwidth_between(self, a: int, b: int) -> float:
        """Gbit/s between nodes `a` and `b` (a != b)."""
        links = self.node_link_bw.get(a)
        if links is not None and b in links:
            return links[b]
        if self.has_region_links:
            rb = self.region_bw[self.region_code[a], self.region_code[b]]
            if not math.isnan(rb):
                return float(rb)
        return float(min(self.bandwidth[a], self.bandwidth[b]))

    def transfer(self, a: int, b: int, data_gb: float) -> float:
        """Seconds to move `data_gb` from node `a` to node `b`."""
        if a == b or data_gb <= 0:
            return 0.0
        return data_gb * 8.0 / self.bandwidth_between(a, b)

    def transfers_from(self, a: int, data_gb: float, targets: np.ndarray) -> np.ndarray:
        """Seconds to move `data_gb` from node `a` to each node in `targets`."""
        return self.transfers_between(np.array([a], dtype=np.int64), data_gb, targets)[0]

    def transfers_between(self, sources: np.ndarray, data_gb: float, targets: np.ndarray) -> np.ndarray:
        """Seconds to move `data_gb` from each of `sources` (rows) to each of `targets` (columns): over
        the pair's node link, else its region link, else the slower of the two nodes' bandwidths (0 from
        a node to itself)."""
        sources = np.asarray(sources, dtype=np.int64)
        targets = np.asarray(targets, dtype=np.int64)
        if data_gb <= 0:
            return np.zeros((len(sources), len(targets)))
        bw = np.minimum(self.bandwidth[sources][:, None], self.bandwidth[targets][None, :])
        if self.has_region_links:
            rb = self.region_bw[self.region_code[sources][:, None], self.region_code[targets][None, :]]
            bw = np.where(np.isnan(rb), bw, rb)
        position: dict[int, int] | None = None
        for row, a in enumerate(sources.tolist()):
            links = self.node_link_bw.get(a)
            if links:
                if position is None:
                    position = {int(n): k for k, n in enumerate(targets.tolist())}
                for b, v in links.items():
                    k = position.get(b)
                    if k is not None:
                        bw[row, k] = v
        out = data_gb * 8.0 / bw
        out[sources[:, None] == targets[None, :]] = 0.0
        return out

    def seconds_per_gb(self) -> np.ndarray:
        """Seconds to move one GB between every pair of nodes, [from, to] (0 from a node to itself).

        Examples
        --------
        >>> from scheduler.domain import NodePool, Network
        >>> pool = NodePool(nodes=[{"id": "a", "bandwidth_gbps": 8}, {"id": "b", "bandwidth_gbps": 16}])
        >>> LinkTable(Network(pool), NodeTable(pool)).seconds_per_gb().tolist()
        [[0.0, 1.0], [1.0, 0.0]]
        """
        everywhere = np.arange(len(self.bandwidth))
        return self.transfers_between(everywhere, 1.0, everywhere)

    def mean_transfer_s_per_gb(self) -> float:
        """Seconds to move one GB between two nodes drawn at random (the same node twice included, where
        it is free): HEFT's average communication cost per unit of data. Exact over every ordered pair up
        to `MEAN_EXACT_NODES` nodes, else over a fixed sample of sources and targets."""
        n = len(self.bandwidth)
        if n < 2:
            return 0.0
        if n <= MEAN_EXACT_NODES:
            return float(np.mean(self.seconds_per_gb()))
        rng = np.random.default_rng(0)
        sources = rng.choice(n, min(n, MEAN_SAMPLE_SOURCES), replace=False)
        targets = rng.choice(n, min(n, MEAN_SAMPLE_TARGETS), replace=False)
        return float(np.mean(self.transfers_between(sources, 1.0, targets)))

    def peer_bandwidth(self) -> np.ndarray:
        """Per node, the most Gbit/s it can have to any other node (an upper bound: links included)."""
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

    def fastest_link_gbps(self) -> float:
        """An upper bound on the bandwidth between any two nodes (a gang's exchange is never faster)."""
        peer = self.peer_bandwidth()
        return float(peer.max()) if len(peer) else 1.0

    def distinct_bandwidths(self) -> set[float]:
        """Every bandwidth a transfer can use (nodes' links and overrides)."""
        out = set(self.bandwidth.tolist())
        out.update(self.network.region_links.values())
        out.update(self.network.node_links.values())
        return out
