"""What a CP-SAT solve is asked (`CpSettings`) and what it answers (`CpOutcome`, with a
`SolveStatus`), and the progress events it reports."""

from __future__ import annotations

from collections.abc import Callable
import threading
from dataclasses import dataclass, field
from enum import Enum

from ...domain import Objective
from ..schedule import Schedule


class SolveStatus(str, Enum):
    """CP-SAT's answer: proven optimal, a solution, proven infeasible, or none in time."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, cp_status: int) -> SolveStatus:
        from ortools.sat.python import cp_model

        return {cp_model.OPTIMAL: cls.OPTIMAL, cp_model.FEASIBLE: cls.FEASIBLE,
                cp_model.INFEASIBLE: cls.INFEASIBLE}.get(cp_status, cls.UNKNOWN)

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class BuildTimeout(Exception):
    """The model was still being built when its share of the time limit ran out (`PlacementModel`)."""


@dataclass
class Progress:
    """A solver event for progress displays."""

    phase: str
    objective: float | None  # seconds (makespan) or USD (cost)
    bound: float | None
    elapsed_s: float


@dataclass(frozen=True)
class CpSettings:
    """What one solve is asked for (translated from the planner's options in `scheduler.engine.engines`)."""

    objective: Objective = Objective.MAKESPAN
    deadline_s: float | None = None
    success_target: float | None = None
    time_limit_s: float = 10.0
    workers: int = 0
    seed: int = 0
    preferred: dict[int, set[int]] | None = None
    progress: Callable[[Progress], None] | None = None
    tiebreak: bool = True  # a second phase for the secondary objective
    deterministic_s: float | None = None  # a budget of deterministic time (one thread): repeatable results
    cancel: threading.Event | None = None  # set: stop the search now, keep the best solution so far


@dataclass
class CpOutcome:
    """The solve's status, its schedule on the clock (None when none), its proven bounds, notes, timings."""

    status: SolveStatus
    schedule: Schedule | None
    makespan_bound_s: float | None = None
    cost_bound_usd: float | None = None
    notes: list[str] = field(default_factory=list)
    stats: dict[str, float] = field(default_factory=dict)
