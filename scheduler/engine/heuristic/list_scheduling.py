"""List scheduling: tasks in the order of the settings' rule (`priorities`: HEFT's upward rank by
default), each replica placed by `placement`; and re-timing a schedule on its own nodes."""

from __future__ import annotations

import dataclasses

import numpy as np

from ...errors import Infeasible
from ...problem import Problem
from ..schedule import Schedule
from .builder import Builder
from .placement import FirstFinishes, place_task
from .priorities import HeuristicRule, critical_path_node, downward_ranks, fastest_common_node, optimistic_costs, task_order, \
    upward_ranks
from .settings import HeuristicSettings
from .success import reach_success


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
    if opt.rule is HeuristicRule.SUFFERAGE:
        _place_by_sufferage(b, sub_deadlines)
    else:
        for i in _order(b, opt.rule):
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



def _order(b: Builder, rule: HeuristicRule) -> list[int]:
    """The tasks to place, in the rule's order; CPoP also pins its critical path's single replicas to the
    critical-path node (rank-sum does not) and PEFT gives the builder its optimistic cost table."""
    problem, skip = b.p, b.opt.finished
    rank = upward_ranks(problem, b.consider)
    if rule is HeuristicRule.ONE_NODE:
        single = [i for i in range(problem.n_tasks) if problem.required[i] == 1 and i not in b.opt.fixed
                  and i not in skip]
        _pin(b, single, fastest_common_node(problem, b.consider, single))
    if rule in (HeuristicRule.HEFT, HeuristicRule.ONE_NODE):
        # equal ranks: the larger GPU demand first, as in packing (small tasks fit the gaps it leaves)
        order = sorted(range(problem.n_tasks),
                       key=lambda i: (-rank[i], -problem.dag.tasks[i].gpus * problem.required[i], i))
        return [i for i in order if i not in skip]
    if rule is HeuristicRule.PEFT:
        b.optimistic_cost_s = optimistic_costs(problem, b.consider)
        finite = np.where(np.isfinite(b.optimistic_cost_s), b.optimistic_cost_s, np.nan)
        return task_order(problem, np.nan_to_num(np.nanmean(finite, axis=1)), skip)
    priority = rank + downward_ranks(problem, b.consider)
    if rule is HeuristicRule.RANK_SUM:
        return task_order(problem, priority, skip)
    path, node = critical_path_node(problem, b.consider, priority)
    _pin(b, [i for i in path if problem.required[i] == 1 and i not in b.opt.fixed], node)
    return task_order(problem, priority, skip)


def _place_by_sufferage(b: Builder, sub_deadlines: np.ndarray | None) -> None:
    """Sufferage (Maheswaran et al., 1999): of the ready tasks, place next the one that would lose most
    if denied its best node (second-best finish minus best finish); HEFT's upward rank breaks ties."""
    problem, skip = b.p, b.opt.finished
    rank = upward_ranks(problem, b.consider)
    waiting = np.array([len(problem.dag.parents[i]) for i in range(problem.n_tasks)])
    ready: dict[int, FirstFinishes] = {}

    def released(i: int) -> list[int]:
        """The children of `i` (just placed) whose parents are now all placed."""
        out = []
        for c, _ in problem.dag.children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                out.append(c)
        return out

    def enter(tasks: list[int]) -> None:
        """Into the ready set; a finished task (placed already) releases its children at once."""
        while tasks:
            i = tasks.pop()
            if i in skip:
                tasks.extend(released(i))
            else:
                ready[i] = FirstFinishes(b, i)

    enter([i for i in range(problem.n_tasks) if waiting[i] == 0])
    while ready:
        i = max(ready, key=lambda j: (ready[j].loss_s(), float(rank[j]), -j))
        del ready[i]
        place_task(b, i, None if sub_deadlines is None else float(sub_deadlines[i]))
        taken = {n for r in b.sched.replicas[i] for n in r.nodes}
        for f in ready.values():
            f.taken(taken)
        enter(released(i))


def _pin(b: Builder, tasks: list[int], node: int | None) -> None:
    """Allow `tasks` only `node` (nothing changes when it is None)."""
    for i in tasks if node is not None else []:
        b.allowed[i] = b.consider[i] = np.array([node], dtype=np.int64)


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
