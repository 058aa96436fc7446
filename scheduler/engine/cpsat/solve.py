"""Solving a placement with CP-SAT: build the model, warm-start it, run it (`PlacementModel`)."""

from __future__ import annotations

from ..schedule import Schedule
from .data import SolverData
from .model import PlacementModel
from .results import BuildTimeout, CpOutcome, CpSettings, Progress, SolveStatus

__all__ = ["CpOutcome", "CpSettings", "Progress", "SolveStatus", "solve_cpsat"]


def solve_cpsat(data: SolverData, hint: Schedule | None, settings: CpSettings, makespan_lb_s: float = 0.0) \
        -> CpOutcome:
    """Solve the model built from `data`; `hint` (on the clock) is the warm start.

    Never returns a schedule that breaks a rule of the model; the caller keeps its
    own warm start when this finds nothing better (also when the model cannot be built within its
    share of the time limit: status unknown, no schedule, a note).
    """
    try:
        model = PlacementModel(data, settings, makespan_lb_s)
    except BuildTimeout as stop:
        note = (f"the CP-SAT model was not built within its share of the time limit (given up after {stop}): "
                "the heuristic's plan stands; a longer --time-limit lets the solver run")
        return CpOutcome(status=SolveStatus.UNKNOWN, schedule=None, notes=[note])
    if hint is not None:
        model.warmstart(hint)
    return model.solve()
