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

from ...domain.rules import ROUNDING_EPS, WHOLE_EPS, weight_needed
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
    tail: np.ndarray | None = None  # per task, units that must follow its end within the makespan (windows)

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
        for node, start, end in kept:
            s, e = math.floor(start / q + ROUNDING_EPS), math.ceil(end / q - ROUNDING_EPS)
            add(Slot(task=i, mandatory=True, nodes=np.array([node]), dur=np.array([e - s]),
                     weight=scaled_weights(problem, i, np.array([node])), fixed=(node, s, e)))
        if i in finished:
            continue
        nodes = allowed[i]
        if kept:
            codes = problem.spread_of(i)
            used = codes[np.array([k[0] for k in kept])]
            nodes = nodes[~np.isin(codes[nodes], used)]
        rt = problem.runtimes(i, nodes)
        units = rt / q
        if exact and np.any(np.abs(units - np.round(units)) > WHOLE_EPS):
            exact = False
        dur = np.ceil(units - ROUNDING_EPS).astype(np.int64)
        need = max(0, problem.required[i] - len(kept))
        extra = _extra_slots(problem, i, nodes, need, kept, success_target,
                             (replicas_at_least or {}).get(i, 0) - len(kept) - need)
        if need + extra == 0:
            continue
        solved.append(i)
        weight = scaled_weights(problem, i, nodes)
        for k in range(need + extra):
            add(Slot(task=i, mandatory=k < need, nodes=nodes, dur=dur, weight=weight))
    data = SolverData(problem=problem, quantum_s=q, horizon=math.ceil(horizon_s / q - ROUNDING_EPS), release=
                      math.ceil(release_s / q - ROUNDING_EPS), slots=slots, task_slots=task_slots, exact_clock=exact,
                      solved_tasks=solved)
    if exact:
        data.exact_clock = _transfers_exact(problem, q)
    return data


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
    if level.min_success is not None and len(nodes):
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
