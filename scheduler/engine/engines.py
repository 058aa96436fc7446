"""Engines: what improves the heuristic's warm start (stage 3 of the planner).

An engine is anything with a `name` and an ``improve(run)`` that adds valid
candidate schedules to the run (and, when it proves there is no plan, returns the
reasons). Two come with the library:

- `HeuristicEngine`: adds nothing (the heuristic's plan is the plan);
- `CpSatEngine`: OR-Tools CP-SAT warm-started from the heuristic, on the whole model
  or, above `PlanOptions.lns_above_literals` node literals, on windows of tasks
  (`scheduler.engine.cpsat.lns`); with ``narrow=True`` (``--engine auto``) a model
  above `PlanOptions.max_model_literals` keeps only each task's best candidate nodes.

`engine_for` maps the command line's names (`EngineChoice`) to them; a custom
engine object may be given as `PlanOptions.engine` directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..domain import Objective
from ..errors import InfeasibleReason
from ..problem import Problem
from .cpsat.results import SolveStatus
from .heuristic import retime
from .heuristic.builder import WindowMissed
from .options import EngineChoice
from .run import PlanningRun, SolverOutcome
from .schedule import Schedule
from .stages import deadline_reason

CANDIDATES_PER_TASK = 12
MIN_SOLVE_S = 0.3  # time left below which CP-SAT is not started
PREPARE_PER_HEURISTIC = 3.0  # CP-SAT starts only with this many times the first heuristic run's time left (plus
# MIN_SOLVE_S): narrowing, re-timing the hint and building the model cost several heuristic runs (10,000 tasks
# replanned in 5 s: 2 s of heuristic, 2 s of narrowing and re-timing, then a model not built in time)
DETERMINISTIC_SHARE = 0.6  # of the time limit, as CP-SAT's deterministic budget (deterministic runs)


@runtime_checkable
class Engine(Protocol):
    """Improves a run's warm start; see the module docstring."""

    name: str

    def improve(self, run: PlanningRun) -> list[InfeasibleReason]: ...


class HeuristicEngine:
    """The heuristic alone: nothing to add."""

    name = "heuristic"

    def improve(self, run: PlanningRun) -> list[InfeasibleReason]:
        return []


@dataclass(frozen=True)
class CpSatEngine:
    """CP-SAT warm-started from the heuristic (see the module docstring)."""

    narrow: bool = False
    name: str = "cp-sat"

    def improve(self, run: PlanningRun) -> list[InfeasibleReason]:
        problem, opts = run.problem, run.options
        if problem.has_gangs and (opts.success_target is not None or run.givens.fixed or any(
                problem.quorum[i] > 1 for i in range(problem.n_tasks) if problem.gang_size(i) > 1)):
            run.notes.append("gangs with a success target, a quorum or kept replicas: the heuristic's plan "
                             "stands (CP-SAT does not model them)")
            return []
        if run.out_of_time(MIN_SOLVE_S + PREPARE_PER_HEURISTIC * run.heuristic_s):
            run.notes.append(
                "the time limit was spent before CP-SAT could start: the heuristic's plan is the plan"
                if run.out_of_time(MIN_SOLVE_S) else
                f"the {run.remaining():.1f} s left are too few for CP-SAT on a problem this size (its model takes "
                f"several times the heuristic's {run.heuristic_s:.1f} s to build): the heuristic's plan is the plan")
            return []
        allowed = run.givens.allowed
        size = model_literals(problem, allowed)
        if problem.has_gangs and size > opts.lns_above_literals:  # the windows do not know gangs yet
            run.notes.append(f"large model with gangs ({size} node literals): the heuristic's plan stands")
            return []
        narrowed = self.narrow and size > opts.max_model_literals
        if narrowed:
            allowed = candidate_lists(problem, run, run.warm)
            run.notes.append(f"model narrowed to the best {CANDIDATES_PER_TASK} candidate nodes per task "
                             f"({size} node literals in full)")
        if _use_windows(run, size) and run.meets_deadline(run.warm):
            _improve_by_windows(run, allowed, size)
            return []
        return _solve_whole(run, allowed, narrowed)


def model_literals(problem: Problem, allowed: list[np.ndarray]) -> int:
    """Node literals of the whole model: per task, its nodes times its slots (a quorum level's slots are
    its fewest replicas plus room for two more, as `build_data` makes them)."""
    size = 0
    for i in range(problem.n_tasks):
        slots = max(1, problem.required[i])
        if problem.quorum[i] > 1 and len(allowed[i]):
            slots = max(slots, problem.least_replicas(i, allowed[i])) + 2
        size += len(allowed[i]) * slots
    return size


def engine_for(choice: EngineChoice | Engine) -> Engine:
    """The engine of a name (``auto``, ``cpsat``, ``heuristic``), or `choice` itself when it is an engine."""
    if isinstance(choice, Engine):
        return choice
    return {EngineChoice.AUTO: CpSatEngine(narrow=True), EngineChoice.CPSAT: CpSatEngine(),
            EngineChoice.HEURISTIC: HeuristicEngine()}[EngineChoice(choice)]


def _use_windows(run: PlanningRun, size: int) -> bool:
    """Windows instead of the whole model: a large fresh plan (replanning and stable what-if diffs
    keep the whole model, which knows kept replicas and preferred nodes)."""
    opts, g = run.options, run.givens
    return (size > opts.lns_above_literals and opts.success_target is None and not g.fixed and not g.finished
            and g.preferred is None and g.release_s == 0 and not g.banned)


def _improve_by_windows(run: PlanningRun, allowed: list[np.ndarray], size: int) -> None:
    from .cpsat.lns import improve

    opts = run.options
    better, stats = improve(run.problem, run.warm, allowed, objective=opts.objective, deadline_s=opts.deadline_s,
                            time_limit_s=run.remaining(), seed=opts.seed, workers=opts.workers,
                            progress=opts.progress, deterministic=opts.deterministic, cancel=opts.cancel,
                            completion_s=run.heuristic_s)
    run.notes.append(f"large model ({size} node literals): improved by windows of tasks re-solved with CP-SAT "
                     f"({stats.windows} windows, {stats.improved} improvements)")
    if stats.wall_stopped:
        run.notes.append("the time limit stopped the windows before their deterministic budget: a rerun may differ")
    if better is not run.warm and run.admit(better, "solver's windows"):
        run.engine_used = "cp-sat"


def _solve_whole(run: PlanningRun, allowed: list[np.ndarray], narrowed: bool) -> list[InfeasibleReason]:
    """The exact model over `allowed`, warm-started from the heuristic; its schedule joins the candidates."""
    from .cpsat.data import build_data
    from .cpsat.solve import CpSettings, solve_cpsat

    problem, opts, g = run.problem, run.options, run.givens
    data = build_data(problem, allowed, horizon_s=horizon_s(run), release_s=g.release_s,
                      fixed={i: [(r.node, r.start, r.end) for r in reps] for i, reps in g.fixed.items()},
                      finished=g.finished, success_target=opts.success_target,
                      replicas_at_least={i: len(nodes) for i, nodes in (g.preferred or {}).items()},
                      gangs={i: [r.gang for r in reps] for i, reps in enumerate(run.warm.replicas) if
                             problem.gang_size(i) > 1})
    hint: Schedule | None
    try:
        hint = retime(problem, run.warm, run.heuristic_settings(quantum_s=data.quantum_s))
    except WindowMissed:  # the solver searches without a warm start, and proves nothing within its horizon
        hint = None
        run.notes.append(f"the solver's clock ({data.quantum_s:g} s units, windows rounded inwards) cannot hold "
                         "the heuristic's plan inside the availability windows: CP-SAT searched without it")
    if opts.objective == Objective.MAKESPAN and hint is not None:
        data.horizon = max(int(round(hint.makespan(problem, data.quantum_s))), data.release + 1)
    settings = CpSettings(objective=opts.objective, deadline_s=opts.deadline_s, success_target=opts.success_target,
                          time_limit_s=max(0.1, run.remaining()), workers=opts.workers, seed=opts.seed,
                          preferred=g.preferred, progress=opts.progress,
                          deterministic_s=DETERMINISTIC_SHARE * opts.time_limit_s if opts.deterministic else None,
                          cancel=opts.cancel)
    out = solve_cpsat(data, hint, settings, makespan_lb_s=run.bounds.makespan_s)
    run.notes.extend(out.notes)
    # a model stricter than the contract (`data.conservative`) proves nothing about the whole problem
    # gangs choose among candidate node sets: a proof only when those are every set of their size
    partial = narrowed or data.conservative or hint is None or not data.gangs_complete
    run.solver = SolverOutcome(
        status=out.status if not partial or out.status.has_solution else SolveStatus.UNKNOWN,
        makespan_bound_s=None if partial else out.makespan_bound_s,
        cost_bound_usd=None if partial else out.cost_bound_usd, exact_clock=data.exact_clock, narrowed=partial)
    if out.schedule is not None:
        exact = retime(problem, out.schedule.in_seconds(problem, data.quantum_s), run.heuristic_settings())
        if run.admit(exact, "solver's"):
            run.solver.schedule = exact
            run.engine_used = "cp-sat"
    if run.solver.status == SolveStatus.INFEASIBLE and not run.candidates:
        if opts.deadline_s is not None:
            return [deadline_reason(run.bounds, opts.deadline_s, proved=True)]
        return [InfeasibleReason(rule="combination",
                                 tasks=[t for i, t in enumerate(problem.dag.ids) if i not in g.finished],
                                 message="the solver proved that no plan satisfies every rule together")]
    return []


def horizon_s(run: PlanningRun) -> float:
    """Seconds within which the solver must finish: the warm start's makespan for makespan, else a bound
    no cheapest plan exceeds (every replica one after another)."""
    problem, opts, g, warm = run.problem, run.options, run.givens, run.warm
    if opts.objective == Objective.MAKESPAN:
        return warm.makespan(problem)
    if opts.deadline_s is not None:
        return opts.deadline_s
    total = max(g.release_s, max((r.end for reps in g.fixed.values() for r in reps), default=0.0))
    for i in range(problem.n_tasks):
        if i in g.finished or len(g.allowed[i]) == 0:
            continue
        total += (problem.required[i] + 4) * float(problem.runtimes(i, g.allowed[i]).max())
        for _, data in problem.dag.parents[i]:
            if data > 0:
                total += data * 8.0 / float(problem.nodes.bandwidth.min())
    return max(total, warm.makespan(problem))


def candidate_lists(problem: Problem, run: PlanningRun, heur: Schedule) -> list[np.ndarray]:
    """Each task's heuristic nodes, the nodes its parents and children have there (to run beside its
    data), its fastest, cheapest and most reputable per spread value."""
    out = []
    k = CANDIDATES_PER_TASK
    masks: dict[int, np.ndarray] = {}
    for i in range(problem.n_tasks):
        nodes = run.givens.allowed[i]
        if len(nodes) <= k:
            out.append(nodes)
            continue
        keep = set(heur.nodes_of(i))
        near = np.array(sorted({n for j, _ in (*problem.dag.parents[i], *problem.dag.children[i])
                                for n in heur.nodes_of(j)}), dtype=np.int64)
        inside = _membership(problem, nodes, masks)
        keep.update(near[inside(near)].tolist())  # intersect1d per task: 100 s at 10,000 tasks x 100,000 nodes
        if len(nodes) > 8 * k:
            nodes = np.union1d(problem.candidates(i, 4 * k), np.array(sorted(keep), dtype=np.int64))
            nodes = nodes[inside(nodes)]
        keep.update(nodes[np.argsort(problem.runtimes(i, nodes), kind="stable")[: k // 2]].tolist())
        keep.update(nodes[np.argsort(problem.costs(i, nodes), kind="stable")[: k // 3]].tolist())
        keep.update(problem.best_replica_set(i, run.givens.allowed[i])[: problem.required[i] + 2])
        out.append(np.array(sorted(keep), dtype=np.int64))
    return out


SHARED_MASKS = 64  # node masks `candidate_lists` keeps (of n_nodes booleans each)


def _membership(problem: Problem, nodes: np.ndarray, masks: dict[int, np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """A test of which of some node indices lie in `nodes`. Tasks share allowed arrays (one per level and
    pool), so the first `SHARED_MASKS` distinct ones get a boolean mask over the pool, made once (a lookup
    per test); any later one an `np.isin` per test."""
    mask = masks.get(id(nodes))
    if mask is None and len(masks) < SHARED_MASKS:
        mask = masks[id(nodes)] = np.zeros(problem.n_nodes, dtype=bool)
        mask[nodes] = True
    if mask is None:
        return lambda x: np.isin(x, nodes)
    return lambda x: mask[x]
