"""Lower bounds that hold for every valid plan, computed without search.

- Critical path: each task on its fastest allowed node, transfers free; reads,
  availability windows (the best node's earliest start that fits) and the fastest
  write delivery after the end count (version 1.1).
- Energy: tasks whose allowed nodes lie inside one node set need their work on
  that set's GPUs. A task's work is its least runtime x speed over its nodes (in
  reference-GPU-seconds, times GPUs and required replicas); the set delivers
  sum(GPUs x speed) of it per second. This holds for `duration_by_gpu` too, since
  runtime_n x speed_n >= the least such product on every node n.
- Fastest GPUs with tails: every task whose descendants still need at least
  θ seconds (their fastest runtimes along the longest chain) must have a replica
  ending by makespan − θ (only the first-ending replica feeds the children, so
  one replica per task counts, none when one already runs). That work, as above,
  on GPUs of the speeds in the pool,
  preemption allowed (the optimum of uniform machines: the k largest jobs on the
  k fastest GPUs, and all jobs on all GPUs), bounds the makespan minus θ. The
  same with heads (the least time before a task can start) in place of tails,
  where every new replica counts. Without preemption a set of jobs may need
  longer: a GPU of speed s runs k of them within T only if the k smallest fit in
  T x s; the least T at which the GPUs hold as many jobs as the set has (for the
  set's largest jobs) bounds it too. Montage-103 on 12 nodes: 21 jobs of 15-17 s
  against 8 fast GPUs give 15.8 s where splitting them gave 11.1 s.
- Spread groups (part of the energy bound): replicas that need distinct operators (networks,
  regions, countries) put at most one in the nodes of one value, so all but one of each task's
  replicas, and every task confined elsewhere, run on the other nodes: that work over their
  capacity, for the largest groups. With spread: operator, 2 replicas and one operator holding
  most GPUs, the other operators' GPUs carry one replica of every task.
- Required groups (part of the energy bound): a spread value G is required for a task when no
  replica set without G's nodes meets its rules (too few other values, or `min_success` out of
  reach even on the most reliable node of every other value). Every plan then puts a replica of
  it on G's nodes: the work of those replicas over G's capacity. With `min_success: 0.9999` and
  one operator whose node alone lifts the pair above it, that node carries every such task.
- Data arrival (`scheduler.engine.arrivals`): per task and node, the earliest start with each
  parent's data either crossing a link from a copy elsewhere or coming from a copy run on that
  node, those copies holding its GPUs one after another; a task's earliest end over its nodes,
  plus what must follow it, bounds the makespan. Where heavy data joins at a task over slow
  links, the critical path (transfers free) is far below every plan; this one is not.
- Cost: each required replica on its cheapest distinct allowed node.

Replicas counted: the required ones, or more when `min_success` needs more even on the
most reliable nodes (`Problem.least_replicas`).

With replanning, finished tasks keep their times and nothing new starts before
the release time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..domain.rules import meets
from ..problem import Problem
from .arrivals import arrival_heads


@dataclass
class Bounds:
    critical_path_s: float
    energy_s: float
    cost_usd: float
    critical_path: list[str]
    energy_tasks: list[str]
    fastest_gpus_s: float = 0.0
    fastest_gpus_tasks: list[str] | None = None
    data_arrival_s: float = 0.0
    data_arrival_tasks: list[str] | None = None  # the task whose end sets it, then its parents

    @property
    def makespan_s(self) -> float:
        return max(self.critical_path_s, self.energy_s, self.fastest_gpus_s, self.data_arrival_s)


def compute_bounds(
    problem: Problem,
    allowed: list[np.ndarray] | None = None,
    *,
    release_s: float = 0.0,
    finished_end_s: dict[int, float] | None = None,
    fixed_replicas: dict[int, int] | None = None,
    running_end_s: dict[int, float] | None = None,
) -> Bounds:
    """All the bounds of the module docstring.

    Parameters
    ----------
    problem : Problem
    allowed : list of arrays, optional
        Restricts task i's nodes (default: its eligible nodes).
    release_s : float
        Nothing new starts before this.
    finished_end_s : dict
        Finished tasks -> the earliest end of their replicas.
    fixed_replicas : dict
        Per task, replicas that already run and need no new GPU time.
    running_end_s : dict
        Unfinished tasks with such replicas -> the earliest of their ends.

    Examples
    --------
    >>> from scheduler.domain import Workload, NodePool
    >>> p = Problem(Workload(tasks=[{"id": "a", "duration_s": 60}, {"id": "b", "duration_s": 60}]),
    ...             NodePool(nodes=[{"id": "n", "gpus": 1}]))
    >>> b = compute_bounds(p)
    >>> b.critical_path_s, b.energy_s, b.makespan_s
    (60.0, 120.0, 120.0)
    """
    allowed = allowed if allowed is not None else [problem.eligible(i) for i in range(problem.n_tasks)]
    finished = finished_end_s or {}
    kept = fixed_replicas or {}
    n = problem.n_tasks
    fastest = _fastest_runtimes(problem, allowed, finished)
    start, finish, via = earliest_times(problem, fastest, release_s, finished, running_end_s, allowed)
    writes = write_tails(problem, allowed, skip=set(finished))
    cp = float((finish + writes).max()) if n else 0.0
    work = _work_left(problem, allowed, finished, kept)
    head = np.maximum(np.minimum(start, finish - np.where(np.isfinite(fastest), fastest, 0.0)), release_s)
    tail = tails(problem, fastest, skip=set(finished), own=writes)
    fresh = n > 0 and not finished and not kept and not running_end_s  # no copy runs yet
    head, arrival, arrival_tasks = _arrival_bound(problem, allowed, release_s, head, tail) if fresh else (head, 0.0, [])
    energy, energy_tasks = max(_energy_bound(problem, work, release_s),
                               _spread_bound(problem, allowed, work, release_s),
                               _required_group_bound(problem, allowed, work, release_s, head))
    speeds = _gpu_speeds(problem, allowed, work)
    fastest_gpus, fg_tasks = 0.0, []
    if len(speeds) and work.per_gpu and np.isfinite(cp):
        fastest_gpus, fg_tasks = _fastest_gpus_bound(problem, work.jobs, work.first_jobs, work.per_gpu, head, tail,
                                                     release_s, speeds)
    return Bounds(critical_path_s=cp, energy_s=energy, cost_usd=work.cost_usd,
                  critical_path=_path(problem, finish + writes, via) if n and np.isfinite(cp) else [],
                  energy_tasks=energy_tasks, fastest_gpus_s=fastest_gpus, fastest_gpus_tasks=fg_tasks,
                  data_arrival_s=arrival, data_arrival_tasks=arrival_tasks)


def _gpu_speeds(problem: Problem, allowed: list[np.ndarray], work: _WorkLeft) -> np.ndarray:
    """The speed of every GPU some task with work left may use, fastest first."""
    used = np.zeros(problem.n_nodes, dtype=bool)
    for nodes in {id(allowed[i]): allowed[i] for i in work.per_gpu}.values():  # tasks share cached eligibility arrays
        used[nodes] = True
    return np.sort(np.repeat(problem.nodes.speed[used], problem.nodes.gpus[used]))[::-1]


def _arrival_bound(problem: Problem, allowed: list[np.ndarray], release_s: float, head: np.ndarray,
                   tail: np.ndarray) -> tuple[np.ndarray, float, list[str]]:
    """Data arrival (`arrival_heads`): some replica of every task ends, at the earliest at its best node's
    head plus its runtime there, and what follows it (`tails`) comes after. Returns the heads raised to
    the least over each task's nodes, the largest such sum, and its task with its parents (0 and none
    when the bound does not apply)."""
    heads_runtimes = arrival_heads(problem, allowed, release_s)
    if heads_runtimes is None:
        return head, 0.0, []
    heads, runtimes = heads_runtimes
    ends = (heads + runtimes).min(axis=1) + tail
    if not np.all(np.isfinite(ends)):
        return head, 0.0, []  # a task no node may run: the static checks say so
    i = int(np.argmax(ends))
    return (np.maximum(head, heads.min(axis=1)), float(ends[i]),
            [problem.dag.ids[i], *(problem.dag.ids[q] for q, _ in problem.dag.parents[i])])


def _fastest_runtimes(problem: Problem, allowed: list[np.ndarray], finished: dict[int, float]) -> np.ndarray:
    """Each unfinished task's shortest runtime on its allowed nodes (inf with none; 0 when finished)."""
    fastest = np.zeros(problem.n_tasks)
    for i in range(problem.n_tasks):
        if i not in finished:
            nodes, m = allowed[i], problem.gang_size(i)
            if len(nodes) < m:
                fastest[i] = np.inf
            elif m == 1:
                fastest[i] = float(np.min(problem.runtimes(i, nodes)))
            else:  # a gang: the slowest node's share is at least the fastest's, the exchange at best bandwidth
                sync_s = problem.dag.tasks[i].sync_gb * 8.0 / problem.links.fastest_link_gbps()
                fastest[i] = float(np.min(problem.runtimes(i, nodes))) / m + sync_s
    return fastest


def _path(problem: Problem, finish: np.ndarray, via: list[int]) -> list[str]:
    """The chain of tasks behind the latest finish (the critical path), first task first."""
    path: list[str] = []
    k = int(np.argmax(finish))
    while k >= 0:
        path.append(problem.dag.ids[k])
        k = via[k]
    return path[::-1]


@dataclass
class _WorkLeft:
    """The GPU work no plan can avoid, per task, and each required replica on its cheapest node."""

    per_gpu: dict[int, float] = field(default_factory=dict)  # reference-GPU-seconds per GPU and replica
    jobs: dict[int, int] = field(default_factory=dict)  # GPUs x replicas still to run
    first_jobs: dict[int, int] = field(default_factory=dict)  # GPUs if no replica runs yet (the first must end)
    groups: dict[bytes, tuple[np.ndarray, float]] = field(default_factory=dict)  # node set -> (mask, work)
    members: dict[bytes, list[tuple[float, int]]] = field(default_factory=dict)  # node set -> (work, task)
    cost_usd: float = 0.0


def _work_left(problem: Problem, allowed: list[np.ndarray], finished: dict[int, float],
               kept: dict[int, int]) -> _WorkLeft:
    out = _WorkLeft()
    for i in range(problem.n_tasks):
        if i in finished:
            continue
        nodes = allowed[i]
        need = max(0, problem.least_replicas(i, nodes) - kept.get(i, 0))
        g, m = problem.dag.tasks[i].gpus, problem.gang_size(i)
        if need and g and len(nodes):
            # work in reference-GPU-seconds: on any node n, runtime * speed_n >= this; a gang replica is
            # m x g GPU jobs, each node holding its GPUs for at least its share (runtime / m)
            out.per_gpu[i] = float(np.min(problem.runtimes(i, nodes) * problem.nodes.speed[nodes])) / m
            out.jobs[i] = need * g * m
            out.first_jobs[i] = 0 if kept.get(i, 0) else g * m
        if len(nodes) < need * m or need == 0:
            if need and len(nodes) < need * m:
                out.cost_usd = np.inf
            continue
        # a gang replica costs at least the mean of its nodes' one-node costs; replicas use disjoint nodes
        costs = problem.costs(i, nodes)  # the need*m cheapest (a partition, not a sort, over 100,000 nodes)
        cheapest = costs if need * m >= len(costs) else np.partition(costs, need * m - 1)[:need * m]
        out.cost_usd += float(np.sum(np.sort(cheapest))) / m
        if g == 0:
            continue
        work = g * need * m * out.per_gpu[i]
        mask = np.zeros(problem.n_nodes, dtype=bool)
        mask[nodes] = True
        key = np.packbits(mask).tobytes()
        prev = out.groups.get(key)
        out.groups[key] = (mask, (prev[1] if prev else 0.0) + work)
        out.members.setdefault(key, []).append((work, i))
    return out


def _energy_bound(problem: Problem, work: _WorkLeft, release_s: float) -> tuple[float, list[str]]:
    """Per node set, the work of the tasks confined to it over its capacity; the largest, and its tasks."""
    energy, binding = 0.0, b""
    items = list(work.groups.items())
    for key, (mask, _) in items:
        inside = sum(w for _, (m, w) in items if not np.any(m & ~mask))
        end = _group_end(problem, mask, inside, release_s)
        if end > energy:
            energy, binding = end, key
    top = sorted(work.members.get(binding, []), reverse=True)[:10]
    return energy, [problem.dag.ids[i] for _, i in top]


SPREAD_GROUPS = 8  # per spread key, the groups (by GPU capacity) the spread bound tries


def _spread_bound(problem: Problem, allowed: list[np.ndarray], work: _WorkLeft, release_s: float
                  ) -> tuple[float, list[str]]:
    """Spread groups: a task whose replicas need distinct values of a key (operator, network, region,
    country) puts at most one replica in the nodes of one value G, so all but one of its replicas run
    outside G, as does every task confined to nodes outside G. That work over the capacity outside G
    bounds the makespan; tried for each key's `SPREAD_GROUPS` largest groups. Returns (end, tasks)."""
    keys = {problem.levels[i].spread_key for i in work.per_gpu if problem.levels[i].spread_key != "node"}
    best: tuple[float, list[str]] = (0.0, [])
    for key in sorted(keys):
        codes = problem.nodes.category.spread(key)
        spread = [i for i in work.per_gpu if problem.levels[i].spread_key == key and problem.gang_size(i) == 1
                  and work.jobs[i] >= 2 * problem.dag.tasks[i].gpus]
        capacity = np.bincount(codes, weights=problem.nodes.gpus * problem.nodes.speed)
        for value in np.argsort(-capacity, kind="stable")[:SPREAD_GROUPS].tolist():
            end, tasks = _outside_group(problem, allowed, work, spread, codes != value, release_s)
            if end > best[0]:
                best = (end, tasks)
    return best


def _outside_group(problem: Problem, allowed: list[np.ndarray], work: _WorkLeft, spread: list[int],
                   outside: np.ndarray, release_s: float) -> tuple[float, list[str]]:
    """The least end of the work that must run on the nodes of `outside` (see `_spread_bound`); each
    replica's work is its least over all its allowed nodes (tasks share eligibility arrays: each is
    looked at once)."""
    total, mask, members = 0.0, np.zeros(problem.n_nodes, dtype=bool), []
    seen: dict[int, tuple[bool, bool]] = {}  # id(allowed) -> (some node outside, some node inside)
    for i in spread:
        where = seen.get(id(allowed[i]))
        if where is None:
            out = outside[allowed[i]]
            where = seen[id(allowed[i])] = (bool(out.any()), not bool(out.all()))
            mask[allowed[i][out]] = True
        if not where[0]:
            return 0.0, []  # no replica set at all (the static checks name this task's spread)
        g = problem.dag.tasks[i].gpus
        w = (work.jobs[i] // g - where[1]) * g * work.per_gpu[i]
        total += w
        members.append((w, i))
    taken = set(spread)
    for key, (group_mask, _) in work.groups.items():
        if not np.any(group_mask & ~outside):  # confined outside the group: all of its work
            total += sum(wi for wi, i in work.members[key] if i not in taken)
            mask |= group_mask
    end = _group_end(problem, mask, total, release_s) if total > 0 else 0.0
    if end <= 0:
        return 0.0, []
    return end, [problem.dag.ids[i] for _, i in sorted(members, reverse=True)[:10]]


def _required_group_bound(problem: Problem, allowed: list[np.ndarray], work: _WorkLeft, release_s: float,
                          head: np.ndarray) -> tuple[float, list[str]]:
    """Required groups (module docstring): per (spread key, value), the work of one replica of every task
    that needs that value over the capacity of the value's nodes it may use. No replica starts before its
    task's `head` (the least time before any replica can start), so for every h the tasks with heads of at
    least h bound it too: h plus their work over the capacity (without windows; with them, from the release
    only). Tasks with replicas already running (replanning) are left out, as are gangs. Returns (end, tasks)."""
    load: dict[tuple[str, int], list] = {}  # (key, value) -> [work, node mask, [(work, task)]]
    for i in work.per_gpu:
        if not work.first_jobs[i] or problem.gang_size(i) > 1:
            continue
        key = problem.levels[i].spread_key
        codes = problem.spread_of(i)
        for value in _required_values(problem, i, allowed[i]):
            nodes = allowed[i][codes[allowed[i]] == value]
            g = problem.dag.tasks[i].gpus
            w = g * float(np.min(problem.runtimes(i, nodes) * problem.nodes.speed[nodes]))
            entry = load.setdefault((key, value), [0.0, np.zeros(problem.n_nodes, dtype=bool), []])
            entry[0] += w
            entry[1][nodes] = True
            entry[2].append((w, i))
    best: tuple[float, list[str]] = (0.0, [])
    for total, mask, members in load.values():
        end = _group_end(problem, mask, total, release_s)
        if end > 0 and not problem.nodes.windows.any:
            # the latest heads first: each suffix's head plus its work over the capacity
            capacity = _capacity(problem, mask)
            heads = np.array([head[i] for _, i in members])
            order = np.argsort(-heads, kind="stable")
            done = np.cumsum(np.array([w for w, _ in members])[order])
            end = max(end, float(np.max(heads[order] + done / capacity)))
        if end > best[0]:
            best = (end, [problem.dag.ids[i] for _, i in sorted(members, reverse=True)[:10]])
    return best


def _required_values(problem: Problem, i: int, nodes: np.ndarray) -> list[int]:
    """The spread values (codes of the task's spread key) every valid replica set of task `i` on `nodes`
    uses. Without value v, the best a plan can do is the most reliable node of every other value
    (`best_replica_set` minus v's). Removing a less reliable value leaves a set at least as reliable as
    removing a more reliable one, so the required values are a prefix of that set: the scan stops at the
    first value the task can do without."""
    best = problem.best_replica_set(i, nodes)
    required, target = problem.required[i], problem.levels[i].min_success
    if len(best) < required:
        return []  # no plan at all: the static checks say so
    codes = problem.spread_of(i)
    out = []
    for r in range(len(best)):
        rest = best[:r] + best[r + 1:]
        if len(rest) >= required and (target is None or meets(problem.success(i, rest), target)):
            break
        out.append(int(codes[best[r]]))
    return out


def _capacity(problem: Problem, mask: np.ndarray) -> float:
    """Sum over the GPUs of the nodes of `mask` of their speed: the reference-GPU-seconds they deliver per
    second."""
    return float(np.sum(problem.nodes.gpus[mask] * problem.nodes.speed[mask]))


def _group_end(problem: Problem, mask: np.ndarray, work: float, release_s: float) -> float:
    """The least time by which the nodes of `mask`, from `release_s` on, deliver `work` reference-GPU-seconds:
    over their capacity, and only inside their windows when nodes have them (0 when they have no capacity)."""
    capacity = _capacity(problem, mask)
    if capacity <= 0:
        return 0.0
    end = release_s + work / capacity
    if problem.nodes.windows.any:  # the nodes deliver only inside their windows
        end = _windowed_end(problem, mask, work, release_s, end)
    return end


def _windowed_end(problem: Problem, mask: np.ndarray, work: float, release_s: float, at_least: float) -> float:
    """The earliest T by which the nodes of `mask`, each working only inside its availability windows from
    `release_s` on, can deliver `work` reference-GPU-seconds (inf when they never can)."""
    rate = problem.nodes.gpus * problem.nodes.speed
    nodes = np.flatnonzero(mask & (rate > 0))
    windows = problem.nodes.windows
    always = float(sum(rate[n] for n in nodes.tolist() if windows.of[n] is None))
    rows = [(lo, hi, rate[n]) for n in nodes.tolist() if windows.of[n] is not None for lo, hi in windows.of[n]]
    lo_s, hi_s, row_rate = (np.array(c, dtype=float) for c in zip(*rows)) if rows else (np.zeros(0),) * 3
    lo_s = np.maximum(lo_s, release_s)

    def delivered(t: float) -> float:  # every window's part in [release_s, t], at its node's rate
        return always * max(0.0, t - release_s) + float(row_rate @ np.clip(np.minimum(hi_s, t) - lo_s, 0, None))

    if delivered(at_least) >= work:
        return at_least
    hi = max(at_least, 1.0)
    while delivered(hi) < work:
        hi *= 2
        if hi > 1e12:
            return math.inf
    lo = at_least
    for _ in range(BISECTION_STEPS):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if delivered(mid) >= work else (mid, hi)
    return lo  # delivered(lo) < work: a valid (slightly low) bound


def earliest_times(problem: Problem, runtime_s: np.ndarray, release_s: float = 0.0,
                   finished_end_s: dict[int, float] | None = None,
                   running_end_s: dict[int, float] | None = None,
                   allowed: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Per task, the earliest start and end with every task taking `runtime_s` (transfers free,
    nothing new before `release_s`, finished tasks ending when they did, tasks with replicas
    already running ending no later than the first of those), and the parent whose end sets the
    start (-1 for none): the forward pass of a critical path. With `allowed`, reads and
    availability windows hold starts back too (`Problem.start_floors`, the best of the nodes)."""
    finished = finished_end_s or {}
    running = running_end_s or {}
    limits = allowed is not None and problem.has_starts_limits
    n = problem.n_tasks
    start = np.zeros(n)
    end = np.zeros(n)
    via = [-1] * n
    for i in range(n):
        if i in finished:
            end[i] = finished[i]
            continue
        at = release_s
        for p, _ in problem.dag.parents[i]:
            if end[p] > at:
                at, via[i] = float(end[p]), p
        start[i], end[i] = at, at + runtime_s[i]
        if limits and len(allowed[i]) and problem.gang_size(i) > 1:
            # a gang: its reads still hold it back (windows are not counted: its runtime is the whole set's)
            if problem.dag.reads[i]:
                start[i] = max(at, float(problem.read_ready(i, allowed[i]).min()))
                end[i] = start[i] + runtime_s[i]
        elif limits and len(allowed[i]):
            floors = problem.start_floors(i, allowed[i], at)
            start[i] = max(at, float(floors.min()))
            end[i] = max(start[i] + runtime_s[i], float(np.min(floors + problem.runtimes(i, allowed[i]))))
        if running.get(i, np.inf) < end[i]:
            end[i], via[i] = running[i], -1
    return start, end, via


def write_tails(problem: Problem, allowed: list[np.ndarray], skip: set[int] | None = None) -> np.ndarray:
    """Per task, the least time after its end until its writes are delivered (`Problem.write_tail`)."""
    out = np.zeros(problem.n_tasks)
    if problem.dag.has_writes:
        for i in range(problem.n_tasks):
            if not skip or i not in skip:
                out[i] = problem.write_tail(i, allowed[i])
    return out


def tails(problem: Problem, runtime_s: np.ndarray, skip: set[int] | None = None,
          own: np.ndarray | None = None) -> np.ndarray:
    """Per task, the longest chain of its descendants' `runtime_s` after it (transfers free), or its
    `own` tail (its writes' delivery, `write_tails`) when longer, the chain's last task's own included;
    tasks in `skip` (finished) add nothing."""
    skip = skip or set()
    out = np.zeros(problem.n_tasks) if own is None else own.astype(float).copy()
    for i in range(problem.n_tasks - 1, -1, -1):
        chain = max((runtime_s[c] + out[c] for c, _ in problem.dag.children[i] if c not in skip), default=0.0)
        out[i] = max(out[i], chain)
    return out


THRESHOLDS = 64  # head and tail values tried by the fastest-GPUs bound
COUNTING_SUBSETS = 8  # sizes of the sets of largest jobs the counting bound tries (and as many falls in size)
BISECTION_STEPS = 32  # from a known lower bound: the gap left is below 2^-32 of the start's
COUNTING_THRESHOLDS = 16  # of those, the values the counting bound is tried at


def _fastest_gpus_bound(problem: Problem, count: dict[int, int], first_count: dict[int, int],
                        works: dict[int, float], head: np.ndarray, tail: np.ndarray, release_s: float,
                        speeds: np.ndarray) -> tuple[float, list[str]]:
    """max over thresholds θ of θ + (preemptive optimum on uniform GPUs of the first-ending replicas
    of the tasks with tail >= θ: `first_count` jobs each), and the same over heads (all `count`
    jobs of the tasks with head >= θ, which start no earlier than `release_s` + θ)."""
    tasks = np.array(sorted(works), dtype=np.int64)
    w = np.array([works[i] for i in tasks])
    cum_speed = np.cumsum(speeds)
    speed_values, speed_gpus = np.unique(speeds, return_counts=True)
    best, best_set = 0.0, np.zeros(0, dtype=np.int64)
    for values, offset, jobs in ((tail[tasks], 0.0, first_count), (head[tasks] - release_s, release_s, count)):
        c = np.array([jobs[i] for i in tasks], dtype=np.int64)
        levels = np.unique(values)
        if len(levels) > THRESHOLDS:
            levels = np.unique(np.quantile(values, np.linspace(0, 1, THRESHOLDS), method="lower"))
        counting_every = max(1, len(levels) // COUNTING_THRESHOLDS)
        for at, theta in enumerate(levels):
            sel = values >= theta
            job_w = np.repeat(w[sel], c[sel])
            if not len(job_w):
                continue
            k = min(len(job_w), len(speeds))
            top = np.sort(job_w)[::-1][:k]
            span = max(float(np.max(np.cumsum(top) / cum_speed[:k])), float(job_w.sum()) / float(cum_speed[-1]))
            if at % counting_every == 0:
                span = _counting_span(job_w, speed_values, speed_gpus, span)
            if offset + theta + span > best:
                best, best_set = offset + float(theta) + span, tasks[sel]
    names = [problem.dag.ids[i] for i in best_set[np.argsort(-w[np.isin(tasks, best_set)])][:10]]
    return best, names


def _counting_span(job_w: np.ndarray, speed_values: np.ndarray, speed_gpus: np.ndarray, known: float = 0.0) -> float:
    """A lower bound on the time in which GPUs (`speed_gpus` of each speed in `speed_values`,
    ascending) run jobs of work `job_w` without preemption. A GPU of speed s that runs k jobs
    within T has T*s >= the sum of the k smallest works; so within the least feasible T the GPUs
    can hold, counted this way, as many jobs as there are. Small jobs fill that count cheaply, so
    it is applied to the m largest jobs alone, for a few m; the times come from a bisection and
    lie below the least such T. `known`, a lower bound found otherwise, starts the bisection (and is
    returned when the counting cannot beat it)."""
    ordered = np.sort(job_w)[::-1]
    top_sums = np.concatenate(([0.0], np.cumsum(ordered)))  # the m largest works sum to top_sums[m]
    drops = np.flatnonzero(ordered[1:] < 0.5 * ordered[:-1]) + 1  # where the job sizes fall off
    m = np.unique(np.concatenate((drops[:COUNTING_SUBSETS],
                                  np.geomspace(1, len(job_w), COUNTING_SUBSETS))).astype(np.int64))
    # the k smallest of the m largest sum to top_sums[m] - top_sums[m - k]
    high = top_sums[m] / speed_values[-1]  # the fastest GPU alone runs them all by `high`
    keep = high > known
    if not keep.any():
        return known
    m, high = m[keep], high[keep]
    low = np.full(len(m), known)
    for _ in range(BISECTION_STEPS):
        mid = (low + high) / 2
        reach = top_sums[m][:, None] - mid[:, None] * speed_values[None, :] * (1 + 1e-9)
        fits = m[:, None] - np.searchsorted(top_sums, reach, side="left")
        runs_all = (np.minimum(np.maximum(fits, 0), m[:, None]) * speed_gpus[None, :]).sum(axis=1) >= m
        high = np.where(runs_all, mid, high)
        low = np.where(runs_all, low, mid)
    return max(known, float(low.max()))
