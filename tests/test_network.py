"""Bandwidth and transfer times with link overrides."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler.domain import Network, NodePool, Workload
from scheduler.problem import Problem

POOL = NodePool.model_validate({
    "nodes": [
        {"id": "a", "region": "eu", "bandwidth_gbps": 10},
        {"id": "b", "region": "eu", "bandwidth_gbps": 2},
        {"id": "c", "region": "us", "bandwidth_gbps": 40},
        {"id": "d", "region": "us", "bandwidth_gbps": 40},
    ],
    "links": [{"nodes": ["a", "c"], "bandwidth_gbps": 1}, {"regions": ["eu", "us"], "bandwidth_gbps": 5},
              {"regions": ["us", "us"], "bandwidth_gbps": 100}],
})


@pytest.mark.parametrize("x, y, bw", [
    ("a", "b", 2),      # the smaller of the two node links
    ("a", "c", 1),      # node pair override
    ("c", "a", 1),      # symmetric
    ("b", "d", 5),      # region pair override
    ("c", "d", 100),    # same-region override
])
def test_bandwidth(x: str, y: str, bw: float) -> None:
    assert Network(POOL).bandwidth_gbps(x, y) == bw


def test_transfer() -> None:
    net = Network(POOL)
    assert net.transfer_s("a", "a", 100) == 0
    assert net.transfer_s("a", "b", 0) == 0
    assert net.transfer_s("a", "b", 10) == pytest.approx(40.0)


def test_vectorised_transfers_agree() -> None:
    p = Problem(Workload.model_validate({"tasks": [{"id": "t", "duration_s": 1, "gpus": 0}]}), POOL)
    net = Network(POOL)
    for a in range(4):
        got = p.links.transfers_from(a, 3.0, np.arange(4))
        want = [net.transfer_s(POOL.nodes[a].id, POOL.nodes[b].id, 3.0) for b in range(4)]
        assert got.tolist() == pytest.approx(want)
        assert [p.links.transfer(a, b, 3.0) for b in range(4)] == pytest.approx(want)


def test_mean_transfer_is_over_every_ordered_pair_links_included() -> None:
    p = Problem(Workload.model_validate({"tasks": [{"id": "t", "duration_s": 1}]}), POOL)
    seconds = [0.0 if x == y else 8.0 / Network(POOL).bandwidth_gbps(x, y) for x in "abcd" for y in "abcd"]
    assert p.mean_transfer_s_per_gb == pytest.approx(float(np.mean(seconds)))


@pytest.mark.parametrize("n", [300, 5000])  # sampled: fewer nodes than the sample's targets, and more
def test_mean_transfer_on_large_pools_is_sampled(n: int) -> None:
    pool = NodePool.model_validate({"nodes": [{"id": f"n{k}", "bandwidth_gbps": 10} for k in range(n)]})
    p = Problem(Workload.model_validate({"tasks": [{"id": "t", "duration_s": 1}]}), pool)
    # every pair takes 0.8 s per GB, the same node none: the mean sits just below 0.8
    assert 0.75 < p.mean_transfer_s_per_gb < 0.8
