"""Replanning after failures: keep what ran, place the rest again.

- Tasks marked done keep their assignments and times (and so do their ancestors,
  which must have run before them).
- Replicas that started before `now` on healthy nodes keep running as planned.
- Replicas on failed nodes that had not finished by `now` are lost; those that
  had finished stay (their outputs were delivered before the failure).
- A done task's replica that was still to start on a failed node is lost too, and
  the task takes a new replica in its place (nothing starts on a failed node).
- Everything else is placed again from `now` on, off the failed nodes, with every
  rule of the contract, preferring the old plan's nodes at equal quality.

A done task's outputs are taken to be available where its replicas ran (as if
uploaded when it finished), also when that node has failed since.

Example:
    >>> from scheduler import NodePool, Workload, plan
    >>> wl = Workload(tasks=[{"id": "a", "duration_s": 60}, {"id": "b", "duration_s": 60, "depends_on": ["a"]}])
    >>> pool = NodePool(nodes=[{"id": "n1", "gpus": 1, "speed": 2}, {"id": "n2", "gpus": 1}])
    >>> old = plan(wl, pool, time_limit_s=1)
    >>> [(a.task, a.node) for a in old.assignments]
    [('a', 'n1'), ('b', 'n1')]
    >>> new = replan(wl, pool, None, old, now_s=30, done={"a"}, failed_nodes={"n1"})
    >>> [(a.task, a.node, a.start_s) for a in new.assignments]
    [('a', 'n1', 0.0), ('b', 'n2', 30.0)]
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import networkx as nx

from ..domain import Assignment, NodePool, Plan, Policy, Workload
from ..engine.options import Continuation, PlanOptions
from ..engine.planner import plan_problem
from ..domain.units import count
from ..domain.fields import suggest
from ..errors import ArgumentError, InputError
from .verify import verify_plan
from ..problem import Problem


@dataclass
class ReplanInput:
    keep: dict[str, list[Assignment]]
    done: set[str]
    lost: list[Assignment]
    implied_done: set[str]


def split_plan(workload: Workload, plan: Plan, *, now_s: float, done: set[str],
               failed_nodes: set[str]) -> ReplanInput:
    """Which assignments stay, which tasks are done, which replicas were lost."""
    all_done = _with_ancestors(workload.graph, done)
    keep: dict[str, list[Assignment]] = {}
    lost: list[Assignment] = []
    reopened: set[str] = set()
    # a gang replica runs on all its nodes at once: one failed node loses all of it
    broken = {(a.task, a.replica) for a in plan.assignments
              if a.task in workload.by_id and workload.by_id[a.task].nodes > 1 and a.node in failed_nodes
              and a.end_s > now_s}
    for a in plan.assignments:
        if a.task not in workload.by_id:
            continue
        if (a.task, a.replica) in broken:
            lost.append(a)
            if a.task in all_done:
                reopened.add(a.task)
            continue
        if a.task in all_done:
            if a.node in failed_nodes and a.start_s > now_s:
                lost.append(a)  # an extra replica still to start on a node that has failed: placed again
                reopened.add(a.task)
            else:
                keep.setdefault(a.task, []).append(a)
        elif a.start_s < now_s:
            if a.node in failed_nodes and a.end_s > now_s:
                lost.append(a)  # was running when its node failed
            else:
                keep.setdefault(a.task, []).append(a)  # running on a healthy node, or already finished
    all_done -= reopened
    return ReplanInput(keep=keep, done=all_done, lost=lost, implied_done=all_done - set(done))


def _with_ancestors(graph: nx.DiGraph, tasks: set[str]) -> set[str]:
    """`tasks` and every task they depend on, in one walk up the graph (`nx.ancestors` per task walks the
    shared ancestry again for each: 54 s for 5,000 done tasks of a 10,000-task layered graph)."""
    out = set(tasks)
    stack = list(tasks)
    while stack:
        for parent in graph.predecessors(stack.pop()):
            if parent not in out:
                out.add(parent)
                stack.append(parent)
    return out


def replan(workload: Workload, pool: NodePool, policy: Policy | None, plan: Plan, *, now_s: float,
           done: set[str] | None = None, failed_nodes: set[str] | None = None,
           options: PlanOptions | None = None) -> Plan:
    """A new plan for the unfinished work (see the module docstring).

    Raises
    ------
    InputError
        The inputs do not fit together.
    ArgumentError
        A done task or failed node is unknown, a done task has no replica in the plan, or
        `now_s` is negative.
    """
    done = set(done or ())
    failed = set(failed_nodes or ())
    unknown = [t for t in done if t not in workload.by_id]
    if unknown:
        raise ArgumentError(f"unknown task(s) marked done: {', '.join(sorted(unknown))}", argument="done")
    unknown = [n for n in failed if n not in pool.by_id]
    if unknown:
        raise ArgumentError(f"unknown failed node(s): {', '.join(sorted(unknown))}", argument="failed_nodes")
    if now_s < 0:
        raise ArgumentError("now must be >= 0", argument="now_s")
    _check_rows(workload, pool, plan)
    split = split_plan(workload, plan, now_s=now_s, done=done, failed_nodes=failed)
    _check_kept(workload, pool, policy, plan, split)
    missing = [t for t in split.done if t not in split.keep]
    if missing:
        raise ArgumentError(f"task(s) marked done have no assignment in the plan: {', '.join(sorted(missing))}",
                            argument="done")
    opts = dataclasses.replace(options or PlanOptions(), preferred=plan, continuation=Continuation(
        release_s=now_s, keep=split.keep, finished=split.done, banned_nodes=failed))
    result = plan_problem(Problem(workload, pool, policy), opts)
    if result.has_plan:
        _renumber(result, split)
    notes = list(result.messages or [])
    if split.implied_done:
        notes.append(f"taken as done because a done task depends on them: {', '.join(sorted(split.implied_done))}")
    if split.lost:
        notes.append(f"{count(len(split.lost), 'replica')} lost on failed nodes: "
                     + ", ".join(f"{a.task}#{a.replica}@{a.node}" for a in split.lost[:10]))
    result.messages = notes or None
    return result


# rules about a whole plan that a partial history (what ran until now) need not meet yet
_WHOLE_PLAN_RULES = {"replicas", "min_success", "reported_totals", "bound", "deadline", "success_target"}


def _check_rows(workload: Workload, pool: NodePool, plan: Plan) -> None:
    """Every row names a task of the workload and a node of the pool."""
    for k, a in enumerate(plan.assignments):
        if a.task not in workload.by_id:
            raise InputError(f"unknown task {a.task!r}{suggest(a.task, set(workload.by_id))}", file=plan.source,
                             field=f"assignments[{k}].task")
        if a.node not in pool.by_id:
            raise InputError(f"unknown node {a.node!r}{suggest(a.node, set(pool.by_id))}", file=plan.source,
                             field=f"assignments[{k}].node")


def _check_kept(workload: Workload, pool: NodePool, policy: Policy | None, plan: Plan, split: ReplanInput) -> None:
    """What replanning keeps (done and running work) must itself keep every rule it can already be judged
    by: eligibility, times, distinct nodes and spread, precedence among what ran, capacity. A history
    that breaks one is refused rather than carried forward into a plan that looks valid."""
    rows = [a for reps in split.keep.values() for a in reps]
    report = verify_plan(workload, pool, policy, Plan(status=plan.status, assignments=rows))
    index = {(a.task, a.replica, a.node): k for k, a in enumerate(plan.assignments)}
    for v in report.violations:
        # a running task may still get replicas; a done one is complete, so its replica rules apply
        if v.rule in _WHOLE_PLAN_RULES and not (v.task in split.done and v.rule in ("replicas", "min_success")):
            continue
        k = index.get((v.task, v.replica, v.node)) if v.replica is not None else next(
            (index[key] for key in index if key[0] == v.task and (v.node is None or key[2] == v.node)), None)
        where = f"assignments[{k}]" if k is not None else "assignments"
        raise InputError(f"{v.rule}: {v.message} (replanning keeps this {'done' if v.task in split.done else 'running'}"
                         f" work as it ran, so it must keep the rules)", file=plan.source, field=where)


def _renumber(plan: Plan, split: ReplanInput) -> None:
    """Replicas that stay keep their numbers and are marked ``replan: kept``; the others are marked
    ``new`` and take the lowest numbers the kept ones leave (a lost replica's replacement takes its number)."""
    kept = {(a.task, a.node): a.replica for rows in split.keep.values() for a in rows}
    by_task: dict[str, list[Assignment]] = {}
    for a in plan.assignments:
        by_task.setdefault(a.task, []).append(a)
    for task, rows in by_task.items():
        taken = {kept[(task, a.node)] for a in rows if (task, a.node) in kept}
        free = (k for k in itertools.count() if k not in taken)
        numbers: dict[int, int] = {}  # the engine's number of a new replica -> its new number (a gang: one)
        for a in sorted(rows, key=lambda a: (a.start_s, a.node)):
            if (task, a.node) in kept:
                a.replica, a.replan = kept[(task, a.node)], "kept"  # type: ignore[attr-defined]
            else:
                if a.replica not in numbers:
                    numbers[a.replica] = next(free)
                a.replica, a.replan = numbers[a.replica], "new"  # type: ignore[attr-defined]
