"""What the heuristic is asked for: one settings type, translated from the planner's options
in one place (`scheduler.engine.run.PlanningRun.heuristic_settings`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...domain import Objective
from ..schedule import Replica
from .priorities import HeuristicRule


@dataclass(frozen=True)
class HeuristicSettings:
    """What the heuristic is asked for (see `list_schedule`); copy with `dataclasses.replace`.

    Attributes:
        objective: ``makespan`` or ``cost``.
        deadline_s: with ``cost``, the makespan to stay within (best effort here).
        success_target: add replicas until the workflow's success probability reaches it.
        quantum_s: work on the solver's clock: times in whole units of this many seconds, every
            runtime and transfer rounded up (the schedule returned is then in units).
        release_s: nothing new starts before this time.
        fixed: replicas that stay as they are, per task index (replanning).
        banned: node indices that must not receive new replicas.
        candidates: per task index, the only nodes to consider (large instances).
        preferred: per task index, nodes of a base plan, chosen at equal quality (stability).
        congestion_usd_per_gpu_s: cost mode: per node, a price added to its GPU time when
            choosing (nodes the work cannot all fit on before the deadline cost more than their
            price); the schedule's cost stays the true one.
        lookahead: makespan mode: the first replica of a task goes where its end plus the least
            time until its slowest child could end (beside it, or after the transfer) is least.
            Cost mode: the makespan-first schedule behind the sub-deadlines is the better of a
            run with and one without it.
        rule: the list-scheduling rule (`scheduler.engine.heuristic.priorities`): the order of the
            tasks and, for ``peft``, the optimistic cost added to each node's finish.
        stop_at: a `time.monotonic()` instant after which the runs that only improve a schedule
            already found are skipped (None: run them all, e.g. for repeatable results).
    """

    objective: Objective = Objective.MAKESPAN
    deadline_s: float | None = None
    success_target: float | None = None
    quantum_s: float | None = None
    release_s: float = 0.0
    fixed: dict[int, list[Replica]] = field(default_factory=dict)
    banned: set[int] = field(default_factory=set)
    candidates: dict[int, np.ndarray] | None = None
    preferred: dict[int, set[int]] | None = None
    finished: set[int] = field(default_factory=set)
    congestion_usd_per_gpu_s: np.ndarray | None = None
    lookahead: bool = False
    rule: HeuristicRule = HeuristicRule.HEFT
    stop_at: float | None = None
