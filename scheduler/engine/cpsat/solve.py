"""Build the CP-SAT model, warm-start it from a schedule, and solve it in two phases:
the objective first, then, with the objective held at its best value, the
tie-break (cost after makespan, makespan after cost) and, when asked, the fewest
moved replicas.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from ...domain import Objective
from ..schedule import Replica, Schedule
from . import constraints as C
from .data import SolverData
from .objective import COST_SCALE, cost_expr, cost_lower_bound, cost_upper_bound, kept_expr
from .variables import Variables, make_variables


@dataclass
class Progress:
    """A solver event for progress displays."""

    phase: str
    objective: float | None  # seconds (makespan) or USD (cost)
    bound: float | None
    elapsed_s: float


@dataclass
class CpSettings:
    objective: Objective = Objective.MAKESPAN
    deadline_s: float | None = None
    success_target: float | None = None
    time_limit_s: float = 10.0
    workers: int = 0
    seed: int = 0
    preferred: dict[int, set[int]] | None = None
    progress: Callable[[Progress], None] | None = None
    tiebreak: bool = True  # a second phase for the secondary objective


@dataclass
class CpOutcome:
    status: str  # optimal | feasible | infeasible | unknown
    schedule: Schedule | None  # in units of the clock; None when no solution
    makespan_bound_s: float | None = None
    cost_bound_usd: float | None = None
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, phase: str, scale: float, t0: float, sink: Callable[[Progress], None] | None) -> None:
        super().__init__()
        self.phase, self.scale, self.t0, self.sink = phase, scale, t0, sink

    def on_solution_callback(self) -> None:
        if self.sink is not None:
            self.sink(Progress(self.phase, self.ObjectiveValue() * self.scale,
                               self.BestObjectiveBound() * self.scale, time.monotonic() - self.t0))


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def solve_cpsat(data: SolverData, hint: Schedule | None, settings: CpSettings, makespan_lb_s: float = 0.0) \
        -> CpOutcome:
    """Solve the model built from `data`; `hint` (on the clock) is the warm start.

    Never returns a schedule that breaks a rule of the model; the caller keeps its
    own warm start when this finds nothing better.
    """
    t0 = time.monotonic()
    q = data.quantum_s
    model = cp_model.CpModel()
    if data.exact_clock:
        # every event of some optimal schedule falls on the clock: the bound rounds up to it
        lb_units = max(0, math.ceil(makespan_lb_s / q - 1e-6))
    else:
        lb_units = max(0, math.floor(makespan_lb_s / q + 1e-9) - 2 * len(data.slots))
    v = make_variables(model, data, lb_units)
    C.add_assignment(model, data, v)
    C.add_min_success(model, data, v)
    C.add_capacity(model, data, v)
    precedence = C.add_precedence(model, data, v)
    deadline_u = math.floor(settings.deadline_s / q + 1e-9) if settings.deadline_s is not None else None
    C.add_makespan(model, data, v, deadline_u)
    if settings.success_target is not None:
        C.add_success_target(model, data, v, settings.success_target)
    cost = cost_expr(data, v)
    if not isinstance(cost, int):
        model.Add(cost >= cost_lower_bound(data))  # redundant, lets the solver prove cost optimality
    if hint is not None:
        _add_hint(model, data, v, hint, precedence)
    build_s = time.monotonic() - t0
    stats = {"build_s": build_s, "variables": len(model.Proto().variables),
             "constraints": len(model.Proto().constraints)}

    budget = max(0.05, settings.time_limit_s - build_s)
    primary_is_makespan = settings.objective == Objective.MAKESPAN
    if primary_is_makespan:
        model.Minimize(v.makespan)
        scale = q
    else:
        model.Minimize(cost)
        scale = 1.0 / COST_SCALE
    has_tiebreak = settings.tiebreak and (bool(settings.preferred) or (primary_is_makespan and _any_price(data))
                                          or not primary_is_makespan)
    t1 = budget * (0.75 if has_tiebreak else 1.0)
    solver = _solver(settings, t1, stats["variables"])
    status = solver.Solve(model, _Callback("objective", scale, t0, settings.progress))
    stats["phase1_s"] = solver.WallTime()
    name = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible"}.get(
        status, "unknown")
    out = CpOutcome(status=name, schedule=None, stats=stats)
    if status == cp_model.MODEL_INVALID:
        out.notes.append("the solver rejected the model: " + model.Validate()[:200])
        return out
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return out
    bound = solver.BestObjectiveBound()
    if primary_is_makespan:
        slack = 0 if data.exact_clock else 2 * len(data.slots)
        out.makespan_bound_s = max(0.0, (bound - slack) * q)
    else:
        out.cost_bound_usd = max(0.0, (bound - 0.5 * len(data.slots)) / COST_SCALE)
    best = _extract(data, v, solver)
    best_value = solver.ObjectiveValue()

    remaining = settings.time_limit_s - (time.monotonic() - t0)
    if has_tiebreak and remaining > 0.05:
        if primary_is_makespan:
            model.Add(v.makespan <= round(best_value))
            secondary, horizon = cost, cost_upper_bound(data) + 1
        else:
            model.Add(cost <= round(best_value))
            secondary, horizon = v.makespan, data.horizon + 1
        if settings.preferred:
            kept = kept_expr(data, v, settings.preferred)
            n_pref = sum(len(x) for x in settings.preferred.values())
            model.Minimize(-kept * horizon + secondary if horizon * (n_pref + 1) < 2**60 else -kept)
        else:
            model.Minimize(secondary)
        _hint_from_solver(model, solver)
        solver2 = _solver(settings, remaining, stats["variables"])
        s2 = solver2.Solve(model, _Callback("tie-break", 1.0, t0, None))
        stats["phase2_s"] = solver2.WallTime()
        if s2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            best = _extract(data, v, solver2)
    out.schedule = best
    stats["total_s"] = time.monotonic() - t0
    return out


def _any_price(data: SolverData) -> bool:
    return bool((data.problem.nodes.price > 0).any())


def _solver(settings: CpSettings, seconds: float, n_variables: int = 0) -> cp_model.CpSolver:
    s = cp_model.CpSolver()
    s.parameters.max_time_in_seconds = max(0.01, seconds)
    s.parameters.num_workers = settings.workers or default_workers()
    s.parameters.random_seed = settings.seed
    if n_variables > LARGE_MODEL:
        # probing in presolve costs seconds per pass on large models and rarely pays here
        s.parameters.cp_model_probing_level = 0
    return s


LARGE_MODEL = 5_000


def _extract(data: SolverData, v: Variables, solver: cp_model.CpSolver) -> Schedule:
    """The solver's solution as a schedule on the clock (fixed replicas included)."""
    sched = Schedule.empty(data.problem.n_tasks)
    for k, slot in enumerate(data.slots):
        sv = v.slots[k]
        if slot.fixed is not None:
            node, s, e = slot.fixed
            sched.replicas[slot.task].append(Replica(node, s, e))
            continue
        if not isinstance(sv.present, int) and not solver.BooleanValue(sv.present):
            continue
        for n, lit in sv.x.items():
            if solver.BooleanValue(lit):
                start = solver.Value(sv.start)
                d = int(slot.dur[int(np.flatnonzero(slot.nodes == n)[0])])
                sched.replicas[slot.task].append(Replica(n, start, start + d))
                break
    return sched


def _hint_from_solver(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    proto = model.Proto()
    values = solver.ResponseProto().solution
    if len(values) != len(proto.variables):
        return  # keep the first hint
    model.ClearHints()
    proto.solution_hint.vars.extend(range(len(values)))
    proto.solution_hint.values.extend(values)


def _add_hint(model: cp_model.CpModel, data: SolverData, v: Variables, hint: Schedule,
              pv: C.PrecedenceVars) -> None:
    """Hint every variable: nodes, presence, starts, data sources, same-node and region literals."""
    p = data.problem
    placed: dict[int, tuple[int, int, int]] = {}  # slot -> (node, start, end)
    for i, slot_ids in enumerate(data.task_slots):
        fixed_nodes = {data.slots[k].fixed[0] for k in slot_ids if data.slots[k].is_fixed}
        for k in slot_ids:
            if data.slots[k].is_fixed:
                placed[k] = data.slots[k].fixed
        free = [k for k in slot_ids if not data.slots[k].is_fixed]
        reps = sorted((r for r in hint.replicas[i] if r.node not in fixed_nodes), key=lambda r: r.node)
        for j, k in enumerate(free):
            sv = v.slots[k]
            r = reps[j] if j < len(reps) else None
            if r is not None and r.node not in sv.x:
                r = None
            if not isinstance(sv.present, int):
                model.AddHint(sv.present, r is not None)
            for n, lit in sv.x.items():
                model.AddHint(lit, r is not None and n == r.node)
            if r is not None:
                model.AddHint(sv.start, int(round(r.start)))
                placed[k] = (r.node, int(round(r.start)), int(round(r.end)))
            else:
                model.AddHint(sv.start, data.release)  # an absent slot: any value in its domain
    data_of = {(c, pp): d for c in range(p.n_tasks) for pp, d in p.dag.parents[c]}
    for (b, parent, a), src in pv.sources.items():
        if src is None:
            continue
        if b not in placed:
            model.AddHint(src, False)
            continue
        nb = placed[b][0]
        best_a, best_t = None, math.inf
        for a2 in data.task_slots[parent]:
            if a2 in placed:
                na, _, ea = placed[a2]
                t = ea + data.units(p.links.transfer(na, nb, data_of[(data.slots[b].task, parent)]))
                if t < best_t:
                    best_a, best_t = a2, t
        model.AddHint(src, a == best_a)
    for (b, a), lit in pv.same.items():
        model.AddHint(lit, b in placed and a in placed and placed[a][0] == placed[b][0])
    for (b, a, n1, n2), lit in pv.node_pairs.items():
        model.AddHint(lit, b in placed and a in placed and placed[a][0] == n1 and placed[b][0] == n2)
    links = pv.links
    if links is not None:
        region_of = {k: int(p.nodes.category.region.codes[node]) for k, (node, _, _) in placed.items()}
        for (k, region), lit in links._region.items():
            if lit is not None and not isinstance(lit, int):
                model.AddHint(lit, region_of.get(k) == region)
        for k, lit in links._in_override.items():
            if lit is not None and not isinstance(lit, int):
                model.AddHint(lit, region_of.get(k) in links.partners)
        for (k, region), lit in links._partner.items():
            if lit is not None and not isinstance(lit, int):
                model.AddHint(lit, region_of.get(k) in links.partners.get(region, ()))
    model.AddHint(v.makespan, max((e for _, _, e in placed.values()), default=0))
