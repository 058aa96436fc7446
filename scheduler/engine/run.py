"""One planning call's record, passed from stage to stage.

`Givens` is what is settled before any search, by index: each task's allowed
nodes (eligible, not banned), the replicas that stay (replanning), the finished
tasks, the base plan's nodes. `PlanningRun` adds what the stages find: the
bounds, the warm start, the candidate schedules, the exact solver's outcome and
the notes for the user. The translations from the planner's options to the
heuristic's and CP-SAT's settings live here, once.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from ..domain import Objective
from ..domain.rules import DEADLINE_TOLERANCE_S, meets, task_success
from ..problem import Problem
from .bounds import Bounds
from .cost_bound import CostBound
from .cpsat.results import SolveStatus
from .heuristic import HeuristicSettings
from .options import PlanOptions
from .schedule import Replica, Schedule, replicas_of_rows


@dataclass
class Givens:
    """What a call settles before searching, by task and node index."""

    allowed: list[np.ndarray]
    fixed: dict[int, list[Replica]]
    finished: set[int]
    finished_end: dict[int, float]
    kept_nodes: dict[int, list[int]]
    running_end: dict[int, float]
    preferred: dict[int, set[int]] | None
    banned: set[int]
    release_s: float

    @classmethod
    def of(cls, problem: Problem, opts: PlanOptions) -> Givens:
        index = problem.nodes.index
        c = opts.continuation
        banned_set = {index[n] for n in c.banned_nodes if n in index}
        banned = np.array(sorted(banned_set), dtype=np.int64)
        allowed = [problem.eligible(i) for i in range(problem.n_tasks)]
        if len(banned):
            allowed = [a[~np.isin(a, banned)] for a in allowed]
        fixed = {problem.dag.index[tid]: replicas_of_rows(problem, problem.dag.index[tid],
                                                          [(a.replica, index[a.node], a.start_s, a.end_s) for a in rows])
                 for tid, rows in c.keep.items()}
        finished = {problem.dag.index[t] for t in c.finished}
        preferred = None
        if opts.preferred is not None:
            preferred = {}
            for a in opts.preferred.assignments:
                i, n = problem.dag.index.get(a.task), index.get(a.node)
                if i is not None and n is not None:
                    preferred.setdefault(i, set()).add(n)
        return cls(
            allowed=allowed, fixed=fixed, finished=finished,
            finished_end={i: min((r.end for r in fixed.get(i, [])), default=c.release_s) for i in finished},
            kept_nodes={i: [n for r in reps for n in r.nodes] for i, reps in fixed.items() if i not in finished},
            running_end={i: min(r.end for r in reps) for i, reps in fixed.items() if i not in finished and reps},
            preferred=preferred, banned=banned_set, release_s=c.release_s)

    @property
    def kept_counts(self) -> dict[int, int]:
        return {i: len(r) for i, r in self.fixed.items()}

    def fixed_cost(self, problem: Problem) -> float:
        return sum(problem.replica_cost(i, r.nodes) for i, reps in self.fixed.items() for r in reps)


@dataclass
class SolverOutcome:
    """What the exact model said: its status, its bounds (None when it knew only some nodes per task),
    its schedule in exact seconds, and whether its clock was exact."""

    status: SolveStatus | None = None
    makespan_bound_s: float | None = None
    cost_bound_usd: float | None = None
    schedule: Schedule | None = None
    exact_clock: bool = False
    narrowed: bool = False


@dataclass
class PlanningRun:
    """The record the stages pass along (see the module docstring)."""

    problem: Problem
    options: PlanOptions
    givens: Givens
    started: float = field(default_factory=time.monotonic)
    bounds: Bounds | None = None
    deadline_cost: CostBound | None = None
    warm: Schedule | None = None  # the heuristic's best schedule (the solver's warm start)
    base: Schedule | None = None  # the base plan, re-timed, when it still keeps every rule
    candidates: list[Schedule] = field(default_factory=list)  # valid schedules that meet the deadline
    solver: SolverOutcome = field(default_factory=SolverOutcome)
    engine_used: str = "heuristic"
    heuristic_s: float = 0.0  # how long the first heuristic run took (what completing a window costs)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, problem: Problem, options: PlanOptions) -> PlanningRun:
        return cls(problem=problem, options=options, givens=Givens.of(problem, options))

    @property
    def cancelled(self) -> bool:
        return self.options.cancel is not None and self.options.cancel.is_set()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.options.time_limit_s - self.elapsed()

    def out_of_time(self, reserve_s: float = 0.0) -> bool:
        """Whether the time limit leaves less than `reserve_s` (never, for a deterministic run: its
        steps must not depend on the machine's speed)."""
        return not self.options.deterministic and self.remaining() < reserve_s

    def meets_deadline(self, s: Schedule) -> bool:
        return self.options.deadline_s is None or s.makespan(self.problem) <= self.options.deadline_s + DEADLINE_TOLERANCE_S

    def replica_rule_broken(self, i: int, reps: list[Replica]) -> str | None:
        """The replica rule task `i` breaks with `reps` (count, allowed nodes, spread, min_success), or None.
        Replicas kept from a running plan count wherever they are."""
        problem, g = self.problem, self.givens
        if problem.gang_size(i) > 1:
            return self._gang_rule_broken(i, reps)
        kept = set(g.kept_nodes.get(i, []))
        nodes = np.array([r.node for r in reps], dtype=np.int64)
        new = np.array([n for n in nodes.tolist() if n not in kept], dtype=np.int64)
        codes = problem.spread_of(i)[nodes]
        if len(reps) < problem.required[i]:
            return "replicas"
        if not np.isin(new, g.allowed[i]).all():
            return "eligibility"
        if len(np.unique(codes)) < len(codes):
            return "spread"
        level = problem.levels[i]
        if level.min_success is not None and not meets(problem.success(i, nodes), level.min_success):
            return "min_success"
        return None

    def _gang_rule_broken(self, i: int, reps: list[Replica]) -> str | None:
        """`replica_rule_broken` for a gang task: m distinct allowed nodes per replica, replicas on disjoint
        sets sharing no spread value, min_success with each replica completing when all its nodes do."""
        problem, g = self.problem, self.givens
        kept = set(g.kept_nodes.get(i, []))
        m, codes = problem.gang_size(i), problem.spread_of(i)
        if len(reps) < problem.required[i]:
            return "replicas"
        if any(len(set(r.nodes)) != m for r in reps):
            return "gang"
        new = np.array([n for r in reps for n in r.nodes if n not in kept], dtype=np.int64)
        if not np.isin(new, g.allowed[i]).all():
            return "eligibility"
        values = [{int(codes[n]) for n in r.nodes} for r in reps]
        if sum(len(v) for v in values) != len(set().union(*values)):
            return "spread"
        level = problem.levels[i]
        success = task_success([problem.replica_completion(i, r.nodes) for r in reps], problem.quorum[i])
        if level.min_success is not None and not meets(success, level.min_success):
            return "min_success"
        return None

    def admit(self, s: Schedule, source: str) -> bool:
        """Add `s` to the candidates when it meets the deadline and every replica rule and success target:
        a safety net under the searches (a schedule that fails it is a bug, said in a note)."""
        if not self.meets_deadline(s):
            return False
        warm = self.warm.replicas if self.warm is not None else [[] for _ in s.replicas]
        for i, reps in enumerate(s.replicas):
            if i in self.givens.finished or [r.node for r in reps] == [r.node for r in warm[i]]:
                continue  # the heuristic's replica sets hold the rules by construction
            broken = self.replica_rule_broken(i, reps)
            if broken is not None:
                self.notes.append(f"the {source} schedule breaks the {broken} rule of task "
                                  f"{self.problem.dag.ids[i]}: discarded (a bug worth reporting)")
                return False
        target = self.options.success_target
        if target is not None and not meets(s.success(self.problem), target):
            self.notes.append(f"the {source} schedule misses the success target: discarded (a bug worth reporting)")
            return False
        self.candidates.append(s)
        return True

    def quality(self, s: Schedule) -> tuple[float, float]:
        return s.key(self.problem, self.options.objective)

    def heuristic_settings(self, **changes: object) -> HeuristicSettings:
        """The heuristic's settings for this call (the one translation from `PlanOptions`)."""
        o, g = self.options, self.givens
        settings = HeuristicSettings(
            objective=o.objective, deadline_s=o.deadline_s, success_target=o.success_target, release_s=g.release_s,
            fixed=g.fixed, finished=g.finished, banned=g.banned, candidates=None, preferred=g.preferred,
            # cost mode: the makespan-first run that sets the sub-deadlines also tries it
            lookahead=o.objective == Objective.COST and lookahead_pays(self.problem),
            stop_at=None if o.deterministic else self.started + o.time_limit_s)
        return dataclasses.replace(settings, **changes) if changes else settings


LOOKAHEAD_MAX_PAIRS = 1_000_000  # makespan: (task, node) pairs up to which the lookahead heuristic also runs


# (task, node) pairs up to which the portfolio's other rules run: four more list schedules, which on
# small instances cost less than the bounds and checks (1.65x HEFT's time, median over SAGA's
# instances), on larger ones nearly as much as HEFT each (1,500 tasks x 60 nodes: 1.6 s -> 4.4 s),
# time CP-SAT's windows then use better
PORTFOLIO_MAX_PAIRS = 50_000


def portfolio_pays(problem: Problem) -> bool:
    """Whether to run the portfolio's other rules: the instance is small (`PORTFOLIO_MAX_PAIRS`
    (task, node) pairs) and has no gangs (their placement is its own)."""
    return problem.n_tasks * problem.n_nodes <= PORTFOLIO_MAX_PAIRS and not problem.has_gangs


def lookahead_pays(problem: Problem) -> bool:
    """Whether to run the lookahead heuristic too: some edge carries data, and the instance is small
    enough (`LOOKAHEAD_MAX_PAIRS`)."""
    return problem.n_tasks * problem.n_nodes <= LOOKAHEAD_MAX_PAIRS and problem.dag.moves_data
