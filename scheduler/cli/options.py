"""The options the verbs share, each defined once: the same flag means the same thing on every
verb. Numbers are checked here (finite, in range), so a wrong value is a command-line error
(exit 2) naming the flag, never a crash further in."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from ..domain import Objective
from ..domain.fields import MAX_SECONDS
from ..engine import EngineChoice

MAX_SEED = 2**31 - 1


class Format(str, Enum):
    table = "table"
    json = "json"


def finite(value: float | None) -> float | None:
    """Reject inf and NaN (Click's ranges let NaN through)."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def _file(flag: str, help: str) -> typer.models.OptionInfo:
    return typer.Option(flag, help=help, exists=True, dir_okay=False, readable=True)


WorkloadOpt = Annotated[Path, _file("--workload", "Workload file (YAML/JSON, or a WfCommons .json trace).")]
NodesOpt = Annotated[Path, _file("--nodes", "Node pool file (YAML/JSON).")]
PolicyOpt = Annotated[Path | None, _file("--policy", "Policy file; default: one level 'public', no rules.")]
MaybeWorkloadOpt = Annotated[Path | None, _file("--workload", "Workload file (YAML/JSON, or a WfCommons .json trace).")]
MaybeNodesOpt = Annotated[Path | None, _file("--nodes", "Node pool file (YAML/JSON).")]
PlanFileOpt = Annotated[Path, _file("--plan", "A plan (JSON), made by this tool or another.")]
FormatOpt = Annotated[Format, typer.Option("--format", help="table for people, json for scripts.")]
TimeLimitOpt = Annotated[float, typer.Option("--time-limit", min=0.05, max=1e6, callback=finite,
                                             help="Seconds the whole run may take.")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, max=MAX_SEED,
                                      help="Random seed of the solver (same seed, same inputs: same plan with "
                                           "--deterministic).")]
ObjectiveOpt = Annotated[Objective, typer.Option("--objective", help="makespan (then cost) or cost (then makespan).")]
DeadlineOpt = Annotated[float | None, typer.Option("--deadline", min=1e-6, max=MAX_SECONDS, callback=finite,
                                                   help="Hard bound on the makespan, seconds.")]
TargetOpt = Annotated[float | None, typer.Option("--success-target", min=0.01, max=0.999999, callback=finite,
                                                 help="Whole-workflow success probability to reach.")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=0, max=256,
                                         help="Solver threads (0: one per core, at most 8).")]
EngineOpt = Annotated[EngineChoice, typer.Option("--engine", help="auto: CP-SAT warm-started by the heuristic "
                                                 "(narrowed on large models); cpsat: never narrowed; heuristic: alone.")]
DeterministicOpt = Annotated[bool, typer.Option("--deterministic/--no-deterministic",
                                                help="Same inputs and seed, same plan (CP-SAT on one thread, budget in "
                                                     "deterministic time).")]
OutputOpt = Annotated[Path | None, typer.Option("--output", dir_okay=False,
                                                help="Also write the JSON document to this file (whole or not at all).")]
GanttOpt = Annotated[Path | None, typer.Option("--gantt", dir_okay=False,
                                               help="Draw the plan per node: FILE.png, or FILE.html (interactive).")]
WideOpt = Annotated[bool, typer.Option("--wide", help="Never shorten a column (ids in full, however wide).")]
KeepOnInterruptOpt = Annotated[bool, typer.Option("--keep-on-interrupt",
                                                  help="On Ctrl-C, still print and write the best valid plan found "
                                                       "(exit 130 all the same).")]
