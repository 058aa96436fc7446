"""A lower bound on the cost of any plan that meets a deadline: a linear relaxation.

Each required replica on its cheapest node (`bounds.py`) ignores the deadline:
under a tight one the cheap nodes cannot hold all the work in time. This bound
solves a linear program (GLOP) over x[i, n], the share of task i's replicas on
node n, that every valid plan meeting the deadline satisfies:

- only nodes where a replica can end by the deadline: head + runtime <= deadline,
  where head is the least time before the task can start (fastest chain of its
  ancestors, transfers free); for the replica that feeds the children (the one
  ending first) also runtime + tail <= deadline - head, tail being the least time
  its descendants still need;
- the replicas still needed, on distinct nodes (x <= 1);
- each node's GPU-seconds within its GPUs x (deadline - release);
- chains: along any path of tasks that need one new replica, the first-ending
  replicas' runtimes add up to at most the deadline minus the head of the path.
  Paths are added while the relaxation's solution breaks one (a few rounds).

Every plan gives a feasible point (each task's first-ending replica, and for
tasks with several, its replicas) of no greater cost, so the optimum is a lower
bound. GPU-less tasks cost nothing and are left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..domain.rules import DEADLINE_TOLERANCE_S
from ..problem import Problem
from .bounds import earliest_times, tails, write_tails

MAX_PAIRS = 150_000  # (task, node) variables above which the relaxation is not built
MAX_ROUNDS = 30  # rounds of chain cuts
CUTS_PER_ROUND = 50
SAFETY = 1e-6  # relative slack for the solver's tolerances


@dataclass
class CostBound:
    """The bound, and per node the price of its GPU time in the relaxation (USD per GPU-second,
    the capacity row's dual value): what one more GPU-second of that node before the deadline
    would save. Nodes whose capacity does not bind price at zero."""

    cost_usd: float
    congestion_usd_per_gpu_s: np.ndarray


def deadline_cost_bound(
    problem: Problem,
    allowed: list[np.ndarray],
    deadline_s: float,
    *,
    release_s: float = 0.0,
    finished_end_s: dict[int, float] | None = None,
    fixed_replicas: dict[int, int] | None = None,
    running_end_s: dict[int, float] | None = None,
    time_limit_s: float = 1.0,
) -> CostBound | None:
    """USD that the new replicas of any plan ending by `deadline_s` cost at least.

    `finished_end_s` maps finished tasks to the earliest end of their replicas; `fixed_replicas`
    counts replicas that already run (their cost is not included) and `running_end_s` the
    earliest end of those, per unfinished task. Returns None when the
    instance is too large for the relaxation (over `MAX_PAIRS` candidate pairs) or the
    solver does not reach an optimum, in which case no claim is made.
    """
    if problem.has_gangs:  # its per-node capacities read one replica as one node: no claim for gangs
        return None
    started = time.monotonic()
    finished = finished_end_s or {}
    kept = fixed_replicas or {}
    need = {i: problem.least_replicas(i, allowed[i]) - kept.get(i, 0) for i in range(problem.n_tasks)
            if i not in finished and problem.dag.tasks[i].gpus > 0 and len(allowed[i])}
    todo = [i for i, k in need.items() if k > 0]
    if sum(len(allowed[i]) for i in todo) > MAX_PAIRS:
        return None
    lp = _Relaxation(problem, allowed, deadline_s, release_s, finished, running_end_s)
    for i in todo:
        if not lp.add_task(i, need[i], i in kept):
            return None  # no plan meets the deadline; the other bounds say so and why
    lp.add_capacity()
    value = lp.solve_with_cuts(started + time_limit_s)
    if value is None:
        return None
    return CostBound(cost_usd=max(0.0, value * (1 - SAFETY)), congestion_usd_per_gpu_s=lp.congestion())


class _Relaxation:
    """The linear program of the module docstring, built task by task, then solved with chain cuts."""

    def __init__(self, problem: Problem, allowed: list[np.ndarray], deadline_s: float, release_s: float,
                 finished: dict[int, float], running_end_s: dict[int, float] | None) -> None:
        from ortools.linear_solver import pywraplp

        self.problem, self.allowed, self.release_s = problem, allowed, release_s
        self.finished, self.running_end_s = finished, running_end_s
        self.fastest = np.zeros(problem.n_tasks)
        for i in range(problem.n_tasks):
            if i not in finished and len(allowed[i]):
                self.fastest[i] = float(np.min(problem.runtimes(i, allowed[i])))
        self.limit_s = deadline_s * (1 + 1e-9) + DEADLINE_TOLERANCE_S  # the tolerance plans are held to
        self.head, self.end, _ = earliest_times(problem, self.fastest, release_s, finished, running_end_s, allowed)
        self.tail = tails(problem, self.fastest, skip=set(finished),
                          own=write_tails(problem, allowed, skip=set(finished)))
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.objective = self.solver.Objective()
        self.load: dict[int, list[tuple[object, float]]] = {}
        self.chain_terms: dict[int, list[tuple[object, float]]] = {}  # single new replica: runtime per variable
        self.capacity_rows: dict[int, object] = {}

    def add_task(self, i: int, need: int, has_kept: bool) -> bool:
        """Task i's variables and rows; False when no plan can meet the deadline with it."""
        problem, solver = self.problem, self.solver
        nodes = self.allowed[i]
        runtime = problem.runtimes(i, nodes)
        cost = problem.costs(i, nodes)
        head = problem.start_floors(i, nodes, self.head[i]) if problem.has_starts_limits else self.head[i]
        first = head + runtime + self.tail[i] <= self.limit_s
        single = need == 1 and not has_kept
        ok = first if single else head + runtime <= self.limit_s
        if ok.sum() < need or (not first.any() and not has_kept):
            return False
        count = solver.Constraint(need, solver.infinity())
        feeds = solver.Constraint(1, solver.infinity()) if not single and not has_kept else None
        gpus = problem.dag.tasks[i].gpus
        terms = []
        for node, r, c, f in zip(nodes[ok].tolist(), runtime[ok].tolist(), cost[ok].tolist(), first[ok].tolist()):
            x = solver.NumVar(0.0, 1.0, "")
            count.SetCoefficient(x, 1.0)
            if feeds is not None and f:
                feeds.SetCoefficient(x, 1.0)
            self.objective.SetCoefficient(x, c)
            self.load.setdefault(node, []).append((x, gpus * r))
            terms.append((x, r))
        if single:
            self.chain_terms[i] = terms
        return True

    def add_capacity(self) -> None:
        """Each node's GPU-seconds within its GPUs x (deadline - release)."""
        span = self.limit_s - self.release_s
        for node, items in self.load.items():
            row = self.capacity_rows[node] = self.solver.Constraint(0.0, float(self.problem.nodes.gpus[node]) * span)
            for x, w in items:
                row.SetCoefficient(x, w)
        self.objective.SetMinimization()

    def solve_with_cuts(self, until: float) -> float | None:
        """Solve, add the chains the solution breaks, again, for a few rounds or until the monotonic
        clock reaches `until`; the last optimum (or None)."""
        from ortools.linear_solver import pywraplp

        value = None
        seen: set[tuple[int, ...]] = set()
        for rounds_left in range(MAX_ROUNDS - 1, -1, -1):
            if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
                return None
            value = self.objective.Value()
            if not rounds_left or time.monotonic() > until:
                break  # the last thing done is a solve: values and duals are current
            if not self._add_cuts(seen):
                break
        return value

    def _add_cuts(self, seen: set[tuple[int, ...]]) -> int:
        runtime_now = self.fastest.copy()
        for i, terms in self.chain_terms.items():
            runtime_now[i] = sum(r * x.solution_value() for x, r in terms)
        added = 0
        for path in _long_paths(self.problem, runtime_now, self.release_s, self.finished, self.running_end_s,
                                self.limit_s):
            key = tuple(path)
            if key in seen:
                continue
            seen.add(key)
            first_task = path[0]
            constant = (self.head[first_task] if first_task in self.chain_terms else self.end[first_task]) + sum(
                self.fastest[i] for i in path[1:] if i not in self.chain_terms)
            row = self.solver.Constraint(-self.solver.infinity(), self.limit_s - constant)
            for i in path:
                for x, r in self.chain_terms.get(i, ()):
                    row.SetCoefficient(x, r)
            added += 1
            if added >= CUTS_PER_ROUND:
                break
        return added

    def congestion(self) -> np.ndarray:
        """Per node, the capacity row's dual value: USD per GPU-second of that node before the deadline."""
        out = np.zeros(self.problem.n_nodes)
        for node, row in self.capacity_rows.items():
            out[node] = max(0.0, -row.dual_value())
        return out


def _long_paths(problem: Problem, runtime_s: np.ndarray, release_s: float, finished: dict[int, float],
                running: dict[int, float] | None, deadline_s: float) -> list[list[int]]:
    """Chains of unfinished tasks that end after the deadline at `runtime_s`, latest first."""
    _, end, via = earliest_times(problem, runtime_s, release_s, finished, running)
    paths = []
    for k in np.argsort(-end).tolist():
        if end[k] <= deadline_s or len(paths) >= CUTS_PER_ROUND:
            break
        path = []
        while k >= 0 and k not in finished:
            path.append(k)
            k = via[k]
        paths.append(path[::-1])
    return paths
