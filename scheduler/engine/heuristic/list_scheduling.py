"""List scheduling: tasks by decreasing upward rank, each replica placed by `placement`; and
re-timing a schedule on its own nodes."""

from __future__ import annotations

import dataclasses

import numpy as np

from ...errors import Infeasible
from ...problem import Problem
from ..schedule import Schedule
from .builder import Builder
from .placement import place_task
from .settings import HeuristicSettings
from .success import reach_success


def upward_ranks(problem: Problem, allowed: list[np.ndarray]) -> np.ndarray:
    """HEFT's upward rank: mean runtime plus the longest mean-transfer path to an exit."""
    mean_bw = float(np.mean(problem.nodes.bandwidth)) if problem.n_nodes else 1.0
    rank = np.zeros(problem.n_tasks)
    for i in range(problem.n_tasks - 1, -1, -1):
        nodes = allowed[i]
        mean_rt = float(np.mean(problem.runtimes(i, nodes))) if len(nodes) else problem.dag.tasks[i].duration_s
        below = max((data * 8.0 / mean_bw + rank[c] for c, data in problem.dag.children[i]), default=0.0)
        rank[i] = mean_rt + below
    return rank


def list_schedule(problem: Problem, options: HeuristicSettings | None = None,
                  sub_deadlines: np.ndarray | None = None) -> Schedule:
    """Place every task (with its replicas) and return the schedule.

    Raises:
        Infeasible: a task cannot be placed at all (no eligible node, spread or
            `min_success` out of reach, or the success target unreachable).
    """
    return _list_schedule(problem, options or HeuristicSettings(), sub_deadlines, retry_reputable=True)


def _most_reputable(problem: Problem, allowed: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Per task, its allowed nodes that are the most reputable of their spread value."""
    out = {}
    for i, nodes in enumerate(allowed):
        codes = problem.spread_of(i)[nodes]
        completion = problem.completion(i, nodes)
        top = np.full(int(codes.max()) + 1 if len(codes) else 0, -np.inf)
        np.maximum.at(top, codes, completion)
        out[i] = nodes[completion >= top[codes]]
    return out


def _list_schedule(problem: Problem, opt: HeuristicSettings, sub_deadlines: np.ndarray | None,
                   retry_reputable: bool) -> Schedule:
    b = Builder(problem, opt)
    kept = {i: [r.node for r in reps] for i, reps in opt.fixed.items() if i not in opt.finished}
    reasons = problem.static_reasons(b.allowed, opt.finished, kept)
    if reasons:
        raise Infeasible(reasons)
    rank = upward_ranks(problem, b.consider)
    # equal ranks: the larger GPU demand first, as in packing (small tasks fit the gaps it leaves)
    order = sorted(range(problem.n_tasks), key=lambda i: (-rank[i], -problem.dag.tasks[i].gpus * problem.required[i], i))
    for i in order:
        if i in opt.finished:
            continue
        place_task(b, i, None if sub_deadlines is None else float(sub_deadlines[i]))
    if opt.success_target is not None:
        try:
            reach_success(b, opt.success_target)
        except Infeasible:
            if not retry_reputable:
                raise
            # replicas went to a less reputable node of some spread value, which adding replicas cannot
            # mend: once more, on the most reputable node(s) of each value only (the most success any plan has)
            again = dataclasses.replace(opt, candidates=_most_reputable(problem, b.allowed))
            return _list_schedule(problem, again, sub_deadlines, retry_reputable=False)
    return b.sched



def retime(problem: Problem, schedule: Schedule, options: HeuristicSettings) -> Schedule:
    """Re-time a schedule on its own nodes, replicas in their start order, under
    `options` (e.g. exact seconds, or the solver's clock). Replicas listed in
    `options.fixed` stay as they are. The result is valid by construction, and
    with shorter or equal runtimes no replica starts later than before."""
    b = Builder(problem, options)
    fixed_nodes = {i: {r.node for r in reps} for i, reps in options.fixed.items()}
    rows = sorted((r.start, i, r.node, r.gang) for i, reps in enumerate(schedule.replicas)
                  if i not in options.finished for r in reps if r.node not in fixed_nodes.get(i, ()))
    for _, i, n, gang in rows:
        if not all(b.sched.replicas[pp] for pp, _ in problem.dag.parents[i]):
            raise ValueError("the schedule is not in precedence order")
        if gang:
            b.place_gang_on(i, gang)
        else:
            b.place_on(i, n)
    return b.sched
