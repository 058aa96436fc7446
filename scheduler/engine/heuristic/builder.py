"""The state of one list-scheduling run: each node's timeline, the schedule so far, the
nodes each task may use and scans, and the clock (exact seconds, or the solver's units)."""

from __future__ import annotations

import math

import numpy as np

from ...domain.rules import ROUNDING_EPS, quorum_arrival, tolerant_limit
from ...problem import Problem
from ..schedule import Replica, Schedule
from .settings import HeuristicSettings
from .timeline import EPS, Timeline

LARGE_POOL = 4096  # above this many eligible nodes a task scans a shortlist (plus its parents' nodes)
SHORTLIST = 512


class WindowMissed(ValueError):
    """A replica kept on its node fits none of the node's availability windows (on a rounded clock, a
    window rounded inwards may no longer hold what fits in exact seconds)."""


class Builder:
    """One run's placement state (see the module docstring)."""

    def __init__(self, problem: Problem, opt: HeuristicSettings) -> None:
        self.p = problem
        self.opt = opt
        # with a quantum, the builder works in whole clock units (seconds / quantum), all exact in floats
        self.q = opt.quantum_s
        self.scale = 1.0 if self.q is None else 1.0 / self.q
        self.release = float(self.up(opt.release_s))
        self.timelines: dict[int, Timeline] = {}
        self._window_limits: dict[int, list[tuple[float, float]]] = {}
        self.free_from = np.zeros(problem.n_nodes)  # per node: appending from here always fits
        self.sched = Schedule.empty(problem.n_tasks)
        self.allowed: list[np.ndarray] = []  # every node a task may use (for the rules)
        self.consider: list[np.ndarray] = []  # the nodes the heuristic scans (a shortlist on large pools)
        self.optimistic_cost_s: np.ndarray | None = None  # PEFT's table (tasks x nodes), set by its rule
        banned = np.fromiter(opt.banned, dtype=np.int64) if opt.banned else None
        for i in range(problem.n_tasks):
            nodes = opt.candidates[i] if opt.candidates is not None and i in opt.candidates else problem.eligible(i)
            short = problem.candidates(i, SHORTLIST) if len(nodes) > LARGE_POOL and opt.candidates is None else nodes
            if banned is not None:
                nodes = nodes[~np.isin(nodes, banned)]
                short = short[~np.isin(short, banned)]
            self.allowed.append(nodes)
            self.consider.append(short)
        if opt.lookahead:
            self.fastest_rt = np.array([float(np.min(self.runtimes(i, a))) if len(a) else 0.0
                                        for i, a in enumerate(self.allowed)])
            self.peer_bw = problem.links.peer_bandwidth()
        for i, reps in opt.fixed.items():
            for r in reps:
                start = r.start if self.q is None else math.floor(r.start * self.scale + ROUNDING_EPS)
                end = r.end if self.q is None else math.ceil(r.end * self.scale - ROUNDING_EPS)
                self.sched.replicas[i].append(Replica(r.node, start, end, r.gang))
                for n in r.nodes:
                    self.occupy(n, start, end, problem.dag.tasks[i].gpus)

    def timeline(self, n: int) -> Timeline:
        tl = self.timelines.get(n)
        if tl is None:
            tl = self.timelines[n] = Timeline(int(self.p.nodes.gpus[n]))
        return tl

    def occupy(self, n: int, start: float, end: float, gpus: int) -> None:
        tl = self.timeline(n)
        tl.add(start, end, gpus)
        if gpus > 0:
            self.free_from[n] = tl.times[-1]  # after the last breakpoint no GPU is held

    def place_on(self, i: int, n: int) -> None:
        """Add a replica of task i on node n at the earliest time its data, its GPUs and the node's windows
        allow.

        Raises:
            WindowMissed: no window of the node holds the replica after its data arrives.
        """
        nodes = np.array([n])
        ready = float(self.ready(i, nodes)[0])
        rt = float(self.runtimes(i, nodes)[0])
        start = self.earliest_on(n, ready, rt, self.p.dag.tasks[i].gpus)
        if start == math.inf:
            raise WindowMissed(f"no availability window of node {self.p.nodes.ids[n]} holds the replica")
        self.place_at(i, n, start, rt)

    def place_at(self, i: int, n: int, start: float, runtime: float) -> None:
        """Add a replica of task i on node n at `start` (found by `earliest_on`: the caller vouches that it
        fits), running `runtime` (its runtime there, on the builder's clock)."""
        self.occupy(n, start, start + runtime, self.p.dag.tasks[i].gpus)
        self.sched.replicas[i].append(Replica(n, start, start + runtime))

    def earliest_on(self, n: int, ready: float, duration: float, gpus: int, latest: float = math.inf) -> float:
        """The earliest start >= `ready` on node `n` with `gpus` free for `duration` and inside one of its
        availability windows (inf when none, or none by `latest`).

        Window by window (in order of their starts), the GPU search stops where the replica would leave
        the window: the first start found is the earliest (a start in a later-starting window that an
        earlier one missed would have fit that earlier one too)."""
        if self.p.nodes.windows.of[n] is None:
            return self.timeline(n).earliest(ready, duration, gpus, latest)
        for lo, end in self.window_limits(n):
            start = max(ready, lo)
            if start > latest:
                return math.inf
            last = min(latest, end - duration)
            if start > last:
                continue
            found = self.timeline(n).earliest(start, duration, gpus, last)
            if found != math.inf and found + duration <= end:
                return found
            if latest <= end - duration:
                return math.inf  # `latest` bounded this search, and later windows start later
        return math.inf

    def window_fit(self, n: int, t: float, duration: float) -> float:
        """`Windows.fit` on the builder's clock: the earliest start >= `t` inside a window of node `n`, GPUs
        aside."""
        for lo, end in self.window_limits(n):
            s = max(t, lo)
            if s + duration <= end:
                return float(s)
        return math.inf

    def window_limits(self, n: int) -> list[tuple[float, float]]:
        """Node `n`'s windows on the builder's clock as (earliest start, latest end) pairs: in seconds, the
        end with `within`'s tolerance; in clock units, rounded inwards (`Windows.on_clock`)."""
        hit = self._window_limits.get(n)
        if hit is None:
            w = self.p.nodes.windows.of[n]
            if self.q is not None:
                hit = self.p.nodes.windows.on_clock(n, self.q)
            elif w is None:
                hit = [(0.0, math.inf)]
            else:
                hit = [(float(lo), tolerant_limit(float(hi))) for lo, hi in w]
            self._window_limits[n] = hit
        return hit

    def lookahead(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """Per candidate node, the least time after task i ends there until its slowest child could
        end: beside it on the same node, or elsewhere after the transfer at the best bandwidth. Under
        PEFT's rule: its optimistic cost table (the time until an exit can end)."""
        if self.optimistic_cost_s is not None:
            return self.up(self.optimistic_cost_s[i, nodes])  # type: ignore[return-value]
        look = np.zeros(len(nodes))
        for c, data in self.p.dag.children[i]:
            allowed = self.allowed[c]
            if not len(allowed):
                continue
            pos = np.minimum(np.searchsorted(allowed, nodes), len(allowed) - 1)
            same = np.where(allowed[pos] == nodes, self.runtimes(c, nodes), math.inf)
            remote = self.fastest_rt[c] + (self.up(data * 8.0 / self.peer_bw[nodes]) if data > 0 else 0.0)
            look = np.maximum(look, np.minimum(same, remote))
        return look

    def up(self, x: np.ndarray | float) -> np.ndarray | float:
        """Seconds to clock units, rounded up (exact seconds when there is no quantum)."""
        if self.q is None:
            return x
        return np.ceil(np.asarray(x) * self.scale - ROUNDING_EPS)

    def runtimes(self, i: int, nodes: np.ndarray) -> np.ndarray:
        return self.up(self.p.runtimes(i, nodes))  # type: ignore[return-value]

    def transfers(self, r: Replica, data_gb: float, nodes: np.ndarray) -> np.ndarray:
        """Seconds (on the builder's clock) to move a replica's result to each of `nodes`: from the nearest
        node of a gang."""
        out = self.up(self.p.links.transfers_from(r.node, data_gb, nodes))
        for n in r.gang[1:]:
            out = np.minimum(out, self.up(self.p.links.transfers_from(n, data_gb, nodes)))
        return out

    def gang_start(self, gang: tuple[int, ...], ready: float, duration: float, gpus: int,
                   latest: float = math.inf) -> float:
        """The earliest start >= `ready` at which every node of `gang` has `gpus` free for `duration` inside
        one of its windows (inf when none, or none by `latest`)."""
        t = ready
        for _ in range(64 * len(gang)):  # each round moves t to a later breakpoint of some node
            starts = [self.earliest_on(n, t, duration, gpus, latest) for n in gang]
            later = max(starts)
            if later == math.inf or later <= t + EPS:
                return later
            t = later
        return math.inf

    def place_gang_on(self, i: int, gang: tuple[int, ...]) -> None:
        """Add a replica of gang task i on all of `gang`, at the earliest common start (`place_on`'s rules).

        Raises:
            WindowMissed: no common start exists inside the nodes' windows.
        """
        nodes = np.array(gang, dtype=np.int64)
        ready = float(self.ready(i, nodes).max())
        rt = float(self.up(np.array([self.p.replica_runtime(i, gang)]))[0])
        gpus = self.p.dag.tasks[i].gpus
        start = self.gang_start(gang, ready, rt, gpus)
        if start == math.inf:
            raise WindowMissed(f"no common window of nodes {', '.join(self.p.nodes.ids[n] for n in gang)} holds "
                               f"the replica")
        for n in gang:
            self.occupy(n, start, start + rt, gpus)
        self.sched.replicas[i].append(Replica(gang[0], start, start + rt, gang))

    def ready(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """For each candidate node, when the data of every parent can be there (for a parent with a quorum
        k, the k-th copy to arrive), and the data the task reads from sites."""
        out = np.full(len(nodes), self.release)
        if self.p.dag.reads[i]:
            out = np.maximum(out, self.up(self.p.read_ready(i, nodes)))
        for parent, data in self.p.dag.parents[i]:
            reps = self.sched.replicas[parent]
            k = self.p.quorum[parent]
            if data <= 0:
                out = np.maximum(out, quorum_arrival((r.end for r in reps), k))
                continue
            if len(reps) < k:
                arrive = np.full(len(nodes), math.inf)
            elif k == 1:
                arrive = self.arrivals(reps, data, nodes).min(axis=0)
            else:
                arrive = np.sort(self.arrivals(reps, data, nodes), axis=0)[k - 1]
            out = np.maximum(out, arrive)
        return out

    def arrivals(self, reps: list[Replica], data_gb: float, nodes: np.ndarray) -> np.ndarray:
        """When each replica's result (rows) can be on each of `nodes` (columns), on the builder's clock."""
        if any(len(r.gang) > 1 for r in reps):
            return np.array([r.end + self.transfers(r, data_gb, nodes) for r in reps])
        ends = np.array([r.end for r in reps])
        moves = self.up(self.p.links.transfers_between(np.array([r.node for r in reps], dtype=np.int64), data_gb, nodes))
        return ends[:, None] + moves
