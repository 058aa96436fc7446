"""Large neighbourhood search around a complete schedule, for instances whose whole
model is too big to improve within the time limit.

Rolling windows: tasks are taken in the order they start in the incumbent. A
window of them is placed again by CP-SAT, with every replica that starts before
the window fixed and the tasks after it left out of the model; each window task
carries its *tail*, the least time its descendants still need on their fastest
eligible nodes, so the window's objective is the makespan the rest could at best
reach. The tasks after the window are then placed again by the heuristic around
the fixed part. A complete schedule better than the incumbent (makespan then
cost, or cost within the deadline then makespan) replaces it.

Every candidate is built from a window solved under every rule of the model and
a heuristic completion that follows the same rules, so whatever the time limit
the result is valid and never worse than the incumbent.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ...domain import Objective
from ...domain.rules import DEADLINE_TOLERANCE_S, ROUNDING_EPS
from ...errors import Infeasible
from ...problem import Problem
from ..bounds import tails, write_tails
from ..heuristic import HeuristicSettings, heuristic_schedule, latest_finishes
from ..schedule import Replica, Schedule
from .data import build_data, clock_quantum
from .solve import CpSettings, Progress, SolveStatus, solve_cpsat

WINDOW_LITERALS = 3_000  # node literals in the first window's model; adapts to how the solves go
MIN_WINDOW_LITERALS, MAX_WINDOW_LITERALS = 600, 20_000
WINDOW_SECONDS = 2.0  # the most one window's solve may take


@dataclass
class LnsStats:
    windows: int = 0
    improved: int = 0
    wall_stopped: bool = False  # deterministic: the wall clock ran out before the deterministic budget


class _Budget:
    """Time left for the windows: wall-clock seconds, or (deterministic) the solver's own deterministic
    seconds, bounded by the wall clock all the same."""

    def __init__(self, seconds: float, deterministic: bool) -> None:
        self.t0, self.seconds, self.deterministic = time.monotonic(), seconds, deterministic
        self.spent_deterministic = 0.0
        self.wall_stopped = False

    def wall_left(self) -> float:
        return self.seconds - (time.monotonic() - self.t0)

    def left(self) -> float:
        if self.deterministic:
            if self.wall_left() <= 0.2:
                self.wall_stopped = True
                return 0.0
            return self.seconds - self.spent_deterministic
        return self.wall_left()


def improve(problem: Problem, incumbent: Schedule, allowed: list[np.ndarray], *, objective: Objective,
            deadline_s: float | None, time_limit_s: float, seed: int = 0, workers: int = 0,
            progress: Callable[[Progress], None] | None = None, deterministic: bool = False,
            cancel: threading.Event | None = None, completion_s: float = 0.0) -> tuple[Schedule, LnsStats]:
    """Improve a complete, valid `incumbent` by rolling windows until `time_limit_s` runs out
    or a whole pass over the schedule improves nothing (`deterministic`: the windows' solver
    time is counted in deterministic seconds, so a rerun takes the same steps). Each window is
    completed by the heuristic, which takes about `completion_s` (the warm start's own time): a
    window is only started when the wall clock leaves time for both.

    Returns the best schedule found (the incumbent itself when nothing better) and statistics.
    """
    budget = _Budget(time_limit_s, deterministic)
    stats = LnsStats()
    best, best_key = incumbent, _key(problem, incumbent, objective, deadline_s)
    q = clock_quantum(problem, allowed, max(incumbent.makespan(problem), 1e-9), sum(problem.required))
    tail_s = tails(problem, np.array([float(problem.runtimes(i, a).min()) if len(a) else 0.0
                                      for i, a in enumerate(allowed)]), own=write_tails(problem, allowed))
    literals = WINDOW_LITERALS
    sizes = np.array([len(a) * max(1, r) for a, r in zip(allowed, problem.required)], dtype=np.int64)
    def going() -> bool:
        if budget.wall_left() < 1.5 * completion_s + 0.2:
            budget.wall_stopped = budget.wall_stopped or deterministic
            return False
        return budget.left() > 0.2 and not (cancel is not None and cancel.is_set())

    while going():
        improved_in_pass = False
        position = 0
        while position < problem.n_tasks and going():
            order = _start_order(best)
            window = _window(order, position, sizes, literals)
            stats.windows += 1
            seconds = min(WINDOW_SECONDS, budget.left() - 0.1)
            candidate, solved_fully, spent = _solve_window(
                problem, best, allowed, order[:position], window, q, tail_s, objective, deadline_s,
                seconds if not deterministic else min(seconds, budget.wall_left() - 0.1), seed + stats.windows,
                workers, seconds if deterministic else None, cancel)
            budget.spent_deterministic += spent
            literals = int(min(MAX_WINDOW_LITERALS, literals * 1.25)) if solved_fully else \
                int(max(MIN_WINDOW_LITERALS, literals * 0.8))
            if candidate is not None:
                key = _key(problem, candidate, objective, deadline_s)
                if key < best_key:
                    best, best_key = candidate, key
                    stats.improved += 1
                    improved_in_pass = True
                    if progress is not None:
                        progress(Progress("lns", best_key[1], None, time.monotonic() - budget.t0))
            position += max(1, len(window) // 2)
        if not improved_in_pass:
            break
    stats.wall_stopped = budget.wall_stopped
    return best, stats


def _key(problem: Problem, s: Schedule, objective: Objective, deadline_s: float | None) -> tuple[int, float, float]:
    """Smaller is better; a schedule that misses the deadline loses to any that meets it."""
    late = 1 if deadline_s is not None and s.makespan(problem) > deadline_s + DEADLINE_TOLERANCE_S else 0
    if objective == Objective.MAKESPAN:
        return late, round(s.makespan(problem), 9), round(s.cost(problem), 9)
    return late, round(s.cost(problem), 9), round(s.makespan(problem), 9)


def _start_order(s: Schedule) -> list[int]:
    """Tasks by their first replica's start (parents always come before their children)."""
    first = [min((r.start for r in reps), default=math.inf) for reps in s.replicas]
    ends = [min((r.end for r in reps), default=math.inf) for reps in s.replicas]
    return sorted(range(len(s.replicas)), key=lambda i: (first[i], ends[i], i))


def _window(order: list[int], position: int, sizes: np.ndarray, literals: int) -> list[int]:
    out, total = [], 0
    for i in order[position:]:
        if out and total + int(sizes[i]) > literals:
            break
        out.append(i)
        total += int(sizes[i])
    return out


def _solve_window(problem: Problem, best: Schedule, allowed: list[np.ndarray], before: list[int], window: list[int],
                  q: float, tail_s: np.ndarray, objective: Objective, deadline_s: float | None, seconds: float,
                  seed: int, workers: int, deterministic_s: float | None,
                  cancel: threading.Event | None) -> tuple[Schedule | None, bool, float]:
    """Re-place `window` with CP-SAT, then the tasks after it with the heuristic. Returns the
    complete schedule (None when the window found nothing), whether the solve was optimal, and the
    deterministic seconds it used."""
    if seconds <= 0.05:
        return None, False, 0.0
    in_window = set(window)
    cut_s = min(r.start for i in window for r in best.replicas[i])
    parents = {pp for i in window for pp, _ in problem.dag.parents[i]}
    fixed = {i: [(r.node, r.start, r.end) for r in best.replicas[i]] for i in before
             if i in parents or any(r.end > cut_s for r in best.replicas[i])}
    finished = set(range(problem.n_tasks)) - in_window
    horizon_s = max(best.makespan(problem), deadline_s or 0.0)
    data = build_data(problem, allowed, horizon_s=horizon_s * 1.05 + 10 * q, release_s=cut_s, fixed=fixed,
                      finished=finished, quantum_s=q)
    if objective == Objective.COST and deadline_s is not None:
        # each window task ends by the latest finish the incumbent's later tasks allow, so the
        # completion keeps the slack it had
        tail_s = np.maximum(tail_s, deadline_s - latest_finishes(problem, best, deadline_s))
    data.tail = np.floor(tail_s / q + ROUNDING_EPS).astype(np.int64)
    hint = Schedule.empty(problem.n_tasks)
    for i in window:
        hint.replicas[i] = [Replica(r.node, s, s + data.units(r.end - r.start))
                            for r in best.replicas[i] for s in [math.ceil(r.start / q - ROUNDING_EPS)]]
    settings = CpSettings(objective=objective, deadline_s=deadline_s, time_limit_s=seconds, workers=workers,
                          seed=seed, tiebreak=False, deterministic_s=deterministic_s, cancel=cancel)
    out = solve_cpsat(data, hint, settings)
    spent = out.stats.get("deterministic_s", 0.0)
    if out.schedule is None:
        return None, False, spent
    placed = out.schedule.in_seconds(problem, q)
    keep = {i: list(best.replicas[i]) for i in before} | {i: placed.replicas[i] for i in window}
    opts = HeuristicSettings(objective=objective, deadline_s=deadline_s, fixed=keep, finished=set(keep))
    try:
        complete = heuristic_schedule(problem, opts)
    except Infeasible:
        return None, out.status == SolveStatus.OPTIMAL, spent
    return complete, out.status == SolveStatus.OPTIMAL, spent
