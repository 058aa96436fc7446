"""What the CP-SAT model is built from: the clock and the replica slots.

The solver works on an integer clock of `quantum_s` seconds per unit. Every
runtime and transfer is rounded *up* to whole units, so any schedule that is
valid on the clock is valid in exact seconds (the plan is re-timed in exact
seconds afterwards). The quantum is a power of ten small enough that rounding
costs under 0.1% of the horizon even along a chain through every replica; inputs
given in whole multiples of it (e.g. integer seconds) are solved exactly.

Each task gets *slots*: replicas that already run and stay (replanning) as fixed
slots, then the required new replicas, then optional ones the solver may add
for `min_success` or a success target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...domain.rules import ROUNDING_EPS, WHOLE_EPS, replicas_needed, weight_needed
from ...problem import Problem

WEIGHT_SCALE = 1_000_000  # failure weights (`scheduler.domain.rules`) in millionths


@dataclass
class Slot:
    """One replica position of a task: fixed (node and times known) or to be decided."""

    task: int
    mandatory: bool
    nodes: np.ndarray  # candidate node indices (one node for a fixed slot)
    dur: np.ndarray  # runtime in units per candidate
    weight: np.ndarray  # failure weight per candidate, in 1/WEIGHT_SCALE, rounded down
    fixed: tuple[int, int, int] | None = None  # (node, start, end) in units
    ready: np.ndarray | None = None  # per candidate, units before the reads have arrived (None: no reads)
    writes: np.ndarray | None = None  # per write (rows) and candidate, units until the site has the data
    windows: list[list[tuple[int, int]]] | None = None  # per candidate, the allowed starts (None: always)
    group: int | None = None  # a gang replica: its slots (one per node, the nodes fixed) start together
    costs: np.ndarray | None = None  # USD per candidate when not the task's one-node cost (a gang's share)

    @property
    def is_fixed(self) -> bool:
        return self.fixed is not None


@dataclass
class SolverData:
    problem: Problem
    quantum_s: float
    horizon: int
    release: int
    slots: list[Slot]
    task_slots: list[list[int]]
    exact_clock: bool
    solved_tasks: list[int] = field(default_factory=list)  # tasks with at least one variable slot
    tail: np.ndarray | None = None  # per task, units that must follow its end within the makespan (LNS windows)
    conservative: bool = False  # some rule is encoded more strictly than the contract: no proof of optimality

    def units(self, seconds: float) -> int:
        return math.ceil(seconds / self.quantum_s - ROUNDING_EPS)

    def transfer_units(self, seconds: np.ndarray) -> np.ndarray:
        return np.ceil(seconds / self.quantum_s - ROUNDING_EPS).astype(np.int64)


def choose_quantum(horizon_s: float, n_replicas: int) -> float:
    """A power of ten: at least ~2000 x replicas steps over the horizon, at most 1 s... 1e6 s."""
    target = horizon_s / (2000.0 * max(n_replicas, 50))
    if target <= 0 or not math.isfinite(target):
        return 1e-3
    q = 10.0 ** math.floor(math.log10(target))
    return float(min(max(q, 1e-6), 1e6))


def build_data(
    problem: Problem,
    allowed: list[np.ndarray],
    *,
    horizon_s: float,
    release_s: float = 0.0,
    fixed: dict[int, list[tuple[int, float, float]]] | None = None,
    finished: set[int] | None = None,
    success_target: float | None = None,
    quantum_s: float | None = None,
    replicas_at_least: dict[int, int] | None = None,
    gangs: dict[int, list[tuple[int, ...]]] | None = None,
) -> SolverData:
    """Slots per task and the clock; `allowed[i]` are task i's candidate nodes. `replicas_at_least`
    gives tasks room for that many replicas in all (e.g. a base plan's, extra ones relaying data)."""
    fixed = fixed or {}
    finished = finished or set()
    n_rep = sum(problem.required) + sum(len(v) for v in fixed.values())
    q = quantum_s if quantum_s is not None else clock_quantum(problem, allowed, horizon_s, n_rep, release_s)
    exact = all(abs(t / q - round(t / q)) < WHOLE_EPS for reps in fixed.values() for _, a, b in reps for t in (a, b))
    slots: list[Slot] = []
    task_slots: list[list[int]] = [[] for _ in range(problem.n_tasks)]
    solved: list[int] = []

    def add(slot: Slot) -> None:
        task_slots[slot.task].append(len(slots))
        slots.append(slot)

    for i in range(problem.n_tasks):
        kept = fixed.get(i, [])
        for slot in _kept_slots(problem, i, kept, q):
            add(slot)
        if i in finished:
            continue
        if problem.gang_size(i) > 1:  # its node sets as given (the heuristic's), their times free
            for slot in _gang_slots(problem, i, (gangs or {}).get(i, []), q, len(slots)):
                add(slot)
            solved.append(i)
            continue
        nodes = _beside_kept(problem, i, allowed[i], kept)
        units = problem.runtimes(i, nodes) / q
        if exact and np.any(np.abs(units - np.round(units)) > WHOLE_EPS):
            exact = False
        need = max(0, problem.least_replicas(i, allowed[i]) - len(kept))
        extra = _extra_slots(problem, i, nodes, need, kept, success_target,
                             (replicas_at_least or {}).get(i, 0) - len(kept) - need)
        if need + extra:
            solved.append(i)
            for slot in _free_slots(problem, i, nodes, np.ceil(units - ROUNDING_EPS).astype(np.int64), q, need,
                                    extra):
                add(slot)
    data = SolverData(problem=problem, quantum_s=q, horizon=math.ceil(horizon_s / q - ROUNDING_EPS), release=
                      math.ceil(release_s / q - ROUNDING_EPS), slots=slots, task_slots=task_slots, exact_clock=exact,
                      solved_tasks=solved)
    if exact:
        data.exact_clock = _transfers_exact(problem, q)
    return data


def _free_slots(problem: Problem, i: int, nodes: np.ndarray, dur: np.ndarray, q: float, need: int,
                extra: int) -> list[Slot]:
    """Task i's slots to decide over `nodes`: `need` mandatory ones, then `extra` optional ones."""
    weight = scaled_weights(problem, i, nodes)
    ready = _read_units(problem, i, nodes, q)
    writes = _write_units(problem, i, nodes, q)
    windows = _window_starts(problem, nodes, dur, q)
    return [Slot(task=i, mandatory=k < need, nodes=nodes, dur=dur, weight=weight, ready=ready, writes=writes,
                 windows=windows) for k in range(need + extra)]


def _gang_slots(problem: Problem, i: int, gangs: list[tuple[int, ...]], q: float, first: int) -> list[Slot]:
    """One mandatory slot per node of each gang replica of task i, on that node, with the gang's runtime,
    grouped so that they start together; the group id is the first slot's position."""
    out = []
    gpus = problem.dag.tasks[i].gpus
    for gang in gangs:
        group = first + len(out)
        nodes = np.array(gang, dtype=np.int64)
        runtime = problem.replica_runtime(i, gang)
        dur = np.full(1, math.ceil(runtime / q - ROUNDING_EPS), dtype=np.int64)
        ready = _read_units(problem, i, nodes, q)
        writes = _write_units(problem, i, nodes, q)
        for k, n in enumerate(gang):
            one = nodes[k:k + 1]
            out.append(Slot(task=i, mandatory=True, nodes=one, dur=dur, weight=scaled_weights(problem, i, one),
                            ready=None if ready is None else ready[k:k + 1],
                            writes=None if writes is None else writes[:, k:k + 1],
                            windows=_window_starts(problem, one, dur, q), group=group,
                            costs=np.array([runtime / 3600.0 * gpus * float(problem.nodes.price[n])])))
    return out


def _beside_kept(problem: Problem, i: int, nodes: np.ndarray, kept: list[tuple[int, float, float]]) -> np.ndarray:
    """The nodes a new replica of task i may use beside the kept ones (distinct operators/regions)."""
    if not kept:
        return nodes
    codes = problem.spread_of(i)
    used = codes[np.array([k[0] for k in kept])]
    return nodes[~np.isin(codes[nodes], used)]


def _kept_slots(problem: Problem, i: int, kept: list[tuple[int, float, float]], q: float) -> list[Slot]:
    """Fixed slots for replicas that already run (node, start, end), on the clock of quantum q."""
    slots = []
    for node, start, end in kept:
        s, e = math.floor(start / q + ROUNDING_EPS), math.ceil(end / q - ROUNDING_EPS)
        one = np.array([node])
        slots.append(Slot(task=i, mandatory=True, nodes=one, dur=np.array([e - s]), weight=scaled_weights(problem, i, one),
                          fixed=(node, s, e), writes=_write_units(problem, i, one, q)))
    return slots


def _read_units(problem: Problem, i: int, nodes: np.ndarray, q: float) -> np.ndarray | None:
    if not problem.dag.reads[i]:
        return None
    return np.ceil(problem.read_ready(i, nodes) / q - ROUNDING_EPS).astype(np.int64)


def _write_units(problem: Problem, i: int, nodes: np.ndarray, q: float) -> np.ndarray | None:
    if not problem.dag.writes[i]:
        return None
    return np.ceil(problem.write_delays(i, nodes) / q - ROUNDING_EPS).astype(np.int64)


def _window_starts(problem: Problem, nodes: np.ndarray, dur: np.ndarray, q: float) -> list[list[tuple[int, int]]] | None:
    """Per candidate node, the start intervals (units, inclusive) that keep a replica of `dur` units inside
    one of its windows, rounded inwards; None when no candidate has windows."""
    windows = problem.nodes.windows
    if not windows.any or all(windows.of[int(n)] is None for n in nodes):
        return None
    out = []
    for n, d in zip(nodes.tolist(), dur.tolist()):
        starts = []
        for lo_u, hi_u in windows.on_clock(n, q):  # a start interval: from the window's start to its end - d
            last = hi_u - d if math.isfinite(hi_u) else 2**40
            if last >= lo_u:
                starts.append((int(lo_u), int(min(last, 2**40))))
        out.append(starts)
    return out


def scaled_weights(problem: Problem, i: int, nodes: np.ndarray) -> np.ndarray:
    """Task `i`'s failure weights on `nodes` in 1/WEIGHT_SCALE, rounded down (never overstating success)."""
    return np.floor(problem.weights(i, nodes) * WEIGHT_SCALE).astype(np.int64)


def clock_quantum(problem: Problem, allowed: list[np.ndarray], horizon_s: float, n_replicas: int,
                  release_s: float = 0.0) -> float:
    """The solver's clock: `choose_quantum`, or a coarser one on which every runtime and transfer
    is whole (exact, and easier to search)."""
    q = choose_quantum(horizon_s, n_replicas)
    for coarse in EXACT_QUANTA:
        if coarse > q and _runtimes_exact(problem, allowed, coarse) and _transfers_exact(problem, coarse) \
                and abs(release_s / coarse - round(release_s / coarse)) < ROUNDING_EPS and horizon_s / coarse < 1e9:
            return coarse
    return q


def _extra_slots(problem: Problem, i: int, nodes: np.ndarray, need: int, kept: list[tuple[int, float, float]],
                 success_target: float | None, at_least: int = 0) -> int:
    """Optional replica slots: enough that min_success holds even on weak nodes (at most 3), +1 for a
    success target, and `at_least`; never more than the distinct spread values left."""
    codes = problem.spread_of(i)[nodes]
    distinct = len(np.unique(codes)) if len(nodes) else 0
    extra = 0
    level = problem.levels[i]
    if level.min_success is not None and len(nodes) and problem.quorum[i] > 1:
        # the weakest candidate everywhere: as many replicas as that would need (at most 6 more)
        weakest = float(min(problem.completion(i, nodes).min(),
                            min((float(problem.completion(i, np.array([k[0]]))[0]) for k in kept), default=1.0)))
        count = replicas_needed(weakest, problem.quorum[i], level.min_success, distinct + len(kept))
        extra = min(max(0, (count or distinct + len(kept)) - len(kept) - need), 6)
    elif level.min_success is not None and len(nodes):
        need_w = weight_needed(level.min_success)
        have = sum(float(problem.weights(i, np.array([k[0]]))[0]) for k in kept)
        # weakest node of each spread value, weakest first: how many replicas could be needed at worst
        weakest: dict[int, float] = {}
        for c, w in zip(codes.tolist(), problem.weights(i, nodes).tolist()):
            weakest[c] = min(w, weakest.get(c, math.inf))
        total, count = have, 0
        for w in sorted(weakest.values()):
            if total >= need_w:
                break
            total += w
            count += 1
        extra = min(max(0, count - need), 3)
    if success_target is not None:
        extra += 1
    return max(0, min(max(extra, at_least), distinct - need))


EXACT_QUANTA = (1.0, 0.1, 0.01, 0.001)


def _runtimes_exact(problem: Problem, allowed: list[np.ndarray], q: float) -> bool:
    for i in range(problem.n_tasks):
        units = problem.runtimes(i, allowed[i]) / q
        if np.any(np.abs(units - np.round(units)) > WHOLE_EPS):
            return False
    return True


def _transfers_exact(problem: Problem, q: float) -> bool:
    """True when every possible transfer is a whole number of clock units."""
    bws = problem.links.distinct_bandwidths()
    for ps in problem.dag.parents:
        for _, data in ps:
            if data <= 0:
                continue
            for bw in bws:
                u = data * 8.0 / bw / q
                if abs(u - round(u)) > WHOLE_EPS:
                    return False
    return True
