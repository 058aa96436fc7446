"""Placing one task: which nodes to scan, which replica set keeps the rules reachable, and
where each replica goes (earliest finish for makespan, cheapest within a sub-deadline for
cost), by insertion into the nodes' idle GPU time."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...domain import Objective
from ...domain.rules import (
    COST_EPS_USD,
    PROBABILITY_EPS,
    add_completion,
    completion_counts,
    meets,
    task_success,
    weight_needed,
)
from ...errors import Infeasible, InfeasibleReason
from ...problem import Problem
from ..schedule import Replica
from .builder import Builder
from .gang_placement import place_gang
from .timeline import EPS

MAX_TIES = 64  # equally good candidates examined for a cheaper tie-break
MAX_EVALS = 16  # exact insertion searches per replica choice (beyond the best append position)


@dataclass
class Candidates:
    """The nodes a task's next replica may take, with what each would mean for it."""

    nodes: np.ndarray
    ready: np.ndarray  # when the parents' data can be there
    runtime: np.ndarray  # on the builder's clock
    cost: np.ndarray  # USD (plus congestion prices in cost mode)
    look: np.ndarray | None  # makespan lookahead: least time after the end until the slowest child ends
    write: np.ndarray | None = None  # makespan: the slowest of the task's writes from each node
    found: dict[int, tuple[float, float]] = field(default_factory=dict)  # position -> (start, searched up to)

    def earliest(self, b: Builder, k: int, gpus: int, latest: float) -> float:
        """`Builder.earliest_on` for position `k` (a start found there, or inf when none is by `latest`),
        remembered across the replicas of one task: between two of them only the node the first took
        changes, and it leaves the candidates. A start found stays the answer (where a lower `latest` would
        hide it, it cannot win: it ends after the best finish); a search that found none up to a bound is
        not repeated under a lower one."""
        hit = self.found.get(k)
        if hit is not None and (hit[0] != math.inf or latest <= hit[1]):
            return hit[0]
        start = b.earliest_on(int(self.nodes[k]), float(self.ready[k]), float(self.runtime[k]), gpus, latest)
        self.found[k] = (start, latest)
        return start


class _ReplicaPicker:
    """The replica-set rules while replicas are picked one by one: distinct spread values, the
    replica count, and `min_success` (failure weights), each kept reachable after every pick."""

    def __init__(self, p: Problem, i: int, nodes: np.ndarray, chosen: list[int]) -> None:
        self.required = p.required[i]
        self.count = len(chosen)
        self.codes = p.spread_of(i)[nodes]
        self.need_w = self.weight_needed(p, i)
        # without a weight to reach the weights decide nothing: zeros spare computing them
        self.weights = p.weights(i, nodes) if self.need_w > 0 else np.zeros(len(nodes))
        # the best weight per spread value among candidates: what the remaining replicas could still add
        self.code_values, self.code_of = np.unique(self.codes, return_inverse=True)
        self.best_w = np.full(len(self.code_values), -1.0)
        np.maximum.at(self.best_w, self.code_of, self.weights)
        self.best_of = self.best_w[self.code_of]  # per candidate, the best weight of its spread value
        self.code_used = np.zeros(len(self.code_values), dtype=bool)
        self.n_used = 0  # spread values taken
        self.have_w = sum(p.weights(i, np.array(chosen, dtype=np.int64)).tolist()) if self.need_w > 0 and chosen else 0.0
        self.mask = np.ones(len(nodes), dtype=bool)

    @staticmethod
    def weight_needed(p: Problem, i: int) -> float:
        """The failure weight the replicas need together (0 without `min_success`)."""
        min_success = p.levels[i].min_success
        return weight_needed(min_success) if min_success is not None else 0.0

    @property
    def wants_more(self) -> bool:
        return self.count < self.required or self.have_w < self.need_w - PROBABILITY_EPS

    def pickable(self) -> np.ndarray:
        """Positions that keep enough distinct values for the remaining slots and min_success reachable."""
        slots_left = self.required - self.count - 1
        if len(self.code_values) - self.n_used - 1 < slots_left:
            return np.zeros(0, dtype=np.int64)
        if self.need_w <= 0:
            return np.flatnonzero(self.mask)
        rest_w = float(self.best_w[~self.code_used].sum())
        reach = self.have_w + self.weights + (rest_w - self.best_of)
        return np.flatnonzero(self.mask & (reach >= self.need_w - PROBABILITY_EPS))

    def take(self, k: int) -> None:
        self.count += 1
        if not self.code_used[self.code_of[k]]:
            self.n_used += 1
        self.code_used[self.code_of[k]] = True
        self.have_w += float(self.weights[k])
        self.mask &= self.codes != self.codes[k]


class _QuorumPicker(_ReplicaPicker):
    """The same rules for a level with a quorum k > 1 and `min_success`: the probability that at least k
    replicas complete is not a sum of weights, so reachability is checked exactly, pick by pick: with
    this candidate and the most reliable node of every spread value still free, can it be met?"""

    def __init__(self, p: Problem, i: int, nodes: np.ndarray, chosen: list[int]) -> None:
        super().__init__(p, i, nodes, chosen)
        self.p, self.i = p, i
        self.target = p.levels[i].min_success
        self.completion = p.completion(i, nodes)
        self.chosen_p = p.completion(i, np.array(chosen, dtype=np.int64)).tolist()  # the chosen replicas' completions

    @staticmethod
    def weight_needed(p: Problem, i: int) -> float:
        return 0.0  # at-least-k success is checked exactly, not by weights

    @property
    def wants_more(self) -> bool:
        return self.count < self.required or not meets(task_success(self.chosen_p, self.p.quorum[self.i]), self.target)

    def pickable(self) -> np.ndarray:
        slots_left = self.required - self.count - 1
        if len(self.code_values) - self.n_used - 1 < slots_left:
            return np.zeros(0, dtype=np.int64)
        free = np.flatnonzero(self.mask)
        if not len(free):
            return free
        firsts = self.best_of_each_value(free)
        if self._all_reach(free, free[firsts]):
            return free
        return self._reaching(free, self.code_of[free][firsts], free[firsts])

    def best_of_each_value(self, free: np.ndarray) -> np.ndarray:
        """Where in `free` (positions) the most reliable candidate of each spread value is (the first
        position among equals), by ascending spread value."""
        codes = self.code_of[free]
        order = np.lexsort((free, -self.completion[free], codes))
        ordered = codes[order]
        return order[np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))]

    def _all_reach(self, free: np.ndarray, best: np.ndarray) -> bool:
        """Whether every free candidate reaches the target, by a bound that is cheap when it holds: the
        others of any candidate (the best of every other spread value) dominate Y, the best of every value
        but the most reliable one (swapping the candidate's value for that one only raises completions), so
        the weakest candidate with the chosen replicas and part of Y meeting it is enough (added best first,
        it stops as soon as it does)."""
        q = self.p.quorum[self.i]
        weakest = float(self.completion[free].min())
        counts = completion_counts(self.chosen_p, q)
        for x in [None, *sorted(self.completion[best].tolist(), reverse=True)[1:]]:
            if x is not None:
                counts = add_completion(counts, x)
            if weakest * (counts[q - 1] + counts[q]) + (1.0 - weakest) * counts[q] >= self.target - PROBABILITY_EPS:
                return True
        return False

    def _reaching(self, free: np.ndarray, codes: np.ndarray, best: np.ndarray) -> np.ndarray:
        """The free candidates (positions `free`) with which the chosen replicas, the candidate and the best
        (`best`) of every other spread value (`codes`, ascending) meet the target. With X the completions of
        all but the candidate's value, success = p_k P(X >= q-1) + (1 - p_k) P(X >= q): the counts without
        each spread value come from prefix and suffix counts, once per pick."""
        q = self.p.quorum[self.i]
        probs = self.completion[best].tolist()
        prefix = [completion_counts(self.chosen_p, q)]
        for x in probs:
            prefix.append(add_completion(prefix[-1], x))
        suffix = [completion_counts([], q)]
        for x in reversed(probs):
            suffix.append(add_completion(suffix[-1], x))
        suffix.reverse()
        # entries q-1 and q of merge_counts(prefix[j], suffix[j + 1]) for every j at once (the same sums in
        # the same order)
        before, after = np.array(prefix[:-1]), np.array(suffix[1:])
        last_but_one, last = np.zeros(len(probs)), np.zeros(len(probs))
        for a in range(q + 1):
            for c in range(q + 1):
                if a + c == q - 1:
                    last_but_one += before[:, a] * after[:, c]
                elif a + c >= q:
                    last += before[:, a] * after[:, c]
        at = np.searchsorted(codes, self.code_of[free])  # each free candidate's spread value's row
        p_k = self.completion[free]
        success = p_k * (last_but_one[at] + last[at]) + (1.0 - p_k) * last[at]
        return free[success >= self.target - PROBABILITY_EPS]

    def take(self, k: int) -> None:
        super().take(k)
        self.chosen_p.append(float(self.completion[k]))


def place_task(b: Builder, i: int, sub_deadline: float | None) -> None:
    """Place every replica task `i` still needs (see the module docstring).

    Raises
    ------
    Infeasible
        No replica set on the allowed nodes meets the replica, spread and min_success rules.
    """
    p, opt = b.p, b.opt
    if p.gang_size(i) > 1:
        place_gang(b, i, sub_deadline)
        return
    task = p.dag.tasks[i]
    chosen = [r.node for r in b.sched.replicas[i]]
    nodes = _scan_nodes(b, i, chosen)
    if len(nodes) == 0 and len(chosen) >= p.required[i]:
        return
    looks = opt.lookahead or b.optimistic_cost_s is not None
    cand = _candidates(b, i, nodes, with_look=looks and opt.objective == Objective.MAKESPAN and not chosen)
    quorum_rule = p.quorum[i] > 1 and p.levels[i].min_success is not None
    picker = (_QuorumPicker if quorum_rule else _ReplicaPicker)(p, i, nodes, chosen)
    pref = opt.preferred.get(i) if opt.preferred else None
    while picker.wants_more:
        idx = picker.pickable()
        if len(idx) == 0:
            raise Infeasible([InfeasibleReason(
                rule="spread", tasks=[task.id],
                message=f"{task.id}: no replica set on allowed nodes meets the replica, spread and "
                        f"min_success rules")])
        k, start = choose(b, i, cand, idx, sub_deadline, pref)
        if start == math.inf:
            raise Infeasible([InfeasibleReason(
                rule="window", tasks=[task.id],
                message=f"{task.id}: no availability window of its nodes holds a replica once its data is there")])
        cand.look = None  # only the first replica feeds the children
        n = int(nodes[k])
        end = start + float(cand.runtime[k])
        b.occupy(n, start, end, task.gpus)
        b.sched.replicas[i].append(Replica(n, start, end))
        picker.take(k)


class FirstFinishes:
    """Where a ready task's first replica could finish on each node it scans, were it placed now (inf: no
    window holds it), kept up to date as other tasks take nodes: what the dynamic rules (Sufferage)
    compare between ready tasks. A placement changes only the finishes on the nodes it took."""

    def __init__(self, b: Builder, i: int) -> None:
        self.b, self.i = b, i
        self.nodes = _scan_nodes(b, i, [r.node for r in b.sched.replicas[i]])
        cand = _candidates(b, i, self.nodes, with_look=False)
        self.ready, self.runtime = cand.ready, cand.runtime
        self.finish = np.array([self._on(k) for k in range(len(self.nodes))])

    def _on(self, k: int) -> float:
        rt = float(self.runtime[k])
        return self.b.earliest_on(int(self.nodes[k]), float(self.ready[k]), rt, self.b.p.dag.tasks[self.i].gpus) + rt

    def taken(self, nodes: set[int]) -> None:
        """Nodes that just received a replica: their finishes again."""
        for k in np.flatnonzero(np.isin(self.nodes, np.fromiter(nodes, dtype=np.int64))).tolist():
            self.finish[k] = self._on(k)

    def loss_s(self) -> float:
        """Second-best finish minus best (inf with fewer than two finite finishes)."""
        if len(self.finish) < 2:
            return math.inf
        best, second = np.partition(self.finish, 1)[:2]
        return float(second - best) if math.isfinite(second) else math.inf


def _scan_nodes(b: Builder, i: int, chosen: list[int]) -> np.ndarray:
    """The nodes to scan for task `i`: its shortlist plus the nodes holding a parent's data (all allowed
    nodes when the shortlist cannot meet the replica rules), without the nodes and spread values used."""
    p = b.p
    nodes = b.consider[i]
    if len(nodes) < len(b.allowed[i]):
        near = np.array(sorted({r.node for pp, _ in p.dag.parents[i] for r in b.sched.replicas[pp]}), dtype=np.int64)
        near = near[np.isin(near, b.allowed[i])] if len(near) else near
        nodes = np.union1d(nodes, near)
        if not shortlist_suffices(p, i, nodes, chosen):
            nodes = b.allowed[i]
    if chosen:
        codes = p.spread_of(i)
        keep = ~np.isin(nodes, np.array(chosen)) & ~np.isin(codes[nodes], codes[np.array(chosen)])
        nodes = nodes[keep]
    return nodes


def _candidates(b: Builder, i: int, nodes: np.ndarray, with_look: bool) -> Candidates:
    p = b.p
    cost = p.costs(i, nodes)
    if b.opt.congestion_usd_per_gpu_s is not None:
        cost = cost + b.opt.congestion_usd_per_gpu_s[nodes] * p.dag.tasks[i].gpus * p.runtimes(i, nodes)
    write = None
    if p.dag.writes[i] and b.opt.objective == Objective.MAKESPAN:
        write = b.up(p.write_delays(i, nodes).max(axis=0))
    return Candidates(nodes=nodes, ready=b.ready(i, nodes), runtime=b.runtimes(i, nodes), cost=cost,
                      look=b.lookahead(i, nodes) if with_look else None, write=write)


def shortlist_suffices(p: Problem, i: int, nodes: np.ndarray, kept: list[int]) -> bool:
    """Can the replica count, spread and min_success be met from `nodes` alone?"""
    best = p.best_replica_set(i, nodes)
    if len(best) + len(kept) < p.required[i]:
        return False
    level = p.levels[i]
    if level.min_success is None:
        return True
    return meets(p.success(i, [*kept, *best]), level.min_success)


def choose(b: Builder, i: int, cand: Candidates, idx: np.ndarray, sub_deadline: float | None,
           pref: set[int] | None) -> tuple[int, float]:
    """The candidate (position in `cand.nodes`) to take among `idx`, and its start time.

    Cost mode takes the cheapest that finishes within the sub-deadline (when one does); otherwise
    the earliest finish (plus the lookahead, when given) wins, a preferred node and then the
    cheaper breaking ties.
    """
    if b.opt.objective == Objective.COST:
        found = _cheapest(b, i, cand, idx, sub_deadline)
        if found is not None:
            return found
    return _earliest(b, i, cand, idx, pref)


def _cheapest(b: Builder, i: int, cand: Candidates, idx: np.ndarray,
              sub_deadline: float | None) -> tuple[int, float] | None:
    ready, rt, cost = cand.ready, cand.runtime, cand.cost
    gpus = b.p.dag.tasks[i].gpus
    order = idx[np.lexsort((ready[idx] + rt[idx], np.round(cost[idx], 9)))]
    examined = 0
    best: tuple[float, float, int, float] | None = None
    for k in order.tolist():
        if sub_deadline is not None and ready[k] + rt[k] > sub_deadline + EPS:
            continue
        if best is not None and cost[k] > best[0] + COST_EPS_USD:
            break
        latest = sub_deadline - float(rt[k]) + EPS if sub_deadline is not None else math.inf
        start = b.earliest_on(int(cand.nodes[k]), float(ready[k]), float(rt[k]), gpus, latest)
        finish = start + float(rt[k])
        examined += 1
        if start == math.inf:  # no window (or none by the sub-deadline) holds it here
            continue
        if sub_deadline is None or finish <= sub_deadline + EPS:
            option = (float(cost[k]), finish, k, start)
            if best is None or option[:2] < best[:2]:
                best = option
        if examined >= 4 * MAX_TIES and best is not None:
            break
        if examined >= 16 * MAX_TIES:
            break
    return (best[2], best[3]) if best is not None else None


def _append_in_windows(b: Builder, nodes: np.ndarray, idx: np.ndarray, append: np.ndarray, rt: np.ndarray,
                       tail: np.ndarray) -> tuple[int, float]:
    """The candidate whose append position, moved into one of its node's windows, finishes first (the
    lowest position on ties), and that start; windows are looked up only while they could still win."""
    floor = append + tail[idx]
    best: tuple[float, int, float] | None = None  # (finish, position, start)
    for j in np.argsort(floor, kind="stable").tolist():
        if best is not None and floor[j] > best[0]:
            break
        k = int(idx[j])
        start = b.window_fit(int(nodes[k]), float(append[j]), float(rt[k]))
        if best is None or (start + float(tail[k]), j) < best[:2]:
            best = (start + float(tail[k]), j, start)
    assert best is not None
    return int(idx[best[1]]), best[2]


def _earliest(b: Builder, i: int, cand: Candidates, idx: np.ndarray, pref: set[int] | None) -> tuple[int, float]:
    nodes, ready, rt, cost = cand.nodes, cand.ready, cand.runtime, cand.cost
    gpus = b.p.dag.tasks[i].gpus
    tail = rt if cand.look is None else rt + cand.look  # what follows the start on that node
    if cand.write is not None:
        tail = tail + cand.write  # the task's writes count in the makespan
    order = idx[np.argsort(ready[idx] + tail[idx], kind="stable")]

    def key(k: int, start: float) -> tuple[float, int, float]:  # (finish [+ lookahead], 0 if preferred, cost)
        return start + float(tail[k]), 0 if pref is not None and int(nodes[k]) in pref else 1, float(cost[k])

    best: tuple[float, int, float] | None = None
    best_k, best_start, ties = -1, math.inf, 0  # inf: no candidate fits (a window)
    if gpus > 0 and len(order) > MAX_EVALS:
        # appending after a node's last reservation always fits: the best such finish is achievable,
        # and only nodes whose lower bound beats it need the exact (insertion) search
        append = np.maximum(ready[idx], b.free_from[nodes[idx]])
        if b.p.nodes.windows.any:  # the append position must lie in a window too
            best_k, best_start = _append_in_windows(b, nodes, idx, append, rt, tail)
        else:
            a = int(np.argmin(append + tail[idx]))
            best_k, best_start = int(idx[a]), float(append[a])
        best = key(best_k, best_start)
    evaluated = 0
    for k in order.tolist():
        if best is not None and ready[k] + tail[k] > best[0] + EPS:
            break
        evaluated += 1
        if evaluated > MAX_EVALS and best is not None:
            break
        # a start after the best finish minus this runtime cannot win: the scan stops there
        latest = best[0] - float(tail[k]) + EPS if best is not None else math.inf
        start = cand.earliest(b, k, gpus, latest)
        if start == math.inf:
            continue
        this = key(k, start)
        if best is None or _better(this, best):
            best, best_k, best_start = this, k, start
        if this[0] <= best[0] + EPS:
            ties += 1
            if ties > MAX_TIES:
                break
    return best_k, best_start


def _better(a: tuple[float, int, float], b: tuple[float, int, float]) -> bool:
    """Earlier finish wins; within EPS, a preferred node, then the cheaper one."""
    if a[0] < b[0] - EPS:
        return True
    if a[0] > b[0] + EPS:
        return False
    return (a[1], a[2]) < (b[1], b[2] - 1e-12)
