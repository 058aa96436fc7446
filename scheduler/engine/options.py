"""How to plan: the one option type of the planner (`PlanOptions`), and the engine choices.

Options are frozen; a variant is made with `dataclasses.replace`, which copies the
containers it is given anew (sets become frozensets, the kept replicas a dict of its own).

Examples:
    >>> import dataclasses
    >>> base = PlanOptions(time_limit_s=5)
    >>> cheap = dataclasses.replace(base, objective="cost", deadline_s=3600)
    >>> cheap.objective, cheap.engine, base.objective
    (<Objective.COST: 'cost'>, <EngineChoice.AUTO: 'auto'>, <Objective.MAKESPAN: 'makespan'>)
    >>> PlanOptions(time_limit_s=0)
    Traceback (most recent call last):
    ...
    ValueError: time_limit_s must be a positive number of seconds
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..domain import Assignment, Objective, Plan

MAX_MODEL_LITERALS = 400_000  # node literals in the exact model before candidate lists apply
LNS_ABOVE_LITERALS = 20_000  # node literals above which windows of tasks are solved instead of the whole model


class EngineChoice(str, Enum):
    """``auto``: CP-SAT warm-started by the heuristic, narrowed to candidate nodes on large models;
    ``cpsat``: the same without narrowing; ``heuristic``: the heuristic alone."""

    AUTO = "auto"
    CPSAT = "cpsat"
    HEURISTIC = "heuristic"


@dataclass(frozen=True)
class Continuation:
    """What an earlier run settled, for planning the rest of it (replanning).

    Attributes
    ----------
    release_s : float
        Nothing new starts before this.
    keep : mapping of task id to assignments
        Replicas that stay as they are.
    finished : frozenset of task ids
        Tasks that are done (their `keep` replicas are final; nothing is added).
    banned_nodes : frozenset of node ids
        Nodes that receive no new replica.
    """

    release_s: float = 0.0
    keep: Mapping[str, tuple[Assignment, ...]] = field(default_factory=dict)
    finished: frozenset[str] = frozenset()
    banned_nodes: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "keep", {t: tuple(rows) for t, rows in self.keep.items()})  # a copy of its own
        object.__setattr__(self, "finished", frozenset(self.finished))
        object.__setattr__(self, "banned_nodes", frozenset(self.banned_nodes))
        if not (self.release_s >= 0 and math.isfinite(self.release_s)):
            raise ValueError("release_s must be a finite number of seconds >= 0")


@dataclass(frozen=True)
class PlanOptions:
    """How to plan (see `scheduler.engine.plan`).

    Attributes
    ----------
    objective : Objective
        ``makespan`` (cost breaks ties) or ``cost`` (makespan breaks ties).
    deadline_s : float, optional
        Hard bound on the makespan.
    success_target : float, optional
        The whole workflow's success probability must reach this.
    time_limit_s : float
        Wall-clock budget of the whole call.
    engine : EngineChoice or Engine
        Which engine improves the heuristic's plan (see `EngineChoice`), or an engine object
        (`scheduler.engine.engines.Engine`).
    seed, workers : int
        CP-SAT's random seed and threads (0 = up to 8, one per core).
    continuation : Continuation
        What an earlier run settled (replanning): release time, kept replicas, finished tasks,
        banned nodes.
    preferred : Plan, optional
        A base plan whose nodes are kept where quality is equal (stable what-if diffs).
    progress : callable, optional
        Called with solver progress (for displays).
    max_model_literals : int
        Above this, each task keeps only its best candidate nodes (``auto``).
    lns_above_literals : int
        Above this, CP-SAT improves the heuristic's plan window by window instead of solving
        the whole model (fresh plans only, no success target).
    cancel : threading.Event, optional
        When set (e.g. on Ctrl-C), the run stops searching at once and returns the best valid
        plan found so far (the heuristic's, at least, once it has one).
    deterministic : bool
        Same inputs and seed, same plan: CP-SAT runs on one thread within a budget of its own
        deterministic time (a share of `time_limit_s`) instead of wall-clock seconds, and the
        cost relaxation runs all its rounds. The time limit still bounds the run; when the
        machine is too slow to spend the budget within it, the plan says so in its messages.
    """

    objective: Objective = Objective.MAKESPAN
    deadline_s: float | None = None
    success_target: float | None = None
    time_limit_s: float = 10.0
    engine: EngineChoice | Any = EngineChoice.AUTO
    seed: int = 0
    workers: int = 0
    continuation: Continuation = field(default_factory=Continuation)
    preferred: Plan | None = None
    progress: Callable[..., None] | None = field(default=None, compare=False)
    max_model_literals: int = MAX_MODEL_LITERALS
    lns_above_literals: int = LNS_ABOVE_LITERALS
    deterministic: bool = False
    cancel: threading.Event | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("objective", Objective(self.objective))
        if not hasattr(self.engine, "improve"):  # a name, not an engine object (`scheduler.engine.engines.Engine`)
            try:
                put("engine", EngineChoice(self.engine))
            except ValueError:
                raise ValueError("engine must be auto, cpsat or heuristic, or an Engine") from None
        _check(self)


def _check(opts: PlanOptions) -> None:
    if opts.deadline_s is not None and not (opts.deadline_s > 0 and math.isfinite(opts.deadline_s)):
        raise ValueError("deadline_s must be a positive number of seconds")
    if opts.success_target is not None and not (0.01 <= opts.success_target < 1):
        raise ValueError("success_target must be in [0.01, 1)")
    if not (opts.time_limit_s > 0 and math.isfinite(opts.time_limit_s)):
        raise ValueError("time_limit_s must be a positive number of seconds")
    if opts.workers < 0:
        raise ValueError("workers must be >= 0")
