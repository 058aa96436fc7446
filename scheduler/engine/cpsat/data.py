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

from ...domain.rules import ROUNDING_EPS, WHOLE_EPS, failure_weights, replicas_needed, weight_needed
from ...problem import Problem
from ...problem.gangs import EXHAUSTIVE

WEIGHT_SCALE = 1_000_000  # failure weights (`scheduler.domain.rules`) in millionths
MAX_SOLVER_GANGS = 32  # node sets per gang replica the model chooses among (unless it may take them all)


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
    group: int | None = None  # a gang replica's member: its first slot (`SolverData.gangs` has its node sets)
    costs: np.ndarray | None = None  # USD per candidate when not the task's one-node cost (a gang's member: 0)

    @property
    def is_fixed(self) -> bool:
        return self.fixed is not None


@dataclass
class GangChoice:
    """The node sets one gang replica chooses among (each sorted: member k of the replica takes the set's
    k-th node), with what each set means on the clock."""

    task: int
    sets: list[tuple[int, ...]]
    dur: np.ndarray  # units per set
    costs: np.ndarray  # USD per set
    weight: np.ndarray  # failure weight per set (its nodes all complete), in 1/WEIGHT_SCALE, rounded down
    windows: list[list[tuple[int, int]]] | None  # per set, the starts every member's windows allow (None: always)
    complete: bool = False  # the sets are every set of the gang's size among the task's nodes


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
    gangs: dict[int, GangChoice] = field(default_factory=dict)  # per gang replica (its first slot): its sets
    gangs_complete: bool = True  # every gang replica may take every node set of its size (the choice is exact)

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

    gang_choices: dict[int, GangChoice] = {}
    for i in range(problem.n_tasks):
        kept = fixed.get(i, [])
        list(map(add, _kept_slots(problem, i, kept, q)))
        if i in finished:
            continue
        if problem.gang_size(i) > 1:  # a choice among node sets per replica, the given ones (the heuristic's) first
            choice, replicas, whole = _gang_task(problem, i, allowed[i], (gangs or {}).get(i, []), q)
            exact = exact and whole
            for _ in range(replicas):
                gang_choices[len(slots)] = choice
                list(map(add, _member_slots(problem, i, choice, q, len(slots))))
            solved.append(i)
            continue
        nodes = _beside_kept(problem, i, allowed[i], kept)
        units = problem.runtimes(i, nodes) / q
        exact = exact and not np.any(np.abs(units - np.round(units)) > WHOLE_EPS)
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
                      solved_tasks=solved, gangs=gang_choices,
                      gangs_complete=all(c.complete for c in gang_choices.values()))
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


def solver_gangs(problem: Problem, i: int, nodes: np.ndarray, given: list[tuple[int, ...]]
                 ) -> tuple[list[tuple[int, ...]], bool]:
    """The node sets a replica of gang task i chooses among in the model: `given` (the warm start's), then
    `scheduler.problem.gangs.candidate_gangs` over `nodes`, at most `MAX_SOLVER_GANGS` in all unless
    every set of the gang's size is a candidate (then all of them). Returns the sets (each sorted) and
    whether they are every set of m of `nodes`."""
    m = problem.gang_size(i)
    every = math.comb(len(nodes), m) <= EXHAUSTIVE
    listed = problem.candidate_gangs(i) if nodes is problem.eligible(i) else problem.candidate_gangs(i, nodes)
    out: list[tuple[int, ...]] = []
    for g in [*given, *listed]:
        g = tuple(sorted(int(n) for n in g))
        if g not in out:
            out.append(g)
    if not every:
        out = out[:max(MAX_SOLVER_GANGS, len(given))]
    return out, every and len(out) >= math.comb(len(nodes), m)


def _gang_task(problem: Problem, i: int, nodes: np.ndarray, given: list[tuple[int, ...]], q: float
               ) -> tuple[GangChoice, int, bool]:
    """Gang task i's choice (`solver_gangs`, `gang_choice`), its replicas, and whether every set's runtime
    is whole on the clock."""
    sets, every = solver_gangs(problem, i, nodes, given)
    choice = gang_choice(problem, i, sets, q)
    choice.complete = every
    exact = np.array([problem.replica_runtime(i, g) / q for g in sets])
    return choice, max(problem.required[i], len(given)), not bool(np.any(np.abs(choice.dur - exact) > WHOLE_EPS))


def gang_choice(problem: Problem, i: int, sets: list[tuple[int, ...]], q: float) -> GangChoice:
    """What each of `sets` means for a replica of gang task i on the clock of quantum q."""
    dur = np.array([math.ceil(problem.replica_runtime(i, g) / q - ROUNDING_EPS) for g in sets], dtype=np.int64)
    costs = np.array([problem.replica_cost(i, g) for g in sets])
    weight = np.floor(failure_weights(np.array([problem.replica_completion(i, g) for g in sets])) *
                      WEIGHT_SCALE).astype(np.int64)
    windows = None
    if problem.nodes.windows.any:
        windows = []
        for g, d in zip(sets, dur.tolist()):
            per_node = _window_starts(problem, np.array(g, dtype=np.int64), np.full(len(g), d), q)
            windows.append(_common_starts(per_node) if per_node is not None else [(0, 2**40)])
    return GangChoice(task=i, sets=sets, dur=dur, costs=costs, weight=weight, windows=windows)


def _common_starts(per_node: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """The starts (inclusive intervals) every node's list allows."""
    common = per_node[0]
    for other in per_node[1:]:
        common = [(max(a, c), min(b, d)) for a, b in common for c, d in other if max(a, c) <= min(b, d)]
    return sorted(common)


def _member_slots(problem: Problem, i: int, choice: GangChoice, q: float, group: int) -> list[Slot]:
    """The m slots of one gang replica: member k's candidates are the k-th nodes of the sets, its duration
    per node the shortest set's (the model takes the chosen set's); times, reads and writes per node."""
    out = []
    m = problem.gang_size(i)
    for k in range(m):
        column = np.array([g[k] for g in choice.sets], dtype=np.int64)
        nodes = np.unique(column)
        dur = np.array([int(choice.dur[column == n].min()) for n in nodes.tolist()], dtype=np.int64)
        out.append(Slot(task=i, mandatory=True, nodes=nodes, dur=dur, weight=np.zeros(len(nodes), dtype=np.int64),
                        ready=_read_units(problem, i, nodes, q), writes=_write_units(problem, i, nodes, q),
                        group=group, costs=np.zeros(len(nodes))))
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
