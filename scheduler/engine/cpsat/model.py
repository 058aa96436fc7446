"""The CP-SAT model of one placement problem, built from `SolverData`: its variables
(`variables`), constraints (`constraints`) and objective (`objective`); `solve` only runs
the solver and converts its answer.

Two phases: the objective first, then, with the objective held at its best value,
the tie-break (cost after makespan, makespan after cost) and, when asked, the
fewest moved replicas.
"""

from __future__ import annotations

import math
import os
import threading
import time

import numpy as np
from ortools.sat.python import cp_model

from ...domain import Objective
from ...domain.rules import ROUNDING_EPS, WHOLE_EPS
from ..schedule import Replica, Schedule
from . import constraints as C
from .data import SolverData
from .objective import COST_SCALE, cost_expr, cost_lower_bound, cost_upper_bound, kept_expr
from .results import BuildTimeout, CpOutcome, CpSettings, Progress, SolveStatus
from .variables import Variables, make_variables

LARGE_MODEL = 5_000  # variables above which presolve skips probing
TIEBREAK_SHARE = 0.75  # of the budget for the first phase when a tie-break follows
BUILD_SHARE = 0.6  # of the time limit the model's construction may take before it is given up


class _Callback(cp_model.CpSolverSolutionCallback):
    def __init__(self, phase: str, scale: float, t0: float, sink) -> None:
        super().__init__()
        self.phase, self.scale, self.t0, self.sink = phase, scale, t0, sink

    def on_solution_callback(self) -> None:
        if self.sink is not None:
            self.sink(Progress(self.phase, self.ObjectiveValue() * self.scale,
                               self.BestObjectiveBound() * self.scale, time.monotonic() - self.t0))


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


class PlacementModel:
    """The model (see the module docstring).

    Parameters
    ----------
    data : SolverData
        The clock and the replica slots.
    settings : CpSettings
        Objective, deadline, success target, time limit, threads, seed.
    makespan_lb_s : float
        A proven lower bound on the makespan (it bounds the makespan variable).

    Raises
    ------
    BuildTimeout
        Building took more than `BUILD_SHARE` of the time limit (checked between constraint families and
        task by task in the precedence constraints, the largest): a model that cannot be built in time
        could not be searched either, and the caller keeps its warm start within the limit.
    """

    def __init__(self, data: SolverData, settings: CpSettings, makespan_lb_s: float = 0.0) -> None:
        self.t0 = time.monotonic()
        self.data, self.settings = data, settings
        # a deterministic run gives nothing up by the clock (its steps must not depend on the machine's speed)
        self.build_deadline = (math.inf if settings.deterministic_s is not None
                               else self.t0 + BUILD_SHARE * settings.time_limit_s)
        self.model = cp_model.CpModel()
        self.variables: Variables = make_variables(self.model, data, self._makespan_lb_units(makespan_lb_s),
                                                   self.check_build_time)
        self.check_build_time()
        self.precedence = self._add_constraints()
        self.cost = cost_expr(data, self.variables)
        if not isinstance(self.cost, int):
            self.model.Add(self.cost >= cost_lower_bound(data))  # redundant, lets the solver prove cost optimality
        self.build_s = time.monotonic() - self.t0

    def check_build_time(self) -> None:
        """Raise `BuildTimeout` once the construction has outlived its share of the time limit."""
        if time.monotonic() > self.build_deadline:
            raise BuildTimeout(f"{time.monotonic() - self.t0:.1f} s")

    def _makespan_lb_units(self, makespan_lb_s: float) -> int:
        q = self.data.quantum_s
        if self.data.exact_clock:
            # every event of some optimal schedule falls on the clock: the bound rounds up to it
            return max(0, math.ceil(makespan_lb_s / q - WHOLE_EPS))
        return max(0, math.floor(makespan_lb_s / q + ROUNDING_EPS) - 2 * len(self.data.slots))

    def _add_constraints(self) -> C.PrecedenceVars:
        model, data, v, s = self.model, self.data, self.variables, self.settings
        C.add_assignment(model, data, v)
        C.add_min_success(model, data, v)
        C.add_capacity(model, data, v)
        C.add_reads_and_windows(model, data, v)
        self.check_build_time()
        precedence = C.add_precedence(model, data, v, self.check_build_time)
        self.check_build_time()
        deadline_u = math.floor(s.deadline_s / data.quantum_s + ROUNDING_EPS) if s.deadline_s is not None else None
        self.deliveries = C.add_makespan(model, data, v, deadline_u)
        if s.success_target is not None:
            C.add_success_target(model, data, v, s.success_target)
        return precedence

    def warmstart(self, hint: Schedule) -> None:
        """Hint every variable from a schedule on the clock: nodes, presence, starts, data sources,
        same-node and region literals, the makespan."""
        placed = self.variables.warmstart(self.model, self.data, hint)
        self.precedence.warmstart(self.model, self.data, placed)
        delivered = C.warmstart_deliveries(self.model, self.data, self.deliveries, placed)
        self.variables.warmstart_makespan(self.model, placed, delivered)

    def solve(self) -> CpOutcome:
        """Run both phases within the time limit. Never returns a schedule that breaks a rule of the model."""
        s, data = self.settings, self.data
        stats = {"build_s": self.build_s, "variables": len(self.model.Proto().variables),
                 "constraints": len(self.model.Proto().constraints)}
        budget = max(0.05, s.time_limit_s - self.build_s)
        makespan_first = s.objective == Objective.MAKESPAN
        self.model.Minimize(self.variables.makespan if makespan_first else self.cost)
        scale = data.quantum_s if makespan_first else 1.0 / COST_SCALE
        tiebreak = s.tiebreak and (bool(s.preferred) or (makespan_first and bool((data.problem.nodes.price > 0).any()))
                                   or not makespan_first)
        share = TIEBREAK_SHARE if tiebreak else 1.0
        det = s.deterministic_s
        solver = self._solver(budget * share if det is None else budget, stats["variables"],
                              None if det is None else det * share)
        status = self._run(solver, _Callback("objective", scale, self.t0, s.progress))
        stats["phase1_s"] = solver.WallTime()
        stats["deterministic_s"] = solver.deterministic_time
        notes: list[str] = []
        self._note_wall_stop(notes, solver, det * share if det is not None else None)
        out = CpOutcome(status=SolveStatus.of(status), schedule=None, stats=stats, notes=notes)
        if status == cp_model.MODEL_INVALID:
            out.notes.append("the solver rejected the model: " + self.model.Validate()[:200])
            return out
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return out
        self._bounds(out, solver.BestObjectiveBound(), makespan_first)
        out.schedule = self._extract(solver)
        remaining = s.time_limit_s - (time.monotonic() - self.t0)
        if tiebreak and (remaining > 0.05 or det is not None):  # deterministic: the same phases every run
            remaining = max(remaining, 0.05)
            better = self._tiebreak(solver, makespan_first, remaining, stats, out.notes)
            if better is not None:
                out.schedule = better
        stats["total_s"] = time.monotonic() - self.t0
        return out

    @staticmethod
    def _note_wall_stop(notes: list[str], solver: cp_model.CpSolver, deterministic_s: float | None) -> None:
        if deterministic_s is not None and solver.deterministic_time < 0.99 * deterministic_s and \
                solver.ResponseProto().status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            notes.append("the time limit stopped the solver before its deterministic budget (the machine is slow "
                         "or loaded): a rerun may give a different plan; a longer --time-limit makes it repeatable")

    def _bounds(self, out: CpOutcome, bound: float, makespan_first: bool) -> None:
        data = self.data
        if makespan_first:
            slack = 0 if data.exact_clock else 2 * len(data.slots)
            out.makespan_bound_s = max(0.0, (bound - slack) * data.quantum_s)
        else:
            out.cost_bound_usd = max(0.0, (bound - 0.5 * len(data.slots)) / COST_SCALE)

    def _tiebreak(self, first: cp_model.CpSolver, makespan_first: bool, seconds: float,
                  stats: dict[str, float], notes: list[str]) -> Schedule | None:
        """The secondary objective (and the fewest moves) with the primary held at its best value."""
        model, v, s = self.model, self.variables, self.settings
        best_value = round(first.ObjectiveValue())
        if makespan_first:
            model.Add(v.makespan <= best_value)
            secondary, horizon = self.cost, cost_upper_bound(self.data) + 1
        else:
            model.Add(self.cost <= best_value)
            secondary, horizon = v.makespan, self.data.horizon + 1
        if s.preferred:
            kept = kept_expr(self.data, v, s.preferred)
            n_pref = sum(len(x) for x in s.preferred.values())
            model.Minimize(-kept * horizon + secondary if horizon * (n_pref + 1) < 2**60 else -kept)
        else:
            model.Minimize(secondary)
        _hint_from_solver(model, first)
        det = None if s.deterministic_s is None else max(0.01, s.deterministic_s - stats["deterministic_s"])
        solver = self._solver(seconds, stats["variables"], det)
        status = self._run(solver, _Callback("tie-break", 1.0, self.t0, None))
        stats["phase2_s"] = solver.WallTime()
        stats["deterministic_s"] += solver.deterministic_time
        if not notes:
            self._note_wall_stop(notes, solver, det)
        return self._extract(solver) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None

    def _run(self, solver: cp_model.CpSolver, callback: _Callback) -> int:
        """Solve; when `settings.cancel` is set meanwhile, stop at once (the best solution so far stays)."""
        cancel = self.settings.cancel
        if cancel is None:
            return solver.Solve(self.model, callback)
        finished = threading.Event()

        def watch() -> None:
            while not finished.wait(0.05):
                if cancel.is_set():
                    solver.StopSearch()
                    return

        watcher = threading.Thread(target=watch, name="cp-sat-cancel", daemon=True)
        watcher.start()
        try:
            return solver.Solve(self.model, callback)
        finally:
            finished.set()
            watcher.join()

    def _solver(self, seconds: float, n_variables: int = 0, deterministic_s: float | None = None) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = self.settings.workers or default_workers()
        if deterministic_s is not None:
            # one thread within a deterministic budget: the same model and seed give the same answer
            solver.parameters.num_workers = 1
            solver.parameters.max_deterministic_time = max(0.01, deterministic_s)
        solver.parameters.random_seed = self.settings.seed
        solver.parameters.catch_sigint_signal = False  # Ctrl-C belongs to the caller (`settings.cancel`)
        if n_variables > LARGE_MODEL:
            # probing in presolve costs seconds per pass on large models and rarely pays here
            solver.parameters.cp_model_probing_level = 0
        return solver

    def _extract(self, solver: cp_model.CpSolver) -> Schedule:
        """The solver's solution as a schedule on the clock (fixed replicas included)."""
        data, v = self.data, self.variables
        sched = Schedule.empty(data.problem.n_tasks)
        for k, slot in enumerate(data.slots):
            sv = v.slots[k]
            if slot.fixed is not None:
                node, start, end = slot.fixed
                sched.replicas[slot.task].append(Replica(node, start, end))
                continue
            if not isinstance(sv.present, int) and not solver.BooleanValue(sv.present):
                continue
            if slot.group is not None:  # a gang replica: once, on the chosen set
                if slot.group == k:
                    gv = v.gangs[k]
                    gang = next(g for g, lit in zip(data.gangs[k].sets, gv.choice) if solver.BooleanValue(lit))
                    start = solver.Value(gv.start)
                    sched.replicas[slot.task].append(Replica(gang[0], start, start + solver.Value(gv.dur), gang))
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
