"""A fast list-scheduling heuristic: HEFT-style upward ranks, insertion into idle
GPU time, and every placement rule of the contract.

It is the solver's warm start and the fallback for instances too large for the
exact model. Tasks are taken by decreasing upward rank (mean runtime over their
eligible nodes plus the longest mean-transfer path below them). Each replica
goes where it finishes earliest (``makespan``), or on the cheapest node that
meets a sub-deadline derived from a makespan-first run (``cost``), choosing
replica sets that keep `spread`, `min_success` and the replica count reachable.
A child replica may start once, for each parent, the earliest of that parent's
replicas has delivered its data (the contract's precedence rule). HEFT is myopic
about where the data goes next; `Options.lookahead` looks one step ahead at the
children (the planner tries both).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import numpy as np

from .errors import Infeasible, InfeasibleReason
from .model import Objective
from .policy import replica_success
from .problem import Problem
from .schedule import Replica, Schedule

EPS = 1e-9
MAX_TIES = 64  # equally good candidates examined for a cheaper tie-break
MAX_EVALS = 16  # exact insertion searches per replica choice (beyond the best append position)
LARGE_POOL = 4096  # above this many eligible nodes a task scans a shortlist (plus its parents' nodes)
SHORTLIST = 512
REFINE_ROUNDS = 3  # cost mode: re-derive sub-deadlines from the cheapest schedule so far


class Timeline:
    """GPU slots in use on one node over time, a step function; supports insertion."""

    __slots__ = ("cap", "times", "used")

    def __init__(self, capacity: int) -> None:
        self.cap = int(capacity)
        self.times: list[float] = [0.0]
        self.used: list[int] = [0]

    def earliest(self, ready: float, duration: float, gpus: int, latest: float = math.inf) -> float:
        """Earliest start >= `ready` with `gpus` free slots for `duration` seconds; ``inf`` when
        there is none, or none at or before `latest` (which bounds the scan)."""
        if gpus <= 0:
            return ready
        if gpus > self.cap:
            return math.inf
        times, used, cap = self.times, self.used, self.cap
        n = len(times)
        start = ready
        j = bisect_right(times, start) - 1
        while True:
            end = start + duration
            k = j
            blocked = -1
            while k < n and (k == j or times[k] < end - EPS):
                if used[k] + gpus > cap:
                    blocked = k
                    break
                k += 1
            if blocked < 0:
                return start
            if blocked + 1 >= n:
                return math.inf
            j = blocked + 1
            start = times[j]
            if start > latest:
                return math.inf

    def _split(self, t: float) -> int:
        times = self.times
        k = bisect_left(times, t - EPS)
        if k < len(times) and abs(times[k] - t) <= EPS:
            return k
        times.insert(k, t)
        self.used.insert(k, self.used[k - 1] if k > 0 else 0)
        return k

    def add(self, start: float, end: float, gpus: int) -> None:
        if gpus <= 0 or end <= start:
            return
        a = self._split(start)
        b = self._split(end)
        for k in range(a, b):
            self.used[k] += gpus


@dataclass
class Options:
    """What the heuristic is asked for (see `list_schedule`).

    Attributes:
        objective: ``makespan`` or ``cost``.
        deadline_s: with ``cost``, the makespan to stay within (best effort here).
        success_target: add replicas until the workflow's success probability reaches it.
        quantum_s: work on the solver's clock: times in whole units of this many seconds, every
            runtime and transfer rounded up (the schedule returned is then in units).
        release_s: nothing new starts before this time.
        fixed: replicas that stay as they are, per task index (replanning).
        banned: node indices that must not receive new replicas.
        candidates: per task index, the only nodes to consider (large instances).
        preferred: per task index, nodes of a base plan, chosen at equal quality (stability).
        congestion_usd_per_gpu_s: cost mode: per node, a price added to its GPU time when
            choosing (nodes the work cannot all fit on before the deadline cost more than their
            price); the schedule's cost stays the true one.
        lookahead: makespan mode: the first replica of a task goes where its end plus the least
            time until its slowest child could end (beside it, or after the transfer) is least.
            Cost mode: the makespan-first schedule behind the sub-deadlines is the better of a
            run with and one without it.
    """

    objective: Objective = Objective.MAKESPAN
    deadline_s: float | None = None
    success_target: float | None = None
    quantum_s: float | None = None
    release_s: float = 0.0
    fixed: dict[int, list[Replica]] = field(default_factory=dict)
    banned: set[int] = field(default_factory=set)
    candidates: dict[int, np.ndarray] | None = None
    preferred: dict[int, set[int]] | None = None
    finished: set[int] = field(default_factory=set)
    congestion_usd_per_gpu_s: np.ndarray | None = None
    lookahead: bool = False


class _Builder:
    def __init__(self, problem: Problem, opt: Options) -> None:
        self.p = problem
        self.opt = opt
        # with a quantum, the builder works in whole clock units (seconds / quantum), all exact in floats
        self.q = opt.quantum_s
        self.scale = 1.0 if self.q is None else 1.0 / self.q
        self.release = float(self.up(opt.release_s))
        self.timelines: dict[int, Timeline] = {}
        self.free_from = np.zeros(problem.n_nodes)  # per node: appending from here always fits
        self.sched = Schedule.empty(problem.n_tasks)
        self.allowed: list[np.ndarray] = []  # every node a task may use (for the rules)
        self.consider: list[np.ndarray] = []  # the nodes the heuristic scans (a shortlist on large pools)
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
            self.peer_bw = problem.peer_bandwidth()
        for i, reps in opt.fixed.items():
            for r in reps:
                start = r.start if self.q is None else math.floor(r.start * self.scale + 1e-9)
                end = r.end if self.q is None else math.ceil(r.end * self.scale - 1e-9)
                self.sched.replicas[i].append(Replica(r.node, start, end))
                self.occupy(r.node, start, end, problem.tasks[i].gpus)

    def timeline(self, n: int) -> Timeline:
        tl = self.timelines.get(n)
        if tl is None:
            tl = self.timelines[n] = Timeline(int(self.p.gpus[n]))
        return tl

    def occupy(self, n: int, start: float, end: float, gpus: int) -> None:
        tl = self.timeline(n)
        tl.add(start, end, gpus)
        if gpus > 0:
            self.free_from[n] = tl.times[-1]  # after the last breakpoint no GPU is held

    def place_on(self, i: int, n: int) -> None:
        """Add a replica of task i on node n at the earliest time its data and GPUs allow."""
        nodes = np.array([n])
        ready = float(self.ready(i, nodes)[0])
        rt = float(self.runtimes(i, nodes)[0])
        start = self.timeline(n).earliest(ready, rt, self.p.tasks[i].gpus)
        self.occupy(n, start, start + rt, self.p.tasks[i].gpus)
        self.sched.replicas[i].append(Replica(n, start, start + rt))

    def lookahead(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """Per candidate node, the least time after task i ends there until its slowest child could
        end: beside it on the same node, or elsewhere after the transfer at the best bandwidth."""
        look = np.zeros(len(nodes))
        for c, data in self.p.children[i]:
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
        return np.ceil(np.asarray(x) * self.scale - 1e-9)

    def runtimes(self, i: int, nodes: np.ndarray) -> np.ndarray:
        return self.up(self.p.runtimes(i, nodes))  # type: ignore[return-value]

    def ready(self, i: int, nodes: np.ndarray) -> np.ndarray:
        """For each candidate node, when the data of every parent can be there."""
        out = np.full(len(nodes), self.release)
        for parent, data in self.p.parents[i]:
            reps = self.sched.replicas[parent]
            if data <= 0:
                out = np.maximum(out, min(r.end for r in reps))
                continue
            arrive = np.full(len(nodes), math.inf)
            for r in reps:
                arrive = np.minimum(arrive, r.end + self.up(self.p.transfers_from(r.node, data, nodes)))
            out = np.maximum(out, arrive)
        return out


def upward_ranks(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """HEFT's upward rank: mean runtime plus the longest mean-transfer path to an exit."""
    mean_bw = float(np.mean(problem.bandwidth)) if problem.n_nodes else 1.0
    rank = np.zeros(problem.n_tasks)
    for i in range(problem.n_tasks - 1, -1, -1):
        nodes = allowed[i]
        mean_rt = float(np.mean(problem.runtimes(i, nodes))) if len(nodes) else problem.tasks[i].duration_s
        below = max((data * 8.0 / mean_bw + rank[c] for c, data in problem.children[i]), default=0.0)
        rank[i] = mean_rt + below
    return rank


def list_schedule(problem: Problem, options: Options | None = None,
                  sub_deadlines: np.ndarray | None = None) -> Schedule:
    """Place every task (with its replicas) and return the schedule.

    Raises:
        Infeasible: a task cannot be placed at all (no eligible node, spread or
            `min_success` out of reach, or the success target unreachable).
    """
    return _list_schedule(problem, options or Options(), sub_deadlines, retry_reputable=True)


def _most_reputable(problem: Problem, allowed: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Per task, its allowed nodes that are the most reputable of their spread value."""
    out = {}
    for i, nodes in enumerate(allowed):
        codes = problem.spread_of(i)[nodes]
        top = np.full(int(codes.max()) + 1 if len(codes) else 0, -np.inf)
        np.maximum.at(top, codes, problem.reputation[nodes])
        out[i] = nodes[problem.reputation[nodes] >= top[codes]]
    return out


def _list_schedule(problem: Problem, opt: Options, sub_deadlines: np.ndarray | None,
                   retry_reputable: bool) -> Schedule:
    b = _Builder(problem, opt)
    kept = {i: [r.node for r in reps] for i, reps in opt.fixed.items() if i not in opt.finished}
    reasons = problem.static_reasons(b.allowed, opt.finished, kept)
    if reasons:
        raise Infeasible(reasons)
    rank = upward_ranks(problem, b.consider)
    # equal ranks: the larger GPU demand first, as in packing (small tasks fit the gaps it leaves)
    order = sorted(range(problem.n_tasks), key=lambda i: (-rank[i], -problem.tasks[i].gpus * problem.required[i], i))
    for i in order:
        if i in opt.finished:
            continue
        _place_task(b, i, None if sub_deadlines is None else float(sub_deadlines[i]))
    if opt.success_target is not None:
        try:
            _reach_success(b, opt.success_target)
        except Infeasible:
            if not retry_reputable:
                raise
            # replicas went to a less reputable node of some spread value, which adding replicas cannot
            # mend: once more, on the most reputable node(s) of each value only (the most success any plan has)
            again = Options(**{**opt.__dict__, "candidates": _most_reputable(problem, b.allowed)})
            return _list_schedule(problem, again, sub_deadlines, retry_reputable=False)
    return b.sched


def _place_task(b: _Builder, i: int, sub_deadline: float | None) -> None:
    p, opt = b.p, b.opt
    task = p.tasks[i]
    nodes = b.consider[i]
    if len(nodes) < len(b.allowed[i]):
        # the shortlist, plus eligible nodes that already hold a parent's data
        near = np.array(sorted({r.node for pp, _ in p.parents[i] for r in b.sched.replicas[pp]}), dtype=np.int64)
        near = near[np.isin(near, b.allowed[i])] if len(near) else near
        nodes = np.union1d(nodes, near)
        if not _shortlist_suffices(p, i, nodes, [r.node for r in b.sched.replicas[i]]):
            nodes = b.allowed[i]
    chosen = [r.node for r in b.sched.replicas[i]]
    codes_all = p.spread_of(i)
    if chosen:
        keep = ~np.isin(nodes, np.array(chosen)) & ~np.isin(codes_all[nodes], codes_all[np.array(chosen)])
        nodes = nodes[keep]
    if len(nodes) == 0 and len(chosen) >= p.required[i]:
        return
    ready = b.ready(i, nodes)
    rt = b.runtimes(i, nodes)
    look = b.lookahead(i, nodes) if opt.lookahead and opt.objective == Objective.MAKESPAN and not chosen else None
    cost = p.costs(i, nodes)
    if opt.congestion_usd_per_gpu_s is not None:
        cost = cost + opt.congestion_usd_per_gpu_s[nodes] * task.gpus * p.runtimes(i, nodes)
    codes = codes_all[nodes]
    weights = np.minimum(p.failure_weight[nodes], 50.0)
    min_success = p.levels[i].min_success
    need_w = -math.log1p(-min(min_success, 1 - 1e-15)) if min_success is not None else 0.0
    # the best weight per spread value among candidates: what the remaining replicas could still add
    code_values, code_of = np.unique(codes, return_inverse=True)
    best_w = np.full(len(code_values), -1.0)
    np.maximum.at(best_w, code_of, weights)
    code_used = np.zeros(len(code_values), dtype=bool)
    have_w = sum(min(float(p.failure_weight[n]), 50.0) for n in chosen)
    pref = opt.preferred.get(i) if opt.preferred else None
    mask = np.ones(len(nodes), dtype=bool)
    while len(chosen) < p.required[i] or have_w < need_w - 1e-12:
        slots_left = p.required[i] - len(chosen) - 1
        ok = mask.copy()
        if slots_left > 0 or need_w > 0:
            # after this pick, enough distinct values must remain, and min_success must stay reachable
            n_codes_left = len(code_values) - int(code_used.sum()) - 1
            if n_codes_left < slots_left:
                ok &= False
            if need_w > 0:
                rest_w = float(best_w[~code_used].sum())
                reach = have_w + weights + (rest_w - best_w[code_of])
                ok &= reach >= need_w - 1e-12
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            raise Infeasible([InfeasibleReason(
                rule="spread", tasks=[task.id],
                message=f"{task.id}: no replica set on allowed nodes meets the replica, spread and "
                        f"min_success rules")])
        k, start = _choose(b, i, nodes, idx, ready, rt, cost, sub_deadline, pref, look)
        look = None  # only the first replica feeds the children
        n = int(nodes[k])
        end = start + float(rt[k])
        b.occupy(n, start, end, task.gpus)
        b.sched.replicas[i].append(Replica(n, start, end))
        chosen.append(n)
        code_used[code_of[k]] = True
        have_w += float(weights[k])
        mask &= codes != codes[k]


def _shortlist_suffices(p: Problem, i: int, nodes: np.ndarray, kept: list[int]) -> bool:
    """Can the replica count, spread and min_success be met from `nodes` alone?"""
    best = p.best_replica_set(i, nodes)
    if len(best) + len(kept) < p.required[i]:
        return False
    level = p.levels[i]
    if level.min_success is None:
        return True
    return replica_success(float(p.reputation[n]) for n in [*kept, *best]) >= level.min_success - 1e-12


def _choose(b: _Builder, i: int, nodes: np.ndarray, idx: np.ndarray, ready: np.ndarray, rt: np.ndarray,
            cost: np.ndarray, sub_deadline: float | None, pref: set[int] | None,
            look: np.ndarray | None = None) -> tuple[int, float]:
    """The candidate (position in `nodes`) to take and its start time. With `look` (makespan), the
    finish plus that lookahead decides."""
    gpus = b.p.tasks[i].gpus
    if b.opt.objective == Objective.COST:
        order = idx[np.lexsort((ready[idx] + rt[idx], np.round(cost[idx], 9)))]
        examined = 0
        best: tuple[float, float, int, float] | None = None
        for k in order.tolist():
            if sub_deadline is not None and ready[k] + rt[k] > sub_deadline + EPS:
                continue
            if best is not None and cost[k] > best[0] + 1e-9:
                break
            latest = sub_deadline - float(rt[k]) + EPS if sub_deadline is not None else math.inf
            start = b.timeline(int(nodes[k])).earliest(float(ready[k]), float(rt[k]), gpus, latest)
            finish = start + float(rt[k])
            examined += 1
            if sub_deadline is None or finish <= sub_deadline + EPS:
                cand = (float(cost[k]), finish, k, start)
                if best is None or cand[:2] < best[:2]:
                    best = cand
            if examined >= 4 * MAX_TIES and best is not None:
                break
            if examined >= 16 * MAX_TIES:
                break
        if best is not None:
            return best[2], best[3]
    tail = rt if look is None else rt + look  # what follows the start on that node
    lb = ready[idx] + tail[idx]
    order = idx[np.argsort(lb, kind="stable")]
    best: tuple[float, int, float] | None = None  # (finish [+ lookahead], 0 if preferred else 1, cost)
    best_k, best_start, ties = -1, 0.0, 0
    if gpus > 0 and len(order) > MAX_EVALS:
        # appending after a node's last reservation always fits: the best such finish is achievable,
        # and only nodes whose lower bound beats it need the exact (insertion) search
        append = np.maximum(ready[idx], b.free_from[nodes[idx]])
        a = int(np.argmin(append + tail[idx]))
        k = int(idx[a])
        best_k, best_start = k, float(append[a])
        best = (best_start + float(tail[k]), 0 if pref is not None and int(nodes[k]) in pref else 1, float(cost[k]))
    evaluated = 0
    for k in order.tolist():
        if best is not None and ready[k] + tail[k] > best[0] + EPS:
            break
        evaluated += 1
        if evaluated > MAX_EVALS and best is not None:
            break
        # a start after the best finish minus this runtime cannot win: the scan stops there
        latest = best[0] - float(tail[k]) + EPS if best is not None else math.inf
        start = b.timeline(int(nodes[k])).earliest(float(ready[k]), float(rt[k]), gpus, latest)
        if start == math.inf:
            continue
        key = (start + float(tail[k]), 0 if pref is not None and int(nodes[k]) in pref else 1, float(cost[k]))
        if best is None or _better(key, best):
            best, best_k, best_start = key, k, start
        if key[0] <= best[0] + EPS:
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


def _reach_success(b: _Builder, target: float) -> None:
    """Add replicas where they buy the most success per dollar until `target` holds."""
    p = b.p
    need = math.log(target) if target > 0 else -math.inf

    def task_log_success(i: int) -> float:
        fail = 1.0
        for r in b.sched.replicas[i]:
            fail *= 1.0 - float(p.reputation[r.node])
        return math.log1p(-fail) if fail < 1.0 else -math.inf

    logs = [task_log_success(i) for i in range(p.n_tasks)]
    total = sum(logs)
    while total < need - 1e-12:
        best: tuple[float, int, int, float, float] | None = None
        for i in range(p.n_tasks):
            if i in b.opt.finished:
                continue
            used_nodes = b.sched.nodes_of(i)
            codes = p.spread_of(i)
            used_codes = set(codes[used_nodes].tolist()) if used_nodes else set()
            nodes = b.allowed[i]
            free = nodes[~np.isin(codes[nodes], np.array(sorted(used_codes), dtype=np.int64))]
            if len(free) == 0:
                continue
            n = int(free[np.argmax(p.reputation[free])])
            fail = math.exp(logs[i]) if logs[i] > -math.inf else 0.0
            new_fail = (1.0 - fail) * (1.0 - float(p.reputation[n]))
            gain = (math.log1p(-new_fail) if new_fail < 1.0 else -math.inf) - logs[i]
            if gain <= 1e-15:
                continue
            score = gain / (1.0 + p.cost(i, n))
            if best is None or score > best[0]:
                best = (score, i, n, gain, p.cost(i, n))
        if best is None:
            weakest = sorted((logs[i], p.task_ids[i]) for i in range(p.n_tasks) if i not in b.opt.finished)[:5]
            raise Infeasible([InfeasibleReason(
                rule="success_target", tasks=[t for _, t in weakest],
                message=f"no plan reaches success probability {target:g}: every task already has replicas on "
                        f"its most reputable node of each spread value (reaches {math.exp(total):.6g})")])
        _, i, n, gain, _ = best
        b.place_on(i, n)
        logs[i] += gain
        total += gain


def retime(problem: Problem, schedule: Schedule, options: Options) -> Schedule:
    """Re-time a schedule on its own nodes, replicas in their start order, under
    `options` (e.g. exact seconds, or the solver's clock). Replicas listed in
    `options.fixed` stay as they are. The result is valid by construction, and
    with shorter or equal runtimes no replica starts later than before."""
    b = _Builder(problem, options)
    fixed_nodes = {i: {r.node for r in reps} for i, reps in options.fixed.items()}
    rows = sorted((r.start, i, r.node) for i, reps in enumerate(schedule.replicas) if i not in options.finished
                  for r in reps if r.node not in fixed_nodes.get(i, ()))
    for _, i, n in rows:
        if not all(b.sched.replicas[pp] for pp, _ in problem.parents[i]):
            raise ValueError("the schedule is not in precedence order")
        b.place_on(i, n)
    return b.sched


def sub_deadlines_from(schedule: Schedule, deadline_s: float) -> np.ndarray:
    """Per-task latest finish times: a makespan-first schedule's finishes stretched to the deadline."""
    makespan = schedule.makespan()
    scale = deadline_s / makespan if makespan > 0 else 1.0
    return np.array([max((r.end for r in reps), default=0.0) * scale for reps in schedule.replicas])


def latest_finishes(problem: Problem, schedule: Schedule, deadline_s: float) -> np.ndarray:
    """Per-task latest finish times that still let every descendant, at its runtime and transfers
    in `schedule`, end by the deadline (a backward pass; GPU contention left aside)."""
    n = problem.n_tasks
    latest = np.full(n, float(deadline_s))
    for i in range(n - 1, -1, -1):
        for c, data in problem.children[i]:
            reps_c = schedule.replicas[c]
            if not reps_c:
                continue
            rc = min(reps_c, key=lambda r: r.end)
            transfer = 0.0
            if data > 0 and schedule.replicas[i]:
                src = min(schedule.replicas[i], key=lambda r: r.end).node
                transfer = float(problem.transfers_from(src, data, np.array([rc.node]))[0])
            latest[i] = min(latest[i], latest[c] - (rc.end - rc.start) - transfer)
    return latest


def heuristic_schedule(problem: Problem, options: Options | None = None) -> Schedule:
    """The heuristic's best schedule for `options.objective`.

    For ``cost`` with a deadline, a makespan-first schedule gives each task a
    sub-deadline and every replica takes the cheapest node that meets it; three
    sets of sub-deadlines are tried: finishes stretched to the deadline, the latest
    finishes its descendants allow (`latest_finishes`), and halfway between. Without
    a deadline every replica takes its cheapest node. The cheapest of these and the
    makespan-first schedule that meets the deadline wins.

    Raises:
        Infeasible: see `list_schedule`.
    """
    opt = options or Options()
    if opt.objective == Objective.MAKESPAN:
        return list_schedule(problem, opt)
    fast_opt = Options(**{**opt.__dict__, "objective": Objective.MAKESPAN, "lookahead": False})
    fast = list_schedule(problem, fast_opt)
    if opt.lookahead:
        ahead = list_schedule(problem, Options(**{**fast_opt.__dict__, "lookahead": True}))
        if ahead.key(problem, Objective.MAKESPAN) < fast.key(problem, Objective.MAKESPAN):
            fast = ahead
    if opt.deadline_s is None:
        cheap = list_schedule(problem, opt)
        return min((cheap, fast), key=lambda s: s.key(problem, Objective.COST))
    stretched = sub_deadlines_from(fast, opt.deadline_s)
    latest = np.maximum(latest_finishes(problem, fast, opt.deadline_s), stretched)
    tries = [list_schedule(problem, opt, stretched)]
    if np.any(latest > stretched + EPS):
        # slack off the critical path: every task may end as late as its descendants allow
        tries += [list_schedule(problem, opt, latest), list_schedule(problem, opt, (stretched + latest) / 2)]
    meeting = [s for s in (*tries, fast) if s.makespan() <= opt.deadline_s + 1e-6]
    for _ in range(REFINE_ROUNDS if meeting else 0):
        # the cheapest schedule so far has its own (slower) runtimes: its latest finishes leave
        # other tasks the slack that is truly left
        base = min(meeting, key=lambda s: s.key(problem, Objective.COST))
        again = list_schedule(problem, opt, latest_finishes(problem, base, opt.deadline_s))
        if again.makespan() > opt.deadline_s + 1e-6 or again.key(problem, Objective.COST) >= \
                base.key(problem, Objective.COST):
            break
        meeting.append(again)
    pool = meeting or [fast]
    return min(pool, key=lambda s: s.key(problem, Objective.COST))
