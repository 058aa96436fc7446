"""The planner's stages, each taking and filling the one `PlanningRun` record:

1. `check_statically`: rules that need no search (eligibility, spread, `min_success`,
   a reachable success target, a deadline above the lower bound), and the bounds;
2. `warm_start`: the heuristic (plain, priced by the cost relaxation's congestion,
   with lookahead, under the portfolio's other rules) and the base plan re-timed, as candidates;
3. the engine's `improve` (`scheduler.engine.engines`): CP-SAT on the whole model or
   on windows of tasks;
4. `choose`: the best valid candidate, with its status and bounds; or `no_plan`.

A stage returns reasons when it proves there is no plan.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..domain import Objective, Plan, PlanStatus, Unplaceable
from ..domain.rules import COST_EPS_USD, DEADLINE_TOLERANCE_S, PROBABILITY_EPS, meets
from ..errors import Infeasible, InfeasibleReason
from ..problem import Problem
from ..problem.gangs import hand_picked_gangs
from .bounds import Bounds, compute_bounds
from .cost_bound import deadline_cost_bound
from .cpsat.results import SolveStatus
from .heuristic import HeuristicRule, heuristic_schedule, list_schedule, retime
from .run import PlanningRun, lookahead_pays, portfolio_pays
from .schedule import Replica, Schedule, replicas_of_rows, to_plan

# run after HEFT (plain and with lookahead): (rule, lookahead, when data moves: True only then, False only
# otherwise, None always); PEFT's optimistic costs already look ahead. Plain CPoP only when no data moves:
# otherwise CPoP with the look ahead and rank-sum cover it (it was never the best of them on SAGA's suite)
PORTFOLIO = ((HeuristicRule.PEFT, False, None), (HeuristicRule.CPOP, False, False), (HeuristicRule.CPOP, True, True),
             (HeuristicRule.RANK_SUM, False, None), (HeuristicRule.ONE_NODE, False, None),
             (HeuristicRule.SUFFERAGE, False, None))
# the dynamic rules scan each task's nodes once and then, per step, every ready task's finish on the
# node taken: about tasks x (nodes + ready tasks) searches; they run on small instances only
DYNAMIC_MAX_SEARCHES = 2_000
COST_BOUND_SHARE, COST_BOUND_MAX_S = 0.1, 2.0  # of the time limit, for the deadline-aware cost bound


# --- 1. static checks ------------------------------------------------------------------


def check_statically(run: PlanningRun) -> list[InfeasibleReason]:
    """Reasons no plan exists that need no search; computes `run.bounds`."""
    problem, opts, g = run.problem, run.options, run.givens
    reasons = problem.static_reasons(g.allowed, g.finished, g.kept_nodes)
    if not reasons and opts.success_target is not None:
        reasons = success_target_reasons(run, opts.success_target)
    run.bounds = compute_bounds(problem, g.allowed, release_s=g.release_s, finished_end_s=g.finished_end,
                                fixed_replicas=g.kept_counts, running_end_s=g.running_end)
    if not reasons and opts.deadline_s is not None and \
            run.bounds.makespan_s > opts.deadline_s + DEADLINE_TOLERANCE_S:
        reasons = [deadline_reason(run.bounds, opts.deadline_s)]
    return reasons


def success_target_reasons(run: PlanningRun, target: float) -> list[InfeasibleReason]:
    """The success target out of reach even with a replica on the best node of every spread value."""
    problem, g = run.problem, run.givens
    log_p = 0.0
    weakest: list[tuple[float, str]] = []
    for i in range(problem.n_tasks):
        nodes = [*g.kept_nodes.get(i, []), *problem.best_replica_set(i, g.allowed[i])]
        if i in g.finished:
            nodes = [r.node for r in g.fixed.get(i, [])]
        s = problem.success(i, nodes)
        log_p += math.log(s) if s > 0 else -math.inf
        weakest.append((s, problem.dag.ids[i]))
    if log_p >= math.log(target) - PROBABILITY_EPS:
        return []
    weakest.sort()
    names = [t for _, t in weakest[:5]]
    return [InfeasibleReason(rule="success_target", tasks=names,
                             message=f"success probability {target:g} is out of reach: with a replica on the most "
                                     f"reputable node of every spread value the workflow reaches "
                                     f"{math.exp(log_p):.6g}; weakest tasks: {', '.join(names)}")]


def deadline_reason(bounds: Bounds, deadline_s: float, proved: bool = False) -> InfeasibleReason:
    """Why no plan meets the deadline, in terms of the bound that rules it out."""
    if proved and bounds.makespan_s <= deadline_s:
        return InfeasibleReason(rule="deadline", tasks=bounds.critical_path,
                                message=f"the solver proved that no plan finishes within {deadline_s:g} s with "
                                        f"the GPUs available (lower bound without capacity: {bounds.makespan_s:.1f} s)")
    if bounds.data_arrival_s > bounds.critical_path_s and bounds.data_arrival_s >= max(bounds.energy_s,
                                                                                     bounds.fastest_gpus_s):
        tasks = bounds.data_arrival_tasks or []
        return InfeasibleReason(rule="deadline", tasks=tasks,
                                message=f"deadline {deadline_s:g} s is below {bounds.data_arrival_s:.1f} s: "
                                        f"{tasks[0]} cannot end sooner, its parents' data either crossing links "
                                        f"or its parents running on its node first")
    if bounds.critical_path_s >= max(bounds.energy_s, bounds.fastest_gpus_s):
        path = bounds.critical_path
        shown = " -> ".join(path if len(path) <= 8 else [*path[:3], "...", *path[-3:]])
        return InfeasibleReason(rule="deadline", tasks=path,
                                message=f"deadline {deadline_s:g} s is below the critical path {shown}, which needs "
                                        f"{bounds.critical_path_s:.1f} s on the fastest eligible nodes")
    if bounds.energy_s >= bounds.fastest_gpus_s:
        return InfeasibleReason(rule="deadline", tasks=bounds.energy_tasks,
                                message=f"deadline {deadline_s:g} s is below {bounds.energy_s:.1f} s, the least time "
                                        f"the eligible GPUs need for the work")
    tasks = bounds.fastest_gpus_tasks or []
    return InfeasibleReason(rule="deadline", tasks=tasks,
                            message=f"deadline {deadline_s:g} s is below {bounds.fastest_gpus_s:.1f} s: even on the "
                                    f"fastest GPUs, {', '.join(tasks[:3])}{' ...' if len(tasks) > 3 else ''} and what "
                                    f"must run before or after them need that long")


# --- 2. warm starts ----------------------------------------------------------------------


def warm_start(run: PlanningRun) -> list[InfeasibleReason]:
    """The heuristic's schedules as candidates and warm start (`run.warm`), and the base plan."""
    problem, opts = run.problem, run.options
    t0 = time.monotonic()
    try:
        run.warm = heuristic_schedule(problem, run.heuristic_settings())
    except Infeasible as e:
        return e.reasons
    run.heuristic_s = time.monotonic() - t0
    run.candidates = [run.warm] if run.meets_deadline(run.warm) else []
    if opts.objective == Objective.COST and opts.deadline_s is not None and not run.out_of_time():
        _priced_warm_start(run)
    if opts.objective == Objective.MAKESPAN and lookahead_pays(problem) and not run.out_of_time():
        # HEFT is blind to where a task's output goes next: the same with a look at the children
        _offer_warm_start(run, list_schedule(problem, run.heuristic_settings(lookahead=True)))
    if opts.objective == Objective.MAKESPAN and portfolio_pays(problem):
        _portfolio_warm_starts(run)
    if problem.has_gangs:
        _hand_picked_warm_starts(run)
    if opts.preferred is not None:
        run.base = base_schedule(run)
        if run.base is not None and run.meets_deadline(run.base):
            run.candidates.append(run.base)
    return []


def _portfolio_warm_starts(run: PlanningRun) -> None:
    """The other rules of the portfolio (`scheduler.engine.heuristic.priorities`: PEFT, CPoP (with the
    lookahead when data moves, plain otherwise), rank-sum, one node, Sufferage on small instances), each while
    time is left; the best schedule of all is the warm start."""
    looks = lookahead_pays(run.problem)
    for rule, lookahead, when_data_moves in PORTFOLIO:
        if run.out_of_time():
            return
        if (when_data_moves is not None and when_data_moves != looks) or (
                rule is HeuristicRule.SUFFERAGE and not _dynamic_pays(run.problem)):
            continue
        try:
            _offer_warm_start(run, list_schedule(run.problem, run.heuristic_settings(rule=rule, lookahead=lookahead)))
        except Infeasible:  # e.g. CPoP's critical-path node has no window for a task: the others stand
            continue


def _dynamic_pays(problem: Problem) -> bool:
    return problem.n_tasks * (problem.n_nodes + problem.dag.widest_level) <= DYNAMIC_MAX_SEARCHES


def _hand_picked_warm_starts(run: PlanningRun) -> None:
    """Gangs: the heuristic with each gang on the nodes a user would pick by hand (the fastest, the cheapest
    in one region), so that the plan is never worse than those."""
    for picked in hand_picked_gangs(run.problem, run.givens.allowed).values():
        if not picked or run.out_of_time():
            continue
        try:
            _offer_warm_start(run, list_schedule(run.problem, run.heuristic_settings(candidates=picked)))
        except Infeasible:
            continue


def _priced_warm_start(run: PlanningRun) -> None:
    """The deadline-aware cost bound, and the heuristic again with its price on congested nodes' time."""
    problem, opts, g = run.problem, run.options, run.givens
    run.deadline_cost = deadline_cost_bound(
        problem, g.allowed, opts.deadline_s, release_s=g.release_s, finished_end_s=g.finished_end,
        fixed_replicas=g.kept_counts, running_end_s=g.running_end,
        time_limit_s=math.inf if opts.deterministic else min(COST_BOUND_MAX_S, COST_BOUND_SHARE * opts.time_limit_s))
    if run.deadline_cost is not None and np.any(run.deadline_cost.congestion_usd_per_gpu_s > 0):
        priced = heuristic_schedule(problem, run.heuristic_settings(
            congestion_usd_per_gpu_s=run.deadline_cost.congestion_usd_per_gpu_s))
        _offer_warm_start(run, priced)


def _offer_warm_start(run: PlanningRun, other: Schedule) -> None:
    """`other` replaces the warm start when it meets the deadline and is better (or the warm start missed it)."""
    if run.meets_deadline(other) and (not run.candidates or run.quality(other) < run.quality(run.warm)):
        run.warm, run.candidates = other, [other]


def base_schedule(run: PlanningRun) -> Schedule | None:
    """The base plan (`preferred`) on its own nodes, re-timed for this problem (new replicas from the
    release time on), when it still keeps every rule but the deadline; else None."""
    problem, g, opts = run.problem, run.givens, run.options
    by_task: dict[int, list[tuple[int, int, float, float]]] = {}
    for a in opts.preferred.assignments if opts.preferred else []:
        i, n = problem.dag.index.get(a.task), problem.nodes.index.get(a.node)
        if i is None or n is None:
            return None  # a task or node the changed case no longer has
        by_task.setdefault(i, []).append((a.replica, n, a.start_s, a.end_s))
    rows = {i: replicas_of_rows(problem, i, r) for i, r in by_task.items()}
    for i in range(problem.n_tasks):
        if i not in g.finished and not _keeps_replica_rules(run, i, rows.get(i, [])):
            return None
    base = Schedule([rows.get(i, []) for i in range(problem.n_tasks)])
    try:
        base = retime(problem, base, run.heuristic_settings())
    except ValueError:
        return None
    if opts.success_target is not None and not meets(base.success(problem), opts.success_target):
        return None
    return base


def _keeps_replica_rules(run: PlanningRun, i: int, reps: list[Replica]) -> bool:
    return run.replica_rule_broken(i, reps) is None


# --- 4. the result ------------------------------------------------------------------------


def choose(run: PlanningRun) -> Plan:
    """The best candidate as a plan, with its status (optimal only when proven) and bounds."""
    problem, opts = run.problem, run.options
    if not run.candidates:
        bounds = run.bounds
        msg = (f"no plan meeting the deadline {opts.deadline_s:g} s was found within {opts.time_limit_s:g} s "
               f"(the heuristic's makespan is {run.warm.makespan(problem):.1f} s; the lower bound is "
               f"{bounds.makespan_s:.1f} s)")
        return no_plan(run, [InfeasibleReason(rule="deadline", tasks=bounds.critical_path, message=msg)],
                       PlanStatus.UNKNOWN)
    if not run.meets_deadline(run.warm):
        run.notes.append(f"the heuristic's plan ({run.warm.makespan(problem):.1f} s) misses the deadline "
                         f"{opts.deadline_s:g} s: its makespan and cost are for reference, not a plan")
    # at equal quality: the base plan (nothing moves), then the heuristic's (stable), then the solver's
    rank = {id(run.base): 0, id(run.warm): 1}
    best = min(run.candidates, key=lambda s: (run.quality(s), rank.get(id(s), 2)))
    engine = run.engine_used
    if best is run.base:
        engine = "base plan"
        run.notes.append("no plan found beats the base plan: it is kept, re-timed")
    elif best is run.warm:
        engine = "heuristic"
    lb, cost_lb = _bounds_for(run, best)
    met_by_bound = (best.makespan(problem) <= lb + DEADLINE_TOLERANCE_S if opts.objective == Objective.MAKESPAN
                    else best.cost(problem) <= cost_lb + COST_EPS_USD)
    result = to_plan(problem, best, status=PlanStatus.OPTIMAL if met_by_bound or _solver_proved(run, best)
                     else PlanStatus.FEASIBLE,
                     objective=opts.objective, lower_bound_s=lb, solve_time_s=run.elapsed(), engine=engine,
                     heuristic_makespan_s=run.warm.makespan(problem), heuristic_cost_usd=run.warm.cost(problem),
                     cost_lower_bound_usd=cost_lb, messages=run.notes or None, deadline_s=opts.deadline_s,
                     success_target=opts.success_target)
    if opts.objective == Objective.COST and result.cost_usd:
        result.gap = max(0.0, (result.cost_usd - cost_lb) / result.cost_usd)
    return result


def _bounds_for(run: PlanningRun, best: Schedule) -> tuple[float, float]:
    """The makespan and cost lower bounds, never above the plan's own figures."""
    problem, solver = run.problem, run.solver
    fixed_cost = run.givens.fixed_cost(problem)
    lb = run.bounds.makespan_s
    if solver.makespan_bound_s is not None:
        lb = max(lb, solver.makespan_bound_s)
    lb = min(lb, best.makespan(problem))
    cost_lb = max(run.bounds.cost_usd, run.deadline_cost.cost_usd if run.deadline_cost else 0.0) + fixed_cost
    if solver.cost_bound_usd is not None:
        cost_lb = max(cost_lb, solver.cost_bound_usd + fixed_cost)
    return lb, min(cost_lb, best.cost(problem))


def _solver_proved(run: PlanningRun, best: Schedule) -> bool:
    """CP-SAT proved its optimum for the whole model on an exact clock, and the plan is as good."""
    s = run.solver
    return s.status == SolveStatus.OPTIMAL and not s.narrowed and s.exact_clock and s.schedule is not None and \
        run.quality(best) <= run.quality(s.schedule)


def no_plan(run: PlanningRun, reasons: list[InfeasibleReason], status: PlanStatus) -> Plan:
    """The plan that says there is none: `unplaceable` names each task and rule."""
    rows: list[Unplaceable] = []
    for r in reasons:
        for t in r.tasks:
            counts = dict(r.counts) if r.rule == "eligibility" else {r.rule: r.counts.get(r.rule, 1)}
            rows.append(Unplaceable(task=t, reasons=counts, rule=r.rule, message=r.message))
    bounds = run.bounds
    lb = bounds.makespan_s if bounds is not None and math.isfinite(bounds.makespan_s) else None
    return to_plan(run.problem, None, status=status, objective=run.options.objective, lower_bound_s=lb,
                   solve_time_s=run.elapsed(), unplaceable=rows, messages=[r.message for r in reasons],
                   deadline_s=run.options.deadline_s, success_target=run.options.success_target)
