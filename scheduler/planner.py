"""`plan`: the one entry that places a workload. Everything else (the command
line, what-if, replanning, the Prefect plugin) calls it.

Order of work: rules that need no search (eligibility, spread, `min_success`,
a reachable success target, a deadline above the lower bound), then the
heuristic, then CP-SAT warm-started from it within the time limit. The plan
returned is the best *valid* one found; a time limit never yields a plan that
breaks a rule, and when there is none the plan says so and why.

Example:
    >>> from scheduler import plan, load_workload, load_nodes, load_policy
    >>> p = plan(load_workload("examples/llm-finetune.yaml"), load_nodes("examples/pool.yaml"),
    ...          load_policy("policies/default.yaml"), objective="cost", time_limit_s=5)  # doctest: +SKIP
    >>> p.status, round(p.cost_usd, 2)  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .bounds import Bounds, compute_bounds
from .cost_bound import deadline_cost_bound
from .errors import Infeasible, InfeasibleReason
from .heuristic import Options, heuristic_schedule, list_schedule, retime
from .model import Assignment, NodePool, Objective, Plan, PlanStatus, Policy, Unplaceable, Workload
from .policy import replica_success
from .problem import Problem
from .schedule import Replica, Schedule, to_plan

MAX_MODEL_LITERALS = 400_000  # node literals in the exact model before candidate lists apply
LNS_ABOVE_LITERALS = 20_000  # node literals above which windows of tasks are solved instead of the whole model
CANDIDATES_PER_TASK = 12
LOOKAHEAD_MAX_PAIRS = 1_000_000  # makespan: (task, node) pairs up to which the lookahead heuristic also runs
COST_BOUND_SHARE, COST_BOUND_MAX_S = 0.1, 2.0  # of the time limit, for the deadline-aware cost bound


@dataclass
class PlanOptions:
    """How to plan (see `plan`).

    Attributes:
        objective: ``makespan`` (cost breaks ties) or ``cost`` (makespan breaks ties).
        deadline_s: hard bound on the makespan.
        success_target: the whole workflow's success probability must reach this.
        time_limit_s: wall-clock budget of the whole call.
        engine: ``auto`` (CP-SAT warm-started by the heuristic), ``cpsat``, or ``heuristic``.
        seed, workers: CP-SAT's random seed and threads (0 = up to 8, one per core).
        release_s: nothing new starts before this (replanning).
        keep: replicas that stay as they are, by task id (replanning).
        finished: task ids that are done (their `keep` replicas are final; nothing is added).
        banned_nodes: node ids that receive no new replica.
        preferred: base plan whose nodes are kept where quality is equal (stable what-if diffs).
        progress: called with solver progress (for displays).
        max_model_literals: above this, each task keeps only its best candidate nodes.
        lns_above_literals: above this, CP-SAT improves the heuristic's plan window by window
            (`cpsat.lns`) instead of solving the whole model (fresh plans only, no success target).
    """

    objective: Objective = Objective.MAKESPAN
    deadline_s: float | None = None
    success_target: float | None = None
    time_limit_s: float = 10.0
    engine: str = "auto"
    seed: int = 0
    workers: int = 0
    release_s: float = 0.0
    keep: dict[str, list[Assignment]] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    banned_nodes: set[str] = field(default_factory=set)
    preferred: Plan | None = None
    progress: Callable[..., None] | None = None
    max_model_literals: int = MAX_MODEL_LITERALS
    lns_above_literals: int = LNS_ABOVE_LITERALS


def plan(
    workload: Workload,
    nodes: NodePool,
    policy: Policy | None = None,
    *,
    objective: Objective | str = Objective.MAKESPAN,
    deadline_s: float | None = None,
    success_target: float | None = None,
    time_limit_s: float = 10.0,
    **options: object,
) -> Plan:
    """Place `workload` on `nodes` under `policy` and return the plan.

    The plan's `status` is ``optimal`` or ``feasible`` (a valid plan), or
    ``infeasible`` with `unplaceable` naming the tasks and rules, or ``unknown``
    when the time ran out before any valid plan was found.

    Raises:
        InputError: the three inputs do not fit together (e.g. an unknown level).
        ValueError: an option is out of range.
    """
    opts = PlanOptions(objective=Objective(objective), deadline_s=deadline_s, success_target=success_target,
                       time_limit_s=time_limit_s, **options)  # type: ignore[arg-type]
    return plan_problem(Problem(workload, nodes, policy), opts)


def plan_problem(problem: Problem, opts: PlanOptions) -> Plan:
    """`plan` on an already-checked `Problem`."""
    t0 = time.monotonic()
    _check_options(opts)
    ctx = _Context(problem, opts)
    extra = {"deadline_s": opts.deadline_s, "success_target": opts.success_target}

    reasons = problem.static_reasons(ctx.allowed, ctx.finished, ctx.kept_nodes)
    if not reasons and opts.success_target is not None:
        reasons = _success_target_reasons(problem, ctx, opts.success_target)
    kept_counts = {i: len(r) for i, r in ctx.fixed.items()}
    bounds = compute_bounds(problem, ctx.allowed, release_s=opts.release_s, finished_end_s=ctx.finished_end,
                            fixed_replicas=kept_counts, running_end_s=ctx.running_end)
    if not reasons and opts.deadline_s is not None and bounds.makespan_s > opts.deadline_s + 1e-6:
        reasons = [_deadline_reason(bounds, opts.deadline_s)]
    if reasons:
        return _infeasible(problem, opts, reasons, bounds, time.monotonic() - t0, PlanStatus.INFEASIBLE)

    notes: list[str] = []
    heur_opts = ctx.heuristic_options()
    try:
        heur = heuristic_schedule(problem, heur_opts)
    except Infeasible as e:
        return _infeasible(problem, opts, e.reasons, bounds, time.monotonic() - t0, PlanStatus.INFEASIBLE)
    candidates: list[Schedule] = [heur] if _meets_deadline(heur, opts) else []

    deadline_cost = None
    if opts.objective == Objective.COST and opts.deadline_s is not None:
        deadline_cost = deadline_cost_bound(
            problem, ctx.allowed, opts.deadline_s, release_s=opts.release_s, finished_end_s=ctx.finished_end,
            fixed_replicas=kept_counts, running_end_s=ctx.running_end,
            time_limit_s=min(COST_BOUND_MAX_S, COST_BOUND_SHARE * opts.time_limit_s))
        if deadline_cost is not None and np.any(deadline_cost.congestion_usd_per_gpu_s > 0):
            # the same heuristic with the relaxation's price on congested nodes' time
            priced = heuristic_schedule(problem, Options(**{
                **heur_opts.__dict__, "congestion_usd_per_gpu_s": deadline_cost.congestion_usd_per_gpu_s}))
            heur, candidates = _better_warm_start(problem, opts, heur, candidates, priced)

    if opts.objective == Objective.MAKESPAN and _lookahead_pays(problem):
        # HEFT is blind to where a task's output goes next: the same with a look at the children
        ahead = list_schedule(problem, Options(**{**heur_opts.__dict__, "lookahead": True}))
        heur, candidates = _better_warm_start(problem, opts, heur, candidates, ahead)
    base = _base_schedule(problem, ctx, heur_opts) if opts.preferred is not None else None
    if base is not None and _meets_deadline(base, opts):
        candidates.append(base)
    cp_status, cp_bounds, cp_schedule, cp_exact_clock = None, (None, None), None, False
    narrowed = False  # the model knows only some nodes per task: its bound and status say nothing of the rest
    engine = "heuristic"
    if opts.engine != "heuristic":
        from .cpsat.data import build_data
        from .cpsat.solve import CpSettings, solve_cpsat

        allowed = ctx.allowed
        size = sum(len(allowed[i]) * max(1, problem.required[i]) for i in range(problem.n_tasks))
        if size > opts.max_model_literals and opts.engine == "auto":
            allowed, narrowed = _candidate_lists(problem, ctx, heur), True
            notes.append(f"model narrowed to the best {CANDIDATES_PER_TASK} candidate nodes per task "
                         f"({size} node literals in full)")
    if opts.engine != "heuristic" and _use_lns(ctx, opts, size) and heur in candidates:
        from .cpsat.lns import improve

        better, stats = improve(problem, heur, allowed, objective=opts.objective, deadline_s=opts.deadline_s,
                                time_limit_s=opts.time_limit_s - (time.monotonic() - t0), seed=opts.seed,
                                workers=opts.workers, progress=opts.progress)
        notes.append(f"large model ({size} node literals): improved by windows of tasks re-solved with CP-SAT "
                     f"({stats.windows} windows, {stats.improved} improvements)")
        if better is not heur:
            candidates.append(better)
            engine = "cp-sat"
    elif opts.engine != "heuristic":
        horizon_s = _horizon(problem, ctx, heur, opts)
        data = build_data(problem, allowed, horizon_s=horizon_s, release_s=opts.release_s,
                          fixed={i: [(r.node, r.start, r.end) for r in reps] for i, reps in ctx.fixed.items()},
                          finished=ctx.finished, success_target=opts.success_target,
                          replicas_at_least={i: len(nodes) for i, nodes in (ctx.preferred or {}).items()})
        hint = retime(problem, heur, Options(**{**heur_opts.__dict__, "quantum_s": data.quantum_s}))
        if opts.objective == Objective.MAKESPAN:
            data.horizon = max(int(round(hint.makespan())), data.release + 1)
        remaining = opts.time_limit_s - (time.monotonic() - t0)
        settings = CpSettings(objective=opts.objective, deadline_s=opts.deadline_s,
                              success_target=opts.success_target, time_limit_s=max(0.1, remaining),
                              workers=opts.workers, seed=opts.seed, preferred=ctx.preferred,
                              progress=opts.progress)
        out = solve_cpsat(data, hint, settings, makespan_lb_s=bounds.makespan_s)
        notes.extend(out.notes)
        cp_status = out.status if not narrowed or out.status in ("feasible", "optimal") else "unknown"
        cp_bounds = (out.makespan_bound_s, out.cost_bound_usd) if not narrowed else (None, None)
        cp_exact_clock = data.exact_clock
        if out.schedule is not None:
            exact = out.schedule.in_seconds(problem, data.quantum_s)
            exact = retime(problem, exact, heur_opts)
            if _meets_deadline(exact, opts):
                candidates.append(exact)
                cp_schedule = exact
                engine = "cp-sat"
        if cp_status == "infeasible" and not candidates:
            why = [_deadline_reason(bounds, opts.deadline_s, proved=True)] if opts.deadline_s is not None else [
                InfeasibleReason(rule="combination",
                                 tasks=[t for i, t in enumerate(problem.task_ids) if i not in ctx.finished],
                                 message="the solver proved that no plan satisfies every rule together")]
            return _infeasible(problem, opts, why, bounds, time.monotonic() - t0, PlanStatus.INFEASIBLE)

    if not candidates:
        msg = (f"no plan meeting the deadline {opts.deadline_s:g} s was found within {opts.time_limit_s:g} s "
               f"(the heuristic's makespan is {heur.makespan():.1f} s; the lower bound is {bounds.makespan_s:.1f} s)")
        return _infeasible(problem, opts, [InfeasibleReason(rule="deadline", tasks=bounds.critical_path,
                                                            message=msg)],
                           bounds, time.monotonic() - t0, PlanStatus.UNKNOWN)

    if not _meets_deadline(heur, opts):
        notes.append(f"the heuristic's plan ({heur.makespan():.1f} s) misses the deadline {opts.deadline_s:g} s: "
                     f"its makespan and cost are for reference, not a plan")
    # at equal quality: the base plan (nothing moves), then the heuristic's (stable), then the solver's
    rank = {id(base): 0, id(heur): 1}
    best = min(candidates, key=lambda s: (s.key(problem, opts.objective), rank.get(id(s), 2)))
    if best is base:
        engine = "base plan"
        notes.append("no plan found beats the base plan: it is kept, re-timed")
    elif best is heur:
        engine = "heuristic"
    lb = bounds.makespan_s
    if cp_bounds[0] is not None:
        lb = max(lb, cp_bounds[0])
    lb = min(lb, best.makespan())
    cost_lb = max(bounds.cost_usd, deadline_cost.cost_usd if deadline_cost else 0.0) + ctx.fixed_cost()
    if cp_bounds[1] is not None:
        cost_lb = max(cost_lb, cp_bounds[1] + ctx.fixed_cost())
    cost_lb = min(cost_lb, best.cost(problem))
    # optimal only when proven: a bound meets the plan, or the solver proved its optimum for the whole
    # model on an exact clock and the plan is as good
    met_by_bound = (best.makespan() <= lb + 1e-6 if opts.objective == Objective.MAKESPAN
                    else best.cost(problem) <= cost_lb + 1e-9)
    solver_proof = cp_status == "optimal" and not narrowed and cp_exact_clock and cp_schedule is not None and \
        best.key(problem, opts.objective) <= cp_schedule.key(problem, opts.objective)
    optimal = met_by_bound or solver_proof
    result = to_plan(problem, best, status=PlanStatus.OPTIMAL if optimal else PlanStatus.FEASIBLE,
                     objective=opts.objective, lower_bound_s=lb, solve_time_s=time.monotonic() - t0,
                     engine=engine, heuristic_makespan_s=heur.makespan(), heuristic_cost_usd=heur.cost(problem),
                     cost_lower_bound_usd=cost_lb, messages=notes or None, **extra)
    if opts.objective == Objective.COST and result.cost_usd:
        result.gap = max(0.0, (result.cost_usd - cost_lb) / result.cost_usd)
    return result


# --- helpers ----------------------------------------------------------------------


class _Context:
    """The replanning and stability inputs of one call, by index."""

    def __init__(self, problem: Problem, opts: PlanOptions) -> None:
        self.problem = problem
        banned = np.array(sorted(problem.node_index[n] for n in opts.banned_nodes if n in problem.node_index),
                          dtype=np.int64)
        self.allowed = [problem.eligible(i) for i in range(problem.n_tasks)]
        if len(banned):
            self.allowed = [a[~np.isin(a, banned)] for a in self.allowed]
        self.fixed: dict[int, list[Replica]] = {}
        for tid, rows in opts.keep.items():
            i = problem.task_index[tid]
            self.fixed[i] = [Replica(problem.node_index[a.node], a.start_s, a.end_s) for a in rows]
        self.finished = {problem.task_index[t] for t in opts.finished}
        self.finished_end = {i: min((r.end for r in self.fixed.get(i, [])), default=opts.release_s)
                             for i in self.finished}
        self.kept_nodes = {i: [r.node for r in reps] for i, reps in self.fixed.items() if i not in self.finished}
        self.running_end = {i: min(r.end for r in reps) for i, reps in self.fixed.items()
                            if i not in self.finished and reps}
        self.preferred: dict[int, set[int]] | None = None
        if opts.preferred is not None:
            self.preferred = {}
            for a in opts.preferred.assignments:
                i, n = problem.task_index.get(a.task), problem.node_index.get(a.node)
                if i is not None and n is not None:
                    self.preferred.setdefault(i, set()).add(n)
        self.opts = opts

    def heuristic_options(self) -> Options:
        o = self.opts
        return Options(objective=o.objective, deadline_s=o.deadline_s, success_target=o.success_target,
                       release_s=o.release_s, fixed=self.fixed, finished=self.finished,
                       banned={self.problem.node_index[n] for n in o.banned_nodes if n in self.problem.node_index},
                       candidates=None, preferred=self.preferred,
                       # cost mode: the makespan-first run that sets the sub-deadlines also tries it
                       lookahead=o.objective == Objective.COST and _lookahead_pays(self.problem))

    def fixed_cost(self) -> float:
        return sum(self.problem.cost(i, r.node) for i, reps in self.fixed.items() for r in reps)


def _lookahead_pays(problem: Problem) -> bool:
    """Whether to run the lookahead heuristic too: some edge carries data, and the instance is small
    enough (`LOOKAHEAD_MAX_PAIRS`)."""
    return problem.n_tasks * problem.n_nodes <= LOOKAHEAD_MAX_PAIRS and any(
        data > 0 for kids in problem.children for _, data in kids)


def _better_warm_start(problem: Problem, opts: PlanOptions, heur: Schedule, candidates: list[Schedule],
                       other: Schedule) -> tuple[Schedule, list[Schedule]]:
    """The warm start and candidates after another heuristic run: `other` replaces `heur` when it
    meets the deadline and is better (or `heur` missed the deadline)."""
    if _meets_deadline(other, opts) and (not candidates or other.key(problem, opts.objective) <
                                         heur.key(problem, opts.objective)):
        return other, [other]
    return heur, candidates


def _base_schedule(problem: Problem, ctx: _Context, options: Options) -> Schedule | None:
    """The base plan (`preferred`) on its own nodes, re-timed for this problem (new replicas from the
    release time on), when it still keeps every rule but the deadline; else None."""
    rows: dict[int, list[Replica]] = {}
    for a in ctx.opts.preferred.assignments if ctx.opts.preferred else []:
        i, n = problem.task_index.get(a.task), problem.node_index.get(a.node)
        if i is None or n is None:
            return None  # a task or node the changed case no longer has
        rows.setdefault(i, []).append(Replica(n, a.start_s, a.end_s))
    for i in range(problem.n_tasks):
        if i in ctx.finished:
            continue
        reps = rows.get(i, [])
        kept = set(ctx.kept_nodes.get(i, []))
        nodes = np.array([r.node for r in reps], dtype=np.int64)
        new = np.array([n for n in nodes.tolist() if n not in kept], dtype=np.int64)
        codes = problem.spread_of(i)[nodes]
        if len(reps) < problem.required[i] or not np.isin(new, ctx.allowed[i]).all() \
                or len(np.unique(codes)) < len(codes):
            return None
        level = problem.levels[i]
        if level.min_success is not None and \
                replica_success(problem.reputation[nodes].tolist()) < level.min_success - 1e-12:
            return None
    base = Schedule([rows.get(i, []) for i in range(problem.n_tasks)])
    try:
        base = retime(problem, base, options)
    except ValueError:
        return None
    if ctx.opts.success_target is not None and base.success(problem) < ctx.opts.success_target - 1e-12:
        return None
    return base


def _check_options(opts: PlanOptions) -> None:
    if opts.deadline_s is not None and not (opts.deadline_s > 0 and math.isfinite(opts.deadline_s)):
        raise ValueError("deadline_s must be a positive number of seconds")
    if opts.success_target is not None and not (0.01 <= opts.success_target < 1):
        raise ValueError("success_target must be in [0.01, 1)")
    if not (opts.time_limit_s > 0 and math.isfinite(opts.time_limit_s)):
        raise ValueError("time_limit_s must be a positive number of seconds")
    if opts.engine not in ("auto", "cpsat", "heuristic"):
        raise ValueError("engine must be auto, cpsat or heuristic")


def _use_lns(ctx: _Context, opts: PlanOptions, size: int) -> bool:
    """Windows instead of the whole model: a large fresh plan (replanning and stable what-if diffs
    keep the whole model, which knows kept replicas and preferred nodes)."""
    return (size > opts.lns_above_literals and opts.success_target is None and not ctx.fixed and not ctx.finished
            and ctx.preferred is None and opts.release_s == 0 and not opts.banned_nodes)


def _meets_deadline(s: Schedule, opts: PlanOptions) -> bool:
    return opts.deadline_s is None or s.makespan() <= opts.deadline_s + 1e-6


def _horizon(problem: Problem, ctx: _Context, heur: Schedule, opts: PlanOptions) -> float:
    """Seconds within which the solver must finish: the warm start's makespan for makespan, else a bound
    no cheapest plan exceeds (every replica one after another)."""
    if opts.objective == Objective.MAKESPAN:
        return heur.makespan()
    if opts.deadline_s is not None:
        return opts.deadline_s
    total = max(opts.release_s, max((r.end for reps in ctx.fixed.values() for r in reps), default=0.0))
    for i in range(problem.n_tasks):
        if i in ctx.finished or len(ctx.allowed[i]) == 0:
            continue
        reps = problem.required[i] + 4
        total += reps * float(problem.runtimes(i, ctx.allowed[i]).max())
        for p, data in problem.parents[i]:
            if data > 0:
                total += data * 8.0 / float(problem.bandwidth.min())
    return max(total, heur.makespan())


def _candidate_lists(problem: Problem, ctx: _Context, heur: Schedule) -> list[np.ndarray]:
    """Each task's heuristic nodes, the nodes its parents and children have there (to run beside its
    data), its fastest, cheapest and most reputable per spread value."""
    out = []
    k = CANDIDATES_PER_TASK
    for i in range(problem.n_tasks):
        nodes = ctx.allowed[i]
        if len(nodes) <= k:
            out.append(nodes)
            continue
        keep = set(heur.nodes_of(i))
        near = np.array(sorted({n for j, _ in (*problem.parents[i], *problem.children[i]) for n in heur.nodes_of(j)}),
                        dtype=np.int64)
        keep.update(np.intersect1d(nodes, near).tolist())
        if len(nodes) > 8 * k:
            nodes = np.union1d(problem.candidates(i, 4 * k), np.array(sorted(keep), dtype=np.int64))
            nodes = nodes[np.isin(nodes, ctx.allowed[i])]
        keep.update(nodes[np.argsort(problem.runtimes(i, nodes), kind="stable")[: k // 2]].tolist())
        keep.update(nodes[np.argsort(problem.costs(i, nodes), kind="stable")[: k // 3]].tolist())
        keep.update(problem.best_replica_set(i, ctx.allowed[i])[: problem.required[i] + 2])
        out.append(np.array(sorted(keep), dtype=np.int64))
    return out


def _success_target_reasons(problem: Problem, ctx: _Context, target: float) -> list[InfeasibleReason]:
    log_p = 0.0
    weakest: list[tuple[float, str]] = []
    for i in range(problem.n_tasks):
        nodes = [*ctx.kept_nodes.get(i, []), *problem.best_replica_set(i, ctx.allowed[i])]
        if i in ctx.finished:
            nodes = [r.node for r in ctx.fixed.get(i, [])]
        fail = 1.0
        for n in nodes:
            fail *= 1.0 - problem.reputation[n]
        s = 1.0 - fail
        log_p += math.log(s) if s > 0 else -math.inf
        weakest.append((s, problem.task_ids[i]))
    if log_p >= math.log(target) - 1e-12:
        return []
    weakest.sort()
    names = [t for _, t in weakest[:5]]
    return [InfeasibleReason(rule="success_target", tasks=names,
                             message=f"success probability {target:g} is out of reach: with a replica on the most "
                                     f"reputable node of every spread value the workflow reaches "
                                     f"{math.exp(log_p):.6g}; weakest tasks: {', '.join(names)}")]


def _deadline_reason(bounds: Bounds, deadline_s: float, proved: bool = False) -> InfeasibleReason:
    if proved and bounds.makespan_s <= deadline_s:
        return InfeasibleReason(rule="deadline", tasks=bounds.critical_path,
                                message=f"the solver proved that no plan finishes within {deadline_s:g} s with "
                                        f"the GPUs available (lower bound without capacity: {bounds.makespan_s:.1f} s)")
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


def _infeasible(problem: Problem, opts: PlanOptions, reasons: list[InfeasibleReason], bounds: Bounds,
                elapsed: float, status: PlanStatus) -> Plan:
    rows: list[Unplaceable] = []
    for r in reasons:
        for t in r.tasks:
            counts = dict(r.counts) if r.rule == "eligibility" else {r.rule: r.counts.get(r.rule, 1)}
            rows.append(Unplaceable(task=t, reasons=counts, rule=r.rule, message=r.message))
    lb = bounds.makespan_s if math.isfinite(bounds.makespan_s) else None
    return to_plan(problem, None, status=status, objective=opts.objective, lower_bound_s=lb, solve_time_s=elapsed,
                   unplaceable=rows, messages=[r.message for r in reasons], deadline_s=opts.deadline_s,
                   success_target=opts.success_target)
