"""Cost mode with a deadline: sub-deadlines from a makespan-first schedule, and the cheapest
node that meets each; the heuristic's entry point for both objectives."""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ...domain import Objective
from ...domain.rules import DEADLINE_TOLERANCE_S
from ...problem import Problem
from ..schedule import Schedule
from .list_scheduling import list_schedule
from .settings import HeuristicSettings
from .timeline import EPS

REFINE_ROUNDS = 3  # cost mode: re-derive sub-deadlines from the cheapest schedule so far


def sub_deadlines_from(schedule: Schedule, deadline_s: float) -> np.ndarray:
    """Per-task latest finish times: a makespan-first schedule's finishes stretched to the deadline."""
    makespan = schedule.makespan()
    scale = deadline_s / makespan if makespan > 0 else 1.0
    return np.array([max((r.end for r in reps), default=0.0) * scale for reps in schedule.replicas])


def latest_finishes(problem: Problem, schedule: Schedule, deadline_s: float) -> np.ndarray:
    """Per-task latest finish times that still let every descendant, at its runtime and transfers
    in `schedule`, end by the deadline (a backward pass; GPU contention left aside)."""
    n = problem.n_tasks
    latest = np.full(n, float(deadline_s))
    for i in range(n - 1, -1, -1):
        if problem.dag.writes[i] and schedule.replicas[i]:  # its writes must be delivered by the deadline too
            src = min(schedule.replicas[i], key=lambda r: r.end).node
            latest[i] -= float(problem.write_delays(i, np.array([src])).max())
        for c, data in problem.dag.children[i]:
            reps_c = schedule.replicas[c]
            if not reps_c:
                continue
            rc = min(reps_c, key=lambda r: r.end)
            transfer = 0.0
            if data > 0 and schedule.replicas[i]:
                src = min(schedule.replicas[i], key=lambda r: r.end).node
                transfer = float(problem.links.transfers_from(src, data, np.array([rc.node]))[0])
            latest[i] = min(latest[i], latest[c] - (rc.end - rc.start) - transfer)
    return latest


def heuristic_schedule(problem: Problem, options: HeuristicSettings | None = None) -> Schedule:
    """The heuristic's best schedule for `options.objective`.

    For ``cost`` with a deadline, a makespan-first schedule gives each task a
    sub-deadline and every replica takes the cheapest node that meets it; three
    sets of sub-deadlines are tried: finishes stretched to the deadline, the latest
    finishes its descendants allow (`latest_finishes`), and halfway between. Without
    a deadline every replica takes its cheapest node. The cheapest of these and the
    makespan-first schedule that meets the deadline wins.

    Raises:
        Infeasible: see `list_schedule`.
    """
    opt = options or HeuristicSettings()
    if opt.objective == Objective.MAKESPAN:
        return list_schedule(problem, opt)
    fast_opt = dataclasses.replace(opt, objective=Objective.MAKESPAN, lookahead=False)
    fast = list_schedule(problem, fast_opt)
    if opt.lookahead and not _time_up(opt):
        ahead = list_schedule(problem, dataclasses.replace(fast_opt, lookahead=True))
        if ahead.key(problem, Objective.MAKESPAN) < fast.key(problem, Objective.MAKESPAN):
            fast = ahead
    if _time_up(opt) and (opt.deadline_s is None or fast.makespan(problem) <= opt.deadline_s + DEADLINE_TOLERANCE_S):
        return fast  # out of time: the valid plan found is the plan
    if opt.deadline_s is None:
        cheap = list_schedule(problem, opt)
        return min((cheap, fast), key=lambda s: s.key(problem, Objective.COST))
    return _cheapest_within_deadline(problem, opt, fast)


def _time_up(opt: HeuristicSettings) -> bool:
    """Past `stop_at`: the runs that only improve a schedule already found are skipped."""
    return opt.stop_at is not None and time.monotonic() > opt.stop_at


def _cheapest_within_deadline(problem: Problem, opt: HeuristicSettings, fast: Schedule) -> Schedule:
    def meets(s: Schedule) -> bool:
        return s.makespan(problem) <= opt.deadline_s + DEADLINE_TOLERANCE_S

    stretched = sub_deadlines_from(fast, opt.deadline_s)
    latest = np.maximum(latest_finishes(problem, fast, opt.deadline_s), stretched)
    tries = [list_schedule(problem, opt, stretched)]
    if np.any(latest > stretched + EPS) and not _time_up(opt):
        # slack off the critical path: every task may end as late as its descendants allow
        tries += [list_schedule(problem, opt, latest), list_schedule(problem, opt, (stretched + latest) / 2)]
    meeting = [s for s in (*tries, fast) if meets(s)]
    for _ in range(REFINE_ROUNDS if meeting else 0):
        if _time_up(opt):
            break
        # the cheapest schedule so far has its own (slower) runtimes: its latest finishes leave
        # other tasks the slack that is truly left
        base = min(meeting, key=lambda s: s.key(problem, Objective.COST))
        again = list_schedule(problem, opt, latest_finishes(problem, base, opt.deadline_s))
        if not meets(again) or again.key(problem, Objective.COST) >= base.key(problem, Objective.COST):
            break
        meeting.append(again)
    pool = meeting or [fast]
    return min(pool, key=lambda s: s.key(problem, Objective.COST))
